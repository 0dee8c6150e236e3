"""Practice-call scenarios for training mode (docs/training.md).

A training scenario is one scripted caller: who calls, what the caller says and when, the
silences, and what the trainee is expected to do, so that the run can be scored in the
debrief. The words are shown to the trainee as captions while they are said. With no
microphone (``audio.source = "simulated"``) the far side is synthesised in memory at the
script's ``at_s`` times (audio/conversations.py) and the model counselor's lines are the
near side; on a real microphone the caller's lines are spoken by espeak-ng and take turns
with the trainee (audio/practice_caller.py): each starts after the previous one ended and
the trainee has paused, or after the script's own gap (``at_s`` minus the previous caller
entry's end) if the trainee said nothing. Bundled ones live in
``calls/scenarios/training/*.toml``, one per kind and language::

    [scenario]
    id = "silent-caller-en"
    kind = "silent_caller"      # third_party, attempt_in_progress, silent_caller, abusive_caller
    language = "en"             # es_MX or en
    difficulty = 1              # 1 (first weeks) to 3 (hardest)
    title = "Nobody speaks"
    brief = "What the trainee reads before the call."
    caller_id = "+1 555 0100 301"
    ring_after_s = 3            # rings this long after the trainee is available
    length_s = 120              # the caller hangs up after this long (0: the trainee ends it)
    reply_pause_s = 0.5         # optional: the trainee's pause (after the VAD's 0.3 s
                                # hang-over) before the caller answers them; 0.2 to 3

    [[caller]]                  # an utterance: its start, its length, its words
    at_s = 2.0
    dur_s = 2.5
    text = "..."
    interrupts = false          # optional: true = on a real microphone this line starts at
                                # its scripted gap even while the trainee talks (over them)

    [[caller]]                  # a silence the script means (breathing, a TV): no words
    at_s = 5.0
    silence_s = 40.0
    note = "Only breathing."

    [[counselor]]               # a model counselor's line: the simulated counselor's voice
    at_s = 1.0                  # when there is no microphone, and the model answer in the
    dur_s = 2.0                 # debrief
    text = "..."

    [expect]
    answer_within_s = 10        # ring → answer
    assessment = true           # a risk assessment saved during the call
    risk = "imminent"           # the level it should reach ("" : any)
    escalate = "urgent"         # the escalation level expected ("": none expected)
    escalate_within_s = 90      # from the answer
    rescue = ["services_called", "dispatched"]   # rescue steps expected
    flag = "abusive"            # a caller flag expected ("": none)
    end_by_counselor = true     # the trainee ends the call (an abusive caller)

:func:`parse_training` checks a file whole and raises :class:`ScenarioError` naming the
file and the line (``silent.toml line 14: caller line 2 starts before line 1 ends``), like
core/forms.py does for the forms file; :func:`check_training` returns every problem instead
of the first. Imports nothing of Faro but core and calls.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from calls.backends.simulated import Scenario, ScriptedCall
from core.errors import ConfigError
from core.events import Event
from core.forms import _Locator  # the forms file's line locator: one way to name lines
from core.i18n import _
from core.privacy import Personal

KINDS = ("third_party", "attempt_in_progress", "silent_caller", "abusive_caller")
LANGUAGES = ("es_MX", "en")
DIFFICULTIES = (1, 2, 3)
#: the codes an expectation may name: the same as storage/risk.py LEVELS,
#: escalation/levels.py LEVELS, storage/records.py RESCUE_STEPS and CaseStore.CALLER_FLAGS
#: (calls imports neither; tests/calls/test_training_scenarios.py checks they agree)
RISK_LEVELS = ("low", "moderate", "high", "imminent")
ESCALATION_LEVELS = ("consult", "urgent", "counselor_safety", "technical", "debrief")
RESCUE_STEPS = (
    "engaged",
    "least_invasive",
    "safety_step",
    "consent_given",
    "consent_refused",
    "third_party",
    "location",
    "services_called",
    "dispatched",
    "arrival_overdue",
    "services_recalled",
    "arrival_confirmed",
    "outcome_care",
    "outcome_safe",
    "outcome_not_found",
    "outcome_other",
)
CALLER_FLAGS = ("abusive", "frequent")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
MAX_LENGTH_S = 1800.0
#: the name prefix of a training scenario's conversation (audio/conversations.py)
CONVERSATION_PREFIX = "training:"


@dataclasses.dataclass(frozen=True, slots=True)
class PracticeLineStarted(Event):
    """The practice caller began entry ``index`` of the scenario's ``[[caller]]`` lines (an
    utterance or a meant silence), ``at_s`` seconds after the answer, for ``dur_s``: the
    trainee's caption. Published by audio's practice caller on a real microphone, and by
    app/training.py at the script's times otherwise. An index, never the words."""

    call_id: str
    index: int
    at_s: float
    dur_s: float


class ScenarioError(ConfigError):
    """A training scenario file is wrong; the message names the file and the line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """One entry of the script: an utterance (``text``) or a meant silence (``silence``)."""

    at_s: float
    dur_s: float
    text: str = ""
    silence: bool = False
    interrupts: bool = False  # spoken over the trainee (a real microphone's turn-taking)

    @property
    def end_s(self) -> float:
        return self.at_s + self.dur_s


@dataclasses.dataclass(frozen=True, slots=True)
class Expectations:
    answer_within_s: float = 15.0
    assessment: bool = False
    risk: str = ""
    escalate: str = ""
    escalate_within_s: float = 0.0
    rescue: tuple[str, ...] = ()
    flag: str = ""
    end_by_counselor: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingScenario:
    id: str
    kind: str
    language: str
    difficulty: int
    title: str
    brief: str
    caller_id: str
    ring_after_s: float
    length_s: float
    caller: tuple[Line, ...]
    counselor: tuple[Line, ...]
    expect: Expectations
    reply_pause_s: float = 0.5  # audio/practice_caller.py REPLY_PAUSE_S, justified there

    @property
    def conversation_name(self) -> str:
        return CONVERSATION_PREFIX + self.id

    @property
    def script_length_s(self) -> float:
        """How long the script runs (the conversation loops after it)."""
        ends = [x.end_s for x in (*self.caller, *self.counselor)]
        return max([self.length_s, *ends, 1.0]) + 1.0

    def scenario(self) -> Scenario:
        """The simulated backend's scenario: one practice call, rung once."""
        call = ScriptedCall(
            after_s=self.ring_after_s,
            caller_id=Personal(self.caller_id),
            talk_s=self.length_s,
            audio=self.conversation_name,
        )
        return Scenario(self.id, (call,), repeat=False)

    def caption_at(self, talk_s: float) -> Line | None:
        """The caller's line being said ``talk_s`` seconds after the answer (None: none)."""
        for line in self.caller:
            if line.at_s <= talk_s < line.end_s + 1.5:  # a caption stays a moment after
                return line
        return None


# -- parsing -------------------------------------------------------------------------------
class _Checker:
    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.locator = _Locator(text, name)
        self.problems: list[str] = []

    def say(self, path: tuple[str | int, ...], problem: str) -> None:
        line = self.locator.line(path)
        if line is None:
            self.problems.append(_("{file}: {problem}").format(file=self.name, problem=problem))
        else:
            self.problems.append(
                _("{file} line {line}: {problem}").format(
                    file=self.name, line=line, problem=problem
                )
            )

    def text(self, table: dict[str, Any], path: tuple, key: str, required: bool = True) -> str:
        v = table.get(key)
        if v is None:
            if required:
                self.say(path, _("{key} is missing").format(key=key))
            return ""
        if not isinstance(v, str) or (required and not v.strip()):
            self.say((*path, key), _("{key} must be a text").format(key=key))
            return ""
        return v.strip()

    def number(
        self,
        table: dict[str, Any],
        path: tuple,
        key: str,
        default: float | None = None,
        low: float = 0.0,
        high: float = MAX_LENGTH_S,
    ) -> float:
        v = table.get(key)
        if v is None:
            if default is None:
                self.say(path, _("{key} is missing").format(key=key))
                return 0.0
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            self.say(
                (*path, key),
                _("{key} must be a number from {low} to {high}").format(
                    key=key, low=f"{low:g}", high=f"{high:g}"
                ),
            )
            return default or 0.0
        return float(v)

    def choice(self, table: dict[str, Any], path: tuple, key: str, choices: tuple[str, ...]) -> str:
        v = table.get(key, "")
        if v == "":
            return ""
        if v not in choices:
            self.say(
                (*path, key),
                _("unknown {key} {value} (known: {known})").format(
                    key=key, value=repr(v), known=", ".join(choices)
                ),
            )
            return ""
        return str(v)

    def lines(self, data: dict[str, Any], who: str, length_s: float) -> tuple[Line, ...]:
        raw = data.get(who, [])
        if not isinstance(raw, list):
            self.say((who,), _("[[{table}]] must be a list of tables").format(table=who))
            return ()
        out: list[Line] = []
        for i, entry in enumerate(raw):
            path = (who, i)
            if not isinstance(entry, dict):
                self.say(path, _("[[{table}]] must be a list of tables").format(table=who))
                continue
            at = self.number(entry, path, "at_s")
            if "silence_s" in entry:
                if who != "caller":
                    self.say((*path, "silence_s"), _("only the caller has meant silences"))
                dur = self.number(entry, path, "silence_s", low=1.0)
                line = Line(at, dur, str(entry.get("note", "")).strip(), silence=True)
            else:
                dur = self.number(entry, path, "dur_s", low=0.2, high=60.0)
                line = Line(at, dur, self.text(entry, path, "text"))
            if "interrupts" in entry:
                if who != "caller" or line.silence:
                    self.say((*path, "interrupts"), _("only the caller's words may interrupt"))
                elif not isinstance(entry["interrupts"], bool):
                    self.say(
                        (*path, "interrupts"),
                        _("{key} must be true or false").format(key="interrupts"),
                    )
                else:
                    line = dataclasses.replace(line, interrupts=entry["interrupts"])
            if out and line.at_s < out[-1].end_s:
                self.say(
                    (*path, "at_s"),
                    _("{who} line {n} starts before line {m} ends").format(who=who, n=i + 1, m=i),
                )
            if length_s and line.end_s > length_s:
                self.say(
                    (*path, "at_s"),
                    _("{who} line {n} ends after the call (length_s = {length})").format(
                        who=who, n=i + 1, length=f"{length_s:g}"
                    ),
                )
            out.append(line)
        return tuple(out)


def check_training(
    text: str, name: str = "scenario.toml"
) -> tuple[TrainingScenario | None, list[str]]:
    """(the scenario, []) or (None, every problem found, each naming its line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))
        return None, [
            _("{file} line {line}: not valid TOML: {reason}").format(
                file=name, line=found.group(1) if found else "?", reason=reason
            )
        ]
    c = _Checker(text, name)
    head = data.get("scenario")
    if not isinstance(head, dict):
        c.say((), _("[scenario] is missing"))
        return None, c.problems
    known = {"scenario", "caller", "counselor", "expect"}
    for key in data:
        if key not in known:
            c.say((key,), _("unknown table or key {key}").format(key=repr(key)))
    p: tuple = ("scenario",)
    sid = c.text(head, p, "id")
    if sid and not _ID.match(sid):
        c.say((*p, "id"), _("id must be lower-case letters, digits and dashes"))
    kind = c.choice(head, p, "kind", KINDS) if "kind" in head else ""
    if "kind" not in head:
        c.say(p, _("{key} is missing").format(key="kind"))
    language = c.choice(head, p, "language", LANGUAGES) if "language" in head else ""
    if "language" not in head:
        c.say(p, _("{key} is missing").format(key="language"))
    difficulty = head.get("difficulty")
    if difficulty not in DIFFICULTIES or isinstance(difficulty, bool):
        c.say((*p, "difficulty"), _("difficulty must be 1, 2 or 3"))
    length = c.number(head, p, "length_s", default=0.0)
    caller = c.lines(data, "caller", length)
    counselor = c.lines(data, "counselor", length)
    if not any(not x.silence for x in caller) and kind != "silent_caller":
        c.say(("scenario",), _("the caller never speaks: only a silent caller may say nothing"))
    e = data.get("expect", {})
    ep: tuple = ("expect",)
    if not isinstance(e, dict):
        c.say(ep, _("[expect] must be a table"))
        e = {}
    for key in e:
        if key not in {f.name for f in dataclasses.fields(Expectations)}:
            c.say((*ep, key), _("unknown expectation {key}").format(key=repr(key)))
    rescue = e.get("rescue", [])
    if not isinstance(rescue, list) or any(s not in RESCUE_STEPS for s in rescue):
        c.say(
            (*ep, "rescue"),
            _("rescue must list rescue step codes (known: {known})").format(
                known=", ".join(RESCUE_STEPS)
            ),
        )
        rescue = []
    for key in ("assessment", "end_by_counselor"):
        if not isinstance(e.get(key, False), bool):
            c.say((*ep, key), _("{key} must be true or false").format(key=key))
    expect = Expectations(
        answer_within_s=c.number(e, ep, "answer_within_s", default=15.0, low=1.0, high=120.0),
        assessment=bool(e.get("assessment", False)),
        risk=c.choice(e, ep, "risk", RISK_LEVELS),
        escalate=c.choice(e, ep, "escalate", ESCALATION_LEVELS),
        escalate_within_s=c.number(e, ep, "escalate_within_s", default=0.0),
        rescue=tuple(rescue),
        flag=c.choice(e, ep, "flag", CALLER_FLAGS),
        end_by_counselor=bool(e.get("end_by_counselor", False)),
    )
    if expect.risk and not expect.assessment:
        c.say((*ep, "risk"), _("risk is expected but assessment is not"))
    if expect.end_by_counselor and length:
        c.say((*ep, "end_by_counselor"), _("the trainee ends the call: length_s must be 0"))
    title, brief = c.text(head, p, "title"), c.text(head, p, "brief")
    caller_id = c.text(head, p, "caller_id", required=False) or "+1 555 0100 000"
    ring_after = c.number(head, p, "ring_after_s", default=3.0, high=120.0)
    reply_pause = c.number(head, p, "reply_pause_s", default=0.5, low=0.2, high=3.0)
    if c.problems:
        return None, c.problems
    return (
        TrainingScenario(
            sid,
            kind,
            language,
            int(difficulty),  # type: ignore[arg-type]  # checked above: 1, 2 or 3
            title,
            brief,
            caller_id,
            ring_after,
            length,
            caller,
            counselor,
            expect,
            reply_pause,
        ),
        [],
    )


def parse_training(text: str, name: str = "scenario.toml") -> TrainingScenario:
    """The scenario, or :class:`ScenarioError` with every problem, one per line."""
    scenario, problems = check_training(text, name)
    if scenario is None:
        raise ScenarioError("\n".join(problems))
    return scenario


def bundled_training() -> dict[str, TrainingScenario]:
    """Every shipped training scenario by id (a wrong shipped file raises, naming it)."""
    folder = resources.files("calls") / "scenarios" / "training"
    out: dict[str, TrainingScenario] = {}
    for res in sorted(folder.iterdir(), key=lambda r: r.name):
        if res.name.endswith(".toml"):
            s = parse_training(res.read_text(encoding="utf-8"), res.name)
            out[s.id] = s
    return out


def load_training(name_or_path: str) -> TrainingScenario:
    """A bundled training scenario by id, or a file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(
                _("Cannot read the scenario file {path}: {reason}.").format(
                    path=path, reason=exc.strerror
                )
            ) from None
        return parse_training(text, path.name)
    found = bundled_training().get(name_or_path)
    if found is None:
        raise ScenarioError(
            _("There is no bundled training scenario named {name}.").format(name=repr(name_or_path))
        )
    return found
