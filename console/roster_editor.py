"""The supervisor's roster: the coverage line it gives the board, and its editor.

The editor lists the shifts (person, role, day, start, end, on call) in the helpline's local
time, checks the roster as it is edited (escalation/roster.py ``problems``: what blocks
publishing in red, gaps in amber) and publishes a new version over the escalation link
(escalation/roster_link.py). A roster that another supervisor published meanwhile is never
overwritten unseen: the editor keeps the changes and says so, and a second, deliberate press
publishes over it. Nothing the editor holds is lost by a refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.screen import fit_to_screen
from core.i18n import _, format_date, format_time, ngettext
from core.status import Level
from escalation import options as o
from escalation.roster import COUNSELOR, SUPERVISOR, Problem, Roster, Shift, problems
from escalation.roster_link import CoverageNow, RosterConflict

if TYPE_CHECKING:
    from escalation.supervisor import SupervisorAgent

#: problems that stop a roster from being published; the others are gaps to be aware of
BLOCKING = frozenset({"backwards", "overlap", "too_long", "bad_role"})


@dataclass(frozen=True)
class CoverageLine:
    text: str
    role: str | None
    alarm: bool


def _names(people: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(people[:limit])
    more = len(people) - limit
    return shown + (_(" and {n} more").format(n=more) if more > 0 else "")


def coverage_line(now: CoverageNow) -> CoverageLine:
    """The board's coverage line from the roster's hour: who can answer, who is busy, on a
    break, late; the on-call supervisor. Amber when short, red when nobody can answer."""
    c = now.coverage
    parts = [
        ngettext("{n} available", "{n} available", len(c.ready)).format(n=len(c.ready)),
        # busy: on a call, its wrap-up, or chats that keep calls from ringing
        ngettext("{n} on a call or chat", "{n} on a call or chat", len(c.busy)).format(
            n=len(c.busy)
        ),
    ]
    if c.on_break:
        parts.append(
            ngettext("{n} on a break", "{n} on a break", len(c.on_break)).format(n=len(c.on_break))
        )
    if c.late:
        parts.append(_("late: {who}").format(who=_names(c.late)))
    if c.ladder_present:
        parts.append(_("on call: {who}").format(who=c.ladder_present[0]))
    counts = " · ".join(parts)
    level = c.level
    if level == "uncovered":
        if (c.ready or c.busy) and c.ladder and not c.ladder_present:
            text = _("⚠ No on-call supervisor connected: {counts}").format(counts=counts)
        else:
            text = _("⚠ Nobody can answer now: {counts}").format(counts=counts)
        return CoverageLine(text, "danger", True)
    if level == "short":
        return CoverageLine(_("⚠ Coverage short: {counts}").format(counts=counts), "warning", False)
    return CoverageLine(_("Coverage: {counts}").format(counts=counts), "ok", False)


def problem_text(p: Problem) -> str:
    when = _("{day} {start}–{end}").format(
        day=format_date(p.start.astimezone()),
        start=format_time(p.start.astimezone()),
        end=format_time(p.end.astimezone()),
    )
    texts = {
        "backwards": _("{who}: the shift ends before it starts ({when})"),
        "overlap": _("{who}: two shifts at once ({when})"),
        "too_long": _("{who}: the shift is too long ({when})"),
        "bad_role": _("{who}: unknown role ({when})"),
        "no_counselor": _("No counselor rostered {when}"),
        "no_on_call": _("No on-call supervisor {when}"),
    }
    return texts.get(p.kind, p.kind).format(who=p.person, when=when)


def role_label(role: str) -> str:
    return _("Supervisor") if role == SUPERVISOR else _("Counselor")


class RosterEditor(QDialog):
    """Shifts of the roster, checked as they are edited, published as a new version."""

    HEADERS = ("person", "role", "day", "start", "end", "on call")

    def __init__(self, agent: SupervisorAgent, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent = agent
        self.setObjectName("rosterEditor")
        self.setWindowTitle(_("Roster"))
        self.setAccessibleName(_("Roster"))
        self.max_shift_h = float(agent.config.get(o.ROSTER_MAX_SHIFT_H))
        current = agent.roster.current
        self.base = current.roster.version if current else 0
        self.shifts: list[Shift] = list(current.roster.shifts) if current else []
        self.changed = False
        self.published: int | None = None

        root = QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        self.version = QLabel()
        self.version.setObjectName("rosterVersion")
        self.version.setWordWrap(True)
        root.addWidget(self.version)

        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setObjectName("rosterShifts")
        self.table.setAccessibleName(_("Shifts"))
        self.table.setHorizontalHeaderLabels(
            [_("Person"), _("Role"), _("Day"), _("Start"), _("End"), _("On-call")]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._picked)
        root.addWidget(self.table, 3)

        hint = QLabel(
            _(
                "Select a shift to change or remove it. An end earlier than the start is the "
                "next morning. Only supervisors can be on call."
            )
        )
        hint.setWordWrap(True)
        theme.set_role(hint, "dim")
        root.addWidget(hint)
        root.addLayout(self._build_form())

        self.problems = QListWidget()
        self.problems.setObjectName("rosterProblems")
        self.problems.setAccessibleName(_("Problems of the roster"))
        self.problems.setMaximumHeight(96)
        root.addWidget(self.problems, 1)

        self.message = QLabel()
        self.message.setObjectName("rosterMessage")
        self.message.setWordWrap(True)
        root.addWidget(self.message)

        buttons = QHBoxLayout()
        self.repeat = QPushButton(_("Repeat last week"))
        self.repeat.setAccessibleName(_("Repeat last week's shifts in the coming week"))
        self.repeat.clicked.connect(self.repeat_last_week)
        self.publish_button = QPushButton(_("Publish"))
        self.publish_button.setObjectName("rosterPublish")
        self.publish_button.setAccessibleName(_("Publish the roster"))
        self.publish_button.clicked.connect(self.publish)
        close = QPushButton(_("Close"))
        close.setAccessibleName(_("Close the roster"))
        close.clicked.connect(self.reject)
        buttons.addWidget(self.repeat)
        buttons.addStretch(1)
        buttons.addWidget(self.publish_button)
        buttons.addWidget(close)
        root.addLayout(buttons)
        self._draw()
        fit_to_screen(self, 900, 560)

    def _build_form(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.person = QComboBox()
        self.person.setEditable(True)
        self.person.setObjectName("rosterPerson")
        self.person.setAccessibleName(_("Person (identity)"))
        known = sorted(
            {s.person for s in self.shifts}
            | set(self.agent.board.counselors)
            | set(self.agent.roster.supervisors)
        )
        self.person.addItems(known)
        self.person.setCurrentText("")
        line = self.person.lineEdit()
        if line is not None:
            line.setPlaceholderText(_("identity, e.g. c-0012"))
        self.role = QComboBox()
        self.role.setAccessibleName(_("Role"))
        self.role.addItem(role_label(COUNSELOR), COUNSELOR)
        self.role.addItem(role_label(SUPERVISOR), SUPERVISOR)
        today = self.agent.clock.now().astimezone()
        self.day = QDateEdit(QDate(today.year, today.month, today.day))
        self.day.setCalendarPopup(True)
        self.day.setAccessibleName(_("Day the shift starts"))
        self.start = QTimeEdit(QTime(8, 0))
        self.start.setAccessibleName(_("Start time"))
        self.end = QTimeEdit(QTime(16, 0))
        self.end.setAccessibleName(_("End time (earlier than the start: the next day)"))
        self.on_call = QCheckBox(_("On-call"))
        self.on_call.setAccessibleName(_("On call for escalations"))
        add = QPushButton(_("Add"))
        add.setAccessibleName(_("Add the shift"))
        add.clicked.connect(self.add_from_form)
        self.update_button = QPushButton(_("Change"))
        self.update_button.setAccessibleName(_("Change the selected shift"))
        self.update_button.clicked.connect(self.update_selected)
        self.remove_button = QPushButton(_("Remove"))
        self.remove_button.setAccessibleName(_("Remove the selected shift"))
        self.remove_button.clicked.connect(self.remove_selected)
        for w in (
            self.person,
            self.role,
            self.day,
            self.start,
            self.end,
            self.on_call,
            add,
            self.update_button,
            self.remove_button,
        ):
            row.addWidget(w)
        row.setStretch(0, 2)
        return row

    # -- editing ---------------------------------------------------------------------------
    def shift_from_form(self) -> Shift:
        day = self.day.date()
        start = QDateTime(day, self.start.time()).toPython()
        end = QDateTime(day, self.end.time()).toPython()
        assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
        if end <= start:
            end += dt.timedelta(days=1)  # a night shift
        role = self.role.currentData()
        return Shift(
            self.person.currentText().strip(),
            role,
            start.astimezone(),
            end.astimezone(),
            on_call=self.on_call.isChecked() and role == SUPERVISOR,
        )

    def add_from_form(self) -> None:
        self._edit(None)

    def update_selected(self) -> None:
        i = self._selected_row()
        if i is not None:
            self._edit(i)

    def _edit(self, index: int | None) -> None:
        from escalation.messages import IDENTITY

        shift = self.shift_from_form()
        if not IDENTITY.match(shift.person):
            self._say(_("Type the person's identity, as on their certificate."), "danger")
            self.person.setFocus()
            return
        if index is None:
            self.shifts.append(shift)
        else:
            self.shifts[index] = shift
        self.shifts.sort(key=lambda s: (s.start, s.person))
        self.changed = True
        self._say("", None)
        self._draw(select=self.shifts.index(shift))

    def remove_selected(self) -> None:
        i = self._selected_row()
        if i is None:
            return
        del self.shifts[i]
        self.changed = True
        self._draw()

    def repeat_last_week(self) -> None:
        """Each shift that started in the last 7 days again a week later (unless there is
        one for that person at that time already)."""
        now = self.agent.clock.now()
        week = dt.timedelta(days=7)
        have = {(s.person, s.start) for s in self.shifts}
        added = 0
        for s in list(self.shifts):
            if now - week <= s.start < now and (s.person, s.start + week) not in have:
                self.shifts.append(Shift(s.person, s.role, s.start + week, s.end + week, s.on_call))
                added += 1
        self.shifts.sort(key=lambda s: (s.start, s.person))
        self.changed = self.changed or bool(added)
        self._say(
            ngettext(
                "{n} shift added for next week.", "{n} shifts added for next week.", added
            ).format(n=added),
            None,
        )
        self._draw()

    def _selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _picked(self) -> None:
        i = self._selected_row()
        if i is None or i >= len(self.shifts):
            return
        s = self.shifts[i]
        self.person.setCurrentText(s.person)
        self.role.setCurrentIndex(0 if s.role == COUNSELOR else 1)
        start, end = s.start.astimezone(), s.end.astimezone()
        self.day.setDate(QDate(start.year, start.month, start.day))
        self.start.setTime(QTime(start.hour, start.minute))
        self.end.setTime(QTime(end.hour, end.minute))
        self.on_call.setChecked(s.on_call)

    # -- publishing --------------------------------------------------------------------------
    def blocking(self) -> list[Problem]:
        return [p for p in self.found if p.kind in BLOCKING]

    def publish(self) -> None:
        if self.blocking():
            self._say(_("Fix the problems in red before publishing."), "danger")
            return
        try:
            p = self.agent.roster.publish(self.shifts, self.base)
        except RosterConflict as exc:
            # keep every change here; the next press publishes over theirs, knowingly
            self.base = exc.current
            self._say(
                _(
                    "Another supervisor published version {n} meanwhile. Your changes are "
                    "still here; press Publish again to replace it, or Close to keep theirs."
                ).format(n=exc.current),
                "warning",
            )
            return
        except ValueError:
            self._say(_("The roster is too large to publish."), "danger")
            return
        self.base = p.roster.version
        self.published = p.roster.version
        self.changed = False
        self._say(_("Version {n} published.").format(n=p.roster.version), "ok")
        self._draw()

    def _say(self, text: str, role: str | None) -> None:
        self.message.setText(text)
        self.message.setAccessibleName(text)
        theme.set_role(self.message, role)

    def _draw(self, select: int | None = None) -> None:
        current = self.agent.roster.current
        if current is None:
            self.version.setText(
                _("No roster published yet: the board counts against the minimum.")
            )
        else:
            self.version.setText(
                _("Version {n}, published by {by} at {at}").format(
                    n=current.roster.version,
                    by=current.by,
                    at=format_time(current.at.astimezone()),
                )
                + (_(" — unpublished changes") if self.changed else "")
            )
        self.table.setRowCount(len(self.shifts))
        for i, s in enumerate(self.shifts):
            start, end = s.start.astimezone(), s.end.astimezone()
            cells = (
                s.person,
                role_label(s.role),
                format_date(start),
                format_time(start),
                format_time(end) + ("  +1" if end.date() > start.date() else ""),
                _("yes") if s.on_call else "",
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, j, item)
        if select is not None:
            self.table.selectRow(select)
        self.found = problems(Roster(self.base, tuple(self.shifts)), self.max_shift_h)
        self.problems.clear()
        for p in self.found:
            mark = _("Must fix: ") if p.kind in BLOCKING else "⚠ "
            entry = QListWidgetItem(mark + problem_text(p))
            level = Level.ERROR if p.kind in BLOCKING else Level.WARNING
            entry.setForeground(QColor(theme.level_colour(level)))
            self.problems.addItem(entry)
        if not self.found:
            self.problems.addItem(
                _("No problems: every hour has a counselor and an on-call supervisor.")
            )
        self.publish_button.setEnabled(not self.blocking())
        self.problems.setAccessibleDescription(
            ngettext("{n} problem", "{n} problems", len(self.found)).format(n=len(self.found))
        )

    @staticmethod
    def open_for(parent: QWidget, agent: SupervisorAgent) -> RosterEditor:
        dialog = RosterEditor(agent, parent)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.show()
        return dialog
