"""The post-call summary: a contact tab shown during the wrap-up (docs/clinical.md).

For the contact whose call just ended: its length, the talk/listen timeline drawn with
pyqtgraph (the counselor's seconds per bucket above the line, the caller's below, muted and
on-hold buckets marked), the talk share, interruptions by each side, the caller's longest
silence, muted-while-speaking warnings, the saved risk level, the escalations raised and the
follow-ups created. Everything comes from :func:`storage.reports.contact_summary`; the call-
health figures also from the ``CallHealthSummary`` event itself, which may arrive before the
store has written them. Nothing here is note text or a caller's number.

The tab shows only while the contact is in its wrap-up (``show_contact`` with an ended
call): ``visible_changed(bool)`` tells the window to show or hide it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from audio.events import CallHealthSummary
from calls.model import Call
from console import theme
from console.flow_layout import FlowLayout
from console.texts import fmt_duration
from core.i18n import _, format_number, ngettext
from escalation.levels import level_label
from storage.errors import StorageError
from storage.events import RiskAssessmentSaved, StoreLocked, StoreUnlocked
from storage.reports import ContactSummary, Timeline, contact_summary

pg.setConfigOptions(antialias=True)


def risk_level_text(level: str | None) -> str:
    return {
        "low": _("Low"),
        "moderate": _("Moderate"),
        "high": _("High"),
        "imminent": _("Imminent"),
        None: _("Not assessed"),
    }.get(level, level or "")


def percent(share: float | None) -> str:
    return "—" if share is None else _("{n} %").format(n=format_number(share * 100))


def new_plot(name: str, height: int = 150) -> pg.PlotWidget:
    """A plot in the theme's colours, no mouse interaction (it is a picture)."""
    p = theme.current()
    plot = pg.PlotWidget(background=p.base)
    plot.setAccessibleName(name)
    plot.setMinimumHeight(height)
    plot.setMaximumHeight(int(height * 1.5))  # the figures below stay in view
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(p.dim))
        axis.setTextPen(pg.mkPen(p.text))
    return plot


class Legend(QWidget):
    """The plot's key as swatches and words under it (never over the bars, and read by a
    screen reader like any label); the entries flow onto a second line when the words are
    long (Spanish) rather than widen the tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plotLegend")
        self._row = FlowLayout(self, spacing=10)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.entries: list[str] = []

    def show_entries(self, entries: list[tuple[str, str]]) -> None:
        """``entries``: (colour of the theme's palette, words), in order."""
        if [text for _colour, text in entries] == self.entries and self._row.count():
            return
        while self._row.count():
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.entries = [text for _colour, text in entries]
        side = max(8, self.fontMetrics().height() - 4)
        for colour, text in entries:
            entry = QWidget()  # a swatch and its words stay together on one line
            pair = QHBoxLayout(entry)
            pair.setContentsMargins(0, 0, 0, 0)
            pair.setSpacing(4)
            swatch = QLabel()
            pixmap = QPixmap(side, side)
            pixmap.fill(QColor(colour))
            swatch.setPixmap(pixmap)
            pair.addWidget(swatch)
            pair.addWidget(QLabel(text))
            self._row.addWidget(entry)
        self.setAccessibleName(", ".join(self.entries))


def timeline_legend(tl: Timeline) -> list[tuple[str, str]]:
    """What the timeline draws, in the theme's colours: the bands only when present."""
    p = theme.current()
    entries = [(p.highlight, _("You")), (p.ok, _("Caller")), (p.warning_fg, _("Both at once"))]
    if any(tl.muted):
        entries.append((p.danger_bg, _("Muted")))
    if any(tl.on_hold):
        entries.append((p.dim, _("On hold")))
    return entries


def draw_timeline(plot: pg.PlotWidget, tl: Timeline) -> None:
    """The counselor's speech up, the caller's down, per bucket; muted buckets as a band
    on top, on-hold ones as a band at the bottom. X in minutes. The key is
    :func:`timeline_legend`, drawn by a :class:`Legend` under the plot."""
    p = theme.current()
    plot.clear()
    n = len(tl.counselor_s)
    width = tl.bucket_s / 60
    x = (np.arange(n) + 0.5) * width
    w = width * 0.9
    near = np.asarray(tl.counselor_s) - np.asarray(tl.both_s)
    both = np.asarray(tl.both_s)
    far = np.asarray(tl.caller_s) - both
    plot.addItem(pg.BarGraphItem(x=x, height=near, width=w, brush=p.highlight, pen=None,
                                 name=_("You")))  # fmt: skip
    plot.addItem(pg.BarGraphItem(x=x, height=-far, width=w, brush=p.ok, pen=None,
                                 name=_("Caller")))  # fmt: skip
    # both at once: on each side of the line, in the warning colour
    plot.addItem(pg.BarGraphItem(x=x, y0=near, height=both, width=w, brush=p.warning_fg,
                                 pen=None, name=_("Both at once")))  # fmt: skip
    plot.addItem(pg.BarGraphItem(x=x, y0=-far, height=-both, width=w, brush=p.warning_fg,
                                 pen=None))  # fmt: skip
    top = tl.bucket_s
    for flags, y0, colour, label in (
        (tl.muted, top * 1.02, p.danger_bg, _("Muted")),
        (tl.on_hold, -top * 1.14, p.dim, _("On hold")),
    ):
        on = np.asarray(flags, dtype=bool)
        if on.any():
            plot.addItem(pg.BarGraphItem(x=x[on], y0=y0, height=top * 0.12, width=width,
                                         brush=colour, pen=None, name=label))  # fmt: skip
    plot.setYRange(-top * 1.15, top * 1.15, padding=0)
    plot.setXRange(0, max(n * width, width), padding=0.01)
    left = plot.getAxis("left")
    ticks = [(top, _("you")), (0, ""), (-top, _("caller"))]
    left.setTicks([ticks])
    left.setWidth(max(plot.fontMetrics().horizontalAdvance(t) for _y, t in ticks) + 14)
    plot.getAxis("bottom").setLabel(_("minutes"), color=p.dim)


class CallSummary(QWidget):
    """The post-call summary tab (``MainWindow.add_contact_tab``)."""

    visible_changed = Signal(bool)

    def __init__(self, session: Any, bridge: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callSummary")
        self.setAccessibleName(_("Call summary"))
        self.store = session.service("store")
        self._contact: str | None = None
        self._figures: dict[str, dict[str, Any]] = {}  # from the event, by contact
        self.summary: ContactSummary | None = None
        self.shown = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        self.title = QLabel(_("Call summary"))
        theme.set_role(self.title, "title")
        layout.addWidget(self.title)
        self.message = QLabel()
        self.message.setWordWrap(True)
        theme.set_role(self.message, "dim")
        layout.addWidget(self.message)
        self.plot = new_plot(_("Talk and listen over the call"), 130)
        layout.addWidget(self.plot)
        self.legend = Legend()
        layout.addWidget(self.legend)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.values: dict[str, QLabel] = {}
        for key, label in (
            ("duration", _("Length")),
            ("share", _("You spoke")),
            ("interruptions", _("Interruptions")),
            ("silence", _("Caller's longest silence")),
            ("risk", _("Risk level")),
            ("escalations", _("Escalations")),
            ("follow_ups", _("Follow-ups")),
        ):
            value = QLabel()
            value.setWordWrap(True)
            value.setAccessibleName(label)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard)
            self.values[key] = value
            form.addRow(label, value)
        layout.addLayout(form)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        theme.set_role(self.warning, "warning")
        layout.addWidget(self.warning)
        layout.addStretch(1)
        bridge.on(CallHealthSummary, self._on_health)
        bridge.on(RiskAssessmentSaved, self._on_risk)
        bridge.on((StoreLocked, StoreUnlocked), lambda _e: self.reload())
        self.reload()

    # -- following the contact ---------------------------------------------------------------
    def show_contact(self, contact_id: str | None, call: Call | None) -> None:
        wrap_up = contact_id is not None and call is not None and call.ended_at is not None
        contact = contact_id if wrap_up else None
        if contact != self._contact:
            self._contact = contact
            self.reload()
        if wrap_up != self.shown:
            self.shown = wrap_up
            self.visible_changed.emit(wrap_up)

    def _on_health(self, event: CallHealthSummary) -> None:
        self._figures[event.call_id] = dict(event.figures)
        while len(self._figures) > 8:
            self._figures.pop(next(iter(self._figures)))
        if event.call_id == self._contact:
            self.reload()

    def _on_risk(self, event: RiskAssessmentSaved) -> None:
        if getattr(event, "contact_id", None) == self._contact:
            self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.reload()  # the theme may have changed since

    # -- drawing -----------------------------------------------------------------------------
    def reload(self) -> None:
        cid = self._contact
        self.summary = None
        if cid is not None and self.store is not None and not self.store.is_locked:
            try:
                self.summary = contact_summary(self.store.vault.require(), cid)
            except StorageError:
                self.summary = None
        self.draw(self.summary, self._figures.get(cid or ""))

    def draw(self, s: ContactSummary | None, event_figures: dict[str, Any] | None = None) -> None:
        figures = (s.figures if s is not None else None) or event_figures
        tl = Timeline.from_figures(figures)
        locked = self.store is None or self.store.is_locked
        if self._contact is None:
            self.message.setText(_("The summary of a call appears here after you hang up."))
        elif locked and s is None:
            self.message.setText(_("The case store is locked: unlock it to see the summary."))
        elif tl is None:
            self.message.setText(_("No talk/listen timeline for this call (no audio)."))
        else:
            self.message.setText("")
        self.message.setVisible(bool(self.message.text()))
        self.plot.setVisible(tl is not None)
        self.legend.setVisible(tl is not None)
        if tl is not None:
            draw_timeline(self.plot, tl)
            self.legend.show_entries(timeline_legend(tl))
        f = figures or {}
        v = self.values
        duration = s.duration_s if s is not None else None
        if duration is None and isinstance(f.get("duration_s"), int | float):
            duration = float(f["duration_s"])
        v["duration"].setText(fmt_duration(duration) if duration is not None else "—")
        ratio = f.get("talk_ratio")
        v["share"].setText(
            _("{share} of the talk").format(share=percent(ratio)) if ratio is not None else "—"
        )
        by_me, by_caller = f.get("interruptions_by_counselor"), f.get("interruptions_by_caller")
        v["interruptions"].setText(
            _("by you {you}, by the caller {caller}").format(you=by_me, caller=by_caller)
            if by_me is not None and by_caller is not None
            else "—"
        )
        silence = f.get("longest_caller_silence_s")
        v["silence"].setText(fmt_duration(float(silence)) if silence is not None else "—")
        if s is None:
            for key in ("risk", "escalations", "follow_ups"):
                v[key].setText("—")
        else:
            risk = risk_level_text(s.risk_level)
            if s.risk_version:
                risk = _("{level} (version {n})").format(level=risk, n=s.risk_version)
            v["risk"].setText(risk)
            theme.set_role(v["risk"], "danger" if s.risk_level in ("high", "imminent") else None)
            v["escalations"].setText(
                ", ".join(level_label(e.level) for e in s.escalations) or _("None")
            )
            n = len(s.follow_ups)
            v["follow_ups"].setText(
                ngettext("{n} scheduled", "{n} scheduled", n).format(n=n) if n else _("None")
            )
        muted = f.get("muted_speech_warnings") or 0
        self.warning.setText(
            ngettext(
                "You spoke while muted once: the caller did not hear it.",
                "You spoke while muted {n} times: the caller did not hear it.",
                muted,
            ).format(n=muted)
            if muted
            else ""
        )
        self.warning.setVisible(bool(muted))
