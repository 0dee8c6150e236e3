"""Light and night themes: every text colour passes WCAG AA, every role a widget asks for is
drawn, and switching theme or font scale changes what the window shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel

from console import theme

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app():
    app = QApplication.instance()
    yield app
    theme.apply_theme(app, "light", 1.0)


@pytest.mark.parametrize("name", theme.THEMES)
def test_every_text_colour_passes_wcag_aa(name):
    palette = theme.PALETTES[name]
    failing = [
        (what, fg, bg, round(theme.contrast(fg, bg), 2))
        for what, fg, bg in theme.text_pairs(palette)
        if theme.contrast(fg, bg) < 4.5
    ]
    assert not failing, failing


def test_the_contrast_formula_matches_wcag():
    assert theme.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_every_role_used_in_the_console_is_drawn_in_both_themes():
    used: set[str] = set()
    for path in (ROOT / "console").rglob("*.py"):
        used |= set(re.findall(r'set_role\([^,]+,\s*"([a-z_]+)"', path.read_text()))
    assert used, "no roles found"
    for name in theme.THEMES:
        sheet = theme.style_sheet(theme.PALETTES[name])
        missing = [r for r in used if f'[role="{r}"]' not in sheet]
        assert not missing, (name, missing)


def test_no_colour_is_written_outside_the_theme():
    """Colours come from the palette, so the night theme reaches every widget."""
    hexes = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")
    allowed = {"theme.py", "buttonbox_panel.py"}  # the simulated box draws its LEDs' colours
    offenders = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        if path.name in allowed:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("  #", 1)[0]  # a trailing comment is not a colour
            if hexes.search(code):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_switching_theme_and_font_scale(app, qtbot):
    label = QLabel("Disponible")
    qtbot.addWidget(label)
    theme.apply_theme(app, "night", 1.0)
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.NIGHT.window
    base = app.font().pointSizeF()
    theme.apply_theme(app, "night", 1.5)
    assert app.font().pointSizeF() == pytest.approx(base * 1.5)
    assert theme.pt(10) == "15.0pt"
    theme.apply_theme(app, "light", 1.0)
    assert app.font().pointSizeF() == pytest.approx(base)
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.window
    theme.set_role(label, "danger")
    assert label.property("role") == "danger"
