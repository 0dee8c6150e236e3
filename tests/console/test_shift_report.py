"""The shift reports (console/shift_report.py) over a real store with several contacts:
figures and plot on screen, Ctrl+Shift+R on the window, the PDF (0600, read back with
pdftotext, audited) and a read-only or full target told apart."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest

from console.pdf_export import ExportFailed
from console.shift_report import ShiftReportDialog, SupervisorReportDialog
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import _window
from tests.storage.test_reports import seed_shift


@pytest.fixture
def demo_session(paths, fake_clock):
    from app.session import Session
    from core.config import Config
    from tests.support.storage_helpers import FAST, PASS

    session = Session(Config(dict(FAST)), paths=paths, clock=fake_clock)
    session.service("store").init(PASS)
    yield session
    session.stop()


def test_counselor_report_shows_the_shift_and_exports_a_pdf(
    qtbot, demo_session, fake_clock, tmp_path, artifacts_dir
):
    store = demo_session.service("store")
    seed_shift(store, fake_clock)
    d = ShiftReportDialog(demo_session)
    qtbot.addWidget(d)
    d.resize(1000, 560)
    d.show()
    qtbot.waitExposed(d)
    assert "3 answered of 4" in d.figures.text()
    d.grab().save(str(artifacts_dir / "shift-report.png"))
    target = tmp_path / "shift.pdf"
    pages = d.export(target)
    assert pages >= 1 and (os.stat(target).st_mode & 0o777) == 0o600
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
        assert "Your shift" in text and "3 answered of 4" in text
        assert "private words" not in text and "5555" not in text
    rows = store.vault.store._read("SELECT subject, detail FROM audit WHERE action='report.export'")
    assert rows and rows[0][0] == "shift"


def test_a_read_only_or_full_target_is_told_apart(qtbot, demo_session, fake_clock, tmp_path,
                                                   monkeypatch):  # fmt: skip
    seed_shift(demo_session.service("store"), fake_clock)
    d = ShiftReportDialog(demo_session)
    qtbot.addWidget(d)
    import console.pdf_export as pe

    for code, kind in ((errno.EROFS, "read_only"), (errno.ENOSPC, "disk_full")):

        def fail(path, data, code=code):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(pe, "write_private", fail)
        out = tmp_path / "usb"
        out.mkdir(exist_ok=True)
        with pytest.raises(ExportFailed) as info:
            d.export(out / "x.pdf")
        assert info.value.kind == kind and "report was not saved" in info.value.message
        assert list(out.iterdir()) == []  # no half PDF, no temporary file


def test_supervisor_report_times_alerts(qtbot, demo_session, fake_clock, artifacts_dir):
    store = demo_session.service("store")
    since = fake_clock.now()
    store.record_escalation("u1", None, "urgent", "delivered", {})
    fake_clock.advance(90)
    store.record_escalation("u1", None, "urgent", "acknowledged", {})
    store.record_escalation("d1", None, "debrief", "delivered", {})
    fake_clock.advance(30)
    store.record_escalation("d1", None, "debrief", "acknowledged", {})
    assert since <= fake_clock.now()
    d = SupervisorReportDialog(demo_session)
    qtbot.addWidget(d)
    d.resize(1000, 560)
    d.show()
    qtbot.waitExposed(d)
    assert d.sup.urgent == 1 and d.sup.debriefs == 1
    d.grab().save(str(artifacts_dir / "supervisor-report.png"))


def test_the_key_opens_it_on_the_window_and_it_fits(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock)
    try:
        assert "Ctrl+Shift+R" in window.shortcut_actions
        window.shortcut_actions["Ctrl+Shift+R"].trigger()
        dialog = window.shift_report
        qtbot.waitExposed(dialog)
        _check_fits(window, (1024, 600))
        assert dialog.width() <= 1024 and dialog.height() <= 600
    finally:
        session.stop()
