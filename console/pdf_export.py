"""The safety plan as a one-page PDF for the caller, made on this laptop with Qt.

:func:`render_pdf` lays the plan out with ``QTextDocument`` and prints it with
``QPdfWriter`` into memory (US Letter, as in Mexico and the US), in the console's language:
the title, the date, the sections of the organisation's form (core/forms.py; the seven of
the built-in one), then any section an older form had that still holds text, in the caller's words with what they said, and the
crisis lines (the option ``clinical.crisis_lines`` when the organisation declares one; else
lines to write them on). The text shrinks until it fits one page (down to 8 pt; longer plans
take a second page rather than losing a word).

:func:`export_safety_plan` writes it like every file Faro makes (STYLE.md, lesson 11): a
temporary file in the target folder created 0600 by ``os.open`` before the first byte,
fsync, then — once the store has audited the export (``before_publish``) — renamed over
the target, and the folder fsynced. Any failure leaves no temporary file and no half
PDF, and an existing file at the target untouched; :class:`ExportFailed` says which of
disk full, read-only / not allowed, missing folder or another disk error it was, in words
for the counselor and never with the plan's text or the file's name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import html
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QFont, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from core.errors import NotWritable
from core.forms import Form, builtin_form
from core.i18n import N_, _, current_language, format_date
from storage.hardening import fsync_dir, write_private
from storage.records import SafetyPlan

log = logging.getLogger(__name__)

#: Translators: the seven sections of a safety plan (Stanley & Brown), as the caller reads
#: them on the printed plan and the counselor sees them in the editor.
SECTION_TITLES: dict[str, str] = {
    "warning_signs": N_("Warning signs"),
    "coping_strategies": N_("Things I can do on my own"),
    "distraction_people_places": N_("People and places that take my mind off things"),
    "people_to_ask_for_help": N_("People I can ask for help"),
    "professionals_and_crisis_lines": N_("Professionals and crisis lines"),
    "safe_environment": N_("Making where I am safer"),
    "reasons_for_living": N_("My reasons for living"),
}
#: the question the counselor asks, in the caller's words
SECTION_HINTS: dict[str, str] = {
    "warning_signs": N_("What tells you a crisis may be coming?"),
    "coping_strategies": N_("What can you do on your own to feel a little better?"),
    "distraction_people_places": N_("Who, or which places, help you take your mind off things?"),
    "people_to_ask_for_help": N_("Who could you call and tell how you feel?"),
    "professionals_and_crisis_lines": N_(
        "Which professionals or services can you turn to in a crisis?"
    ),
    "safe_environment": N_("What can you do to make where you are safer?"),
    "reasons_for_living": N_("What matters most to you, what is worth living for?"),
}
#: an option the organisation may declare (a list of "name: number" lines); read if it exists
CRISIS_LINES_OPTION = "clinical.crisis_lines"

_BLANK = "_" * 48
_FONT_PT = 11.0
_MIN_FONT_PT = 8.0


class ExportFailed(NotWritable):
    """The PDF could not be written. ``kind``: ``disk_full``, ``read_only``,
    ``missing_folder``, ``not_recorded`` or ``io``. The plan is safe in the store."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    pages: int
    size: int


def crisis_lines_from(config: object) -> list[str]:
    """The crisis lines of the option :data:`CRISIS_LINES_OPTION`, or [] if this Faro
    declares no such option (then the PDF leaves lines to write them on)."""
    get = getattr(config, "get", None)
    if get is None:
        return []
    try:
        value = get(CRISIS_LINES_OPTION)
    except KeyError:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    return [str(v).strip() for v in value or () if str(v).strip()]


def _plan_sections(plan: SafetyPlan, form: Form | None) -> list[tuple[str, str, str]]:
    """(code, title, hint) of each section to print: the form's, in its order, then a
    section the plan holds that the form no longer has, when it has text."""
    form = form or builtin_form()
    out: list[tuple[str, str, str]] = []
    for entry in form.sections:
        out.append((entry.code, entry.label(), entry.hint()))
    known = {code for code, _t, _h in out}
    for code in plan.sections:
        if code not in known and plan.lines(code):
            title = _(SECTION_TITLES[code]) if code in SECTION_TITLES else code.replace("_", " ")
            out.append((code, title, ""))
    return out


def plan_html(
    plan: SafetyPlan, made_on: dt.date, crisis_lines: Sequence[str], form: Form | None = None
) -> str:
    """The document, in the console's language (no colours: it is printed), with the
    sections of ``form`` (the built-in form when None)."""
    esc = html.escape
    title = _("My safety plan")
    made = _("Made on {date}").format(date=format_date(made_on, long=True))
    parts = [
        "<style>h1 { margin: 0 0 2px 0; } h3 { margin: 8px 0 0 0; } p { margin: 1px 0; } "
        "ul { margin: 1px 0 0 0; } .hint { font-style: italic; } .blank { margin: 9px 0 0 0; } "
        ".foot { margin: 12px 0 0 0; font-style: italic; }</style>",
        "<h1>" + esc(title) + "</h1>",
        "<p>" + esc(made) + "</p>",
    ]
    for n, (section, heading, hint) in enumerate(_plan_sections(plan, form), start=1):
        parts.append(f"<h3>{n}. {esc(heading)}</h3>")
        if hint:
            parts.append(f"<p class='hint'>{esc(hint)}</p>")
        items = plan.lines(section)
        if items:
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
        else:
            parts.append(f"<p class='blank'>{_BLANK}</p>" * 2)  # room to write by hand
    parts.append("<h3>" + esc(_("Crisis lines")) + "</h3>")
    if crisis_lines:
        parts.append("<ul>" + "".join(f"<li>{esc(c)}</li>" for c in crisis_lines) + "</ul>")
    else:
        line = esc(_("Crisis line:"))
        parts.append(f"<p class='blank'>{line} {_BLANK}</p>" * 2)
    parts.append(
        "<p class='foot'>"
        + esc(
            _(
                "Keep this plan where you can find it, and use it when you notice your warning signs."
            )
        )
        + "</p>"
    )
    return "".join(parts)


def render_pdf(
    plan: SafetyPlan,
    made_on: dt.date,
    crisis_lines: Sequence[str] = (),
    form: Form | None = None,
) -> tuple[bytes, int]:
    """(the PDF's bytes, its number of pages). Needs a QGuiApplication (fonts)."""
    body = plan_html(plan, made_on, crisis_lines, form)
    size = _FONT_PT
    while True:
        pdf, pages = _print(body, size)
        if pages <= 1 or size <= _MIN_FONT_PT:
            return pdf, pages
        size -= 0.5


def _print(
    body: str, font_pt: float, title: str = "", images: Mapping[str, QImage] | None = None
) -> tuple[bytes, int]:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(title or _("My safety plan"))
    writer.setCreator("Faro")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.Letter),
            QPageLayout.Orientation.Portrait,
            QMarginsF(18, 15, 18, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    doc = QTextDocument()
    font = QFont()
    font.setPointSizeF(font_pt)
    doc.setDefaultFont(font)
    for name, image in (images or {}).items():  # <img src="name"> in the body
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    doc.setHtml(body)
    # the page in the document's own units (points at the document's 72-per-inch scale
    # are what print() maps onto the writer's paint rectangle)
    rect = writer.pageLayout().paintRectPoints()
    doc.setPageSize(QSizeF(rect.width() * 96 / 72, rect.height() * 96 / 72))
    pages = doc.pageCount()
    doc.print_(writer)
    del writer  # ends the PDF into the buffer
    buffer.close()
    return bytes(data.data()), pages


def export_safety_plan(
    path: Path | str,
    plan: SafetyPlan,
    *,
    made_on: dt.date,
    crisis_lines: Sequence[str] = (),
    before_publish: Callable[[int], None] | None = None,
    form: Form | None = None,
) -> Exported:
    """Write the plan's PDF to ``path`` (0600, atomic). ``before_publish(pages)`` runs once
    the file is complete on disk and before it takes the target's name (the store's audit
    row): if it raises, nothing is published. Raises :class:`ExportFailed`."""
    path = Path(path)
    if not path.parent.is_dir():
        raise _failed(FileNotFoundError(errno.ENOENT, "folder"))
    pdf, pages = render_pdf(plan, made_on, crisis_lines, form)
    done = _publish(path, pdf, pages, before_publish, report=False)
    log.info("safety plan exported (%d page(s), %d bytes, %s)", pages, len(pdf), current_language())
    return done


def export_report(
    path: Path | str,
    body: str,
    *,
    title: str,
    images: Mapping[str, QImage] | None = None,
    before_publish: Callable[[int], None] | None = None,
) -> Exported:
    """A shift report (console/shift_report.py) as a PDF at ``path``, written as the safety
    plan is (0600 before the first byte, atomic, ``before_publish(pages)`` audits it first).
    ``body`` is the report's HTML, ``images`` its plots by the names its ``<img>`` use.
    Raises :class:`ExportFailed`, in words that say the report was not saved."""
    path = Path(path)
    if not path.parent.is_dir():
        raise _failed(FileNotFoundError(errno.ENOENT, "folder"), report=True)
    pdf, pages = _print(body, 10.0, title, images)
    done = _publish(path, pdf, pages, before_publish, report=True)
    log.info("report exported (%d page(s), %d bytes)", pages, len(pdf))
    return done


def _publish(
    path: Path,
    pdf: bytes,
    pages: int,
    before_publish: Callable[[int], None] | None,
    *,
    report: bool,
) -> Exported:
    """A temporary file in the target folder (0600 before the first byte), the audit
    (``before_publish``), then the rename and the folder's fsync; nothing left behind on
    any failure."""
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        _write_private(tmp, pdf)
    except OSError as exc:
        raise _failed(exc, report=report) from None
    try:
        if before_publish is not None:
            before_publish(pages)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        log.warning("PDF export not recorded: %s", type(exc).__name__)
        message = _(
            "The export could not be recorded in the case store, so no PDF was made. "
            "Unlock the store and try again."
        )
        raise ExportFailed(message, kind="not_recorded") from None
    try:
        os.replace(tmp, path)
        fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _failed(exc, report=report) from None
    return Exported(path, pages, len(pdf))


def _write_private(tmp: Path, data: bytes) -> None:
    try:
        write_private(tmp, data)
    except IsADirectoryError:  # a folder where the temporary file goes: not ours to remove
        raise OSError(errno.EISDIR, "temporary name taken") from None


def _failed(exc: OSError, report: bool = False) -> ExportFailed:
    """The disk's fault in words for the counselor (never the path: it may name the caller),
    for the safety plan or, with ``report``, a shift report."""
    code = exc.errno
    log.warning("PDF export failed: %s", errno.errorcode.get(code or 0, type(exc).__name__))
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        kind = "disk_full"
    elif code in (errno.EROFS, errno.EACCES, errno.EPERM):
        kind = "read_only"
    elif code in (errno.ENOENT, errno.ENOTDIR):
        kind = "missing_folder"
    else:
        kind = "io"
    return ExportFailed((_report_words if report else _plan_words)(kind), kind=kind)


def _plan_words(kind: str) -> str:
    if kind == "disk_full":
        return _(
            "The disk is full: the PDF was not saved. Free some space or choose another "
            "place. The safety plan itself is saved."
        )
    if kind == "read_only":
        return _(
            "That place cannot be written to (it is read-only or not allowed): the PDF was "
            "not saved. Choose another folder. The safety plan itself is saved."
        )
    if kind == "missing_folder":
        return _(
            "That folder does not exist (a USB stick taken out?): the PDF was not saved. "
            "Choose another folder. The safety plan itself is saved."
        )
    return _(
        "The PDF could not be written (the disk did not answer): it was not saved. Try "
        "another place. The safety plan itself is saved."
    )


def _report_words(kind: str) -> str:
    if kind == "disk_full":
        return _(
            "The disk is full: the report was not saved. Free some space or choose another place."
        )
    if kind == "read_only":
        return _(
            "That place cannot be written to (it is read-only or not allowed): the report "
            "was not saved. Choose another folder."
        )
    if kind == "missing_folder":
        return _(
            "That folder does not exist (a USB stick taken out?): the report was not saved. "
            "Choose another folder."
        )
    return _(
        "The report could not be written (the disk did not answer): it was not saved. Try "
        "another place."
    )
