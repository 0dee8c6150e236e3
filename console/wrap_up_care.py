"""Wrap-up care: a calm offer of a break or a debrief after a hard call, and weekly hours.

After a contact whose risk assessment was saved at high or imminent risk
(:attr:`console.risk_form.RiskForm.saved`), finishing its wrap-up shows a banner in the call
panel (where the wrap-up was: never at once). It offers a short break (through the call
machine, ``START_BREAK``) and a debrief (an alert at the non-urgent level ``debrief``,
which waits in the supervisors' queue as "Debrief requested" and never climbs the T1/T2
ladder). It never blocks the next call: a ringing call puts it away. Keyboard: the break
button has the focus, Enter presses the focused button, Esc puts the banner away.

Weekly hours: on going available, the counselor's hours on calls this week (Monday 00:00
local time; answer to hang-up, from the store's contacts) are compared with
``clinical.weekly_hours_cap``: from 90 percent of it, and once it is passed, the status bar
says so. Nothing is refused. See docs/clinical.md, "Wrap-up care".

:func:`attach_wrap_up_care` plugs both into a :class:`console.main_window.MainWindow`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout

from calls import events as cev
from calls.model import Action, Call, CallState, Command, Source
from console.theme import set_role
from core.i18n import _
from escalation.options import BROKER_HOST
from storage.errors import StoreIsLocked
from storage.options import WEEKLY_HOURS_CAP
from storage.risk import HIGH, IMMINENT

if TYPE_CHECKING:
    from console.main_window import MainWindow

log = logging.getLogger(__name__)

#: risk levels after which the counselor is offered a break and a debrief
CARE_LEVELS = (HIGH, IMMINENT)
#: share of the weekly cap from which going available shows a reminder
WARN_FRACTION = 0.9


# -- weekly hours (no Qt) ---------------------------------------------------------------------
def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 of ``now``'s week, in local time (an aware datetime)."""
    local = now.astimezone()
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(), tzinfo=local.tzinfo)


def call_seconds_since(call: Call, since: dt.datetime) -> float:
    """Seconds of ``call`` from its answer to its end that fall after ``since``."""
    if call.answered_at is None or call.ended_at is None:
        return 0.0
    return max(0.0, (call.ended_at - max(call.answered_at, since)).total_seconds())


def hours_this_week(store: Any, now: dt.datetime, last_call: Call | None = None) -> float:
    """This counselor's hours on calls since Monday, from the store's contacts; the call
    whose wrap-up just finished counts even if the store has not written it yet."""
    since = week_start(now)
    seconds = dict(store.talk_seconds_since(since))
    if last_call is not None:
        seconds[last_call.id] = call_seconds_since(last_call, since)
    return sum(seconds.values()) / 3600.0


def hours_warning(hours: float, cap: float) -> str | None:
    """What to tell a counselor going available with ``hours`` this week (None: nothing)."""
    if cap <= 0 or hours < WARN_FRACTION * cap:
        return None
    figures = {"hours": f"{hours:.1f}", "cap": f"{cap:g}"}
    if hours >= cap:
        return _(
            "You have been on calls {hours} h this week, past the organisation's limit of "
            "{cap} h. Take care of yourself: talk with your supervisor about your shifts."
        ).format(**figures)
    return _(
        "You have been on calls {hours} h this week, close to the organisation's limit of "
        "{cap} h. Plan your breaks."
    ).format(**figures)


# -- the prompt -------------------------------------------------------------------------------
class CarePrompt(QFrame):
    """The banner: a few calm words, "Take a short break", "Ask for a debrief", "Not now"."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("wrapUpCare")
        self.setAccessibleName(_("After a hard call"))
        outer = QVBoxLayout(self)
        self.title = QLabel(_("That was a hard call."))
        self.title.setObjectName("wrapUpCareTitle")
        self.title.setAccessibleName(_("After a hard call"))
        self.title.setWordWrap(True)
        set_role(self.title, "title")  # calm: a title and plain text, no alarm colours
        self.text = QLabel(_("Take a moment for yourself before the next one."))
        self.text.setObjectName("wrapUpCareText")
        self.text.setAccessibleName(_("Suggestion"))
        self.text.setWordWrap(True)
        self.result = QLabel()
        self.result.setObjectName("wrapUpCareResult")
        self.result.setAccessibleName(_("Debrief request"))
        self.result.setWordWrap(True)
        self.result.setVisible(False)
        self.take_break = QPushButton(_("Take a short break"))
        self.take_break.setObjectName("btn_care_break")
        self.take_break.setAccessibleName(_("Take a short break"))
        self.debrief = QPushButton(_("Ask for a debrief"))
        self.debrief.setObjectName("btn_care_debrief")
        self.debrief.setAccessibleName(_("Ask a supervisor for a debrief"))
        self.dismiss = QPushButton(_("Not now"))
        self.dismiss.setObjectName("btn_care_dismiss")
        self.dismiss.setAccessibleName(_("Not now: close this suggestion"))
        outer.addWidget(self.title)
        outer.addWidget(self.text)
        outer.addWidget(self.result)
        # one above the other: the Spanish labels need the column's whole width
        for b in (self.take_break, self.debrief, self.dismiss):
            outer.addWidget(b)
        self.setTabOrder(self.take_break, self.debrief)
        self.setTabOrder(self.debrief, self.dismiss)
        self.setVisible(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.dismiss.click()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            button = focused if isinstance(focused, QPushButton) else self.take_break
            if button.isEnabled():
                button.click()
        else:
            super().keyPressEvent(event)


class WrapUpCare(QObject):
    """Follows the risk form and the call events of one counselor window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.prompt = CarePrompt()
        #: the latest saved risk level of each recent contact
        self._levels: dict[str, str] = {}
        #: the contact the prompt is about (None: not shown)
        self.contact_id: str | None = None
        #: the risk level of that contact (the alert's risk summary)
        self._risk = "unknown"
        #: the call whose wrap-up finished last (for the hours, before the store has it)
        self._last_call: Call | None = None
        self._place()
        self.prompt.take_break.clicked.connect(self.take_break)
        self.prompt.debrief.clicked.connect(self.ask_debrief)
        self.prompt.dismiss.clicked.connect(self.put_away)
        window.risk_form.saved.connect(self._on_saved)
        window.bridge.on(cev.WrapUpFinished, self._on_wrap_up_finished)
        window.bridge.on(cev.CallStateChanged, self._on_state)

    def _place(self) -> None:
        """In the call panel, in the wrap-up's place (the two are never shown at once)."""
        box = self.window.wrap_box
        parent = box.parentWidget()
        grid = parent.layout() if parent is not None else None
        if isinstance(grid, QGridLayout):
            position = grid.getItemPosition(grid.indexOf(box))  # (row, column, rows, columns)
            row, col, rows, cols = cast(tuple[int, int, int, int], position)
            grid.addWidget(self.prompt, row, col, rows, cols)
        else:  # pragma: no cover - the call panel is a grid today
            self.prompt.setParent(self.window)

    # -- events ------------------------------------------------------------------------------
    def _on_saved(self, contact_id: str, _version: int, level: str) -> None:
        self._levels[contact_id] = level
        while len(self._levels) > 20:
            self._levels.pop(next(iter(self._levels)))

    def _on_wrap_up_finished(self, event: cev.WrapUpFinished) -> None:
        self._last_call = event.call
        level = self._levels.pop(event.call.id, None)
        if level in CARE_LEVELS:
            self.show_for(event.call.id, level)

    def _on_state(self, event: cev.CallStateChanged) -> None:
        if event.state in (CallState.RINGING, CallState.BREAK):
            self.put_away()  # the next call (or a break) comes first: never in its way
        if event.state is CallState.AVAILABLE and event.previous is not CallState.AVAILABLE:
            self.check_hours()

    # -- the prompt --------------------------------------------------------------------------
    def show_for(self, contact_id: str, level: str) -> None:
        self.contact_id = contact_id
        self._risk = level
        p = self.prompt
        p.debrief.setEnabled(True)
        p.result.clear()
        p.result.setVisible(False)
        p.setVisible(True)
        if not self.window.locked:
            p.take_break.setFocus()

    def put_away(self) -> None:
        self.contact_id = None
        self.prompt.setVisible(False)

    def take_break(self) -> None:
        self.put_away()
        self.session.calls.handle(Command(Action.START_BREAK, Source.UI))

    def ask_debrief(self) -> None:
        p = self.prompt
        svc = self.session.service("escalation")
        text, role = "", "ok"
        try:
            if not _escalation_set_up(svc):
                text = _(
                    "Supervisors cannot be reached from here: ask one for a debrief in person."
                )
                role = "warning"
            else:
                svc.request_debrief(self.contact_id, risk=self._risk)
                text = _("Debrief requested: a supervisor will get in touch with you.")
                p.debrief.setEnabled(False)
        except Exception:
            log.exception("debrief request not sent")
            text = _("The debrief request could not be sent: ask a supervisor in person.")
            role = "warning"
        p.result.setText(text)
        set_role(p.result, role)
        p.result.setVisible(True)
        self.window.say(text)
        if p.isVisible():
            p.take_break.setFocus()

    # -- weekly hours ------------------------------------------------------------------------
    def check_hours(self) -> str | None:
        """Say in the status bar how close this week's hours are to the cap (or past it)."""
        cap = float(self.session.config.get(WEEKLY_HOURS_CAP))
        store = self.window.store
        if cap <= 0 or store is None:
            return None
        try:
            hours = hours_this_week(store, self.session.clock.now(), self._last_call)
        except StoreIsLocked:
            return None
        except Exception:
            log.exception("weekly hours not read")
            return None
        text = hours_warning(hours, cap)
        if text:
            self.window.say(text)
        return text


def _escalation_set_up(svc: Any) -> bool:
    """A counselor laptop with a broker configured (connected or not: the outbox keeps
    the request until the broker has it)."""
    return (
        svc is not None
        and getattr(svc, "role", None) == "counselor"
        and not getattr(svc, "config_error", None)
        and bool(svc.config.get(BROKER_HOST))
    )


def attach_wrap_up_care(window: MainWindow) -> WrapUpCare:
    """Offer a break and a debrief after hard calls, and watch the weekly hours, in
    ``window`` (it has its risk form). The window keeps it as ``window.wrap_up_care``."""
    care = WrapUpCare(window)
    window.wrap_up_care = care  # type: ignore[attr-defined]  # set once, by this function
    return care
