"""The supervisor window and the counselor's escalation panel, offscreen, on a real broker."""

from __future__ import annotations

import pytest

from app.session import Session
from calls.model import Action, Command, Source
from console.bridge import EventBridge
from core.config import Config
from escalation import events as ev
from tests.escalation.conftest import fields
from tests.support.escalation_apps import start_connected
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(120)


def _session(tmp_path, broker, cn, role, **more):
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(broker.overrides(cn, role, **more))
    s = Session(cfg, paths=Paths.under(tmp_path / cn), attach=False)
    from escalation.service import attach

    attach(s)
    return s


def test_supervisor_window_and_panel_walk_the_whole_lifecycle(
    qtbot, tmp_path, tls_broker, artifacts_dir
):
    from console.escalation_panel import EscalationPanel
    from console.supervisor_window import SupervisorWindow

    # presence gets a short grace here (reconnect_max_s + lost_grace_s, 10 s by default)
    sup = _session(
        tmp_path,
        tls_broker,
        "sup-ana",
        "supervisor",
        **{
            "escalation.coverage_minimum": 2,
            "escalation.reconnect_max_s": 0.5,
            "escalation.lost_grace_s": 0.0,
        },
    )
    cou = _session(
        tmp_path, tls_broker, "c-alba", "counselor", **{"escalation.fallback_phone": "+1 555 0100"}
    )
    cev = Recorder(cou.bus)
    window = SupervisorWindow(sup)
    panel = EscalationPanel(cou, EventBridge(cou.bus))
    qtbot.addWidget(window)
    qtbot.addWidget(panel)
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        qtbot.waitUntil(
            lambda: window.board.rowCount() == 1 and window.board.item(0, 1).text() == "On call",
            timeout=10000,
        )
        # a counselor on a call is staffed, but one is below the minimum of 2: red, in words
        qtbot.waitUntil(lambda: window.coverage_alarm, timeout=5000)
        assert window.coverage.text() == (
            "⚠ Coverage below minimum: 1 on a call · 0 available (minimum 2)"
        )
        panel.level.setCurrentIndex(panel.level.findData("urgent"))
        panel.escalate.click()
        qtbot.waitUntil(lambda: window.queue.rowCount() == 1, timeout=10000)
        # the row comes from the model on the window's timer, the alarm from the bridge
        qtbot.waitUntil(lambda: window.notifications == ["New escalation: Urgent: imminent risk"])
        assert window.beeps == 3  # urgent sounds different from a consultation (one beep)
        assert window.queue.item(0, 0).text().startswith("⚠ Urgent")  # and looks different
        assert window.queue.item(0, 0).font().bold()
        qtbot.waitUntil(lambda: panel.summary.text().startswith("Urgent"), timeout=5000)
        eid = panel.current
        cev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.DELIVERED), 10)
        # Acknowledge takes the waiting alert with no row clicked
        window.queue.clearSelection()
        qtbot.waitUntil(lambda: window.ack_button.isEnabled(), timeout=5000)
        window.ack_button.click()
        window.select(eid)
        qtbot.waitUntil(
            lambda: panel.step_text(ev.ACKNOWLEDGED) == "Acknowledged by sup-ana", timeout=10000
        )
        window.whisper_edit.setText("Ask about the means, stay with them")
        window._whisper()
        qtbot.waitUntil(lambda: panel.whisper_thread.count() == 1, timeout=10000)
        assert "sup-ana: Ask about the means" in panel.whisper_thread.item(0).text()
        panel.whisper_edit.setText("Means removed")
        panel._whisper()
        qtbot.waitUntil(lambda: window.whisper_thread.count() == 2, timeout=10000)
        window.grab().save(str(artifacts_dir / "supervisor.png"))
        panel.grab().save(str(artifacts_dir / "panel.png"))
        window.select(eid)
        window.resolve_button.click()
        qtbot.waitUntil(lambda: panel.summary.text() == "Escalation resolved.", timeout=10000)
        assert not panel.fallback.isVisible()
        # no personal data in what the desktop was told
        assert all("c-alba" not in n and "555" not in n for n in window.notifications)
    finally:
        window.close()
        panel.close()
        cou.stop()
        sup.stop()


def test_panel_shows_the_fallback_number_once_t2_passes(qtbot, tmp_path, fake_clock):
    from console.escalation_panel import EscalationPanel
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {"escalation.fallback_phone": "+1 555 0100", "calls.backend": "companion"}
    )
    s = Session(cfg, paths=Paths.under(tmp_path / "c"), clock=fake_clock, attach=False)
    from escalation.service import attach

    svc = attach(s)
    panel = EscalationPanel(s, EventBridge(s.bus))
    qtbot.addWidget(panel)
    panel.show()
    s.start()
    s.calls.handle(Command(Action.ANSWER, Source.UI))
    s.calls.handle(Command(Action.ESCALATE, Source.KEYBOARD, level="urgent"))
    qtbot.waitUntil(lambda: panel.current is not None, timeout=5000)
    assert svc.led_state() == ev.RAISED
    fake_clock.advance(89.0)
    qtbot.wait(50)
    assert not panel.fallback.isVisible()
    fake_clock.advance(2.0)
    qtbot.waitUntil(lambda: panel.fallback.isVisible(), timeout=5000)
    assert "+1 555 0100" in panel.fallback.text()
    assert svc.led_state() == "fallback"
    panel.close()
    s.stop()


def test_imminent_risk_assessment_proposes_an_urgent_escalation(qtbot, tmp_path, tls_broker):
    """The store records an assessment at imminent risk for the current call: the panel proposes
    an urgent escalation; one press sends it with risk "imminent"; nothing is sent before."""
    from console.escalation_panel import EscalationPanel
    from storage.records import RiskAssessment

    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor")
    sev = Recorder(sup.bus)
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {**tls_broker.overrides("c-alba", "counselor"), "storage.unlock_target_ms": 1}
    )
    cou = Session(
        cfg,
        paths=Paths.under(tmp_path / "c-alba"),
        services=("storage.service", "escalation.service"),
    )
    cou.service("store").init("una frase larga de prueba")
    panel = EscalationPanel(cou, EventBridge(cou.bus))
    qtbot.addWidget(panel)
    panel.show()
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        call_id = cou.calls.call.id
        store = cou.service("store")
        store.add_risk_assessment(call_id, RiskAssessment(desire=frozenset({"hopelessness"})))
        qtbot.wait(200)
        assert not panel.proposal.isVisible()  # not imminent: nothing proposed
        store.add_risk_assessment(
            call_id,
            RiskAssessment(
                desire=frozenset({"hopelessness"}),
                capability=frozenset({"lethal_means"}),
                intent=frozenset({"plan_with_known_method"}),
            ),
        )
        qtbot.waitUntil(lambda: panel.proposal.isVisible(), timeout=5000)
        assert "IMMINENT RISK" in panel.proposal.text()
        assert cou.service("escalation").counselor.escalations == {}  # a proposal sends nothing
        panel.proposal.click()
        shown = sev.wait_event(ev.AlertShown, timeout=15)[1]
        alert = sup.service("escalation").supervisor.alert(shown.escalation_id)
        assert (alert.level, alert.reason, alert.risk) == ("urgent", "imminent_risk", "imminent")
        assert not panel.proposal.isVisible()
        # the same assessment again while the urgent escalation is open: no second proposal
        store.add_risk_assessment(
            call_id,
            RiskAssessment(
                desire=frozenset({"hopelessness"}),
                capability=frozenset({"lethal_means"}),
                intent=frozenset({"plan_with_known_method"}),
            ),
        )
        qtbot.wait(200)
        assert not panel.proposal.isVisible()
    finally:
        panel.close()
        cou.stop()
        sup.stop()


def test_supervisor_acknowledges_while_records_are_locked_and_they_are_kept_after_unlock(
    qtbot, tmp_path, tls_broker
):
    from app.session import SUPERVISOR_SERVICES
    from console.escalation_panel import EscalationPanel
    from console.supervisor_window import SupervisorWindow
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {**tls_broker.overrides("sup-ana", "supervisor"), "storage.unlock_target_ms": 1}
    )
    sup = Session(cfg, paths=Paths.under(tmp_path / "sup-ana"), services=SUPERVISOR_SERVICES)
    assert sup.service_names == ["calls", "store", "escalation"]  # no devices, no audio
    store = sup.service("store")
    store.init("frase del supervisor larga")
    store.lock()
    cou = _session(tmp_path, tls_broker, "c-alba", "counselor")
    window = SupervisorWindow(sup)
    panel = EscalationPanel(cou, EventBridge(cou.bus))
    for w in (window, panel):
        qtbot.addWidget(w)
        w.show()
    sup.start()
    cou.start()
    try:
        assert window.records.isVisible()
        wait_until(
            lambda: sup.service("escalation").connected and cou.service("escalation").connected,
            timeout=15,
            what="connected",
        )
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        cou.calls.handle(Command(Action.ESCALATE, Source.KEYBOARD, level="consult"))
        qtbot.waitUntil(lambda: window.queue.rowCount() == 1, timeout=10000)
        eid = panel.current
        # Acknowledge takes the waiting alert with no row clicked
        window.queue.clearSelection()
        qtbot.waitUntil(lambda: window.ack_button.isEnabled(), timeout=5000)
        window.ack_button.click()
        window.select(eid)
        qtbot.waitUntil(
            lambda: panel.step_text(ev.ACKNOWLEDGED) == "Acknowledged by sup-ana", timeout=10000
        )
        assert store.is_locked  # acknowledging never waited for the passphrase
        window.unlock_screen.passphrase.setText("frase del supervisor larga")
        window.unlock_screen.submit()
        qtbot.waitUntil(lambda: not window.records.isVisible(), timeout=10000)
        wait_until(
            lambda: (store.escalation(eid) or {}).get("state") == ev.ACKNOWLEDGED,
            timeout=15,
            what="the acknowledgement written to the supervisor's store",
        )
    finally:
        window.close()
        panel.close()
        cou.stop()
        sup.stop()


def test_live_call_health_signals_reach_the_supervisor_board(qtbot, tmp_path, tls_broker):
    """Audio prompts of a call travel with the counselor's presence (codes, never audio or text)
    and show on the board; they clear when the call ends."""
    from audio import events as aev
    from console.supervisor_window import SupervisorWindow

    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _session(tmp_path, tls_broker, "c-alba", "counselor")
    window = SupervisorWindow(sup)
    qtbot.addWidget(window)
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        call_id = cou.calls.call.id
        cou.bus.publish(aev.MutedWhileSpeaking(call_id, True))
        cou.bus.publish(aev.CallerSilenceLong(call_id, True, 40.0))

        def cell() -> str:
            item = window.board.item(0, 4) if window.board.rowCount() else None
            return item.text() if item else ""

        qtbot.waitUntil(lambda: cell() == "caller silent, speaking while muted", timeout=10000)
        cou.bus.publish(aev.MutedWhileSpeaking(call_id, False))
        qtbot.waitUntil(lambda: cell() == "caller silent", timeout=10000)
        cou.calls.handle(Command(Action.HANG_UP, Source.UI))
        qtbot.waitUntil(
            lambda: cell() == "" and window.board.item(0, 1).text() == "Wrap-up", timeout=10000
        )
    finally:
        window.close()
        cou.stop()
        sup.stop()
