"""A counselor app for the escalation fault tests, run as its own process.

    python -m tests.support.escalation_apps HOME [--answer] [--raise LEVEL] [--locked]
                                                 [--source button_box]

Opens a real Session from HOME (faro.toml written by the test): the encrypted store is
created or unlocked (test passphrase) — with ``--locked`` it is created if needed and left
locked, as on a console nobody has unlocked yet —, every service starts, then it optionally
answers a call and escalates through the call machine, exactly as the window's button (or,
with ``--source button_box``, the box's long press on Help) does. It
prints ``READY``, then ``STATE <id> <state> <by>`` per lifecycle step and ``FALLBACK <id>``,
and runs until killed or its stdin closes.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

PASS = "correct horse battery"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("home")
    p.add_argument("--answer", action="store_true")
    p.add_argument("--raise", dest="level")
    p.add_argument("--locked", action="store_true")
    p.add_argument("--source", default="keyboard")
    args = p.parse_args()

    from app.session import Session
    from calls.model import Action, Command, Source
    from core.paths import Paths
    from escalation import events as ev

    session = Session.open(Paths.under(Path(args.home)))
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            print(line, flush=True)

    def on_state(e: ev.EscalationStateChanged) -> None:
        say(f"STATE {e.escalation_id} {e.state} {e.by or '-'}")

    def on_fallback(e: ev.FallbackNumberDue) -> None:
        say(f"FALLBACK {e.escalation_id} {e.number}")

    session.bus.subscribe(ev.EscalationStateChanged, on_state)
    session.bus.subscribe(ev.FallbackNumberDue, on_fallback)
    store = session.service("store")
    if not store.is_initialised():
        store.init(PASS)
        if args.locked:
            store.lock()
    elif not args.locked:
        store.unlock(PASS)
    session.start()
    if args.answer:
        session.calls.handle(Command(Action.ANSWER, Source.UI))
    say("READY")
    if args.level:
        session.calls.handle(Command(Action.ESCALATE, Source(args.source), level=args.level))
        say("RAISED")
    try:
        sys.stdin.read()
    finally:
        session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())


def start_connected(*sessions, timeout: float = 15) -> None:
    """Start the sessions and wait until every one's escalation link is up (the broker
    fixture's)."""
    from tests.support.toolkit import wait_until

    for s in sessions:
        s.start()
    wait_until(
        lambda: all(s.service("escalation").connected for s in sessions),
        timeout=timeout,
        what="connected",
    )
