"""``CheckBlock``: one object usable as a context manager and as a decorator (sync or async)."""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["CheckBlock"]

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
