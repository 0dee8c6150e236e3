"""The post-call summary tab on the demo window (real store, FakeClock): shown in the
wrap-up only, with and without a talk/listen timeline; it fits 1024x600 in both languages."""

from __future__ import annotations

import pytest

from calls.model import CallState
from console.call_summary import CallSummary
from tests.console.test_counselor_flow import settle
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import _window
from tests.storage.test_reports import add_contact, seed_shift


def test_the_summary_follows_the_wrap_up(qtbot, paths, fake_clock, artifacts_dir, language):
    """In each language (the ``language`` fixture: Qt's own texts too)."""
    session, window = _window(qtbot, paths, fake_clock)
    try:
        tabs, summary = window.contact_tabs, window.call_summary
        assert not tabs.isTabVisible(tabs.indexOf(summary))
        settle(qtbot, window, CallState.AVAILABLE)
        fake_clock.advance(3.0)
        settle(qtbot, window, CallState.RINGING)
        from calls.model import Action, Command, Source

        session.calls.handle(Command(Action.ANSWER, Source.UI))
        settle(qtbot, window, CallState.ON_CALL)
        cid = session.calls.call.id
        fake_clock.advance(40.0)
        session.calls.handle(Command(Action.HANG_UP, Source.UI))
        settle(qtbot, window, CallState.WRAP_UP)
        # the figures of a real call: written by the wiring (no audio in this demo): add them
        add_contact(session.service("store"), fake_clock, cid, 1.0, "support_given", 0.35)
        summary.reload()
        assert tabs.isTabVisible(tabs.indexOf(summary))
        window.show_contact_tab(summary)
        qtbot.waitUntil(summary.plot.isVisible, timeout=2000)
        assert summary.values["share"].text().startswith("35")
        assert "42" in summary.values["silence"].text()
        assert summary.warning.isVisible()  # one muted-speech warning
        _check_fits(window, (1024, 600))
        window.grab().save(str(artifacts_dir / f"call-summary-{language}.png"))
    finally:
        session.stop()


@pytest.fixture
def demo_session(paths, fake_clock):
    from app.session import Session
    from core.config import Config
    from tests.support.storage_helpers import FAST, PASS

    session = Session(Config(dict(FAST)), paths=paths, clock=fake_clock)
    session.service("store").init(PASS)
    yield session
    session.stop()


def test_a_contact_without_a_timeline_still_renders(qtbot, demo_session, fake_clock):
    from console.bridge import EventBridge

    store = demo_session.service("store")
    seed_shift(store, fake_clock)
    w = CallSummary(demo_session, EventBridge(demo_session.bus))
    qtbot.addWidget(w)
    from calls.model import Call
    from core.privacy import Personal

    ended = Call("b", "phone", Personal("1"), fake_clock.now(), 0.0, ended_at=fake_clock.now())
    w.show_contact("b", ended)
    assert w.shown and w.summary is not None and w.summary.timeline is None
    assert w.plot.isHidden() and "timeline" in w.message.text()
    assert w.values["risk"].text().startswith("Low")
    w.show_contact("c", ended)  # no health figures at all
    assert w.values["share"].text() == "—" and w.values["escalations"].text() != "—"
    w.show_contact(None, None)
    assert not w.shown
