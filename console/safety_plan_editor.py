"""The safety plan of the contact in progress: seven short fields, autosaved, exportable.

A tab of the contact area (``MainWindow.add_contact_tab``): the window calls
:meth:`SafetyPlanEditor.show_contact` on every call state change and
:meth:`SafetyPlanEditor.focus_first` when its key is pressed. Each section is a short
multi-line field (one line per item) under its title and the question the counselor asks
in the caller's words; Tab moves from one section to the next.

Saving works like the notes: every keystroke keeps the plan in memory, and it is saved
one second after typing stops (``AUTOSAVE_S``, on the session's clock), when the cursor
leaves a section, and when the contact changes; the status line says "Saved" or why not.
While the case store is locked nothing is lost: the fields are emptied and disabled (the
window's lock screen is over them anyway), the typed plan waits in memory, and it is shown
and saved again at unlock — for a contact that ended meanwhile too.

A repeat caller (an earlier contact with the same salted caller key, storage/caller_key.py)
gets "Start from the plan of <date>": one press copies that plan into this contact's (the
earlier one is unchanged). The number is never shown or sent anywhere by this widget.

"Export PDF…" writes the plan for the caller (console/pdf_export.py), audited in the
store as ``safety_plan.export`` (language, pages, sections filled; never the text).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.bridge import EventBridge
from console.pdf_export import (
    Exported,
    ExportFailed,
    crisis_lines_from,
    export_safety_plan,
)
from console.theme import set_role
from core.clock import Timer
from core.errors import FaroError
from core.forms import builtin_form
from core.i18n import _, current_language, format_date
from storage.events import StoreLocked, StoreUnlocked
from storage.records import SafetyPlan

log = logging.getLogger(__name__)

#: seconds after the last keystroke when the plan is saved
AUTOSAVE_S = 1.0
#: lines of text a section shows before it scrolls
FIELD_LINES = 3


class SectionField(QPlainTextEdit):
    """One section: short, multi-line, Tab goes on to the next section."""

    left = Signal()

    def __init__(self, section: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.section = section
        self.setObjectName(f"safetyPlan_{section}")
        self.setTabChangesFocus(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.fit_height()

    def fit_height(self) -> None:
        """FIELD_LINES lines of the current font (the font scale may change it)."""
        m = self.contentsMargins()
        doc_margin = 2 * self.document().documentMargin()
        lines = self.fontMetrics().lineSpacing() * FIELD_LINES
        self.setFixedHeight(int(lines + doc_margin + m.top() + m.bottom() + 2))

    def focusOutEvent(self, event: Any) -> None:
        super().focusOutEvent(event)
        self.left.emit()


class SafetyPlanEditor(QWidget):
    """The safety plan tab. ``session`` gives the store (``session.service("store")``),
    the clock and the configuration; ``bridge`` is the window's one EventBridge."""

    _due = Signal()  # the autosave timer fired (on the clock's thread, or inline)

    def __init__(self, session: Any, bridge: EventBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("safetyPlanEditor")
        self.store = session.service("store")
        self.clock = session.clock
        self.config = session.config
        #: the organisation's form (core/forms.py): the sections, in its order and words
        self.form = getattr(session, "form", None) or builtin_form()
        #: the contact in progress (None between calls)
        self.contact_id: str | None = None
        #: typed and not yet saved, per contact (kept while locked; saved at unlock)
        self.pending: dict[str, SafetyPlan] = {}
        #: the earlier contact offered ({"contact_id", "rung_at", …}), or None
        self.offer: dict[str, Any] | None = None
        #: the last export (for tests and the status line)
        self.last_export: Exported | None = None
        self._timer: Timer | None = None
        self._loading = False
        self._build()
        self.bridge = bridge  # keep it alive as long as the widget
        bridge.on((StoreLocked, StoreUnlocked), self._on_store)
        self._due.connect(self._save_due)
        self._sync()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.heading = QLabel(_("Safety plan"))
        self.heading.setObjectName("safetyPlanHeading")
        self.heading.setWordWrap(True)
        set_role(self.heading, "title")
        self.status = QLabel("")
        self.status.setObjectName("safetyPlanStatus")
        self.status.setWordWrap(True)
        set_role(self.status, "dim")
        self.offer_label = QLabel("")
        self.offer_label.setObjectName("safetyPlanOffer")
        self.offer_label.setWordWrap(True)
        set_role(self.offer_label, "warning")
        self.offer_button = QPushButton("")
        self.offer_button.setObjectName("btn_safety_plan_reuse")
        self.offer_button.setAccessibleName(_("Start from the caller's earlier safety plan"))
        self.offer_button.clicked.connect(self.start_from_earlier)

        form = QWidget()
        form.setObjectName("safetyPlanForm")
        rows = QVBoxLayout(form)
        rows.setContentsMargins(0, 0, 4, 0)
        rows.setSpacing(2)
        self.fields: dict[str, SectionField] = {}
        self.titles: dict[str, QLabel] = {}
        self.hints: dict[str, QLabel] = {}
        self.rows = rows
        self._built = False
        for entry in self.form.sections:
            self._add_section(entry.code, entry.label(), entry.hint())
        rows.addStretch(1)
        self._built = True
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("safetyPlanScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(form)

        self.export_button = QPushButton(_("Export PDF…"))
        self.export_button.setObjectName("btn_safety_plan_export")
        self.export_button.setAccessibleName(_("Export the safety plan as a PDF for the caller"))
        self.export_button.clicked.connect(self.choose_export_path)
        self.message = QLabel("")
        self.message.setObjectName("safetyPlanMessage")
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.heading, 1)
        head.addWidget(self.status, 1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight)
        offer = QVBoxLayout()  # the tab is narrow: the button under its sentence
        offer.setContentsMargins(0, 0, 0, 0)
        offer.setSpacing(2)
        offer.addWidget(self.offer_label)
        offer.addWidget(self.offer_button, 0, Qt.AlignmentFlag.AlignLeft)
        foot = QHBoxLayout()
        foot.setContentsMargins(0, 0, 0, 0)
        foot.addWidget(self.message, 1)
        foot.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addLayout(offer)
        layout.addWidget(self.scroll_area, 1)
        layout.addLayout(foot)
        order = [self.offer_button, *self.fields.values(), self.export_button]
        for a, b in zip(order, order[1:], strict=False):
            self.setTabOrder(a, b)

    def _add_section(self, section: str, label: str, hint_text: str) -> SectionField:
        n = len(self.fields) + 1
        title = QLabel(f"{n}. {label}")
        title.setObjectName(f"safetyPlanTitle_{section}")
        title.setWordWrap(True)
        set_role(title, "title")
        hint = QLabel(hint_text)
        hint.setObjectName(f"safetyPlanHint_{section}")
        hint.setWordWrap(True)
        hint.setVisible(bool(hint_text))
        set_role(hint, "dim")
        field = SectionField(section)
        field.setAccessibleName(label)
        field.setAccessibleDescription(hint_text)
        field.setPlaceholderText(_("One item per line"))
        title.setBuddy(field)
        field.textChanged.connect(self._typed)
        field.left.connect(self._left_field)
        at = self.rows.count() - (1 if self._built else 0)  # before the stretch, once built
        for w in (title, hint, field):
            self.rows.insertWidget(at, w)
            at += 1
        self.rows.insertSpacing(at, 6)
        self.fields[section], self.titles[section], self.hints[section] = field, title, hint
        return field

    def _add_dropped(self, section: str, version: int | None) -> None:
        """A field for a section a saved plan fills that the form in use no longer has, in
        its version's words and marked: its lines stay in the plan."""
        try:
            book = self.store.form_book(self.form)
            label = book.label("section", section, version)
            entry = book.form(version).entry("section", section)
        except FaroError as exc:
            log.warning("form versions not read: %s", type(exc).__name__)
            label, entry = section, None
        field = self._add_section(section, label, entry.hint() if entry else "")
        field.setEnabled(not self.store.is_locked)

    # -- the window's calls ------------------------------------------------------------------
    def show_contact(self, contact_id: str | None, call: Any = None) -> None:
        """The contact in progress changed state (or changed): follow it. Leaving a contact
        saves its plan now; the same contact again only looks for an earlier plan if none
        was found yet (its call row may just have been written)."""
        if contact_id == self.contact_id:
            if contact_id and self.offer is None and not self.store.is_locked:
                self._look_for_earlier()
            return
        self.save_now()
        self.contact_id = contact_id
        self.message.setVisible(False)
        self._load()

    def focus_first(self) -> None:
        """The key of the tab: the cursor in the first section."""
        field = next(iter(self.fields.values()))
        self.scroll_area.ensureWidgetVisible(field)
        field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        field.moveCursor(field.textCursor().MoveOperation.End)

    # -- contents ----------------------------------------------------------------------------
    def plan(self) -> SafetyPlan:
        """What the fields say now."""
        texts = {s: f.toPlainText() for s, f in self.fields.items()}
        return SafetyPlan.from_texts(texts, extra=self.fields)

    def _fill(self, plan: SafetyPlan | None) -> None:
        texts = (plan or SafetyPlan()).texts()
        for section, text in texts.items():
            if text and section not in self.fields:
                self._add_dropped(section, plan.form_version if plan else None)
        self._loading = True
        try:
            for section, field in self.fields.items():
                if field.toPlainText() != texts.get(section, ""):
                    field.setPlainText(texts.get(section, ""))
        finally:
            self._loading = False

    def _load(self) -> None:
        """Show the current contact's plan: what is waiting in memory, else the saved one."""
        self.offer = None
        cid = self.contact_id
        if cid is None or self.store.is_locked:
            self._fill(None)
            self._sync()
            return
        plan = self.pending.get(cid)
        saved = None
        if plan is None:
            try:
                saved = self.store.safety_plan(cid)
            except FaroError as exc:
                self._say_status(_("Not saved: {reason}").format(reason=exc.user_text()), "warning")
            plan = saved
        self._fill(plan)
        if cid in self.pending:
            self._say_status(_("Not saved yet"), "dim")
        elif saved is not None:
            self._say_status(_("Saved"), "ok")
        else:
            self._say_status("", "dim")
        self._look_for_earlier()
        self._sync()

    def _look_for_earlier(self) -> None:
        cid = self.contact_id
        if cid is None or not self.plan().is_empty:
            return
        try:
            found = self.store.latest_safety_plan_for_caller(cid)
        except FaroError:
            found = None
        self.offer = found
        self._sync()

    def _offer_date(self) -> str:
        assert self.offer is not None
        for key in ("rung_at", "updated_at"):
            value = self.offer.get(key)
            if value:
                try:
                    return format_date(dt.datetime.fromisoformat(value))
                except ValueError:
                    continue
        return _("date unknown")

    def _sync(self) -> None:
        """Enable what can act now; the offer while it is true."""
        usable = self.contact_id is not None and not self.store.is_locked
        for field in self.fields.values():
            field.setEnabled(usable)
        self.export_button.setEnabled(usable)
        show_offer = usable and self.offer is not None and self.plan().is_empty
        if show_offer:
            when = self._offer_date()
            self.offer_label.setText(
                _("This caller has a safety plan from {date}.").format(date=when)
            )
            text = _("Start from the plan of {date}").format(date=when)
            self.offer_button.setText(text)
            self.offer_button.setAccessibleName(text)
        self.offer_label.setVisible(show_offer)
        self.offer_button.setVisible(show_offer)
        if self.contact_id is None and not self.store.is_locked:
            self._say_status(_("No contact in progress"), "dim")

    def _say_status(self, text: str, role: str) -> None:
        self.status.setText(text)
        set_role(self.status, role)

    def _say(self, text: str, role: str | None) -> None:
        self.message.setText(text)
        set_role(self.message, role)
        self.message.setVisible(bool(text))

    # -- autosave ----------------------------------------------------------------------------
    def _typed(self) -> None:
        if self._loading or self.contact_id is None:
            return
        self.pending[self.contact_id] = self.plan()
        self._say_status(_("Not saved yet"), "dim")
        if self.offer is not None and not self.plan().is_empty:
            self._sync()  # typing on an empty plan withdraws the offer
        self._arm()

    def _arm(self, delay: float = AUTOSAVE_S) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.clock.call_later(delay, self._due.emit)

    def _save_due(self) -> None:
        self._timer = None
        self.save_now()

    def _left_field(self) -> None:
        if self.contact_id in self.pending:
            self.save_now()

    def save_now(self) -> bool:
        """Save every plan waiting in memory. True when nothing is left waiting. While the
        store is locked, or when a save fails, the plans stay in memory (retried later)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.pending:
            return True
        if self.store.is_locked:
            self._say_status(_("Not saved yet: it will be saved when the store is unlocked"), "dim")
            return False
        for cid, plan in list(self.pending.items()):
            try:
                self.store.set_safety_plan(cid, plan)
            except FaroError as exc:
                if cid == self.contact_id:
                    reason = exc.user_text()
                    self._say_status(_("Not saved: {reason}").format(reason=reason), "warning")
                self._arm(2.0)  # retried; newer typing replaces what waits
                return False
            if self.pending.get(cid) is plan:
                del self.pending[cid]
            if cid == self.contact_id:
                self._say_status(_("Saved"), "ok")
        return True

    def _on_store(self, event: Any) -> None:
        if isinstance(event, StoreLocked):
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.offer = None
            self._fill(None)  # no plan text on screen while locked; it waits in memory
            self._say_status(_("Locked"), "dim")
            self.message.setVisible(False)
            self._sync()
        elif isinstance(event, StoreUnlocked):
            self._load()
            self.save_now()

    # -- an earlier contact's plan -------------------------------------------------------------
    def start_from_earlier(self) -> None:
        """Copy the offered plan into this contact's plan (the earlier one is unchanged)."""
        if self.offer is None or self.contact_id is None:
            return
        when = self._offer_date()
        try:
            plan = self.store.copy_safety_plan(self.offer["contact_id"], self.contact_id)
        except FaroError as exc:
            self._say(exc.user_text(), "warning")
            return
        self.pending.pop(self.contact_id, None)
        self.offer = None
        self._fill(plan)
        self._say_status(_("Saved"), "ok")
        self._say(
            _("Started from the plan of {date}. Go over it with the caller.").format(date=when),
            "ok",
        )
        self._sync()
        self.focus_first()

    # -- export ------------------------------------------------------------------------------
    def default_file_name(self) -> str:
        # Translators: the file name offered for the exported plan (no spaces, no accents)
        stem = _("safety-plan")
        return f"{stem}-{self.clock.now().date().isoformat()}.pdf"

    def choose_export_path(self) -> None:
        if self.contact_id is None:
            return
        start = str(Path.home() / self.default_file_name())
        path, _filter = QFileDialog.getSaveFileName(
            self, _("Export the safety plan as a PDF"), start, _("PDF documents (*.pdf)")
        )
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> Exported | None:
        """Write the plan on screen as a PDF at ``path`` (".pdf" added if missing), save it
        first, and audit the export. Returns None (and says why) when it failed."""
        cid = self.contact_id
        if cid is None or self.store.is_locked:
            return None
        path = Path(path)
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        self.save_now()
        plan = self.plan()
        language = current_language()

        def audit(pages: int) -> None:
            detail = {"language": language, "pages": pages, "sections": plan.filled}
            self.store.safety_plan_exported(cid, detail)

        try:
            done = export_safety_plan(
                path,
                plan,
                made_on=self.clock.now().astimezone().date(),
                crisis_lines=crisis_lines_from(self.config),
                before_publish=audit,
                form=self.form,
            )
        except ExportFailed as exc:
            self._say(exc.user_text(), "warning")
            return None
        except Exception:  # a bug: logged without the plan or the path
            log.exception("safety plan export failed")
            self._say(_("The PDF could not be made. Call IT."), "warning")
            return None
        self.last_export = done
        self._say(_("PDF saved as {name}.").format(name=done.path.name), "ok")
        return done
