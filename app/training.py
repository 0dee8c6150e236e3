"""A training session's practice call, across the capabilities (docs/training.md).

Training mode (``calls.training``, ``faro training``) runs the real console on a practice
call from a training scenario (calls/training.py). Each capability keeps practice apart on
its own side — the call is marked practice where it is born (calls), its records go to the
separate practice store (storage/practice.py), its escalations only to the watching
supervisor (escalation/training.py) — and :class:`TrainingRun`, made by app/wiring.py, does
what crosses them:

- the scenario's caller: on a real microphone (``audio.source = "device"``) the trainee is
  the near side and the caller is spoken by espeak-ng on the headset, taking turns with the
  trainee (:func:`caller_script_of`, audio/practice_caller.py); with no microphone
  (``"simulated"``) the caller is the synthetic far side at the script's times and the model
  counselor's lines the near side (:func:`conversation_of`, audio/conversations.py). Either
  way in memory, never written anywhere; the trainee's captions follow
  :class:`calls.training.PracticeLineStarted`;
- the trainee's live picture for the watch: the scenario, the risk level of each saved
  assessment (read back from the store: levels only) and the rescue steps taken (codes),
  handed to the escalation link; the call-health signals travel with the presence already;
- the run's record — ring, answer, assessments, escalations, rescue steps, how the call
  ended, the call-health figures — and, when the wrap-up ends, the :class:`Debrief`: what
  the scenario expected against what the trainee did, published as :class:`DebriefReady`.

No Qt; the console draws the debrief (console/training.py).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from calls import events as call_events
from calls.options import TRAINING, TRAINING_SCENARIO
from calls.training import PracticeLineStarted, TrainingScenario, load_training
from core.errors import FaroError
from core.events import Event

if TYPE_CHECKING:
    from app.session import Session

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """One expectation of the scenario against the run. ``expected``/``done`` are codes or
    numbers (the console puts them in words)."""

    code: str  # answer, assessment, risk, escalate, escalate_time, rescue, flag, end
    expected: Any
    done: Any
    met: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Debrief:
    scenario: TrainingScenario
    call_id: str
    checks: tuple[Check, ...]
    answer_s: float | None  # ring → answer
    first_response_s: float | None  # answer → the counselor's first speech (timeline)
    escalated: str  # the first practice escalation's level ("" : none)
    escalation_s: float | None  # answer → that escalation
    acknowledged_by: str | None
    risk: str  # the newest assessment's level ("" : none saved)
    assessments: int
    steps: tuple[str, ...]
    flag: str | None
    ended_by: str | None  # calls.model.EndedBy value
    health: dict[str, Any]  # the call-health figures (audio), {} when there were none
    near: str = "model"  # whose voice the near side was: "microphone" (the trainee) or
    # "model" (the scenario's model counselor: no microphone, the figures are not the trainee's)

    @property
    def score(self) -> tuple[int, int]:
        return sum(1 for c in self.checks if c.met), len(self.checks)


@dataclasses.dataclass(frozen=True, slots=True)
class DebriefReady(Event):
    """A practice call's wrap-up ended: its debrief sheet (codes, numbers, no caller data)."""

    debrief: Debrief


@dataclasses.dataclass
class _Run:
    call_id: str
    rung_mono: float
    answered_mono: float | None = None
    ended_by: str | None = None
    risk: str = ""
    assessments: int = 0
    first_assessment_s: float | None = None
    escalated: str = ""
    escalation_s: float | None = None
    acknowledged_by: str | None = None
    steps: list[str] = dataclasses.field(default_factory=list)
    health: dict[str, Any] = dataclasses.field(default_factory=dict)


def first_speech_s(figures: dict[str, Any]) -> float | None:
    """Seconds from the answer to the counselor's first speech, from the talk/listen
    timeline of the call-health figures (to its bucket's resolution)."""
    timeline = figures.get("timeline")
    if not isinstance(timeline, dict):
        return None
    try:
        bucket = float(timeline["bucket_s"])
        for i, spoken in enumerate(timeline["counselor_s"]):
            if float(spoken) > 0:
                return round(i * bucket + max(0.0, bucket - float(spoken)), 1)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def caller_script_of(scenario: TrainingScenario) -> Any:
    """The scenario's caller for the spoken practice caller (a real microphone): each entry
    with the script's own gap before it (from the previous caller entry's end)."""
    from audio.practice_caller import CallerLine, CallerScript

    lines, end = [], 0.0
    for x in scenario.caller:
        lines.append(
            CallerLine(round(max(0.0, x.at_s - end), 3), x.dur_s, x.text, x.silence, x.interrupts)
        )
        end = x.end_s
    return CallerScript(tuple(lines), scenario.language, scenario.reply_pause_s)


def conversation_of(scenario: TrainingScenario) -> Any:
    """The scenario as a scripted conversation for the simulated audio source: the caller's
    utterances on the far side, the model counselor's on the near side (heard only when
    there is no microphone). Meant silences are line noise only. It does not loop: after
    the script, the line stays quiet."""
    from audio.conversations import Conversation, Turn
    from audio.events import FAR, NEAR

    turns = [Turn(FAR, x.at_s, x.dur_s) for x in scenario.caller if not x.silence]
    turns += [Turn(NEAR, x.at_s, x.dur_s) for x in scenario.counselor]
    turns.sort(key=lambda t: t.start_s)
    return Conversation(
        scenario.conversation_name, max(3600.0, scenario.script_length_s), tuple(turns)
    )


class TrainingRun:
    """Made by the wiring in a training session (``calls.training``); holds the scenario."""

    def __init__(self, session: Session, scenario: TrainingScenario | None = None) -> None:
        self.session = session
        self.scenario = scenario or load_training(session.config.get(TRAINING_SCENARIO))
        self._lock = threading.Lock()
        self._run: _Run | None = None
        self.debriefs: list[Debrief] = []
        self._caption_timers: list[Any] = []
        #: the trainee's microphone is the near side and the caller speaks (audio's
        #: practice caller); False: the simulated source plays the whole script
        self.spoken = False
        self.near = "model"  # whose voice is the near side (Debrief.near)
        try:
            from audio import conversations
        except ModuleNotFoundError:  # a build without audio
            pass
        else:
            conversations.register(conversation_of(self.scenario))
            audio = session.service("audio")
            setter = getattr(audio, "set_practice_caller", None)
            if callable(setter):
                self.spoken = bool(setter(caller_script_of(self.scenario)))
            if getattr(audio, "source", "") == "device":
                self.near = "microphone"
        bus = session.bus
        bus.subscribe(call_events.IncomingCall, self._on_incoming)
        bus.subscribe(call_events.CallAnswered, self._on_answered)
        bus.subscribe(call_events.CallEnded, self._on_ended)
        bus.subscribe(call_events.WrapUpFinished, self._on_wrap_up_finished)
        try:
            from storage.events import RescueStepRecorded, RiskAssessmentSaved
        except ModuleNotFoundError:
            pass
        else:
            bus.subscribe(RiskAssessmentSaved, self._on_risk)
            bus.subscribe(RescueStepRecorded, self._on_step)
        try:
            from escalation.events import EscalationStateChanged
        except ModuleNotFoundError:
            pass
        else:
            bus.subscribe(EscalationStateChanged, self._on_escalation)
        try:
            from audio.events import CallHealthSummary
        except ModuleNotFoundError:
            pass
        else:
            bus.subscribe(CallHealthSummary, self._on_health)

    @staticmethod
    def wanted(session: Session) -> bool:
        return bool(session.config.get(TRAINING)) and bool(session.config.get(TRAINING_SCENARIO))

    def ready(self) -> None:
        """At start: the watch learns which scenario the trainee is on."""
        self._tell_watch(lambda t: t.set_scenario(*self._scenario_codes()))

    # -- what happens ----------------------------------------------------------------------
    def _on_incoming(self, event: call_events.IncomingCall) -> None:
        with self._lock:
            self._run = _Run(event.call.id, event.call.rung_mono)
        self._tell_watch(lambda t: t.set_scenario(*self._scenario_codes(), event.call.id))

    def _on_answered(self, event: call_events.CallAnswered) -> None:
        with self._lock:
            if self._run is not None and self._run.call_id == event.call.id:
                self._run.answered_mono = event.call.answered_mono
            if not self.spoken:  # the simulated source says each line at its scripted time
                for i, line in enumerate(self.scenario.caller):
                    started = PracticeLineStarted(event.call.id, i, line.at_s, line.dur_s)
                    self._caption_timers.append(
                        self.session.clock.call_later(line.at_s, partial(self._say, started))
                    )

    def _say(self, line: PracticeLineStarted) -> None:
        self.session.bus.publish(line)

    def _on_ended(self, event: call_events.CallEnded) -> None:
        with self._lock:
            if self._run is not None and self._run.call_id == event.call.id:
                self._run.ended_by = event.ended_by.value
            timers, self._caption_timers = self._caption_timers, []
        for timer in timers:
            timer.cancel()

    def _since_answer(self) -> float | None:
        run = self._run
        if run is None or run.answered_mono is None:
            return None
        return round(max(0.0, self.session.clock.monotonic() - run.answered_mono), 1)

    def _on_risk(self, event: Any) -> None:
        store = self.session.service("store")
        level = ""
        try:
            versions = store.risk_assessments(event.contact_id) if store is not None else []
            level = versions[-1].level if versions else ""
        except FaroError as exc:
            log.warning("practice risk level not read: %s", exc.message)
        with self._lock:
            run = self._run
            if run is None or run.call_id != event.contact_id:
                return
            run.risk, run.assessments = level, run.assessments + 1
            if run.first_assessment_s is None:
                run.first_assessment_s = self._since_answer()
        self._tell_watch(lambda t: t.set_risk(level))

    def _on_step(self, event: Any) -> None:
        with self._lock:
            run = self._run
            if run is None or run.call_id != event.contact_id:
                return
            run.steps.append(event.step)
        self._tell_watch(lambda t: t.add_step(event.step))

    def _on_escalation(self, event: Any) -> None:
        from escalation.events import ACKNOWLEDGED, RAISED

        with self._lock:
            run = self._run
            if run is None or event.call_id != run.call_id:
                return
            if event.state == RAISED and not run.escalated:
                run.escalated, run.escalation_s = event.level, self._since_answer()
            elif event.state == ACKNOWLEDGED and run.acknowledged_by is None:
                run.acknowledged_by = event.by

    def _on_health(self, event: Any) -> None:
        with self._lock:
            if self._run is not None and self._run.call_id == event.call_id:
                self._run.health = dict(event.figures)

    def _on_wrap_up_finished(self, event: call_events.WrapUpFinished) -> None:
        with self._lock:
            run = self._run
            if run is None or run.call_id != event.call.id:
                return
        flag = None
        store = self.session.service("store")
        if store is not None and not store.is_locked:
            try:
                flag = store.caller_flag(run.call_id)
            except FaroError as exc:
                log.warning("practice caller flag not read: %s", exc.message)
        debrief = self.debrief(run, flag)
        with self._lock:
            self.debriefs.append(debrief)
        escalation = self.session.service("escalation")
        if escalation is not None and escalation.role == "counselor":
            escalation.counselor.training.call_over()
        self.session.bus.publish(DebriefReady(debrief))

    # -- the debrief -------------------------------------------------------------------------
    def debrief(self, run: _Run, flag: str | None) -> Debrief:
        e = self.scenario.expect
        answer_s = (
            None if run.answered_mono is None else round(run.answered_mono - run.rung_mono, 1)
        )
        checks = [
            Check(
                "answer",
                e.answer_within_s,
                answer_s,
                answer_s is not None and answer_s <= e.answer_within_s,
            )
        ]
        if e.assessment:
            checks.append(Check("assessment", True, run.assessments > 0, run.assessments > 0))
        if e.risk:
            checks.append(Check("risk", e.risk, run.risk, run.risk == e.risk))
        checks.append(Check("escalate", e.escalate, run.escalated, run.escalated == e.escalate))
        if e.escalate and e.escalate_within_s:
            in_time = run.escalation_s is not None and run.escalation_s <= e.escalate_within_s
            checks.append(Check("escalate_time", e.escalate_within_s, run.escalation_s, in_time))
        if e.rescue:
            done = tuple(s for s in e.rescue if s in run.steps)
            checks.append(Check("rescue", e.rescue, done, done == e.rescue))
        if e.flag:
            checks.append(Check("flag", e.flag, flag or "", flag == e.flag))
        if e.end_by_counselor:
            by_counselor = run.ended_by == "counselor"
            checks.append(Check("end", True, by_counselor, by_counselor))
        return Debrief(
            self.scenario,
            run.call_id,
            tuple(checks),
            answer_s,
            first_speech_s(run.health),
            run.escalated,
            run.escalation_s,
            run.acknowledged_by,
            run.risk,
            run.assessments,
            tuple(run.steps),
            flag,
            run.ended_by,
            dict(run.health),
            self.near,
        )

    # -- the watch (escalation) -------------------------------------------------------------------
    def _scenario_codes(self) -> tuple[str, str, int]:
        s = self.scenario
        return s.id, s.kind, s.difficulty

    def _tell_watch(self, do: Any) -> None:
        escalation = self.session.service("escalation")
        if escalation is None or escalation.role != "counselor":
            return
        try:
            do(escalation.counselor.training)
        except Exception:
            log.exception("the practice status was not sent")
