"""Live assistance on screen: the supervisor's bar under the board (Listen, Coach, Join,
Leave for the selected counselor, in words that say who hears the supervisor; without a SIP
line it says so and points to the text whisper) and the counselor's banner (always shown
while a supervisor is there, End assistance). Offscreen Qt; both fit 1024x600 in Spanish
and English, with screenshots in test-artifacts/."""

from __future__ import annotations

import pytest

from escalation import events as ev
from escalation import statuses
from tests.console.test_layout_languages import _check_fits
from tests.console.test_supervisor_window import _connected, _presence, _window
from tests.console.test_supervisor_window import themed as _themed

themed = _themed  # the light theme, as the app applies it (a fixture)


class _Assist:
    """The session's live-assistance flows as the bar sees them (their real path runs on a
    real broker and Kamailio in tests/escalation/test_assist_session.py)."""

    def __init__(self, available: bool = True) -> None:
        self.available = available
        self.calls: list[tuple] = []

    def start(self, counselor: str, mode: str) -> str:
        self.calls.append(("start", counselor, mode))
        return "a1"

    def set_mode(self, mode: str) -> bool:
        self.calls.append(("mode", mode))
        return True

    def stop(self) -> None:
        self.calls.append(("stop",))


def _select(window, counselor: str) -> None:
    window.refresh()
    for i in range(window.board.rowCount()):
        if window.board.item(i, 0).text().split(" ")[0] == counselor:
            window.board.selectRow(i)
            return
    raise AssertionError(f"{counselor} not on the board")


def _shown(state: str, mode: str = "listen", reason: str = "", side: str = "supervisor"):
    return ev.AssistShown(side, "a1", "c-alba", "sup-ana", state, mode, reason)


def test_without_a_phone_line_the_bar_says_so_and_points_to_the_whisper(
    qtbot, tmp_path, fake_clock
):
    session, window = _window(qtbot, tmp_path, fake_clock)
    _connected(window)
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    _select(window, "c-alba")
    bar = window.assist_bar
    assert not any(b.isEnabled() for b in bar.buttons.values())
    assert "whisper" in bar.status.text().lower()
    session.stop()


def test_listen_coach_join_leave_from_the_board(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    bar = window.assist_bar
    bar.assist = fake = _Assist()
    _connected(window)
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    _presence(window, fake_clock, "c-beto", statuses.AVAILABLE)
    _select(window, "c-beto")
    assert not bar.buttons["listen"].isEnabled()
    assert "c-beto" in bar.status.text()
    _select(window, "c-alba")
    assert all(b.isEnabled() for b in bar.buttons.values()) and not bar.leave.isEnabled()
    bar.buttons["listen"].click()
    assert fake.calls == [("start", "c-alba", "listen")]
    window.bridge.dispatch(_shown("asked"))
    assert "c-alba" in bar.status.text() and not bar.buttons["coach"].isEnabled()
    window.bridge.dispatch(_shown("live"))
    assert bar.status.text() == "Listening to c-alba's call. Nobody hears you."
    assert bar.buttons["listen"].isChecked() and bar.leave.isEnabled()
    bar.buttons["barge"].click()
    assert fake.calls[-1] == ("mode", "barge")
    assert bar.buttons["listen"].isChecked()  # until the counselor's laptop says so
    window.bridge.dispatch(_shown("mode", "barge"))
    assert bar.buttons["barge"].isChecked() and "caller hears you" in bar.status.text()
    bar.leave.click()
    assert fake.calls[-1] == ("stop",)
    window.bridge.dispatch(_shown("ended", "barge", "by_supervisor"))
    assert not bar.leave.isEnabled() and not bar.buttons["barge"].isChecked()
    assert bar.status.text() == "Live assistance ended: The supervisor left the call."
    session.stop()


def test_a_refusal_is_said_in_words(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    window.assist_bar.assist = _Assist()
    window.bridge.dispatch(_shown("refused", "coach", "no_sip"))
    text = window.assist_bar.status.text()
    assert text.startswith("Not joined:") and "whisper" in text
    session.stop()


@pytest.mark.parametrize(
    ("mode", "words", "role"),
    [
        ("listen", "The caller does not hear them", "info"),
        ("coach", "only you hear them", "info"),
        ("barge", "the caller hears them", "warning"),
    ],
)
def test_the_counselor_always_sees_who_is_on_the_call_and_can_end_it(demo, mode, words, role):
    session, window = demo
    banner = window.assist_banner
    assert banner is not None and not banner.isVisible()
    window.bridge.dispatch(_shown("live", mode, side="counselor"))
    assert banner.isVisible() and "sup-ana" in banner.text.text() and words in banner.text.text()
    assert banner.text.property("role") == role
    ended: list[str] = []
    session.wiring.assist.end = lambda: ended.append("end")
    banner.end_button.click()
    assert ended == ["end"]
    window.bridge.dispatch(_shown("ended", mode, "by_counselor", side="counselor"))
    assert banner.isVisible() and not banner.end_button.isVisible()
    assert "no longer on the call" in banner.text.text()


def test_both_fit_a_small_laptop_and_are_screenshotted(
    qtbot, tmp_path, fake_clock, language, demo, themed, artifacts_dir
):
    from core import i18n

    i18n.set_language(language)
    session, window = _window(qtbot, tmp_path, fake_clock, **{"ui.language": language})
    window.assist_bar.assist = _Assist()
    _connected(window)
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    fake_clock.advance(window.presence_grace_s + 1)
    _select(window, "c-alba")
    window.bridge.dispatch(_shown("live", "coach"))
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    _check_fits(window, (1024, 600))
    assert window.grab().save(str(artifacts_dir / f"assist-supervisor-{language}-1024x600.png"))
    window.close()
    session.stop()
    from calls.model import Action, CallState
    from tests.support.toolkit import wait_until

    csession, counselor = demo
    csession.calls.do(Action.ANSWER)  # a supervisor joins calls in progress
    wait_until(lambda: csession.calls.state is CallState.ON_CALL, 5, "on call")
    counselor.bridge.dispatch(_shown("live", "coach", side="counselor"))
    counselor.resize(1024, 600)
    counselor.show()
    qtbot.waitExposed(counselor)
    _check_fits(counselor, (1024, 600))
    assert counselor.grab().save(str(artifacts_dir / f"assist-counselor-{language}-1024x600.png"))
