from __future__ import annotations

import ast
from pathlib import Path

INSTRUMENT = Path(__file__).resolve().parents[2] / "perfkit" / "instrument"
FORBIDDEN = ("perfkit.testing", "perfkit.cache", "perfkit.bench")


def test_instrument_imports_neither_testing_nor_cache_nor_bench():
    found = []
    for path in sorted(INSTRUMENT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [
                f"{path.name}:{node.lineno}: {name}"
                for name in names
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
            ]
    assert found == []
