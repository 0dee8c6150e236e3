"""A follow-up handed from counselor A to counselor B, driven through the windows: A's main
window (Transfer… in the follow-up queue, the dialog), the supervisor window's "Follow-up
transfers" panel (the recipient chooser, Approve, Decline with a reason), B's main window —
on a real Mosquitto with real encrypted stores. Then the panel's fit at 1024x600 in both
languages, without a broker. Screenshots go to test-artifacts/."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from console.main_window import MainWindow
from console.supervisor_window import SupervisorWindow
from console.transfer_panel import SETTLED_KEEP_S
from escalation import messages as m
from escalation import statuses
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import visible_texts
from tests.console.test_supervisor_window import _connected, _presence, themed
from tests.console.test_supervisor_window import _window as _supervisor_offline
from tests.escalation.test_consoles import _session
from tests.escalation.test_follow_up_transfer import (
    NOTE,
    NUMBER,
    _closed_as_transferred,
    _counselor,
    _follow_up,
    _keys_known,
    _received,
    _stop,
    org_key,
)
from tests.support.escalation_apps import start_connected

pytestmark = pytest.mark.timeout(180)
__all__ = ["org_key", "themed"]  # fixtures used by name


@pytest.fixture
def tls_broker(tmp_path):
    from tests.support.escalation_broker import TlsBroker

    broker = TlsBroker(tmp_path / "tls").start()
    yield broker
    broker.stop()


def _main(qtbot, session) -> MainWindow:
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    return window


def _supervisor_window(qtbot, sup) -> SupervisorWindow:
    window = SupervisorWindow(sup)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    return window


def _row_text(queue, follow_up_id: int) -> str:
    for i in range(queue.list.count()):
        item = queue.list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == follow_up_id:
            return str(item.data(Qt.ItemDataRole.AccessibleTextRole) or "")
    return ""


def _ask(qtbot, queue, follow_up_id: int, reason_row: int, note: str) -> None:
    """Counselor A: select the follow-up, Transfer…, a reason, a note, Ask the supervisor."""
    queue.select(follow_up_id)
    assert queue.transfer_button.isVisible() and queue.transfer_button.isEnabled()
    queue.transfer_button.click()
    dialog = queue.transfer_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    dialog.reasons.setCurrentRow(reason_row)
    if note:  # typed (keyClicks knows ASCII only), then the rest as pasted
        qtbot.keyClicks(dialog.note, note.encode("ascii", "ignore").decode()[:12])
        dialog.note.clear()
        dialog.note.insertPlainText(note)
    box = dialog.findChild(QDialogButtonBox)
    box.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: queue.transfer_dialog is None, timeout=3000)


def _shows_request(qtbot, window: SupervisorWindow, counselor: str) -> None:
    panel = window.transfer_panel
    assert panel is not None
    qtbot.waitUntil(
        lambda: (
            panel.isVisible()
            and panel.table.rowCount() >= 1
            and getattr(panel.table.item(0, 0), "text", str)() == counselor
            and panel.pending == 1
        ),
        timeout=15000,
    )


def test_a_follow_up_goes_from_a_to_b_through_the_windows(
    qtbot, tmp_path, tls_broker, org_key, artifacts_dir, themed
):
    org_pub = org_key[0]
    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor", **{"escalation.resend_s": 1.0})
    a = _counselor(tmp_path, tls_broker, "c-alba", org_pub)
    b = _counselor(tmp_path, tls_broker, "c-beto", org_pub)
    try:
        start_connected(sup, a, b)
        _keys_known(sup, "c-alba", "c-beto")
        fid = _follow_up(a)
        wa, wb, ws = _main(qtbot, a), _main(qtbot, b), _supervisor_window(qtbot, sup)
        qa, qb, panel = wa.follow_up_queue, wb.follow_up_queue, ws.transfer_panel
        assert panel is not None and not panel.isVisible()  # nothing asked yet
        qa.reload()
        _ask(qtbot, qa, fid, 2, NOTE)  # continuity of care
        assert "Transfer requested: waiting for a supervisor" in _row_text(qa, fid)
        assert not qa.transfer_button.isEnabled()  # on its way: not twice
        assert qa.grab().save(str(artifacts_dir / "a-queue-asked.png"))

        _shows_request(qtbot, ws, "c-alba")
        cells = [panel.table.item(0, c).text() for c in range(panel.table.columnCount())]
        assert cells[0] == "c-alba" and cells[2] == "3" and cells[4] == "Continuity of care"
        assert cells[1].startswith("Due in ") and cells[5] == "Waiting for you"
        assert panel.table.item(0, 1).toolTip().startswith(cells[1] + " (")  # and the time
        assert "Follow-up transfer asked by c-alba" in ws.notifications
        # codes only: neither the number nor the note anywhere on the supervisor's screen
        shown = "\n".join(visible_texts(ws)) + "\n".join(cells)
        assert NUMBER not in shown and NOTE[:20] not in shown
        chooser = panel.recipient
        assert [chooser.itemData(k) for k in range(chooser.count())] == ["c-beto"]
        assert chooser.itemText(0).startswith("c-beto — ")  # with the board's status
        assert panel.approve_button.isEnabled() and panel.decline_button.isEnabled()
        assert panel.grab().save(str(artifacts_dir / "supervisor-panel-pending.png"))
        assert ws.grab().save(str(artifacts_dir / "supervisor-window-pending.png"))

        panel.recipient.setCurrentIndex(0)
        panel.approve_button.click()
        qtbot.waitUntil(lambda: _closed_as_transferred(a, fid), timeout=20000)
        # B's queue: the follow-up, marked as transferred from A
        qtbot.waitUntil(lambda: len(qb.items) == 1, timeout=15000)
        got = _received(b)[0]
        assert "Transferred to you from c-alba" in _row_text(qb, got.id)
        assert qb.notice.text() == "A follow-up was transferred to you from c-alba."
        # A's queue: no longer listed, and it says who has it
        qtbot.waitUntil(lambda: all(f.id != fid for f in qa.items), timeout=15000)
        assert qa.list.count() == 0
        assert qa.notice.text() == "Follow-up transferred: c-beto has it now."
        qtbot.waitUntil(lambda: panel.items and panel.items[0].state == "done", timeout=15000)
        assert panel.table.item(0, 5).text() == "Done: c-beto has it"
        assert not panel.approve_button.isEnabled()
        assert qa.grab().save(str(artifacts_dir / "a-queue-done.png"))
        assert qb.grab().save(str(artifacts_dir / "b-queue-received.png"))
        assert panel.grab().save(str(artifacts_dir / "supervisor-panel-done.png"))
        for w in (wa, wb, ws):
            w.close()
    finally:
        _stop(a, b, sup)


def test_a_declined_transfer_says_why_in_a_s_queue(
    qtbot, tmp_path, tls_broker, org_key, artifacts_dir, themed
):
    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor", **{"escalation.resend_s": 1.0})
    a = _counselor(tmp_path, tls_broker, "c-alba", org_key[0])
    try:
        start_connected(sup, a)
        fid = _follow_up(a, attempts=0)
        wa, ws = _main(qtbot, a), _supervisor_window(qtbot, sup)
        qa, panel = wa.follow_up_queue, ws.transfer_panel
        assert panel is not None
        qa.reload()
        _ask(qtbot, qa, fid, 0, "")  # end of shift, no note
        _shows_request(qtbot, ws, "c-alba")
        # nobody else has a console with a key yet: the panel says so, Approve is off
        assert panel.recipient.count() == 0 and not panel.approve_button.isEnabled()
        assert panel.hint.text().startswith("No counselor can receive it yet")
        assert panel.grab().save(str(artifacts_dir / "supervisor-panel-no-recipient.png"))
        panel.reason.setCurrentIndex(panel.reason.findData("keep_it"))
        panel.decline_button.click()
        qtbot.waitUntil(lambda: "declined" in _row_text(qa, fid), timeout=15000)
        assert "Transfer declined: Keep it yourself. It stays with you." in _row_text(qa, fid)
        assert qa.notice.text() == "The supervisor declined the transfer: Keep it yourself."
        assert qa.transfer_button.isEnabled()  # it may be asked again
        assert not a.service("store").follow_ups(follow_up_id=fid)[0].done
        assert panel.table.item(0, 5).text() == "Declined: Keep it yourself"
        assert qa.grab().save(str(artifacts_dir / "a-queue-declined.png"))
        for w in (wa, ws):
            w.close()
    finally:
        _stop(a, sup)


def test_without_escalation_the_transfer_button_stays_hidden(qtbot, tmp_path, org_key):
    from app.session import Session
    from core.config import Config
    from core.paths import Paths

    cfg = Config.defaults().with_overrides({"storage.unlock_target_ms": 1})
    s = Session(cfg, paths=Paths.under(tmp_path / "solo"), services=("storage.service",))
    s.service("store").init("una frase larga de prueba")
    try:
        window = _main(qtbot, s)
        assert window.follow_up_queue.transfers is None
        assert not window.follow_up_queue.transfer_button.isVisibleTo(window)
        window.close()
    finally:
        s.stop()


def _request(window: SupervisorWindow, clock, transfer: str, counselor: str, risk: str) -> None:
    due = clock.now() + dt.timedelta(hours=20)
    assert window.agent is not None
    window.agent.transfers._requested(
        m.TransferRequest(
            f"{transfer}:req", transfer, counselor, "7", due, 3, risk, "end_of_shift", clock.now()
        )
    )


def test_the_supervisor_window_fits_1024x600_with_a_pending_transfer(
    qtbot, tmp_path, fake_clock, themed, language, artifacts_dir
):
    session, window = _supervisor_offline(
        qtbot, tmp_path, fake_clock, **{"escalation.coverage_minimum": 2, "ui.language": language}
    )
    _connected(window)
    key = base64.b64encode(b"k" * 32).decode()
    for cn, status in (("c-alba", statuses.ON_CALL), ("c-beto", statuses.AVAILABLE)):
        _presence(window, fake_clock, cn, status)
        window.agent.transfers.presence(m.Presence(cn, status, fake_clock.now(), key=key))
    _presence(window, fake_clock, "c-caro-de-la-madrugada", statuses.BREAK)
    window.agent.transfers.presence(
        m.Presence("c-caro-de-la-madrugada", statuses.BREAK, fake_clock.now(), key=key)
    )
    _request(window, fake_clock, "t1", "c-alba", "high")
    _request(window, fake_clock, "t2", "c-beto", "unknown")
    fake_clock.advance(window.presence_grace_s + 1)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.refresh()
    panel = window.transfer_panel
    assert panel is not None and panel.isVisible() and panel.table.rowCount() == 2
    _check_fits(window, (1024, 600))  # nothing clipped, no sideways scrolling
    for w in [panel.table, panel.recipient, panel.approve_button, panel.reason]:
        assert w.accessibleName()
    assert panel.decline_button.accessibleName()
    assert panel.approve_button.isEnabled()
    # keyboard: the table, then the chooser, Approve, the reason, Decline
    order = [panel.table]
    while len(order) < 5:
        nxt = order[-1].nextInFocusChain()
        while nxt.focusPolicy() == Qt.FocusPolicy.NoFocus or nxt.window() is not window:
            nxt = nxt.nextInFocusChain()
        order.append(nxt)
    assert order == [
        panel.table,
        panel.recipient,
        panel.approve_button,
        panel.reason,
        panel.decline_button,
    ]
    assert window.grab().save(str(artifacts_dir / f"supervisor-transfer-{language}-1024x600.png"))
    assert panel.grab().save(str(artifacts_dir / f"transfer-panel-{language}.png"))
    # a declined request stays a while, then falls off; the panel hides with nothing left
    panel.select("t2")
    panel.decline()
    window.agent.transfers.decline("t1", "not_needed")
    window.refresh()
    assert panel.pending == 0 and panel.table.rowCount() == 2
    fake_clock.advance(SETTLED_KEEP_S + 1)
    window.refresh()
    assert panel.table.rowCount() == 0 and not panel.isVisible()
    window.close()
    session.stop()
