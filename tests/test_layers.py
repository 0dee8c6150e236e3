"""The layers of docs/architecture.md, checked on every run (docs/contributing.md).

    core → calls → devices | audio | storage | escalation | chat → app → console

A module may import its own package and any package of a lower layer; the five capability
packages never import each other (flows between them live in app/wiring.py). Every import
counts: at module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = {
    "core": 0,
    "calls": 1,
    "devices": 2,
    "audio": 2,
    "storage": 2,
    "escalation": 2,
    "chat": 2,
    "app": 3,
    "console": 4,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(LAYER)


def violations() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pkg, layer in LAYER.items():
        for path in sorted((ROOT / pkg).rglob("*.py")):
            bad = sorted(q for q in imported_packages(path) - {pkg} if LAYER[q] >= layer)
            if bad:
                found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_checker_sees_upward_and_sideways_imports(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.session import S\n"
        "def f():\n    import storage.events\n"
    )
    assert imported_packages(bad) == {"app", "storage"}


def test_every_package_imports_only_its_own_layer_or_lower():
    assert violations() == {}
