"""Instrumentation shared by perfkit's test helpers, middleware, toolbar panel and benchmarks.

Capture lives here, not in ``perfkit.testing``, so production code never imports test code:

- ``queries``: ``capture_queries()`` -> ``QueryLog`` of ``CapturedQuery`` (duplicates, N+1)
- ``cachelog``: ``capture_cache()`` -> ``CacheLog`` of ``CacheOp``
- ``observe``: the side channel for cache operations made outside Django's cache API
- ``locations``: the first stack frame in the user's own code
- ``sql``: SQL fingerprints (public as ``perfkit.sql``)
- ``checks``: ``NPLUSONE_ALLOW`` compiled, and its system check (perfkit.E401)
- ``groups`` and ``text``: query groups as JSON data and as lines for humans

Importing this package loads nothing; import the submodule you need.  It imports neither
``perfkit.testing`` nor ``perfkit.cache`` nor ``perfkit.bench``.
"""
