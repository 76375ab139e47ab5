"""What every benchmark script does with its result: one JSON document, under two names.

``results/<name>.json`` is the script's own file; ``results/bench_<name>.json`` is the one
``run_all.py`` collects and plots (a script that writes none is reported as failed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(result: dict[str, Any], name: str, *, echo: bool = True) -> str:
    """Write ``result`` to results/<name>.json and results/bench_<name>.json; the JSON text."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    for file_name in (f"{name}.json", f"bench_{name}.json"):
        (RESULTS / file_name).write_text(text, encoding="utf-8")
    if echo:
        print(text, end="")
    return text
