"""A cache backend with a ``perfkit_strict`` view shaped like perfkit.backends' (contract C).

The view creates its methods lazily into its ``__dict__`` and calls the backend class's methods
directly, as perfkit.backends.resilient.StrictCache does.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.locmem import LocMemCache


class StrictView:
    def __init__(self, backend: LocMemCache) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        if name in ("get", "set", "get_many"):
            base = getattr(LocMemCache, name)
            backend = self._backend

            def call(*args: Any, **kwargs: Any) -> Any:
                return base(backend, *args, **kwargs)

            self.__dict__[name] = call
            return call
        return getattr(self._backend, name)


class LocMemWithStrictView(LocMemCache):
    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self.perfkit_strict = StrictView(self)
