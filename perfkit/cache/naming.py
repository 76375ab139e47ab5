"""The name of a cached function: its registry slot and the stem of its keys.

A name must be the same in every process that imports the same code (a warming worker computes
the keys a web process reads), and different for functions that compute different things.
``module.qualname`` is both for a function defined at module or class level.  It is neither for
functions made at run time, whose qualname contains ``<locals>`` or ``<lambda>``:
``make_power(2)`` and ``make_power(3)`` return two closures with one qualname.  Those get:

- ``@L<line>``: the line of their ``def``/``lambda`` (two lambdas in one module differ);
- ``[<digest>]``: a stable digest of the closure's variables as they are when decorated (the
  ``2`` and ``3`` above), encoded like call arguments (perfkit.cache.keys.encode).

A closure over a value with no stable form (an open client, a lock, ...) gets no digest; a
second such closure under the same name is refused at decoration (``AmbiguousNameError``):
nothing stable tells them apart, so pass ``name=`` (or ``key=``) to ``@cached``.
"""

from __future__ import annotations

import types
from typing import Any

from perfkit.cache.keys import _Unkeyable, digest, encode
from perfkit.exceptions import AmbiguousNameError

__all__ = ["AmbiguousNameError", "function_name", "same_function"]


def _cell_form(value: Any) -> str:
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        code = getattr(value, "__code__", None)
        line = f"@L{code.co_firstlineno}" if code is not None else ""
        return f"F{value.__module__}.{value.__qualname__}{line}"
    name = getattr(value, "perfkit_name", None)
    if isinstance(name, str):
        return "C" + name
    if isinstance(value, types.ModuleType):
        return "Mod" + value.__name__
    return encode(value)


def closure_digest(func: Any) -> str | None:
    """A stable digest of ``func``'s closure variables, "" without any, None if one has none."""
    cells = getattr(func, "__closure__", None) or ()
    if not cells:
        return ""
    parts = []
    for cell in cells:
        try:
            value = cell.cell_contents
        except ValueError:  # not assigned yet (assigned after the decorator ran)
            parts.append("-")
            continue
        try:
            parts.append(_cell_form(value))
        except _Unkeyable:
            return None
    return digest(",".join(parts))[:12]


def function_name(func: Any) -> str:
    """``module.qualname``, plus a line and a closure digest for functions made at run time."""
    qualname = func.__qualname__
    name = f"{func.__module__}.{qualname}"
    if "<locals>" not in qualname and "<lambda>" not in qualname:
        return name
    code = getattr(func, "__code__", None)
    if code is not None:
        name += f"@L{code.co_firstlineno}"
    cells = closure_digest(func)
    if cells:
        name += f"[{cells}]"
    return name


def same_function(old: Any, new: Any) -> bool:
    """True when ``new`` may take ``old``'s name: the same code over the same closure.

    A test (or a factory) decorating the same definition again replaces the registry entry;
    two different definitions, or one over different values with no stable form, may not.
    """
    if old is new:
        return True
    old_code, new_code = getattr(old, "__code__", None), getattr(new, "__code__", None)
    if old_code is None or new_code is None:
        return False
    if (old_code.co_filename, old_code.co_firstlineno, old_code.co_code) != (
        new_code.co_filename,
        new_code.co_firstlineno,
        new_code.co_code,
    ):
        return False
    if closure_digest(new) is not None:
        return True  # same code, and the name holds the closure's digest
    old_cells = [_contents(c) for c in old.__closure__ or ()]
    new_cells = [_contents(c) for c in new.__closure__ or ()]
    return len(old_cells) == len(new_cells) and all(
        a is b for a, b in zip(old_cells, new_cells, strict=True)
    )


def _contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return None
