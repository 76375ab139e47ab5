"""Only perfkit/internals/ may touch the private API of Django, redis-py, django-redis, Celery.

An AST scan of every other module in perfkit/: it fails on an attribute, import or string that
names a private (single leading underscore, not dunder) attribute, function or class of those
libraries.  Their private names come from scanning their installed sources (``self._x``,
``def _x``, ``class _X``, ``_x =``); a name perfkit's own classes define too (a method, a class
attribute, ``self._x = ...``) is perfkit's and fine, so is the documented Model ``_meta`` API.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PERFKIT = ROOT / "perfkit"
INTERNALS = PERFKIT / "internals"
LIBRARIES = ("django", "redis", "django_redis", "celery")
_DOTTED_PRIVATE = re.compile(r"\b(?:" + "|".join(LIBRARIES) + r")(?:\.\w+)*\.(_[A-Za-z]\w*)")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and len(name) > 1


def _defined_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Private names a module defines (attributes on self/cls, defs, classes, assignments)."""
    names: set[str] = set()
    classes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            classes.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if _private(n)}, {n for n in classes if _private(n)}


def _member_names(tree: ast.AST) -> set[str]:
    """Private names a module gives its classes' instances: methods, class attributes, self.x."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.Assign | ast.AnnAssign):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and _on_self(node.value)
        ):
            names.add(node.attr)
    return {n for n in names if _private(n)}


@cache
def foreign_private() -> tuple[frozenset[str], frozenset[str]]:
    """(private names, private class names) defined by the installed libraries."""
    names: set[str] = set()
    classes: set[str] = set()
    for library in LIBRARIES:
        spec = importlib.util.find_spec(library)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            for path in Path(folder).rglob("*.py"):
                if "tests" in path.parts or "migrations" in path.parts:
                    continue
                try:
                    tree = ast.parse(path.read_text(encoding="utf-8"))
                except (SyntaxError, UnicodeDecodeError):
                    continue
                found, found_classes = _defined_names(tree)
                names |= found
                classes |= found_classes
    return frozenset(names), frozenset(classes)


def _modules() -> list[Path]:
    return sorted(p for p in PERFKIT.rglob("*.py") if INTERNALS not in p.parents)


@cache
def perfkit_members() -> frozenset[str]:
    """Private names perfkit's own classes define (methods, class attributes, ``self._x``)."""
    names: set[str] = set()
    for path in _modules():
        names |= _member_names(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(names)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def offenders(path: Path) -> list[str]:
    """``path:line: name`` for every private name of the libraries this module uses."""
    _, foreign_classes = foreign_private()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    where = path.relative_to(ROOT) if ROOT in path.parents else path.name
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _foreign_use(node.attr, node.value):
            found.append(f"{where}:{node.lineno}: {node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _ATTR_FUNCTIONS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _foreign_use(node.args[1].value, node.args[0])
        ):
            found.append(f"{where}:{node.lineno}: {node.args[1].value}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in LIBRARIES:
                for alias in node.names:
                    if _private(alias.name) or any(
                        _private(part) for part in node.module.split(".")
                    ):
                        found.append(f"{where}:{node.lineno}: {node.module}.{alias.name}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            for match in _DOTTED_PRIVATE.finditer(node.value):
                found.append(f"{where}:{node.lineno}: {match.group(0)}")
            for word in re.findall(r"\b_[A-Za-z]\w*", node.value):
                if word in foreign_classes and not _DOTTED_PRIVATE.search(node.value):
                    found.append(f"{where}:{node.lineno}: {word!r}")
    return found


# Django documents these (the Model ``_meta`` API, the managers a model always has) and the
# namedtuple methods are public despite the underscore
DOCUMENTED = frozenset(
    {"_meta", "_default_manager", "_base_manager", "_asdict", "_replace", "_make", "_fields"}
)
_ATTR_FUNCTIONS = frozenset({"getattr", "hasattr", "setattr", "delattr"})
# privates the internals contract names: flagged on any object but ``self`` even where perfkit's
# own classes use the same name (a ``self._lock`` of perfkit's does not make ``cache._lock`` ok)
CONTRACT = frozenset(
    {"_cache", "_expire_info", "_lock", "_delete", "_pools", "_client", "_options", "_table"}
    | {"_from_testcase", "_prepare_cursor", "_fetch_mode"}
)


def _on_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _foreign_use(name: str, receiver: ast.expr) -> bool:
    """``receiver.name`` uses a private of the libraries (not a name perfkit gave ``self``)."""
    foreign, _ = foreign_private()
    if not _private(name) or name not in foreign or name in DOCUMENTED:
        return False
    if name in CONTRACT and not _on_self(receiver):
        return True
    return name not in perfkit_members()


def test_the_libraries_private_names_were_found():
    foreign, classes = foreign_private()
    assert {"_prepare_cursor", "_cache", "_expire_info"} <= foreign
    assert "_HiredisParser" in classes or "_RESP2Parser" in classes


def test_the_scan_flags_each_kind_of_use(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "from django.db.models.sql.compiler import _get_order_dir\n"
        "def f(backend, block):\n"
        "    backend._expire_info.clear()\n"
        "    getattr(block, '_from_testcase', False)\n"
        "    return 'redis.connection._HiredisParser', backend._meta\n"
    )
    found = offenders(module)
    assert "sample.py:3: _expire_info" in found
    assert "sample.py:4: _from_testcase" in found
    assert "sample.py:5: redis.connection._HiredisParser" in found
    assert not [line for line in found if "_meta" in line]
    assert any(line.startswith("sample.py:1: ") for line in found)


def test_no_module_outside_perfkit_internals_names_a_private_of_the_libraries():
    found = [line for path in _modules() for line in offenders(path)]
    if found:
        print("\n".join(found))
        pytest.fail(
            f"{len(found)} private names of {', '.join(LIBRARIES)} outside perfkit/internals/ "
            "(move each into a perfkit.internals submodule, behind an accessor):\n"
            + "\n".join(found)
        )
