"""The suicide risk assessment form: a tab of the contact area, keyboard first, during the call.

The four Lifeline areas (desire, capability, intent, buffers) with every item as a check box,
a comment, the level the organisation's rule gives (storage/risk.py) shown live with its
reason, and Save. Nothing here ever holds up the call: the F-keys are window shortcuts and
keep working from any box of the form, an assessment may stay unsaved past the hang-up, and
a refused save (store locked, disk full) loses nothing.

Keys (while the focus is in the form): Tab / Shift+Tab move, Space ticks, Alt+1…Alt+4 jump
to the first item of desire, capability, intent, buffers, Alt+5 to the comment, Ctrl+S
saves. The window brings the form up with its own key (``add_contact_tab(…, "F2")``), which
calls :meth:`RiskForm.focus_first`.

Each save is a new version (row) of the contact's assessment, with its level and the rule's
id, audited by the store; the store then publishes ``RiskAssessmentSaved`` (storage/events.py),
which at imminent risk makes the wiring propose an urgent escalation and is what the rescue
steps listen to. The form also says so in Qt: :attr:`RiskForm.saved` and
:attr:`RiskForm.imminent_saved`.

The draft (what is ticked, the comment) lives in this widget, per contact, and only here:
a lock hides the form (the window shows the lock screen) without touching it, so unlocking
finds it exactly as it was. :meth:`RiskForm.incomplete` tells the wrap-up whether a contact's
assessment was left unsaved or never made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.bridge import EventBridge
from core.errors import FaroError
from core.forms import AREAS as FORM_AREAS
from core.forms import builtin_form
from core.i18n import _, format_time
from storage.events import StoreLocked, StoreUnlocked
from storage.records import RiskAssessment
from storage.risk import (
    HIGH,
    IMMINENT,
    MODERATE,
    level_label,
    risk_area_title,
    risk_item_label,
    rule_from_config,
)

if TYPE_CHECKING:
    from app.session import Session
    from calls.model import Call

log = logging.getLogger(__name__)

__all__ = ["RiskForm", "risk_item_label"]

#: the areas in the order of the form and of Alt+1…Alt+4
AREAS = FORM_AREAS
#: drafts kept in memory for contacts no longer on screen (the wrap-up asks about them)
KEEP_DRAFTS = 32
#: the label's role for each level (colours only through console/theme.py)
LEVEL_ROLES = {IMMINENT: "danger", HIGH: "danger", MODERATE: "warning"}


@dataclasses.dataclass
class _Draft:
    """One contact's assessment as the counselor is making it."""

    items: set[str] = dataclasses.field(default_factory=set)
    comment: str = ""
    #: what the last saved version held (nothing before the first save)
    saved_items: frozenset[str] = frozenset()
    saved_comment: str = ""
    versions: int | None = None  # saved versions; None: not known yet (read when needed)
    saved_at: dt.datetime | None = None
    recomputed: bool = False  # the last version's level was graded when it was read
    ended: bool = False  # the call is over

    @property
    def dirty(self) -> bool:
        return self.items != self.saved_items or self.comment != self.saved_comment


class RiskForm(QWidget):
    """``RiskForm(session, bridge)``; the window calls :meth:`show_contact` on every call
    state change and :meth:`focus_first` when its key is pressed."""

    #: (contact id, version, level) after each save
    saved = Signal(str, int, str)
    #: (contact id) after a save at imminent risk: the rescue steps may open
    imminent_saved = Signal(str)

    def __init__(
        self, session: Session, bridge: EventBridge, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("riskForm")
        self.setAccessibleName(_("Risk assessment"))
        self.session = session
        self.store = session.service("store")
        self.clock = session.clock
        #: the organisation's form (core/forms.py): its items, in its order, per area
        self.form = getattr(session, "form", None) or builtin_form()
        self.factors = self.form.risk_factors
        #: item code → area, for the form's items and the dropped ones a record brought
        self.area_of = {c: a for a, codes in self.factors.items() for c in codes}
        self.rule = rule_from_config(session.config, self.form)
        self._contact: str | None = None
        self._drafts: OrderedDict[str, _Draft] = OrderedDict()
        self._loading = False
        self.boxes: dict[str, QCheckBox] = {}
        self.groups: dict[str, QGroupBox] = {}
        self._build()
        bridge.on((StoreLocked, StoreUnlocked), self._on_store_lock)
        self.show_contact(None, None)

    # -- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.level_label = QLabel()
        self.level_label.setObjectName("riskLevel")
        self.level_label.setAccessibleName(_("Risk level"))
        self.level_label.setStyleSheet(f"font-size: {theme.pt(13)}; font-weight: bold;")
        self.level_label.setWordWrap(True)
        self.why_label = QLabel()
        self.why_label.setObjectName("riskWhy")
        self.why_label.setAccessibleName(_("Why this level"))
        self.why_label.setWordWrap(True)
        # two lines kept for the reason, so the items do not move as it grows and shrinks
        self.why_label.setMinimumHeight(self.why_label.fontMetrics().lineSpacing() * 2)
        self.why_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        outer.addWidget(self.level_label)
        outer.addWidget(self.why_label)

        self.items_scroll = QScrollArea()
        self.items_scroll.setObjectName("riskScroll")
        self.items_scroll.setAccessibleName(_("Risk assessment items"))
        self.items_scroll.setWidgetResizable(True)
        self.items_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.items_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.items_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        content = QWidget()
        content.setObjectName("riskItems")
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 4, 0)
        for n, area in enumerate(AREAS, start=1):
            key = f"Alt+{n}"
            group = QGroupBox(
                _("{n} · {area}  ({key})").format(n=n, area=risk_area_title(area), key=key)
            )
            group.setObjectName(f"risk_{area}")
            group.setAccessibleName(risk_area_title(area))
            lay = QVBoxLayout(group)
            lay.setSpacing(2)
            for code in self.factors[area]:
                self._add_box(lay, area, code, risk_item_label(code, self.form))
            self.groups[area] = group
            column.addWidget(group)
            self._shortcut(key, lambda a=area: self.focus_area(a))
        comment_title = QLabel(_("Comment  (Alt+5)"))
        comment_title.setObjectName("riskCommentTitle")
        theme.set_role(comment_title, "title")
        self.comment = QPlainTextEdit()
        self.comment.setObjectName("riskComment")
        self.comment.setAccessibleName(_("Comment on the risk assessment"))
        self.comment.setTabChangesFocus(True)
        self.comment.setFixedHeight(self.comment.fontMetrics().lineSpacing() * 4 + 12)
        self.comment.textChanged.connect(self._changed)
        comment_title.setBuddy(self.comment)
        column.addWidget(comment_title)
        column.addWidget(self.comment)
        column.addStretch(1)
        self.items_scroll.setWidget(content)
        outer.addWidget(self.items_scroll, 1)
        self._shortcut("Alt+5", self._focus_comment)

        bottom = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("riskStatus")
        self.status.setAccessibleName(_("Risk assessment saved state"))
        self.status.setWordWrap(True)
        self.save_button = QPushButton(_("Save  (Ctrl+S)"))
        self.save_button.setObjectName("riskSave")
        self.save_button.setAccessibleName(_("Save the risk assessment"))
        self.save_button.clicked.connect(self.save)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(bottom)
        self._shortcut("Ctrl+S", self.save)

    def _shortcut(self, key: str, slot: Any) -> None:
        sc = QShortcut(QKeySequence(key), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(slot)

    # -- what the window calls --------------------------------------------------------------
    def show_contact(self, contact_id: str | None, call: Call | None) -> None:
        """Follow the contact in progress (every call state change). The draft of the
        contact left is kept (:meth:`incomplete`); a new contact starts empty."""
        if contact_id is not None:
            draft = self._drafts.get(contact_id)
            if draft is None:
                draft = self._drafts[contact_id] = _Draft()
                if call is not None and call.answered_at is None:
                    draft.versions = 0  # a call still ringing is a new contact: nothing saved
                while len(self._drafts) > KEEP_DRAFTS:
                    self._drafts.popitem(last=False)
            if call is not None and call.ended_at is not None:
                draft.ended = True
        if self._contact is not None and self._contact != contact_id:
            left = self._drafts.get(self._contact)
            if left is not None:
                left.ended = True  # the window moved on from it: its call is over
        if contact_id == self._contact and contact_id is not None:
            return  # the same contact: the form stays exactly as it is
        self._contact = contact_id
        self._put(self._drafts[contact_id] if contact_id is not None else _Draft())
        on = contact_id is not None
        for w in (*self.groups.values(), self.comment, self.save_button):
            w.setEnabled(on)
        if self.isVisible():
            self._ensure_loaded()
        self._render()

    def focus_first(self) -> None:
        """The window's key for the form: the first item of desire (with the saved versions
        of a contact the form joined mid-call read in)."""
        self._ensure_loaded()
        self.focus_area(AREAS[0])

    def _add_box(self, lay: QVBoxLayout, area: str, code: str, label: str) -> QCheckBox:
        box = QCheckBox(label)
        box.setObjectName(f"risk_{code}")
        box.setAccessibleName(label)
        box.setAccessibleDescription(risk_area_title(area))
        box.toggled.connect(self._changed)
        lay.addWidget(box)
        self.boxes[code] = box
        return box

    def _add_dropped(self, area: str, code: str, version: int | None) -> None:
        """A box for an item a saved assessment holds that the form in use no longer has,
        in its version's words, marked: the item stays in the record while it is ticked."""
        if area not in self.groups or code in self.boxes:
            return
        book = self.store.form_book(self.form) if self.store is not None else None
        label = book.label("item", code, version) if book is not None else code
        lay = self.groups[area].layout()
        assert isinstance(lay, QVBoxLayout)
        self._add_box(lay, area, code, label)
        self.area_of[code] = area

    def focus_area(self, area: str) -> None:
        codes = [c for c, a in self.area_of.items() if a == area]
        if not codes:
            self.groups[area].setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        box = self.boxes[codes[0]]
        box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.items_scroll.ensureWidgetVisible(self.groups[area], 0, 0)
        self.items_scroll.ensureWidgetVisible(box)

    def _focus_comment(self) -> None:
        self.comment.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.items_scroll.ensureWidgetVisible(self.comment)

    def incomplete(self, contact_id: str) -> bool:
        """For the wrap-up: True when the contact's assessment has changes not saved, or when
        its call is over and no version was ever saved. Reads nothing from the store for a
        contact this form followed from its ring."""
        draft = self._drafts.get(contact_id)
        if draft is not None and draft.dirty:
            return True
        versions = draft.versions if draft is not None else None
        if versions is None:
            versions = self._saved_versions(contact_id)
        if versions:
            return False
        return draft.ended if draft is not None else True

    def assessment(self) -> RiskAssessment:
        """What the form holds now, graded by the organisation's rule."""
        return self.rule.assess(self._assessment())

    # -- saving -----------------------------------------------------------------------------
    def save(self) -> bool:
        """A new version of the contact's assessment. Refused (said in the form, nothing
        lost) with no contact, while the store is locked, or when the write fails."""
        cid = self._contact
        if cid is None:
            self._say(_("No contact in progress: nothing to save."), "warning")
            return False
        if self.store is None or self.store.is_locked:
            self._say(self._locked_text(), "danger")
            return False
        draft = self._drafts[cid]
        self._ensure_loaded()
        graded = self.assessment()
        try:
            self.store.add_risk_assessment(cid, graded)
        except FaroError as exc:
            log.warning("risk assessment not saved: %s", type(exc).__name__)
            if self.store.is_locked:
                self._say(self._locked_text(), "danger")
            else:
                self._say(
                    _("Not saved: {reason} Nothing you marked is lost.").format(
                        reason=exc.user_text()
                    ),
                    "danger",
                )
            return False
        draft.versions = (draft.versions or 0) + 1
        draft.saved_items = frozenset(draft.items)
        draft.saved_comment = draft.comment
        draft.saved_at = self.clock.now()
        draft.recomputed = False
        self._render()
        self.saved.emit(cid, draft.versions, graded.level)
        if graded.level == IMMINENT:
            self.imminent_saved.emit(cid)
        return True

    @staticmethod
    def _locked_text() -> str:
        return _(
            "The case store is locked: unlock it, then save again. Nothing you marked is lost."
        )

    # -- state ------------------------------------------------------------------------------
    def _assessment(self) -> RiskAssessment:
        draft = self._drafts.get(self._contact) if self._contact else None
        items = draft.items if draft is not None else set()
        comment = draft.comment if draft is not None else ""

        def area(name: str) -> frozenset[str]:
            return frozenset(c for c in items if self.area_of.get(c) == name)

        return RiskAssessment(
            area("desire"),
            area("capability"),
            area("intent"),
            area("buffers"),
            comment=comment,
            contact_id=self._contact or "",
        )

    def _put(self, draft: _Draft) -> None:
        """Show ``draft`` in the widgets (no change signals)."""
        self._loading = True
        try:
            for code, box in self.boxes.items():
                box.setChecked(code in draft.items)
            if self.comment.toPlainText() != draft.comment:
                self.comment.setPlainText(draft.comment)
        finally:
            self._loading = False

    def _changed(self, *_args: object) -> None:
        if self._loading or self._contact is None:
            return
        draft = self._drafts[self._contact]
        sender = self.sender()
        if isinstance(sender, QCheckBox):
            code = sender.objectName().removeprefix("risk_")
            if sender.isChecked():
                draft.items.add(code)
            else:
                draft.items.discard(code)
        else:
            draft.comment = self.comment.toPlainText()
        self._render()

    def _ensure_loaded(self) -> None:
        """Read the saved versions of a contact the form did not follow from its ring (the
        form added mid-call, the console restarted): the newest is shown unless the
        counselor already changed something."""
        cid = self._contact
        if cid is None or self.store is None or self.store.is_locked:
            return
        draft = self._drafts[cid]
        if draft.versions is not None:
            return
        try:
            rows = self.store.risk_assessments(cid)
        except FaroError as exc:
            log.warning("saved risk assessments not read: %s", type(exc).__name__)
            return
        draft.versions = len(rows)
        if not rows:
            return
        last = rows[-1]
        items = {c for a in AREAS for c in getattr(last, a)}
        for a in AREAS:
            for code in sorted(getattr(last, a)):
                if code not in self.boxes:
                    try:
                        self._add_dropped(a, code, last.form_version)
                    except FaroError as exc:
                        log.warning("form versions not read: %s", type(exc).__name__)
        untouched = not draft.dirty
        draft.saved_items, draft.saved_comment = frozenset(items), last.comment
        draft.recomputed = last.level_recomputed
        try:
            draft.saved_at = dt.datetime.fromisoformat(last.assessed_at)
        except ValueError:
            draft.saved_at = None
        if untouched:
            draft.items, draft.comment = set(items), last.comment
            self._put(draft)
        self._render()

    def _saved_versions(self, contact_id: str) -> int | None:
        if self.store is None or self.store.is_locked:
            return None
        try:
            return len(self.store.risk_assessments(contact_id))
        except FaroError:
            return None

    # -- drawing ----------------------------------------------------------------------------
    def _render(self) -> None:
        result = self.rule.grade(self._assessment())
        self.level_label.setText(_("Risk: {level}").format(level=level_label(result.level)))
        theme.set_role(self.level_label, LEVEL_ROLES.get(result.level, "title"))
        self.why_label.setText(result.why(self.form))
        draft = self._drafts.get(self._contact) if self._contact else None
        if draft is None:
            self._say(_("No contact in progress: the assessment opens with a call."), "dim")
        elif draft.dirty:
            if draft.versions:
                self._say(
                    _("Changed since version {n}: not saved yet").format(n=draft.versions),
                    "warning",
                )
            else:
                self._say(_("Not saved yet"), "warning")
        elif draft.versions:
            when = format_time(draft.saved_at) if draft.saved_at else "?"
            text = _("Saved {time} · version {n}").format(time=when, n=draft.versions)
            if draft.recomputed:
                text += " · " + _("level recomputed: saved before levels were kept")
            self._say(text, "ok")
        else:
            self._say(_("Nothing marked yet"), "dim")

    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        theme.set_role(self.status, role)

    # -- events -----------------------------------------------------------------------------
    def _on_store_lock(self, event: StoreLocked | StoreUnlocked) -> None:
        """Locked: nothing changes (the window hides the form). Unlocked: read what could
        not be read while locked."""
        if isinstance(event, StoreUnlocked) and self.isVisible():
            self._ensure_loaded()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._ensure_loaded()
