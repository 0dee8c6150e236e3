"""The safety plan tab on the real demo window (FakeClock, a real encrypted store):
autosave after a pause, versions, Tab between sections, a repeat caller's earlier plan
without the number, the lock keeping what was typed, and the PDF for the caller (0600,
atomic, audited) with its failures told apart."""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from calls.model import Call, CallState
from console import pdf_export
from console.safety_plan_editor import AUTOSAVE_S, SafetyPlanEditor
from console.theme import apply_theme
from core.privacy import Personal
from storage.records import SAFETY_PLAN_SECTIONS, SafetyPlan
from tests.console.test_accessibility import _unnamed
from tests.console.test_counselor_flow import PASSPHRASE, settle, shot
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import NUMBER, _window, visible_texts
from tests.support.storage_helpers import raw_connect

SIGN = "Dejo de contestar a mi hermana"
REASON = "Mi perro Canelo"
EARLIER = SafetyPlan(warning_signs=("No duermo",), reasons_for_living=(REASON,))


@pytest.fixture(params=["light", "night"])
def theme_name(request):
    app = QApplication.instance()
    apply_theme(app, request.param)
    yield request.param
    apply_theme(app, "light")


@pytest.fixture
def plan_window(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock)
    editor = window.safety_plan  # the window's own tab (F3)
    assert isinstance(editor, SafetyPlanEditor)
    yield session, window, editor
    session.stop()


def _answer(qtbot, window, fake_clock) -> None:
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)


def _open_tab(qtbot, window, editor) -> None:
    qtbot.keyClick(window.notes, Qt.Key.Key_F3)
    first = editor.fields[SAFETY_PLAN_SECTIONS[0]]
    qtbot.waitUntil(first.hasFocus, timeout=2000)


def _audit(paths, action: str) -> list[tuple[str, str]]:
    db = raw_connect(paths.data_dir, PASSPHRASE)
    try:
        return db.execute(
            "SELECT subject, detail FROM audit WHERE action=? ORDER BY id", (action,)
        ).fetchall()
    finally:
        db.close()


def test_typing_autosaves_after_a_pause_and_tab_moves_between_sections(
    qtbot, plan_window, fake_clock, paths, caplog
):
    caplog.set_level(logging.DEBUG)
    session, window, editor = plan_window
    store = session.service("store")
    _answer(qtbot, window, fake_clock)
    cid = editor.contact_id
    assert cid and editor.fields["warning_signs"].isEnabled()
    _open_tab(qtbot, window, editor)
    qtbot.keyClicks(editor.fields["warning_signs"], "No duermo")
    assert editor.status.text() == "Not saved yet"
    fake_clock.advance(AUTOSAVE_S / 2)
    qtbot.keyClick(editor.fields["warning_signs"], Qt.Key.Key_Return)
    qtbot.keyClicks(editor.fields["warning_signs"], SIGN)
    fake_clock.advance(AUTOSAVE_S * 0.9)  # typing went on: the pause starts again
    assert store.safety_plan(cid) is None
    fake_clock.advance(AUTOSAVE_S * 0.2)
    qtbot.waitUntil(lambda: editor.status.text() == "Saved", timeout=2000)
    saved = store.safety_plan(cid)
    assert saved.warning_signs == ("No duermo", SIGN) and saved.version == 1
    assert editor.status.property("role") == "ok"
    # Tab goes on to the next section (and leaving a section saves at once)
    qtbot.keyClick(editor.fields["warning_signs"], Qt.Key.Key_Tab)
    qtbot.waitUntil(editor.fields["coping_strategies"].hasFocus, timeout=2000)
    for section in SAFETY_PLAN_SECTIONS[1:-1]:
        qtbot.keyClick(editor.fields[section], Qt.Key.Key_Tab)
    last = editor.fields["reasons_for_living"]
    qtbot.waitUntil(last.hasFocus, timeout=2000)
    qtbot.keyClicks(last, REASON)
    qtbot.keyClick(last, Qt.Key.Key_Tab)  # leaves the section: saved now, no pause needed
    qtbot.waitUntil(editor.export_button.hasFocus, timeout=2000)
    assert store.safety_plan(cid).reasons_for_living == (REASON,)
    assert store.safety_plan(cid).version == 2
    edits = [json.loads(d) for _s, d in _audit(paths, "safety_plan.edit")]
    assert edits == [{"sections": 1, "version": 1}, {"sections": 2, "version": 2}]
    assert SIGN not in caplog.text and REASON not in caplog.text
    # the next contact starts empty; going back to the notes is Ctrl+N
    qtbot.keyClick(last, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.notes.hasFocus, timeout=2000)


def test_leaving_the_contact_saves_at_once(qtbot, plan_window, fake_clock):
    session, window, editor = plan_window
    _answer(qtbot, window, fake_clock)
    cid = editor.contact_id
    _open_tab(qtbot, window, editor)
    editor.fields["safe_environment"].insertPlainText(
        "Guardar las pastillas con mi tía"
    )  # QTest types ASCII only
    editor.show_contact(None, None)  # the call moved on before the pause
    assert session.service("store").safety_plan(cid).safe_environment == (
        "Guardar las pastillas con mi tía",
    )
    assert not editor.fields["safe_environment"].isEnabled()
    assert editor.fields["safe_environment"].toPlainText() == ""


def _earlier_contact(store, fake_clock, number: str) -> str:
    case = store.vault.store
    yesterday = fake_clock.now() - dt.timedelta(days=1)  # (advancing would idle-lock the store)
    call = Call("earlier", "phone", Personal(number), yesterday, 0.0)
    case.writer.call(lambda db: case.record_call_in(db, call, {}))
    store.set_safety_plan("earlier", EARLIER)
    return "earlier"


def test_a_repeat_caller_starts_from_the_earlier_plan_without_the_number(
    qtbot, plan_window, fake_clock, paths, artifacts_dir
):
    session, window, editor = plan_window
    store = session.service("store")
    _earlier_contact(store, fake_clock, "5555550101")  # the demo's caller, written otherwise
    _answer(qtbot, window, fake_clock)
    cid = editor.contact_id
    _open_tab(qtbot, window, editor)
    qtbot.waitUntil(editor.offer_button.isVisible, timeout=2000)
    assert editor.offer_button.text().startswith("Start from the plan of ")
    assert editor.offer_button.accessibleName() == editor.offer_button.text()
    for text in (editor.offer_button.text(), editor.offer_label.text()):
        assert "5555" not in text and "0101" not in text
    shot(window, artifacts_dir, "safety-plan-offer")
    qtbot.mouseClick(editor.offer_button, Qt.MouseButton.LeftButton)
    assert editor.fields["reasons_for_living"].toPlainText() == REASON
    assert not editor.offer_button.isVisible()
    copied = store.safety_plan(cid)
    assert copied == EARLIER and copied.based_on == "earlier"
    # editing the copy leaves the earlier plan as it was
    qtbot.keyClicks(editor.fields["warning_signs"], " mal")
    fake_clock.advance(AUTOSAVE_S + 0.1)
    qtbot.waitUntil(lambda: store.safety_plan(cid).warning_signs == ("No duermo mal",))
    assert store.safety_plan("earlier") == EARLIER
    assert [s for s, _d in _audit(paths, "safety_plan.copy")] == [cid]
    assert NUMBER not in json.dumps(_audit(paths, "safety_plan.copy"))


def test_another_callers_plan_is_never_offered(qtbot, plan_window, fake_clock):
    session, window, editor = plan_window
    _earlier_contact(session.service("store"), fake_clock, "+52 33 1234 5678")
    _answer(qtbot, window, fake_clock)
    _open_tab(qtbot, window, editor)
    assert editor.offer is None and not editor.offer_button.isVisible()


def test_the_lock_keeps_unsaved_text_and_saves_it_after_unlock(
    qtbot, plan_window, fake_clock, caplog
):
    caplog.set_level(logging.DEBUG)
    session, window, editor = plan_window
    store = session.service("store")
    _answer(qtbot, window, fake_clock)
    cid = editor.contact_id
    _open_tab(qtbot, window, editor)
    qtbot.keyClicks(editor.fields["people_to_ask_for_help"], "Mi hermana Rosa")
    # locked before the pause: nothing saved yet, nothing on screen, nothing lost
    qtbot.keyClick(
        editor.fields["people_to_ask_for_help"], Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier
    )
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    assert editor.fields["people_to_ask_for_help"].toPlainText() == ""
    assert not editor.fields["people_to_ask_for_help"].isEnabled()
    assert "Mi hermana Rosa" not in "\n".join(visible_texts(window))
    fake_clock.advance(AUTOSAVE_S * 3)  # the pause passes while locked: it waits
    assert editor.pending[cid].people_to_ask_for_help == ("Mi hermana Rosa",)
    qtbot.keyClicks(window.lock_screen.unlock.passphrase, PASSPHRASE)
    qtbot.keyClick(window.lock_screen.unlock.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=5000)
    qtbot.waitUntil(lambda: editor.status.text() == "Saved", timeout=3000)
    assert editor.fields["people_to_ask_for_help"].toPlainText() == "Mi hermana Rosa"
    assert store.safety_plan(cid).people_to_ask_for_help == ("Mi hermana Rosa",)
    assert not editor.pending
    assert "Mi hermana Rosa" not in caplog.text


def test_a_contact_that_ended_while_locked_is_saved_at_unlock(qtbot, plan_window, fake_clock):
    session, window, editor = plan_window
    store = session.service("store")
    _answer(qtbot, window, fake_clock)
    cid = editor.contact_id
    _open_tab(qtbot, window, editor)
    editor.fields["coping_strategies"].insertPlainText("Escuchar música")
    store.lock()
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    editor.show_contact("next-contact", None)  # the contact changed while locked
    assert editor.pending[cid].coping_strategies == ("Escuchar música",)
    store.unlock(PASSPHRASE)
    qtbot.waitUntil(lambda: not editor.pending, timeout=3000)
    assert store.safety_plan(cid).coping_strategies == ("Escuchar música",)
    assert editor.fields["coping_strategies"].toPlainText() == ""  # the new contact's plan


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return unicodedata.normalize("NFKC", out)  # ligatures (ﬀ) back to letters


def test_export_writes_a_private_one_page_pdf_and_audits_it(
    qtbot, plan_window, fake_clock, paths, tmp_path, caplog, artifacts_dir
):
    caplog.set_level(logging.DEBUG)
    session, window, editor = plan_window
    _answer(qtbot, window, fake_clock)
    cid = editor.contact_id
    _open_tab(qtbot, window, editor)
    qtbot.keyClicks(editor.fields["warning_signs"], SIGN)
    qtbot.keyClicks(editor.fields["reasons_for_living"], REASON)
    target = tmp_path / "export" / "plan"
    target.parent.mkdir()
    os.umask(old := os.umask(0o000))  # whatever the umask: 0600
    try:
        os.umask(0o000)
        done = editor.export_to(target)
    finally:
        os.umask(old)
    assert done is not None and done.pages == 1
    path = target.with_suffix(".pdf")
    assert done.path == path and (path.stat().st_mode & 0o777) == 0o600
    assert path.read_bytes().startswith(b"%PDF-")
    assert os.listdir(path.parent) == ["plan.pdf"]  # no temporary file left
    assert editor.message.text() == "PDF saved as plan.pdf."
    assert editor.message.property("role") == "ok"
    text = _pdf_text(path)
    assert "My safety plan" in text and SIGN in text and REASON in text
    for section in SAFETY_PLAN_SECTIONS:
        assert pdf_export.SECTION_TITLES[section] in " ".join(text.split())
    assert "Crisis line:" in text  # no crisis-line option here: lines to write them on
    assert session.service("store").safety_plan(cid).warning_signs == (SIGN,)  # saved first
    ((subject, detail),) = _audit(paths, "safety_plan.export")
    assert subject == cid and json.loads(detail) == {"language": "en", "pages": 1, "sections": 2}
    assert SIGN not in caplog.text and REASON not in caplog.text
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(path),
                str(artifacts_dir / "safety-plan-pdf"),
            ],
            check=True,
        )


def test_the_pdf_lists_the_crisis_lines_of_an_option(monkeypatch, qapp, tmp_path):
    class Config:
        def get(self, key):
            assert key == pdf_export.CRISIS_LINES_OPTION
            return ["Línea de la Vida: 800 911 2000", "Emergencias: 911"]

    lines = pdf_export.crisis_lines_from(Config())
    assert pdf_export.crisis_lines_from(object()) == []
    done = pdf_export.export_safety_plan(
        tmp_path / "p.pdf", EARLIER, made_on=dt.date(2026, 12, 3), crisis_lines=lines
    )
    text = _pdf_text(done.path)
    assert "Línea de la Vida: 800 911 2000" in text and "Crisis line:" not in text


def test_a_long_plan_shrinks_to_one_page(qapp):
    long = SafetyPlan.from_texts(
        {s: "\n".join(f"Algo que decir {i}" for i in range(4)) for s in SAFETY_PLAN_SECTIONS}
    )
    _pdf, pages = pdf_export.render_pdf(long, dt.date(2026, 12, 3))
    assert pages == 1


def _exporting(qtbot, plan_window, fake_clock):
    session, window, editor = plan_window
    _answer(qtbot, window, fake_clock)
    _open_tab(qtbot, window, editor)
    qtbot.keyClicks(editor.fields["warning_signs"], SIGN)
    return session, editor


def _said_without_data(editor, kind_words: str) -> None:
    text = editor.message.text()
    assert kind_words in text, text
    assert editor.message.property("role") == "warning"
    assert "The safety plan itself is saved." in text or "no PDF was made" in text
    assert SIGN not in text


def test_export_to_a_missing_folder(qtbot, plan_window, fake_clock, tmp_path, paths):
    session, editor = _exporting(qtbot, plan_window, fake_clock)
    assert editor.export_to(tmp_path / "usb" / "plan.pdf") is None
    _said_without_data(editor, "That folder does not exist")
    assert not (tmp_path / "usb").exists()
    assert _audit(paths, "safety_plan.export") == []
    assert session.service("store").safety_plan(editor.contact_id).warning_signs == (SIGN,)
    assert editor.fields["warning_signs"].toPlainText() == SIGN  # nothing lost


@pytest.fixture
def readonly_dir(tmp_path):
    """A read-only tmpfs (EROFS; root ignores permission bits, so chmod would not do)."""
    from tests.support.storage_disk import MountImpossible, SmallDisk

    disk = SmallDisk(tmp_path / "ro", 64 * 1024)
    try:
        disk.mount()
    except MountImpossible as exc:
        pytest.skip(f"no tmpfs to make read-only: {exc}")
    (disk.path / "old.pdf").write_bytes(b"%PDF-old")
    r = subprocess.run(["mount", "-o", "remount,ro", str(disk.path)], capture_output=True)
    if r.returncode != 0:
        disk.unmount()
        pytest.skip("cannot remount the tmpfs read-only")
    yield disk.path
    disk.unmount()


def test_export_to_a_read_only_place(qtbot, plan_window, fake_clock, readonly_dir, paths):
    session, editor = _exporting(qtbot, plan_window, fake_clock)
    assert editor.export_to(readonly_dir / "old.pdf") is None
    _said_without_data(editor, "cannot be written to")
    assert (readonly_dir / "old.pdf").read_bytes() == b"%PDF-old"
    assert _audit(paths, "safety_plan.export") == []


def test_export_where_writing_is_not_allowed(qtbot, plan_window, fake_clock, tmp_path, monkeypatch):
    session, editor = _exporting(qtbot, plan_window, fake_clock)
    real_open = os.open

    def refuse(path, flags, mode=0o777, **kw):
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(pdf_export.os, "open", refuse)
    out = tmp_path / "out"
    out.mkdir()
    assert editor.export_to(out / "plan.pdf") is None
    _said_without_data(editor, "cannot be written to")
    assert os.listdir(out) == []


def test_export_to_a_full_disk(qtbot, plan_window, fake_clock, tmp_path, paths):
    """A real 256 KiB tmpfs filled to ENOSPC (root, as CI runs); an older PDF survives."""
    from tests.support.storage_disk import MountImpossible, SmallDisk

    session, editor = _exporting(qtbot, plan_window, fake_clock)
    disk = SmallDisk(tmp_path / "small", 256 * 1024)
    try:
        disk.mount()
    except MountImpossible as exc:
        pytest.skip(f"no small disk to fill: {exc}")
    try:
        (disk.path / "plan.pdf").write_bytes(b"%PDF-old")
        disk.fill()
        assert editor.export_to(disk.path / "plan.pdf") is None
        _said_without_data(editor, "The disk is full")
        assert sorted(os.listdir(disk.path)) == [".filler", "plan.pdf"]  # no half file
        assert (disk.path / "plan.pdf").read_bytes() == b"%PDF-old"
        assert _audit(paths, "safety_plan.export") == []
        disk.free()  # space again: the same press works
        assert editor.export_to(disk.path / "plan.pdf") is not None
        assert (disk.path / "plan.pdf").read_bytes().startswith(b"%PDF-1")
        assert len(_audit(paths, "safety_plan.export")) == 1
    finally:
        disk.unmount()


def test_an_export_the_store_cannot_record_writes_no_pdf(
    qtbot, plan_window, fake_clock, tmp_path, monkeypatch
):
    session, editor = _exporting(qtbot, plan_window, fake_clock)
    from storage.errors import StoreIsLocked

    def locked(*a, **k):
        raise StoreIsLocked()

    monkeypatch.setattr(session.service("store"), "safety_plan_exported", locked)
    out = tmp_path / "out"
    out.mkdir()
    assert editor.export_to(out / "plan.pdf") is None
    _said_without_data(editor, "could not be recorded")
    assert os.listdir(out) == []


def test_the_tab_fits_1024x600_every_control_named(
    qtbot, language, theme_name, paths, fake_clock, artifacts_dir
):
    session, window = _window(qtbot, paths, fake_clock, **{"ui.language": language})
    try:
        editor = window.safety_plan
        _earlier_contact(session.service("store"), fake_clock, "5555550101")
        _answer(qtbot, window, fake_clock)
        _open_tab(qtbot, window, editor)
        qtbot.waitUntil(editor.offer_button.isVisible, timeout=2000)
        editor.fields["warning_signs"].insertPlainText("Una línea bastante larga " * 6)
        editor.offer = {"contact_id": "earlier", "rung_at": "2026-12-03T03:40:00+00:00"}
        editor._sync()  # the offer next to a typed plan, the longest the tab gets
        editor.offer_button.setVisible(True)
        editor.offer_label.setVisible(True)
        QApplication.processEvents()
        assert editor.isVisible()
        _check_fits(window, (1024, 600))
        assert not _unnamed(editor), _unnamed(editor)
        assert not editor.scroll_area.horizontalScrollBar().isVisible()
        shot(window, artifacts_dir, f"safety-plan-{language}-{theme_name}-1024x600")
    finally:
        session.stop()
