"""The counselor's escalation panel shows the contact in progress only, and only what is true.

Offscreen, on a session with the companion backend and a FakeClock (no broker: what the
supervisor does arrives as the events the escalation service would publish, fed through the
bridge as it would deliver them)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.session import Session
from calls.events import CallStateChanged
from calls.model import Action, Call, CallState, Command, Source
from console.bridge import EventBridge
from core.config import Config
from core.privacy import Personal
from escalation import events as ev

pytestmark = pytest.mark.timeout(60)

AT = dt.datetime(2026, 12, 2, 21, 40, tzinfo=dt.UTC)


@pytest.fixture
def counselor(tmp_path, fake_clock):
    from core.paths import Paths
    from escalation.service import attach

    cfg = Config.defaults().with_overrides(
        {"escalation.fallback_phone": "+1 555 0100", "calls.backend": "companion"}
    )
    s = Session(cfg, paths=Paths.under(tmp_path / "c"), clock=fake_clock, attach=False)
    attach(s)
    s.start()
    yield s
    s.stop()


def _panel(qtbot, session):
    from console import theme
    from console.escalation_panel import EscalationPanel

    bridge = EventBridge(session.bus)
    panel = EscalationPanel(session, bridge)
    qtbot.addWidget(panel)
    panel.setPalette(theme.qpalette(theme.LIGHT))  # the theme on this panel alone
    panel.setStyleSheet(theme.style_sheet(theme.LIGHT))
    panel.resize(340, 520)
    panel.show()
    return panel, bridge


def _state(eid, call_id, state, by=None):
    return ev.EscalationStateChanged(eid, call_id, "urgent", state, by, AT)


def _whisper(eid, direction, by, text):
    return ev.WhisperReceived(eid, direction, by, text, AT)


def _cleared(panel):
    return (
        panel.current is None
        and panel.whisper_thread.count() == 0
        and panel.summary.text() == "No escalation"
        and [panel.step_text(s) for s in ev.STATES]
        == ["Raised", "Sent", "Delivered", "Acknowledged", "Resolved"]
        and not panel.fallback.isVisible()
        and not panel.resolve_button.isEnabled()
        and not panel.whisper_edit.isEnabled()
    )


def test_waiting_gives_way_to_the_acknowledgement_and_the_panel_clears_after_the_call(
    qtbot, counselor, fake_clock, artifacts_dir
):
    panel, bridge = _panel(qtbot, counselor)
    calls = counselor.calls
    calls.handle(Command(Action.ANSWER, Source.UI))
    call_id = calls.call.id
    calls.handle(Command(Action.ESCALATE, Source.KEYBOARD, level="urgent"))
    qtbot.waitUntil(lambda: panel.current is not None, timeout=5000)
    eid = panel.current
    assert panel.summary.text() == "Urgent: imminent risk: waiting for a supervisor…"
    assert panel.summary.property("role") == "warning"
    fake_clock.advance(91.0)  # T2 without an acknowledgement: the fallback number
    qtbot.waitUntil(lambda: panel.fallback.isVisible(), timeout=5000)
    assert panel.fallback.property("role") == "danger"
    qtbot.wait(50)
    panel.grab().save(str(artifacts_dir / "waiting-fallback.png"))

    bridge.dispatch(_state(eid, call_id, ev.ACKNOWLEDGED, "sup-ana"))
    assert panel.summary.text() == "sup-ana is with you."
    assert panel.summary.property("role") == "ok"
    assert "waiting" not in panel.summary.text()
    assert panel.step_text(ev.ACKNOWLEDGED) == "Acknowledged by sup-ana"
    assert panel.steps[ev.ACKNOWLEDGED].accessibleName() == "Acknowledged by sup-ana: done"
    assert panel.steps[ev.RESOLVED].accessibleName() == "Resolved: not yet"
    assert not panel.fallback.isVisible()  # someone answered: no longer true
    # news of the ladder that crosses the acknowledgement says nothing false
    bridge.dispatch(ev.EscalationRealerted(eid, "urgent"))
    bridge.dispatch(ev.FallbackNumberDue(eid, "urgent", "+1 555 0100"))
    assert panel.summary.text() == "sup-ana is with you." and not panel.fallback.isVisible()
    bridge.dispatch(_whisper(eid, "in", "sup-ana", "Ask about the means, stay with them"))
    bridge.dispatch(_whisper(eid, "out", "c-alba", "Means removed, she is calmer now"))
    assert panel.whisper_thread.count() == 2
    assert "sup-ana: Ask about the means" in panel.whisper_thread.item(0).text()
    assert panel.whisper_edit.isEnabled()
    qtbot.wait(50)  # the layout settles (posted layout requests) before the picture
    panel.grab().save(str(artifacts_dir / "acknowledged.png"))

    calls.handle(Command(Action.HANG_UP, Source.UI))  # wrap-up: still this contact
    qtbot.waitUntil(lambda: calls.state is CallState.WRAP_UP, timeout=5000)
    qtbot.wait(50)
    assert panel.current == eid and panel.whisper_thread.count() == 2
    bridge.dispatch(_state(eid, call_id, ev.RESOLVED, "sup-ana"))
    assert panel.summary.text() == "Escalation resolved."
    assert "with you" not in panel.summary.text()

    calls.handle(Command(Action.FINISH_WRAP_UP, Source.UI, disposition="referred"))
    qtbot.waitUntil(lambda: _cleared(panel), timeout=5000)
    qtbot.wait(50)
    panel.grab().save(str(artifacts_dir / "available.png"))
    # late news about that contact's escalation does not come back on screen
    bridge.dispatch(_whisper(eid, "in", "sup-ana", "Good work"))
    bridge.dispatch(_state(eid, call_id, ev.RESOLVED, "sup-ana"))
    assert _cleared(panel)


def test_a_new_ring_clears_the_previous_calls_escalation(qtbot, counselor):
    panel, bridge = _panel(qtbot, counselor)

    def state(s, call):
        return CallStateChanged(CallState.AVAILABLE, s, call, False, Source.SYSTEM, False)

    first = Call("call-a", "phone", Personal("555 0101"), AT, 1.0)
    bridge.dispatch(state(CallState.ON_CALL, first))
    bridge.dispatch(_state("esc-1", "call-a", ev.RAISED))
    bridge.dispatch(_state("esc-1", "call-a", ev.ACKNOWLEDGED, "sup-ana"))
    bridge.dispatch(_whisper("esc-1", "in", "sup-ana", "I am listening"))
    bridge.dispatch(state(CallState.ON_HOLD, first))  # the same contact: nothing changes
    assert panel.current == "esc-1" and panel.whisper_thread.count() == 1
    second = Call("call-b", "phone", Personal("555 0102"), AT, 2.0)
    bridge.dispatch(state(CallState.RINGING, second))
    assert _cleared(panel)
    # the new call's own escalation shows as usual
    bridge.dispatch(state(CallState.ON_CALL, second))
    bridge.dispatch(_state("esc-2", "call-b", ev.RAISED))
    assert panel.current == "esc-2"
    assert panel.summary.text() == "Urgent: imminent risk: waiting for a supervisor…"


def test_a_proposal_lapses_when_its_call_is_over(qtbot, counselor):
    panel, bridge = _panel(qtbot, counselor)
    call = Call("call-a", "phone", Personal("555 0101"), AT, 1.0)
    on_call = CallStateChanged(CallState.RINGING, CallState.ON_CALL, call, False, Source.UI, False)
    bridge.dispatch(on_call)
    bridge.dispatch(ev.EscalationProposed("call-a", "urgent", "imminent_risk"))
    assert panel.proposal.isVisible() and panel.proposal.property("role") == "danger_button"
    bridge.dispatch(
        CallStateChanged(CallState.WRAP_UP, CallState.AVAILABLE, None, False, Source.UI, False)
    )
    assert not panel.proposal.isVisible()


def test_every_escalation_control_has_an_accessible_name(qtbot, counselor):
    panel, _bridge = _panel(qtbot, counselor)
    controls = [
        panel.level,
        panel.escalate,
        panel.summary,
        panel.fallback,
        panel.whisper_thread,
        panel.whisper_edit,
        panel.whisper_send,
        panel.resolve_button,
        *panel.steps.values(),
    ]
    for w in controls:
        assert w.accessibleName(), w.objectName()
    # tab order: level, escalate, (the proposal when shown), the thread, its edit and buttons
    order = [panel.level, panel.escalate, panel.proposal, panel.whisper_thread]
    order += [panel.whisper_edit, panel.whisper_send, panel.resolve_button]
    chain, w = [], panel.level
    while len(chain) < len(order):
        if any(w is o for o in order):
            chain.append(w)
        w = w.nextInFocusChain()  # the chain also runs through viewports and scroll bars
    assert all(c is o for c, o in zip(chain, order, strict=True))
