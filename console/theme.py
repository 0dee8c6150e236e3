"""Light and night themes, the font scale, and semantic roles for widgets.

Widgets never write colours of their own: they say what a label *is* with
:func:`set_role` (``"danger"``, ``"prompt"``…), and the application's style sheet, built
from the current :class:`Palette`, draws each role. Code that needs a colour value (the
state pill, a table cell) asks :func:`colour`. Every pair of text and background colours of
both palettes is checked against WCAG 2.1 AA (4.5:1 for text) in
``tests/console/test_theme.py``, so colour alone never carries meaning the text does not
also say, and the night theme stays readable at 3 a.m. without glaring.

Roles (for labels unless noted):

* ``danger``: a red banner, white bold text (muted, urgent, lost);
* ``warning``: an amber banner, dark text (a prompt to act: check in, check the headset);
* ``info``: a blue banner, white text (a whisper, a note from supervision);
* ``ring``: the incoming-call banner, in the ringing state's colour;
* ``ok``: green text (confirmed, acknowledged);
* ``dim``: secondary text (hints, timestamps);
* a list row drawn by a widget of its own (``HitList``) carries ``selected="true"`` while it
  is selected: its plain and dim labels take the selection's text colour, so nothing is
  dim on the selection's blue;
* ``title``: a panel title (bold, a little larger);
* ``danger_button`` / ``ring_button`` (push buttons): the urgent escalation, the lit Answer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from calls.model import CallState
from core.status import Level

THEMES = ("light", "night")
#: the tick of a checked box (white on the highlight colour), drawn from a file: a style sheet
#: that styles the box itself must also give its tick
CHECK_ICON = (Path(__file__).parent / "icons" / "check.svg").as_posix()


@dataclasses.dataclass(frozen=True)
class Palette:
    name: str
    window: str
    base: str  # text fields, lists
    alt_base: str
    text: str
    dim: str  # secondary text
    button: str
    border: str
    highlight: str
    highlight_text: str
    danger_bg: str
    danger_fg: str
    warning_bg: str
    warning_fg: str
    info_bg: str
    info_fg: str
    ok: str  # text colour on window
    link: str
    #: the state pill's background (white text) and the big state word's colour (on window)
    state_bg: dict[CallState, str]
    state_fg: dict[CallState, str]
    #: a status chip's colour (text and border, on window)
    level_fg: dict[Level, str]


LIGHT = Palette(
    name="light",
    window="#f4f4f2",
    base="#ffffff",
    alt_base="#eef1f5",
    text="#1a1a1a",
    dim="#555555",
    button="#e6e6e3",
    border="#9a9a96",
    highlight="#1f5fae",
    highlight_text="#ffffff",
    danger_bg="#b00020",
    danger_fg="#ffffff",
    warning_bg="#fff4ce",
    warning_fg="#3b2f00",
    info_bg="#1f5fae",
    info_fg="#ffffff",
    ok="#1b6e34",
    link="#1f5fae",
    state_bg={
        CallState.AVAILABLE: "#1b7339",
        CallState.RINGING: "#a35200",
        CallState.ON_CALL: "#1f5fae",
        CallState.ON_HOLD: "#6b4fa3",
        CallState.WRAP_UP: "#555555",
        CallState.BREAK: "#666666",
    },
    state_fg={
        CallState.AVAILABLE: "#1b6e34",
        CallState.RINGING: "#9a4d00",
        CallState.ON_CALL: "#1f5fae",
        CallState.ON_HOLD: "#5e4393",
        CallState.WRAP_UP: "#4d4d4d",
        CallState.BREAK: "#5c5c5c",
    },
    level_fg={
        Level.OK: "#1b6e34",
        Level.INFO: "#1f5fae",
        Level.WARNING: "#8f4700",
        Level.ERROR: "#b00020",
        Level.OFF: "#5c5c5c",
    },
)

# Night: dark grey (not black) surfaces, off-white text, banners a shade deeper so they do
# not glare in a dark room; every text colour still passes AA on its background.
NIGHT = Palette(
    name="night",
    window="#1e2124",
    base="#26292d",
    alt_base="#2d3136",
    text="#e4e4e0",
    dim="#a9aba6",
    button="#33373c",
    border="#5b6067",
    highlight="#3d6fb3",
    highlight_text="#ffffff",
    danger_bg="#a3001d",
    danger_fg="#ffffff",
    warning_bg="#4a3d00",
    warning_fg="#ffe89a",
    info_bg="#24528f",
    info_fg="#ffffff",
    ok="#7fd19a",
    link="#8fb8ee",
    state_bg={
        CallState.AVAILABLE: "#1b6e34",
        CallState.RINGING: "#9a4d00",
        CallState.ON_CALL: "#24528f",
        CallState.ON_HOLD: "#5e4393",
        CallState.WRAP_UP: "#4d4d4d",
        CallState.BREAK: "#555555",
    },
    state_fg={
        CallState.AVAILABLE: "#7fd19a",
        CallState.RINGING: "#ffb066",
        CallState.ON_CALL: "#8fb8ee",
        CallState.ON_HOLD: "#c3aef0",
        CallState.WRAP_UP: "#c4c4c0",
        CallState.BREAK: "#b8b8b4",
    },
    level_fg={
        Level.OK: "#7fd19a",
        Level.INFO: "#8fb8ee",
        Level.WARNING: "#ffb066",
        Level.ERROR: "#ff8a8a",
        Level.OFF: "#a9aba6",
    },
)

PALETTES = {"light": LIGHT, "night": NIGHT}
_current: Palette = LIGHT
_scale: float = 1.0


def current() -> Palette:
    return _current


def font_scale() -> float:
    return _scale


def colour(name: str) -> str:
    """A colour of the current palette by field name (``"danger_bg"``, ``"text"``…)."""
    value = getattr(_current, name)
    assert isinstance(value, str), name
    return value


def state_colours(state: CallState) -> tuple[str, str]:
    """(pill background, state-word colour) of a call state in the current palette."""
    return _current.state_bg[state], _current.state_fg[state]


def level_colour(level: Level) -> str:
    return _current.level_fg[level]


def pt(size: float) -> str:
    """A font size for a style sheet, scaled by the font-scale option (``"18pt"``)."""
    return f"{size * _scale:.1f}pt"


def set_role(widget: QWidget, role: str | None) -> None:
    """Give ``widget`` a semantic role (see the module doc); None clears it."""
    if widget.property("role") == role:
        return
    widget.setProperty("role", role)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def style_sheet(p: Palette) -> str:
    """The application's style sheet for palette ``p``: the roles, and focus made visible on
    text fields and lists (buttons and drop-downs keep Fusion's own focus frame: a border
    in a style sheet would switch them to flat style-sheet drawing)."""
    return f"""
QLabel[role="danger"] {{ background: {p.danger_bg}; color: {p.danger_fg};
    font-weight: bold; padding: 6px; border-radius: 3px; }}
QLabel[role="warning"] {{ background: {p.warning_bg}; color: {p.warning_fg};
    padding: 6px; border-radius: 3px; }}
QLabel[role="info"] {{ background: {p.info_bg}; color: {p.info_fg};
    font-weight: bold; padding: 8px; border-radius: 3px; }}
QLabel[role="ring"] {{ background: {p.state_bg[CallState.RINGING]}; color: #ffffff;
    font-weight: bold; padding: 8px; border-radius: 3px; }}
QLabel[role="ok"] {{ color: {p.ok}; }}
QLabel[role="dim"] {{ color: {p.dim}; }}
QLabel[role="title"] {{ font-weight: bold; font-size: {pt(11)}; }}
QWidget[selected="true"] QLabel {{ color: {p.highlight_text}; }}
QWidget[selected="true"] QLabel[role="warning"] {{ color: {p.warning_fg}; }}
QWidget[selected="true"] QLabel[role="info"] {{ color: {p.info_fg}; }}
QWidget[selected="true"] QLabel[role="danger"] {{ color: {p.danger_fg}; }}
QPushButton[role="danger_button"]:enabled {{ font-weight: bold; color: {p.danger_fg};
    background: {p.danger_bg}; border: 1px solid {p.danger_bg}; padding: 4px; }}
QPushButton[role="ring_button"]:enabled {{ font-weight: bold; color: {p.info_fg};
    background: {p.state_bg[CallState.RINGING]}; border: 1px solid {p.border}; padding: 4px; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border-radius: 2px;
    border: 1px solid {p.text}; background: {p.base}; }}
QCheckBox::indicator:checked {{ background: {p.highlight}; border-color: {p.highlight};
    image: url({CHECK_ICON}); }}
QCheckBox::indicator:disabled {{ border-color: {p.dim}; }}
QListWidget:focus, QTableWidget:focus, QTreeView:focus,
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus {{
    border: 2px solid {p.highlight}; }}
"""


def qpalette(p: Palette) -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: p.window,
        QPalette.ColorRole.WindowText: p.text,
        QPalette.ColorRole.Base: p.base,
        QPalette.ColorRole.AlternateBase: p.alt_base,
        QPalette.ColorRole.Text: p.text,
        QPalette.ColorRole.PlaceholderText: p.dim,
        QPalette.ColorRole.Button: p.button,
        QPalette.ColorRole.ButtonText: p.text,
        QPalette.ColorRole.ToolTipBase: p.base,
        QPalette.ColorRole.ToolTipText: p.text,
        QPalette.ColorRole.Highlight: p.highlight,
        QPalette.ColorRole.HighlightedText: p.highlight_text,
        QPalette.ColorRole.Link: p.link,
        QPalette.ColorRole.BrightText: p.danger_fg,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    disabled = QColor(p.dim)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return pal


_base_point_size: float | None = None


def apply_theme(app: QApplication, name: str = "light", scale: float = 1.0) -> Palette:
    """Make ``name`` the application's theme and ``scale`` its font scale (any time: open
    windows follow the palette and style sheet; widgets that compute colours redraw on
    their next render)."""
    global _current, _scale, _base_point_size
    _current = PALETTES.get(name, LIGHT)
    _scale = scale
    app.setStyle("Fusion")  # the one style that follows a palette everywhere
    app.setPalette(qpalette(_current))
    font = QFont(app.font())
    if _base_point_size is None:
        _base_point_size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
    font.setPointSizeF(_base_point_size * scale)
    app.setFont(font)
    app.setStyleSheet(style_sheet(_current))
    return _current


# -- WCAG 2.1 contrast --------------------------------------------------------------------
def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast(fg: str, bg: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_pairs(p: Palette) -> list[tuple[str, str, str]]:
    """Every (what, text colour, background) pair the palette draws text with."""
    pairs = [
        ("text on window", p.text, p.window),
        ("text on base", p.text, p.base),
        ("text on alternate rows", p.text, p.alt_base),
        ("text on buttons", p.text, p.button),
        ("secondary text on window", p.dim, p.window),
        ("secondary text on base", p.dim, p.base),
        ("selected text", p.highlight_text, p.highlight),
        ("danger banner", p.danger_fg, p.danger_bg),
        ("warning banner", p.warning_fg, p.warning_bg),
        ("info banner", p.info_fg, p.info_bg),
        ("confirmed text", p.ok, p.window),
        ("links", p.link, p.base),
    ]
    for state, bg in p.state_bg.items():
        pairs.append((f"state pill {state.value}", "#ffffff", bg))
    for state, fg in p.state_fg.items():
        pairs.append((f"state word {state.value}", fg, p.window))
    for level, fg in p.level_fg.items():
        pairs.append((f"status chip {level.name}", fg, p.window))
    return pairs
