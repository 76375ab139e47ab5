"""``CheckBlock``: one object usable as a context manager and as a decorator (sync or async)."""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Sequence

    from perfkit.instrument.cachelog import CacheLog
    from perfkit.instrument.queries import QueryLog

__all__ = ["CaptureBlock", "CheckBlock", "QueriesAndCacheBlock"]

F = TypeVar("F", bound=Callable[..., Any])


class CheckBlock:
    """Opens captures on enter, checks them on a clean exit; a decorated call gets a fresh copy."""

    def open(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def check(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        self.close()
        if exc_type is None:
            self.check()

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                __tracebackhide__ = True
                with copy.copy(self):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            with copy.copy(self):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class CaptureBlock(CheckBlock):
    """A check over one capture (queries or cache operations): ``capture()`` opens it,
    ``verify(log)`` judges it."""

    log: Any = None
    _cm: Any = None

    def capture(self) -> Any:
        raise NotImplementedError

    def verify(self, log: Any) -> None:
        raise NotImplementedError

    def open(self) -> Any:
        self._cm = self.capture()
        self.log = self._cm.__enter__()
        return self.log

    def close(self) -> None:
        self._cm.__exit__(None, None, None)

    def check(self) -> None:
        __tracebackhide__ = True
        if self.log is None:
            raise RuntimeError(f"{type(self).__name__} was checked before it was entered")
        self.verify(self.log)


class QueriesAndCacheBlock(CheckBlock):
    """A check over both the queries (on ``using``) and the cache operations of its block."""

    using: str | Sequence[str] | None = None
    queries: QueryLog | None = None
    cache: CacheLog | None = None

    def open(self) -> Any:
        from perfkit.instrument.cachelog import capture_cache
        from perfkit.instrument.queries import capture_queries

        self._query_cm = capture_queries(self.using)
        self.queries = self._query_cm.__enter__()
        self._cache_cm = capture_cache()
        self.cache = self._cache_cm.__enter__()
        return self

    def close(self) -> None:
        self._cache_cm.__exit__(None, None, None)
        self._query_cm.__exit__(None, None, None)

    def logs(self, name: str) -> tuple[QueryLog, CacheLog]:
        """The captured logs; ``name`` (the helper's name) goes in the error if not entered."""
        if self.queries is None or self.cache is None:
            raise RuntimeError(f"{name} was checked before it was entered")
        return self.queries, self.cache
