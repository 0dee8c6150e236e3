"""The imminent-risk rescue steps: a guided checklist for the contact in progress.

The steps follow the imminent-risk policy (DOMAIN.md): active engagement, the least
invasive intervention, consent to an emergency rescue (and rescue without it when an
attempt is in progress or the caller remains unwilling or unable to keep safe), third
parties, the caller's location with the number at hand, the emergency services called,
dispatched, their arrival confirmed, the outcome. Each is one press (Tab, Space, or its
Alt mnemonic), timestamped on the injected clock (``session.clock``), recorded in the case
store (``rescue_steps``, audited) and shown with its time; the store tells the bus
(:class:`storage.events.RescueStepRecorded`) and app/wiring.py sends the code and the time
to the supervisors of the call's escalation.

"Dispatched" starts the confirmation timer (``clinical.dispatch_confirm_min``), read on a
UI timer from the injected clock. When it runs out without "arrival confirmed" the panel
records ``arrival_overdue`` (so the acknowledging supervisor is prompted too), asks for
attention, and shows a prompt to call the emergency service back that stays until the
counselor acts: calling again (which starts the wait afresh), confirming the arrival, or
recording an outcome.

The location is personal data: it stays in the text field and the encrypted store; it is
never logged, never in an event, a notification or a message. "Copy for the emergency
service" puts the caller's number and the location on the clipboard (audited), and the
panel empties the clipboard again when the contact leaves it, if it still holds that text.

The panel opens itself (:attr:`RescuePanel.wants_attention`, and the ``on_attention``
callback) when an imminent risk assessment is saved for its contact.

A console restarted mid-rescue (closed, crashed, the laptop rebooted) brings the rescue back
when the store is open: the newest contact of the last :data:`RESTORE_H` hours whose rescue
still waits for the arrival is put on the panel with its steps, its location and its number,
and the timer goes on from the recorded dispatch time (a time that ran out meanwhile prompts
at once).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.session import Session
from calls.model import Call
from console.bridge import EventBridge
from console.texts import fmt_duration
from console.theme import set_role
from core.errors import FaroError
from core.i18n import N_, _, format_time
from core.privacy import Personal, reveal
from storage.events import RiskAssessmentSaved, StoreUnlocked
from storage.options import DISPATCH_CONFIRM_MIN
from storage.records import (
    RESCUE_LOCATION,
    RESCUE_OVERDUE,
    RescueStep,
    dispatch_wait,
    rescue_step_label,
)

log = logging.getLogger(__name__)

#: the checklist's sections: (title, step codes), in the policy's order. The location has a
#: section of its own (the number, the text field, the copy button).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "engage",
        (
            "engaged",
            "least_invasive",
            "safety_step",
            "consent_given",
            "consent_refused",
            "third_party",
        ),
    ),
    ("services", ("services_called", "dispatched", "arrival_confirmed")),
    ("outcome", ("outcome_care", "outcome_safe", "outcome_not_found", "outcome_other")),
)
#: what each step's button says: short, so that it fits the contact area of a 1024 px
#: laptop in both languages (the full words are the history's: storage.records.RESCUE_STEPS)
BUTTON_TEXT = {
    "engaged": N_("Active engagement"),
    "least_invasive": N_("Least invasive step tried"),
    "safety_step": N_("Agreed to a safety step"),
    "consent_given": N_("Rescue consent: given"),
    "consent_refused": N_("Rescue consent: not given"),
    "third_party": N_("Third parties engaged"),
    "location": N_("Record the location"),
    "services_called": N_("Emergency services called"),
    "dispatched": N_("Dispatched"),
    "arrival_confirmed": N_("Arrival confirmed"),
    "outcome_care": N_("Taken into care"),
    "outcome_safe": N_("Safe where they are"),
    "outcome_not_found": N_("Not found"),
    "outcome_other": N_("Other outcome"),
}
#: the longest location the store keeps (an address with landmarks fits easily)
LOCATION_MAX = 2000
#: how far back a restarted console looks for a rescue still waiting for the arrival: a
#: shift and more (a rescue left open longer was abandoned on another laptop or forgotten;
#: its steps stay in the store either way)
RESTORE_H = 12

#: how often the UI timer reads the clock (the countdown shows seconds)
TICK_MS = 1000


def with_mnemonic(text: str, used: set[str]) -> str:
    """``text`` with an Alt mnemonic on its first letter (a to z, one any keyboard has) not
    taken yet; ``used`` gains it. In any language the translated words choose. Without a free
    letter, none."""
    for i, ch in enumerate(text):
        key = ch.lower()
        if ch.isascii() and ch.isalpha() and key not in used:
            used.add(key)
            return text[:i].replace("&", "&&") + "&" + text[i:].replace("&", "&&")
    return text.replace("&", "&&")


class RescuePanel(QWidget):
    #: an imminent risk assessment was saved for this contact, or the dispatch confirmation
    #: ran out: bring this panel's tab up
    wants_attention = Signal()

    def __init__(
        self,
        session: Session,
        bridge: EventBridge,
        parent: QWidget | None = None,
        on_attention: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rescuePanel")
        self.session = session
        self.clock = session.clock
        self.store = session.service("store")
        self._on_attention = on_attention
        self.confirm_min = float(session.config.get(DISPATCH_CONFIRM_MIN))
        #: the contact on screen, its call (for the number), its steps in order
        self.contact_id: str | None = None
        self._call: Call | None = None
        self._number: Personal | None = None  # a restored rescue's number (no call object)
        self.steps: list[RescueStep] = []
        #: the confirmation time whose reminder could not be saved (store locked): the prompt
        #: is shown anyway, and saving is tried again at every tick
        self._unsaved_overdue: dt.datetime | None = None
        self._copied: str | None = None  # what we put on the clipboard
        self._used_keys: set[str] = set()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("rescueScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(self.scroll_area)
        body = QWidget()
        body.setObjectName("rescueBody")
        self.scroll_area.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)

        self.title = QLabel(_("Imminent-risk rescue"))
        self.title.setObjectName("rescueTitle")
        set_role(self.title, "title")
        self.title.setAccessibleName(_("Imminent-risk rescue"))
        layout.addWidget(self.title)
        self.status = self._label("rescueStatus", _("Rescue status"))
        layout.addWidget(self.status)
        self.prompt = self._label("rescuePrompt", _("Arrival not confirmed"))
        set_role(self.prompt, "danger")
        self.prompt.setVisible(False)
        layout.addWidget(self.prompt)
        self.recall = QPushButton()
        self.recall.setObjectName("rescue_recall")
        self.recall.setText(
            with_mnemonic(_("I called the emergency service again"), self._used_keys)
        )
        self.recall.setAccessibleName(_("I called the emergency service again"))
        set_role(self.recall, "danger_button")
        self.recall.setVisible(False)
        self.recall.clicked.connect(lambda: self.record("services_recalled"))
        layout.addWidget(self.recall)

        self.buttons: dict[str, QPushButton] = {}
        self.times: dict[str, QLabel] = {}
        titles = {
            "engage": _("Engage and keep safe"),
            "services": _("Emergency services"),
            "outcome": _("Outcome"),
        }
        for key, codes in SECTIONS:
            box, grid = self._section(key, titles[key])
            for code in codes:
                self._step_row(grid, code)
            if key == "engage":
                hint = self._label("rescueConsentHint", _("When to rescue without consent"))
                hint.setText(
                    _(
                        "Use the least invasive intervention. Start an emergency rescue "
                        "without consent when an attempt is in progress, or when the caller "
                        "remains unwilling or unable to keep safe."
                    )
                )
                set_role(hint, "dim")
                grid.addWidget(hint, grid.rowCount(), 0, 1, 2)
            if key == "services":
                self.timer_line = self._label("rescueTimer", _("Arrival confirmation"))
                grid.addWidget(self.timer_line, grid.rowCount(), 0, 1, 2)
            layout.addWidget(box)
            if key == "engage":
                layout.addWidget(self._build_location())

        history = QGroupBox(_("Recorded steps"))
        history.setObjectName("rescueHistory")
        hl = QVBoxLayout(history)
        self.history = QListWidget()
        self.history.setObjectName("rescueHistoryList")
        self.history.setAccessibleName(_("Recorded rescue steps"))
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.history.setWordWrap(True)
        self.history.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history.setMinimumHeight(80)
        hl.addWidget(self.history)
        layout.addWidget(history)
        layout.addStretch(1)

        self._bridge = bridge  # held: a bridge nobody holds stops relaying
        bridge.on(RiskAssessmentSaved, self._on_risk)
        bridge.on(StoreUnlocked, self._on_unlocked)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start(TICK_MS)
        self._render()
        # after the window has connected wants_attention, so the restored rescue comes up
        QTimer.singleShot(0, self.restore)

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def _label(name: str, accessible: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setWordWrap(True)
        return label

    def _section(self, key: str, title: str) -> tuple[QGroupBox, QGridLayout]:
        box = QGroupBox(title)
        box.setObjectName(f"rescue_{key}")
        grid = QGridLayout(box)
        grid.setColumnStretch(0, 1)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        return box, grid

    def _step_row(self, grid: QGridLayout, code: str) -> QPushButton:
        """One step: its button and, beside it, the time it was last recorded."""
        words = _(BUTTON_TEXT[code])
        button = QPushButton(with_mnemonic(words, self._used_keys))
        button.setObjectName(f"rescue_{code}")
        button.setAccessibleName(words)
        button.setAccessibleDescription(rescue_step_label(code))
        button.setToolTip(rescue_step_label(code))
        button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        if code != RESCUE_LOCATION:
            button.clicked.connect(lambda _c=False, c=code: self.record(c))
        time = QLabel()
        time.setObjectName(f"rescue_time_{code}")
        time.setAccessibleName(_("Time of: {step}").format(step=rescue_step_label(code)))
        set_role(time, "ok")
        row = grid.rowCount()
        grid.addWidget(button, row, 0)
        grid.addWidget(time, row, 1)
        self.buttons[code] = button
        self.times[code] = time
        return button

    def _build_location(self) -> QGroupBox:
        box, grid = self._section("location_box", _("Caller location"))
        self.number = self._label("rescueNumber", _("Caller number"))
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(self.number, 0, 0, 1, 2)
        self.location = QPlainTextEdit()
        self.location.setObjectName("rescueLocation")
        self.location.setAccessibleName(_("Caller location"))
        self.location.setAccessibleDescription(
            _("Address, landmarks, how to get in. Kept only in the encrypted case store.")
        )
        self.location.setPlaceholderText(_("Address, landmarks, how to get in…"))
        self.location.setTabChangesFocus(True)
        self.location.setFixedHeight(self.location.fontMetrics().lineSpacing() * 3 + 14)
        self.location.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        grid.addWidget(self.location, 1, 0, 1, 2)
        save = self._step_row(grid, RESCUE_LOCATION)
        save.clicked.connect(self._record_location)
        self.copy = QPushButton(with_mnemonic(_("Copy for the emergency service"), self._used_keys))
        self.copy.setObjectName("rescue_copy")
        self.copy.setAccessibleName(_("Copy for the emergency service"))
        self.copy.setAccessibleDescription(
            _("Puts the caller's number and location on the clipboard.")
        )
        self.copy.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.copy.clicked.connect(self.copy_for_services)
        grid.addWidget(self.copy, grid.rowCount(), 0)
        return box

    # -- the window's calls ------------------------------------------------------------------
    def show_contact(self, contact_id: str | None, call: Call | None) -> None:
        """Follow the contact in progress (the window calls this at every call state). A
        rescue still waiting for the emergency services' arrival stays on screen after its
        contact ends, until another contact begins."""
        if contact_id is not None and contact_id == self.contact_id:
            self._call = call or self._call
            self._render()
            return
        if contact_id is None and self.contact_id is not None and self._waiting():
            self._render()  # the caller hung up; the rescue goes on
            return
        self._forget_clipboard()
        self.contact_id, self._call, self._number = contact_id, call, None
        self.steps = []
        self._unsaved_overdue = None
        self.location.clear()
        self._render()

    def restore(self) -> bool:
        """Bring back a rescue still waiting for the emergency services' arrival, when no
        contact is on the panel (a restarted console; also tried at every unlock). True when
        one was brought back."""
        if self.contact_id is not None or self.store is None or self.store.is_locked:
            return False
        since = self.clock.now() - dt.timedelta(hours=RESTORE_H)
        try:
            waiting = self.store.waiting_rescues(since)
            if not waiting:
                return False
            contact_id = waiting[0]
            steps = self.store.rescue_steps(contact_id)
            contact = self.store.contact(contact_id) or {}
        except FaroError as exc:
            log.warning("a rescue waiting for the arrival could not be read: %s", exc)
            return False
        self.contact_id, self._call = contact_id, None
        caller = contact.get("caller")
        self._number = Personal(caller) if caller else None
        self.steps = steps
        self._unsaved_overdue = None
        located = [s.detail for s in steps if s.step == RESCUE_LOCATION]
        self.location.setPlainText(located[-1] if located else "")
        self._render()
        self._say(_("Rescue brought back after a restart: the arrival is not confirmed yet."), True)
        self._attention()
        return True

    def _on_unlocked(self, _event: StoreUnlocked) -> None:
        self.restore()

    def _caller_number(self) -> str:
        if self._call is not None:
            return reveal(self._call.caller_id) or ""
        return reveal(self._number) if self._number is not None else ""

    def focus_first(self) -> None:
        """Its key was pressed: the reminder's button if one is showing, else the first step."""
        target = self.recall if self.recall.isVisible() else self.buttons["engaged"]
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.scroll_area.ensureWidgetVisible(target)

    # -- steps ----------------------------------------------------------------------------
    def record(self, code: str, detail: str = "") -> bool:
        """Record step ``code`` now (on the injected clock). False when the store could not
        take it (the status line says why, in the counselor's words)."""
        if self.contact_id is None:
            return False
        if self.store is None:
            self._say(_("Rescue steps cannot be recorded: there is no case store."), True)
            return False
        try:
            saved = self.store.add_rescue_step(
                self.contact_id, code, self.clock.now(), detail=detail
            )
        except FaroError as exc:
            self._say(exc.user_text(), True)
            return False
        except Exception:
            log.exception("a rescue step (%s) could not be recorded", code)
            self._say(_("The step could not be recorded. Try again."), True)
            return False
        self.steps.append(saved)
        if code == RESCUE_OVERDUE:
            self._unsaved_overdue = None
        self._render()
        return True

    def _record_location(self) -> None:
        text = self.location.toPlainText().strip()
        if not text:
            self._say(_("Type the caller's location first."), True)
            self.location.setFocus()
            return
        if len(text) > LOCATION_MAX:
            self._say(_("The location is too long to keep: shorten it."), True)
            return
        self.record(RESCUE_LOCATION, detail=text)

    def copy_for_services(self) -> str:
        """The caller's number and the location, on the clipboard (audited: what was copied
        is not written anywhere). Returns the text, for tests."""
        number = self._caller_number()
        text = _("Caller number: {number}\nLocation: {location}").format(
            number=number or _("unknown"),
            location=self.location.toPlainText().strip() or _("not recorded yet"),
        )
        QApplication.clipboard().setText(text)
        self._copied = text
        if self.store is not None and self.contact_id is not None:
            try:
                self.store.audit("rescue.copy_for_services", self.contact_id)
            except FaroError as exc:
                log.warning("the copy for the emergency service was not audited: %s", exc)
        self._say(_("Copied: paste it for the emergency service."), False)
        return text

    def _forget_clipboard(self) -> None:
        """The contact leaves the panel: its number and location leave the clipboard."""
        if self._copied is not None:
            clipboard = QApplication.clipboard()
            if clipboard.text() == self._copied:
                clipboard.clear()
            self._copied = None

    # -- the confirmation timer ---------------------------------------------------------------
    def wait_state(self) -> tuple[dt.datetime | None, bool]:
        """(when the arrival must be confirmed by, whether that time has passed)."""
        due, overdue = dispatch_wait(((s.step, s.time) for s in self.steps), self.confirm_min)
        return due, overdue or (due is not None and due == self._unsaved_overdue)

    def _waiting(self) -> bool:
        return self.wait_state()[0] is not None

    def tick(self) -> None:
        """The UI timer: the countdown, and the reminder once the time has run out."""
        due, overdue = self.wait_state()
        if (
            due is not None
            and self.clock.now() >= due
            and (not overdue or self._unsaved_overdue == due)
        ):
            first = self._unsaved_overdue != due
            self._unsaved_overdue = due  # shown even if the store cannot take it now
            self.record(RESCUE_OVERDUE)
            if first:
                QApplication.alert(self.window(), 0)
                self._attention()
        self._render_timer()

    # -- events -------------------------------------------------------------------------------
    def _on_risk(self, event: RiskAssessmentSaved) -> None:
        if event.imminent and event.contact_id == self.contact_id:
            self._attention()

    def _attention(self) -> None:
        self.wants_attention.emit()
        if self._on_attention is not None:
            self._on_attention()

    # -- drawing ------------------------------------------------------------------------------
    def _say(self, text: str, problem: bool) -> None:
        self.status.setText(text)
        set_role(self.status, "warning" if problem else None)

    def _render(self) -> None:
        active = self.contact_id is not None
        for button in self.buttons.values():
            button.setEnabled(active)
        self.copy.setEnabled(active)
        self.location.setEnabled(active)
        last: dict[str, dt.datetime] = {}
        for s in self.steps:
            last[s.step] = s.time
        for code, label in self.times.items():
            label.setText(("✓ " + format_time(last[code])) if code in last else "")
        lines = [f"{format_time(s.time)}  {s.label}" for s in self.steps]
        if [self.history.item(i).text() for i in range(self.history.count())] != lines:
            self.history.clear()
            self.history.addItems(lines)
        number = self._caller_number()
        self.number.setText(
            _("Caller number: {number}").format(number=number)
            if number
            else _("Caller number: not known")
        )
        if not active:
            self._say(_("No contact in progress."), False)
        elif not self.steps:
            self._say(_("Press each step as it is done: its time is recorded."), False)
        else:
            s = self.steps[-1]
            self._say(
                _("Last step at {time}: {step}").format(time=format_time(s.time), step=s.label),
                False,
            )
        self._render_timer()

    def _render_timer(self) -> None:
        due, overdue = self.wait_state()
        self.prompt.setVisible(overdue)
        self.recall.setVisible(overdue)
        if overdue:
            self.prompt.setText(
                _(
                    "⚠ Emergency services' arrival not confirmed in {minutes} min: call the "
                    "emergency service back now, then press the button below."
                ).format(minutes=f"{self.confirm_min:g}")
            )
        if due is None:
            self.timer_line.setText(
                _("The confirmation timer starts when emergency services are dispatched.")
            )
            set_role(self.timer_line, "dim")
        elif overdue:
            self.timer_line.setText(
                _("Arrival was due by {time}: not confirmed.").format(time=format_time(due))
            )
            set_role(self.timer_line, "warning")
        else:
            left = max(0.0, (due - self.clock.now()).total_seconds())
            self.timer_line.setText(
                _("Confirm their arrival by {time} ({left} left).").format(
                    time=format_time(due), left=fmt_duration(left)
                )
            )
            set_role(self.timer_line, None)
        self.timer_line.setAccessibleName(self.timer_line.text())

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        self._forget_clipboard()
        super().closeEvent(event)
