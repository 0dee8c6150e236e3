"""The callback queue on the supervisor window and the counselor's callbacks, offscreen, the
queue fed with the states the broker would deliver (no broker here): rows in words, the
assignment going out as a new version that counts only once it comes back, the service-level
line, accessible names, and the fit on a 1024x600 laptop in both languages; the counselor's
panel showing the number only on request, from its own encrypted store."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest
from PySide6.QtWidgets import QComboBox, QPushButton

from calls.model import Call
from core.config import Config
from core.privacy import Personal
from escalation import callbacks as cb
from escalation import messages as m
from escalation import statuses
from tests.console.test_layout_languages import _check_fits
from tests.console.test_supervisor_window import (
    _alert,
    _board,
    _connected,
    _presence,
    _window,
    themed,  # noqa: F401  (a fixture)
)

NUMBER = "+52 55 8765 4321"
KEY = base64.b64encode(b"k" * 32).decode()


def _state(clock, callback, state="open", version=1, ago_s=300.0, **kw) -> m.CallbackState:
    base = dict(
        id=m.new_id(),
        callback=callback,
        counselor="c-alba",
        reason="abandoned",
        rang_s=14.0,
        rung_at=clock.now() - dt.timedelta(seconds=ago_s),
        shown=True,
        allowed=True,
        state=state,
        version=version,
        by="sup-ana",
        at=clock.now(),
    )
    base.update(kw)
    return m.CallbackState(**base)


def _heard(window, s: m.CallbackState) -> None:
    """As the broker delivers a state to every supervisor."""
    window.agent.callbacks._heard_state(s.counselor, s.callback, m.encode(s), False)


def _people(window, clock):
    window.agent.identity = "sup-ana"  # no broker here: the identity its certificate would give
    for c, status in (("c-alba", statuses.ON_CALL), ("c-beto", statuses.AVAILABLE)):
        _presence(window, clock, c, status)
        window.agent.callbacks.presence(m.Presence(c, status, clock.now(), id=m.new_id()))
    window.agent.transfers.keys["c-beto"] = KEY


def _queue(window, clock):
    _heard(window, _state(clock, "k-open", ago_s=600))
    _heard(window, _state(clock, "k-withheld", shown=False, allowed=False, reason="unanswered"))
    _heard(window, _state(clock, "k-given-back", why=cb.ASSIGNEE_OFFLINE, version=3, ago_s=900))
    _heard(window, _state(clock, "k-assigned", "assigned", 2, assignee="c-beto", key=KEY))
    _heard(window, _state(clock, "k-done", "closed", 3, outcome="reached", assignee="c-beto"))
    sl = window.agent.callbacks.service_level
    for i, rang in enumerate((4.0, 9.0, 31.0)):
        sl.add(f"a{i}", clock.now(), True, rang, "answered")
    sl.add("m1", clock.now(), False, 14.0, "abandoned")
    window.refresh()


def test_the_queue_reads_in_words_and_an_assignment_counts_when_it_comes_back(
    qtbot, tmp_path, fake_clock
):
    session, window = _window(qtbot, tmp_path, fake_clock)
    _people(window, fake_clock)
    _queue(window, fake_clock)
    panel = window.callback_panel
    assert panel is not None and not panel.isHidden()
    rows = {panel.table.item(r, 4).text(): r for r in range(panel.table.rowCount())}
    assert "Unassigned (assignee logged off)" in rows
    assert "Assigned to c-beto" in rows and "Closed: Called back: reached" in rows
    cells = [panel.table.item(r, c).text() for r in range(panel.table.rowCount()) for c in range(5)]
    assert "Number withheld" in cells and NUMBER not in " ".join(cells)
    assert panel.table.item(0, 0).text() == "15:00"  # the longest waiting first
    assert "2 to assign" in panel.title()
    # the service level: 2 of 4 within 20 s this hour, nothing last hour
    text = window.service_level.text()
    assert "50 %" in text and "20 s" in text and "last hour —" in text
    # assign the first (open) one to c-beto
    panel.select("k-given-back")
    assert [panel.assignee.itemData(k) for k in range(panel.assignee.count())] == [
        "c-beto",
        "c-alba",
    ]  # available first
    panel.assignee.setCurrentIndex(0)
    panel.assign_button.click()
    pending = [m.decode(cb._unwrap(p.payload)[1]) for p in window.agent.outbox.pending(cb.STATE)]
    sent = next(s for s in pending if s.callback == "k-given-back")
    assert (sent.state, sent.assignee, sent.version, sent.key) == ("assigned", "c-beto", 4, KEY)
    window.refresh()
    assert any(
        panel.table.item(r, 4).text() == "Sending your change…"
        for r in range(panel.table.rowCount())
    )
    _heard(window, sent)  # back from the broker
    window.refresh()
    assert window.agent.callbacks.items["k-given-back"].state.assignee == "c-beto"
    # another supervisor's change that came first is said in the row
    panel.select("k-open")
    panel.assignee.setCurrentIndex(panel.assignee.findData("c-alba"))
    panel.assign_button.click()
    theirs = _state(fake_clock, "k-open", "assigned", 2, assignee="c-beto", key=KEY, by="sup-ben")
    _heard(window, theirs)
    window.refresh()
    row = next(
        r for r in range(panel.table.rowCount()) if "sup-ben" in panel.table.item(r, 4).text()
    )
    assert panel.table.item(row, 4).text().startswith("Assigned to c-beto")
    # a withheld number cannot be assigned: only closed
    panel.select("k-withheld")
    assert not panel.assign_button.isEnabled() and panel.close_button.isEnabled()
    panel.close_button.click()
    assert any(
        m.decode(cb._unwrap(p.payload)[1]).state == "closed"
        for p in window.agent.outbox.pending(cb.STATE)
    )
    for w in panel.findChildren(QPushButton) + panel.findChildren(QComboBox):
        assert w.accessibleName(), w.objectName()
    assert window.service_level.accessibleName()
    window.close()
    session.stop()


@pytest.mark.usefixtures("themed")
def test_the_supervisor_window_with_callbacks_fits_1024x600(
    qtbot, tmp_path, fake_clock, language, artifacts_dir
):
    session, window = _window(
        qtbot, tmp_path, fake_clock, **{"escalation.coverage_minimum": 2, "ui.language": language}
    )
    _connected(window)
    _people(window, fake_clock)
    _alert(window, fake_clock, "esc-urgent", "urgent", "imminent_risk", counselor="c-beto")
    _board(window).ring(m.Ring(m.new_id(), "c-alba", "abandoned", 14.0, fake_clock.now()))
    _queue(window, fake_clock)
    fake_clock.advance(window.presence_grace_s + 1)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.refresh()
    assert window.callback_panel is not None and window.callback_panel.isVisible()
    _check_fits(window, (1024, 600))
    assert window.grab().save(str(artifacts_dir / f"callbacks-{language}-1024x600.png"))
    window.close()
    session.stop()


def test_the_counselor_sees_a_callback_and_its_number_only_on_request(qtbot, tmp_path, fake_clock):
    from app.session import Session
    from console.callbacks_view import CallbacksView
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {"storage.unlock_target_ms": 1, "identity.counselor_id": "", "calls.backend": "companion"}
    )
    session = Session(
        cfg,
        paths=Paths.under(tmp_path / "c"),
        clock=fake_clock,
        services=("storage.service", "escalation.service"),
    )
    store = session.service("store")
    store.init("una frase larga de prueba")
    agent = session.service("escalation").counselor
    agent.identity = "c-alba"  # no broker here: the identity its certificate would give
    call = Call("k-1", "phone", Personal(NUMBER), fake_clock.now(), fake_clock.monotonic())
    cs = store.vault.store
    cs.writer.call(lambda db: cs.record_call_in(db, call, {"missed_reason": "abandoned"}))
    view = CallbacksView.for_session(session)
    assert view is not None
    qtbot.addWidget(view)
    view.reload()
    assert view.isHidden()  # nothing for this counselor yet
    s = _state(fake_clock, "k-1", "assigned", 2, assignee="c-alba")
    agent.callbacks._heard(s, m.encode(s), own=True)  # its own missed contact, back to it
    view.reload()
    assert not view.isHidden() and view.list.count() == 1
    assert "Abandoned" in view.list.item(0).text() and NUMBER not in view.list.item(0).text()
    assert NUMBER not in view.detail.text()
    view.number_button.click()
    assert NUMBER in view.detail.text()
    view.outcome.setCurrentIndex(view.outcome.findData("reached"))
    view.record_button.click()
    assert view.isHidden() and agent.outbox.pending(cb.OUTCOME)
    sent = m.decode(cb._unwrap(agent.outbox.pending(cb.OUTCOME)[0].payload)[1])
    assert (sent.outcome, sent.version) == ("reached", 2)
    # a later version (the supervisors took it) clears the outcome from the outbox
    done = dataclasses.replace(s, id=m.new_id(), state="closed", version=3, outcome="reached")
    agent.callbacks._heard(done, m.encode(done), own=True)
    assert not agent.outbox.pending(cb.OUTCOME)
    for w in view.findChildren(QPushButton) + view.findChildren(QComboBox):
        assert w.accessibleName()
    session.stop()


@pytest.mark.parametrize("consent", ["never"])
def test_the_consent_rule_is_applied_on_the_supervisor(qtbot, tmp_path, fake_clock, consent):
    session, window = _window(
        qtbot, tmp_path, fake_clock, **{"escalation.callback_consent": consent}
    )
    window.agent.identity = "sup-ana"
    window.agent.callbacks.ring(
        m.Ring("r1", "c-alba", "abandoned", 5.0, fake_clock.now(), "k", True)
    )
    sent = m.decode(cb._unwrap(window.agent.outbox.pending(cb.STATE)[0].payload)[1])
    assert sent.shown and not sent.allowed
    window.close()
    session.stop()
