"""The counselor's phone panel, in the real window, rendering from real events of a real call
machine; the backend is a small recorder of what the panel asks (the SIP engine itself is
tested end to end in tests/calls)."""

from __future__ import annotations

import dataclasses

import pytest

from app.session import Session
from calls import events as cev
from calls.backends.base import TelephonyBackend
from calls.model import Action, CallState
from console.main_window import MainWindow
from core.config import Config
from tests.console.test_layout_languages import _check_fits


@dataclasses.dataclass
class _Settings:
    transfer_targets: tuple = (("Supervisor", "sip:sup@x"), ("CAI", "sip:911@x"))


class RecordingSip(TelephonyBackend):
    name = "sip"

    def __init__(self) -> None:
        self.settings = _Settings()
        self.asked: list[tuple] = []

    def send_dtmf(self, digits: str) -> bool:
        self.asked.append(("dtmf", digits))
        return True

    def transfer(self, target: str) -> bool:
        self.asked.append(("transfer", target))
        return True

    def consult(self, target: str) -> bool:
        self.asked.append(("consult", target))
        return True

    def conference(self) -> bool:
        self.asked.append(("conference",))
        return True

    def complete_transfer(self) -> bool:
        self.asked.append(("complete",))
        return True

    def drop_consult(self) -> bool:
        self.asked.append(("drop",))
        return True


@pytest.fixture
def window(qtbot, paths, fake_clock):
    backend = RecordingSip()
    session = Session(Config.defaults(), paths=paths, clock=fake_clock, backend=backend,
                      attach=False)  # fmt: skip
    session.start()
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.resize(1024, 600)
    w.show()
    qtbot.waitExposed(w)
    yield w, session, backend
    session.stop()


def _publish(qtbot, session, event) -> None:
    session.bus.publish(event)
    qtbot.wait(50)


def test_line_quality_and_controls_follow_the_call(qtbot, window, artifacts_dir):
    w, session, backend = window
    panel = w.phone_panel
    _publish(qtbot, session, cev.LineStatus("registered", "Phone line ready", "",
                                            "TLS, server certificate verified; calls need SRTP"))  # fmt: skip
    assert "ready" in panel.line_state.text().lower()
    assert not panel.send_tones.isEnabled() and not panel.transfer_button.isEnabled()
    _check_fits(w, (1024, 600))
    w.grab().save(str(artifacts_dir / "phone_panel_idle.png"))
    session.calls.on_incoming("+52 55 5555 0101")
    session.calls.do(Action.ANSWER)
    qtbot.waitUntil(lambda: panel.send_tones.isEnabled(), timeout=2000)
    call_id = session.calls.call.id
    _publish(qtbot, session, cev.CallQuality(call_id, 4.3, 0.4, 8.0, 40.0, "opus/48000",
                                             "AES_CM_128_HMAC_SHA1_80"))  # fmt: skip
    assert "Good" in panel.quality.text()
    assert "MOS 4.3" in panel.quality_figures.text()
    panel.keypad.setText("1; rm")
    panel.send_tones.click()
    assert backend.asked == []  # refused before it reaches the line
    panel.keypad.setText("12#")
    panel.send_tones.click()
    assert backend.asked == [("dtmf", "12#")]
    panel.consult_button.click()
    assert backend.asked[-1] == ("consult", "Supervisor")
    qtbot.waitUntil(lambda: panel.join_button.isVisible(), timeout=2000)
    qtbot.wait(200)  # the layout settles
    _check_fits(w, (1024, 600))  # the consultation's box too: nothing clipped at 1024x600
    w.grab().save(str(artifacts_dir / "phone_panel_consult.png"))
    panel.join_button.click()
    assert backend.asked[-1] == ("conference",)
    _publish(qtbot, session, cev.CallRefused("consult_ended", "The supervisor's line ended."))
    assert not panel.join_button.isVisible()
    session.calls.do(Action.HANG_UP)
    qtbot.waitUntil(lambda: not panel.send_tones.isEnabled(), timeout=2000)
    assert "MOS" not in panel.quality_figures.text()  # stale figures are gone
    assert session.calls.state is CallState.WRAP_UP


def test_a_dropped_line_is_said_until_the_next_call(qtbot, window, artifacts_dir):
    w, session, _backend = window
    panel = w.phone_panel
    session.calls.on_incoming("+52 55 5555 0101")
    session.calls.do(Action.ANSWER)
    text = "The line dropped and could not be recovered. The caller's number is kept."
    _publish(qtbot, session, cev.CallRefused("network", text, session.calls.call.id))
    assert "dropped" in panel.problem.text()
    w.grab().save(str(artifacts_dir / "phone_panel_dropped.png"))
    for child in panel.findChildren(type(panel.problem)):
        if child.isVisible():
            assert child.width() <= panel.width()


def test_blind_transfer_asks_first_and_no_is_the_default(qtbot, window, monkeypatch):
    w, session, backend = window
    panel = w.phone_panel
    session.calls.on_incoming("+52 55 5555 0101")
    session.calls.do(Action.ANSWER)
    qtbot.waitUntil(lambda: panel.transfer_button.isEnabled(), timeout=2000)
    monkeypatch.setattr(panel, "confirm_transfer", lambda label: False)
    panel.transfer_button.click()
    assert backend.asked == []
    monkeypatch.setattr(panel, "confirm_transfer", lambda label: True)
    panel.transfer_button.click()
    assert backend.asked == [("transfer", "Supervisor")]


def test_a_network_cut_is_said_while_it_lasts_and_its_end_too(qtbot, window, artifacts_dir):
    w, session, _backend = window
    panel = w.phone_panel
    session.calls.on_incoming("+52 55 5555 0101")
    session.calls.do(Action.ANSWER)
    call_id = session.calls.call.id
    _publish(qtbot, session, cev.CallAudioFlow("an-old-call", False, 1.0))
    assert not panel.problem.isVisible()  # another call's news is not this call's
    _publish(qtbot, session, cev.CallAudioFlow(call_id, False, 1.0))
    assert panel.problem.isVisible() and "Stay on the line" in panel.problem.text()
    w.grab().save(str(artifacts_dir / "phone_panel_cut.png"))
    _publish(qtbot, session, cev.CallAudioFlow(call_id, True, 5.2))
    assert not panel.problem.isVisible()
    assert "back after a gap of 5 s" in panel.note.text()
    _publish(qtbot, session, cev.CallAudioFlow(call_id, False, 1.0))
    session.calls.do(Action.HANG_UP)  # ended during a cut: the cut is no longer news
    qtbot.waitUntil(lambda: not panel.problem.isVisible(), timeout=2000)
