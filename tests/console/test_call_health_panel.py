"""The call-health panel is calm: one figure per fact, prompts that stay long enough to
read, a prompt area that never moves what is below it, and a muted-while-speaking line that
goes the moment the counselor unmutes.

Time is the session's FakeClock; the panel is refreshed by hand after each step (its timer
reads the same snapshot)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QWidget

from audio.metrics import results_stub
from calls import events as cev
from calls.model import Source
from console import call_health_panel as chp
from console.call_health_panel import MUTED_HOLD_S, PROMPT_HOLD_S, CallHealthPanel

FIGURE = re.compile(r"\d+:\d\d")


@pytest.fixture
def themed(qapp):
    """The application's theme (its style sheet draws the roles' padding), put back after."""
    from console.theme import apply_theme

    style, palette, font = qapp.style().name(), qapp.palette(), qapp.font()
    apply_theme(qapp)
    yield qapp
    qapp.setStyleSheet("")
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setStyle(style)


@pytest.fixture
def panel(qtbot, audio_session, themed):
    p = CallHealthPanel(audio_session)
    qtbot.addWidget(p)
    p._timer.stop()  # refreshed by hand: each step is deterministic
    p.resize(320, 640)
    p.show()
    qtbot.waitExposed(p)
    audio_session.service("audio").health.start_call("c")
    return p


def _run(panel, clock, seconds, near=False, far=False, near_db=-20.0, far_db=-30.0):
    """``seconds`` of paired frames in 0.1 s blocks, the panel refreshed after each."""
    health = panel.service.health
    for _ in range(int(round(seconds * 10))):
        clock.advance(0.1)
        health.on_frames(
            results_stub(np.full(10, near), near_db if near else -50.0),
            results_stub(np.full(10, far), far_db if far else -50.0),
        )
        panel.refresh()


def _below_prompts(panel) -> dict[str, tuple[int, int, int, int]]:
    widgets = {
        "balance": panel.balance,
        "balance_text": panel.balance_text,
        "silence": panel.silence,
        "near_meter": panel.near_meter,
        "far_meter": panel.far_meter,
        "note": panel.note,
    }
    out = {}
    for name, w in widgets.items():
        top_left = w.mapTo(panel, w.rect().topLeft())
        out[name] = (top_left.x(), top_left.y(), w.width(), w.height())
    return out


def test_the_prompt_quotes_no_other_figure_than_the_caller_silent_timer(panel, fake_clock):
    _run(panel, fake_clock, 2.0, far=True)
    _run(panel, fake_clock, 21.0)  # the caller silent 21 s; the counselor silent too
    assert any("silent" in t for t in panel.prompt_texts())
    assert panel.silence.text() == "0:21"
    labels = {w.text() for w in panel.findChildren(QLabel)}
    assert "Caller silent" in labels and "Silence" not in labels
    # one figure, shown once: the only m:ss on the panel is the caller-silent timer
    shown = [w for w in panel.findChildren(QLabel) if FIGURE.search(w.text())]
    assert shown == [panel.silence]
    for text in panel.prompt_texts():
        assert all(f == panel.silence.text() for f in FIGURE.findall(text)), text
    # the counselor talking does not touch the caller's silence
    _run(panel, fake_clock, 3.0, near=True)
    assert panel.silence.text() == "0:24"


def test_a_prompt_stays_for_the_hold_after_its_condition_ends_then_clears(panel, fake_clock):
    _run(panel, fake_clock, 20.5)
    assert panel.prompt_texts(), "the check-in prompt"
    prompt = panel.prompt_texts()[0]
    _run(panel, fake_clock, 0.5, far=True)  # the caller speaks: the condition ends
    assert not panel.service.health.snapshot().caller_silence_prompt
    assert panel.prompt_texts() == [prompt]
    _run(panel, fake_clock, PROMPT_HOLD_S - 1.0, far=True)
    assert panel.prompt_texts() == [prompt], "still held"
    _run(panel, fake_clock, 1.0, far=True)
    assert panel.prompt_texts() == []
    assert panel.prompts.slots[0].property("role") is None


def test_a_prompt_that_comes_back_during_its_hold_does_not_flicker(panel, fake_clock):
    _run(panel, fake_clock, 20.5)
    _run(panel, fake_clock, 0.3, far=True)
    texts = panel.prompt_texts()
    _run(panel, fake_clock, 2.0, far=True)
    assert panel.prompt_texts() == texts


def test_the_widgets_below_the_prompt_area_do_not_move(panel, fake_clock, qtbot):
    QApplication.processEvents()
    before = _below_prompts(panel)
    area = panel.prompts.geometry()
    # three prompts at once: muted while speaking, check in, too loud
    _run(panel, fake_clock, 20.5)
    panel.service.health.set_muted(True)
    _run(panel, fake_clock, 1.5, near=True)
    QApplication.processEvents()
    assert len(panel.prompt_texts()) == chp.PROMPT_SLOTS
    assert _below_prompts(panel) == before
    assert panel.prompts.geometry() == area
    for slot in panel.prompts.slots:  # each prompt fits its slot, whole
        assert slot.heightForWidth(slot.width()) <= slot.height(), slot.text()
    panel.service.health.set_muted(False)
    _run(panel, fake_clock, 0.5, far=True)
    _run(panel, fake_clock, PROMPT_HOLD_S + 0.5, far=True)
    QApplication.processEvents()
    assert panel.prompt_texts() == []
    assert _below_prompts(panel) == before and panel.prompts.geometry() == area


def test_every_prompt_fits_its_slot_at_a_narrow_width(panel, qtbot):
    panel.resize(220, 800)
    QApplication.processEvents()
    slot = panel.prompts.slots[0]
    for key in chp.PROMPTS:
        panel.prompts.show_keys([key])
        assert slot.heightForWidth(slot.width()) <= slot.height(), key


def test_the_balance_bar_draws_no_text_and_its_figures_have_their_own_label(panel, fake_clock):
    _run(panel, fake_clock, 6.2, near=True)
    _run(panel, fake_clock, 3.8, far=True)
    assert not panel.balance.isTextVisible()
    assert panel.balance.value() == 62
    assert panel.balance_text.text() == "You 62% · Caller 38%"
    assert panel.balance.accessibleDescription() == "You 62% · Caller 38%"


def test_the_muted_while_speaking_line_holds_then_clears_and_goes_at_once_on_unmute(
    panel, fake_clock
):
    health = panel.service.health
    top = panel.prompts.slots[0]
    _run(panel, fake_clock, 20.5)  # a check-in prompt takes the top slot first
    check_in = panel.prompt_texts()[0]
    health.set_muted(True)
    _run(panel, fake_clock, 1.0, near=True)
    assert top.text() == "You are speaking while muted: unmute so the caller can hear you."
    assert top.property("role") == "danger"
    assert panel.prompts.slots[1].text() == check_in  # moved down, still shown
    assert panel.prompts.slots[1].property("role") == "warning"
    # speech stops, still muted: 2 s until the detector clears, then the panel's hold
    _run(panel, fake_clock, 2.0 + MUTED_HOLD_S - 0.5)
    assert "speaking while muted" in top.text()
    _run(panel, fake_clock, 1.0)
    assert "speaking while muted" not in top.text()
    # speaking again, then unmuting: gone at the next refresh, no hold
    _run(panel, fake_clock, 1.0, near=True)
    assert "speaking while muted" in top.text()
    health.set_muted(False)
    panel.refresh()
    assert "speaking while muted" not in top.text() and top.property("role") != "danger"
    # and from the unmute event itself, before any refresh
    health.set_muted(True)
    _run(panel, fake_clock, 1.0, near=True)
    assert "speaking while muted" in top.text()
    health.set_muted(False)
    panel.on_event(cev.MuteChanged(muted=False, call_id="c", source=Source.UI))
    assert "speaking while muted" not in top.text()


def test_prompts_end_with_the_call(panel, fake_clock):
    _run(panel, fake_clock, 20.5)
    assert panel.prompt_texts()
    panel.service.health.end_call()
    panel.refresh()
    assert panel.prompt_texts() == [] and panel.silence.text() == "–"


def test_roles_not_colours_and_everything_is_named(panel, fake_clock):
    _run(panel, fake_clock, 1.0, near=True)
    for w in [panel, *panel.findChildren(QWidget)]:
        assert w.styleSheet() == "", w.objectName()
    title = panel.findChild(QLabel, "panelTitle")
    assert title is not None and title.property("role") == "title"
    for w in [*panel.findChildren(QLabel), *panel.findChildren(QProgressBar)]:
        assert w.accessibleName(), (w.objectName(), getattr(w, "text", lambda: "")())
    assert panel.near_meter.accessibleDescription() == "Level: good"
    assert panel.far_meter.accessibleDescription() == "Level: quiet"  # -50 dBFS
