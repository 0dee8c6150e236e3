"""House rules that keep the code livable, checked on every run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NON_GUI = ("core", "calls", "devices", "audio", "storage", "escalation", "chat")
GUI_MODULES = ("PySide6.QtWidgets", "PySide6.QtGui")


def _qt_gui_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [n for n in names if n.startswith(GUI_MODULES)]
    return found


def test_scanner_sees_a_widget_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6 import QtWidgets\n    import PySide6.QtGui as g\n")
    assert _qt_gui_imports(bad) == ["PySide6.QtWidgets", "PySide6.QtGui"]


def test_only_console_imports_qt_widgets_or_gui():
    offenders = {}
    for pkg in NON_GUI:
        for path in (ROOT / pkg).rglob("*.py"):
            found = _qt_gui_imports(path)
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_importing_every_non_gui_module_loads_no_widgets():
    modules = []
    for pkg in NON_GUI:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            if "firmware" in rel.parts:  # MicroPython code for the button box board
                continue
            modules.append(".".join(p for p in rel.parts if p != "__init__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6.QtWidgets', 'PySide6.QtGui'))]\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) > 50  # the imports really happened


def test_console_options_module_is_qt_free():
    assert _qt_gui_imports(ROOT / "console" / "options.py") == []
