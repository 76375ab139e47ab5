"""Integrations with other Django tools (``perfkit.contrib.debug_toolbar.PerfkitPanel``)."""
