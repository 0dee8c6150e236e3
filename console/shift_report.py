"""The shift report: a dialog the counselor opens with ``keys.shift_report`` (Ctrl+Shift+R),
and the supervisor's from their window (docs/clinical.md, "Post-call summary and shift
report").

The counselor's shift is the last ``ui.shift_report_hours`` (8) hours: the contacts of this
counselor that began since, from :func:`storage.reports.shift_report` — contacts handled,
dispositions, time on calls, the talk share of each call (a plot), risk levels, escalations,
follow-ups scheduled and due — and the breaks this console saw (:class:`ShiftTracker`; the
store keeps none, so a restarted console knows only its own). The supervisor's report is
:func:`storage.reports.supervisor_report` over the same hours: alerts received, the time to
acknowledge each (a plot), urgent alerts, resolutions, debrief requests.

"Export PDF…" writes what is on screen with :func:`console.pdf_export.export_report`
(local, 0600, atomic, audited ``report.export`` with the kind and pages only; disk full and
read-only told apart). Codes, counts and times only: no note text, no caller's number.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from calls.events import CallStateChanged
from calls.model import CallState
from console import theme
from console.call_summary import new_plot, percent, risk_level_text
from console.options import SHIFT_REPORT_HOURS
from console.pdf_export import ExportFailed, export_report
from console.texts import disposition_label, fmt_duration
from core.i18n import _, format_datetime, ngettext
from escalation.levels import level_label
from storage.errors import StorageError
from storage.reports import BreakLog, ShiftReport, SupervisorReport, shift_report, supervisor_report


class ShiftTracker:
    """Keeps this console's breaks (every call state, by the session's clock)."""

    def __init__(self, session: Any, bridge: Any) -> None:
        self.session = session
        self.breaks = BreakLog()
        bridge.on(CallStateChanged, self._on_state)

    def _on_state(self, event: CallStateChanged) -> None:
        self.breaks.state(event.state is CallState.BREAK, self.session.clock.now())


def _rows(pairs: list[tuple[str, str]]) -> str:
    esc = html.escape
    return "<table cellspacing='0' cellpadding='2'>" + "".join(
        f"<tr><td>{esc(k)}</td><td><b>{esc(v)}</b></td></tr>" for k, v in pairs
    ) + "</table>"  # fmt: skip


def counselor_lines(r: ShiftReport) -> list[tuple[str, str]]:
    dispositions = ", ".join(
        _("{label}: {n}").format(label=disposition_label(code), n=n)
        for code, n in sorted(r.dispositions.items(), key=lambda kv: -kv[1])
    )
    levels = ", ".join(
        _("{label}: {n}").format(label=risk_level_text(level), n=n)
        for level, n in r.risk_levels.items()
    )
    if r.not_assessed:
        levels += ", " + _("{label}: {n}").format(label=_("Not assessed"), n=r.not_assessed)
    escalations = ", ".join(
        _("{label}: {n}").format(label=level_label(level), n=n)
        for level, n in r.escalations.items()
    )
    return [
        (_("Contacts"), _("{answered} answered of {all}").format(
            answered=r.answered, all=len(r.contacts))),
        (_("Time on calls"), fmt_duration(r.seconds_on_calls)),
        (_("You spoke (mean)"), percent(r.mean_talk_ratio)),
        (_("Dispositions"), dispositions or _("None")),
        (_("Risk levels"), levels),
        (_("Escalations"), escalations or _("None")),
        (_("Follow-ups"), _("{scheduled} scheduled, {due} due now").format(
            scheduled=r.follow_ups_scheduled, due=r.follow_ups_due)),
        (_("Breaks"), ngettext("{n} break, {time}", "{n} breaks, {time}", len(r.breaks)).format(
            n=len(r.breaks), time=fmt_duration(r.break_seconds)) if r.breaks else _("None")),
    ]  # fmt: skip


def supervisor_lines(r: SupervisorReport) -> list[tuple[str, str]]:
    acks = r.ack_seconds()
    median = fmt_duration(float(np.median(acks))) if acks else "—"
    outcomes = ", ".join(f"{code}: {n}" for code, n in r.outcomes.items())
    return [
        (_("Alerts received"), str(len(r.alerts))),
        (_("Urgent alerts"), str(r.urgent)),
        (_("Time to acknowledge (median)"), median),
        (_("Not acknowledged"), str(r.unacknowledged)),
        (_("Resolved"), _("{n} ({outcomes})").format(n=r.resolved, outcomes=outcomes)
            if outcomes else str(r.resolved)),
        (_("Debrief requests"), str(r.debriefs)),
    ]  # fmt: skip


class ReportDialog(QDialog):
    """A report on screen: figures, one plot, Export PDF… and Close."""

    kind = "shift"

    def __init__(
        self, session: Any, parent: QWidget | None = None, tracker: ShiftTracker | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tracker = tracker
        self.store = session.service("store")
        self.setAccessibleName(self.title())
        self.setWindowTitle(self.title())
        until = session.clock.now()
        self.until = until
        self.since = until - dt.timedelta(hours=session.config.get(SHIFT_REPORT_HOURS))
        layout = QVBoxLayout(self)
        heading = QLabel(self.title())
        theme.set_role(heading, "title")
        layout.addWidget(heading)
        period = QLabel(_("From {since} to {until}").format(
            since=format_datetime(self.since), until=format_datetime(until)))  # fmt: skip
        theme.set_role(period, "dim")
        layout.addWidget(period)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        inner = QVBoxLayout(body)
        self.figures = QLabel()
        self.figures.setWordWrap(True)
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setAccessibleName(_("Figures of the shift"))
        inner.addWidget(self.figures)
        self.plot = new_plot(self.plot_name(), 170)
        inner.addWidget(self.plot)
        inner.addStretch(1)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = QPushButton(_("Export PDF…"))
        self.export_button.setAccessibleName(_("Export the report as a PDF"))
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.export_button.clicked.connect(self._ask_export)
        layout.addWidget(buttons)
        self.lines: list[tuple[str, str]] = []
        self.load()

    # -- what differs between the two reports --------------------------------------------
    def title(self) -> str:
        return _("Your shift")

    def plot_name(self) -> str:
        return _("Share of the talk you had, per call")

    def compute(self, store: Any) -> None:
        self.report = shift_report(store, self.since, self.until, self._breaks())
        self.lines = counselor_lines(self.report)

    def _breaks(self) -> list[tuple[dt.datetime, dt.datetime]]:
        tracker = self.tracker
        return tracker.breaks.within(self.since, self.until) if tracker else []

    def draw_plot(self) -> None:
        p = theme.current()
        self.plot.clear()
        ratios = [c.talk_ratio for c in self.report.contacts if c.answered]
        y = np.asarray([(r if r is not None else 0.0) * 100 for r in ratios])
        x = np.arange(1, len(y) + 1)
        heard = np.asarray([r is not None for r in ratios], dtype=bool)
        if heard.any():  # a call with no audio has no share: no bar, not a 0 % one
            self.plot.addItem(pg.BarGraphItem(x=x[heard], height=y[heard], width=0.6,
                                              brush=p.highlight, pen=None))  # fmt: skip
        self.plot.addLine(y=50, pen=pg.mkPen(p.dim, style=Qt.PenStyle.DashLine))
        self.plot.setYRange(0, 100, padding=0.02)
        self.plot.setXRange(0.4, max(len(y), 1) + 0.6, padding=0)
        self.plot.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in x]])
        self.plot.getAxis("bottom").setLabel(_("call"), color=p.dim)
        self.plot.getAxis("left").setLabel(_("% you spoke"), color=p.dim)

    # -- common ------------------------------------------------------------------------------
    def load(self) -> None:
        if self.store is None or self.store.is_locked:
            self.figures.setText(html.escape(_("The case store is locked: unlock it first.")))
            self.export_button.setEnabled(False)
            self.plot.setVisible(False)
            return
        try:
            store = self.store.vault.require()
            self.compute(store)
            store.audit("report.view", self.kind, {"hours": self._hours()}, wait=False)
        except StorageError as exc:
            self.figures.setText(html.escape(exc.message))
            self.export_button.setEnabled(False)
            return
        self.figures.setText(_rows(self.lines))
        self.draw_plot()

    def _hours(self) -> int:
        return int(self.session.config.get(SHIFT_REPORT_HOURS))

    def document(self) -> tuple[str, dict[str, QImage]]:
        """The report's HTML and its plot, in the light theme's colours (it is printed)."""
        esc = html.escape
        period = _("From {since} to {until}").format(
            since=format_datetime(self.since), until=format_datetime(self.until))  # fmt: skip
        image = self.plot.grab().toImage()
        body = (
            f"<h1>{esc(self.title())}</h1><p>{esc(period)}</p>{_rows(self.lines)}"
            f"<h3>{esc(self.plot_name())}</h3><img src='plot' width='600'>"
        )
        return body, {"plot": image}

    def export(self, path: Path | str) -> int:
        """Write the PDF (raises ExportFailed); returns its pages."""
        body, images = self.document()
        store = self.store.vault.require()

        def audit(pages: int) -> None:
            store.audit("report.export", self.kind, {"pages": pages, "hours": self._hours()})

        return export_report(
            path, body, title=self.title(), images=images, before_publish=audit
        ).pages

    def _ask_export(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, _("Export the report as a PDF"), "", _("PDF files (*.pdf)")
        )
        if not name:
            return
        if not name.lower().endswith(".pdf"):
            name += ".pdf"
        try:
            self.export(name)
        except (ExportFailed, StorageError) as exc:
            theme.set_role(self.status, "danger")
            self.status.setText(exc.message)
            return
        theme.set_role(self.status, "ok")
        self.status.setText(_("PDF saved."))

    @classmethod
    def open_for(cls, window: QWidget, tracker: ShiftTracker | None = None) -> ReportDialog:
        dialog = cls(window.session, window, tracker)  # type: ignore[attr-defined]
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.resize(min(760, window.width() - 40), min(560, window.height() - 20))
        dialog.show()
        return dialog


class ShiftReportDialog(ReportDialog):
    """The counselor's shift."""


class SupervisorReportDialog(ReportDialog):
    """The supervisor's shift, from the alerts their store received."""

    kind = "supervisor_shift"

    def title(self) -> str:
        return _("Your shift as supervisor")

    def plot_name(self) -> str:
        return _("Minutes to acknowledge, per alert")

    def compute(self, store: Any) -> None:
        self.sup = supervisor_report(store, self.since, self.until)
        self.lines = supervisor_lines(self.sup)

    def draw_plot(self) -> None:
        p = theme.current()
        self.plot.clear()
        alerts = self.sup.alerts
        x = np.arange(1, len(alerts) + 1)
        y = np.asarray([(a.ack_s or 0.0) / 60 for a in alerts])
        for urgent, colour in ((False, p.highlight), (True, p.danger_bg)):
            on = np.asarray([a.urgent == urgent and a.ack_s is not None for a in alerts],
                            dtype=bool)  # fmt: skip
            if on.any():
                self.plot.addItem(pg.BarGraphItem(x=x[on], height=y[on], width=0.6,
                                                  brush=colour, pen=None))  # fmt: skip
        self.plot.setXRange(0.4, max(len(alerts), 1) + 0.6, padding=0)
        self.plot.setYRange(0, max(1.0, float(y.max()) if len(y) else 1.0) * 1.1, padding=0)
        self.plot.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in x]])
        self.plot.getAxis("bottom").setLabel(_("alert (urgent in red)"), color=p.dim)
        self.plot.getAxis("left").setLabel(_("minutes"), color=p.dim)


__all__ = [
    "ShiftTracker",
    "ShiftReportDialog",
    "SupervisorReportDialog",
    "counselor_lines",
    "supervisor_lines",
]
