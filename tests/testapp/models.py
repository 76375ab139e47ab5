"""Models used only by perfkit's tests (besides the demo bookstore)."""
