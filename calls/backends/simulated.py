"""Scripted calls for the demo, training and tests.

A scenario (TOML) lists calls. Each rings ``after_s`` seconds after the counselor becomes
available, then the caller either abandons while ringing (``abandon_after_s``), or talks
for ``talk_s`` seconds after the answer and hangs up (0: the counselor ends the call).
Timing runs on the injected clock, so tests advance a fake clock instead of sleeping.

    [scenario]
    name = "demo"
    repeat = true

    [[calls]]
    after_s = 3
    caller_id = "+52 55 5555 0101"
    talk_s = 0
"""

from __future__ import annotations

import logging
import threading
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from calls.backends.base import TelephonyBackend
from core.clock import Clock, Timer
from core.errors import ConfigError
from core.i18n import _
from core.privacy import Personal

if TYPE_CHECKING:
    from calls.machine import CallMachine
    from calls.model import Call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScriptedCall:
    after_s: float
    caller_id: Personal
    talk_s: float = 0.0
    abandon_after_s: float = 0.0
    channel: str = "phone"
    audio: str = ""  # name of a scripted conversation for the audio pipeline (optional)


@dataclass(frozen=True)
class Scenario:
    name: str
    calls: tuple[ScriptedCall, ...]
    repeat: bool = False

    @classmethod
    def parse(cls, text: str, where: str | None = None) -> Scenario:
        """``where`` names the scenario in error messages ("scenario file PATH"), translated."""
        # Translators: {where} in the messages below is "scenario", "scenario file {path}" or "scenario {name}".
        where = where or _("scenario")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                _("The {where} is not valid TOML: {error}.").format(where=where, error=exc)
            ) from None
        head = data.get("scenario", {})
        calls = []
        for i, c in enumerate(data.get("calls", []), 1):
            try:
                calls.append(
                    ScriptedCall(
                        after_s=float(c["after_s"]),
                        caller_id=Personal(str(c.get("caller_id", ""))),
                        talk_s=float(c.get("talk_s", 0)),
                        abandon_after_s=float(c.get("abandon_after_s", 0)),
                        channel=str(c.get("channel", "phone")),
                        audio=str(c.get("audio", "")),
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise ConfigError(
                    _(
                        "Call {number} of the {where} needs a numeric after_s "
                        "(and numeric talk_s / abandon_after_s if given)."
                    ).format(number=i, where=where)
                ) from None
        if not calls:
            raise ConfigError(_("The {where} has no [[calls]].").format(where=where))
        return cls(str(head.get("name", "scenario")), tuple(calls), bool(head.get("repeat", False)))

    @classmethod
    def load(cls, name_or_path: str) -> Scenario:
        """A bundled scenario by name (``demo``) or a TOML file by path."""
        path = Path(name_or_path)
        if path.suffix == ".toml" or path.exists():
            try:
                return cls.parse(
                    path.read_text(encoding="utf-8"),
                    _("scenario file {path}").format(path=path),
                )
            except OSError as exc:
                raise ConfigError(
                    _("Cannot read the scenario file {path}: {reason}.").format(
                        path=path, reason=exc.strerror
                    )
                ) from None
        res = resources.files("calls") / "scenarios" / f"{name_or_path}.toml"
        if not res.is_file():
            raise ConfigError(
                _("There is no bundled scenario named {name}.").format(name=repr(name_or_path))
            )
        return cls.parse(
            res.read_text(encoding="utf-8"), _("scenario {name}").format(name=name_or_path)
        )


class SimulatedBackend(TelephonyBackend):
    name = "simulated"

    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self.scenario = scenario
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0
        self._timer: Timer | None = None
        self._talk_timer: Timer | None = None
        self._stopped = False
        self._current: tuple[str, ScriptedCall] | None = None
        self.actions: list[tuple[str, str]] = []  # (action, call id): what Faro told the "network"

    def start(self, line: CallMachine) -> None:
        self.line = line

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for t in (self._timer, self._talk_timer):
                if t:
                    t.cancel()

    def _script(self) -> ScriptedCall | None:
        n = len(self.scenario.calls)
        if self._next >= n and not self.scenario.repeat:
            return None
        return self.scenario.calls[self._next % n]

    def counselor_available(self, available: bool) -> None:
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            if not available or self._stopped:
                return
            script = self._script()
            if script is None:
                return
            self._timer = self._clock.call_later(script.after_s, lambda: self._ring(script))

    def _ring(self, script: ScriptedCall) -> None:
        with self._lock:
            if self._stopped:
                return
            self._timer = None
            self._next += 1
        call_id = self.line.on_incoming(
            script.caller_id, script.channel, backend_ref=f"sim-{self._next}"
        )
        with self._lock:
            self._current = (call_id, script)
            if script.abandon_after_s > 0:
                self._talk_timer = self._clock.call_later(
                    script.abandon_after_s, lambda: self._caller_leaves(call_id, ringing_only=True)
                )

    def answer(self, call: Call) -> None:
        self.actions.append(("answer", call.id))
        with self._lock:
            if self._talk_timer:
                self._talk_timer.cancel()
                self._talk_timer = None
            current = self._current
            if current and current[0] == call.id and current[1].talk_s > 0:
                self._talk_timer = self._clock.call_later(
                    current[1].talk_s, lambda: self._caller_leaves(call.id, ringing_only=False)
                )

    def current_script(self) -> ScriptedCall | None:
        """The script of the call in progress (the audio simulator reads its ``audio``)."""
        with self._lock:
            return self._current[1] if self._current else None

    def _caller_leaves(self, call_id: str, ringing_only: bool) -> None:
        from calls.model import CallState

        if self._stopped:
            return
        if ringing_only and self.line.state is not CallState.RINGING:
            return
        self.line.on_remote_hangup(call_id)

    def hangup(self, call: Call) -> None:
        self.actions.append(("hangup", call.id))
        with self._lock:
            if self._talk_timer:
                self._talk_timer.cancel()
                self._talk_timer = None

    def hold(self, call: Call, on: bool) -> None:
        self.actions.append(("hold" if on else "resume", call.id))

    def mute(self, on: bool) -> None:
        self.actions.append(("mute" if on else "unmute", ""))
