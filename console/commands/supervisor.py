"""``faro supervisor``: the supervisor console; ``faro supervisor watch`` runs headless.

``watch`` prints one line per alert or state change (``--json``: one JSON object per line)
and, with ``--ack``, acknowledges every new escalation at once (drills). It stops on
SIGINT/SIGTERM, after ``--count`` alerts, or after ``--quit-after`` seconds.
"""
from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("supervisor", help="open the supervisor console (or 'watch' headless)")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    inner = p.add_subparsers(dest="supervisor_command", metavar="")
    w = inner.add_parser("watch", help="headless: print alerts and state changes")
    w.add_argument("--json", action="store_true", help="one JSON object per line")
    w.add_argument("--ack", action="store_true", help="acknowledge every new escalation")
    w.add_argument("--count", type=int, metavar="N", help="exit after N new alerts")
    w.add_argument("--quit-after", type=float, metavar="SECONDS", help="exit after SECONDS")
    w.set_defaults(func=run_watch)


def run(args: argparse.Namespace) -> int:
    from console.app import ensure_display, run as run_app
    from console.supervisor_window import SupervisorWindow
    from core.session import SUPERVISOR_SERVICES, Session

    ensure_display()
    session = Session.open(overrides={"escalation.role": "supervisor"},
                           services=SUPERVISOR_SERVICES)
    quit_ms = int(args.quit_after * 1000) if args.quit_after else None
    return run_app(session, lambda s: [SupervisorWindow(s)], quit_after_ms=quit_ms)


def _row(event: object, agent) -> dict | None:  # noqa: ANN001
    from core.status import StatusReport
    from escalation import events as ev
    if isinstance(event, ev.AlertShown):
        item = agent.alert(event.escalation_id)
        d = {"event": "alert", "escalation": event.escalation_id, "counselor": event.counselor,
             "level": event.level, "kind": event.kind}
        if item is not None:
            d.update(contact=item.contact, reason=item.reason, risk=item.risk,
                     call_s=item.call_s, raised_at=item.raised_at.isoformat(),
                     realert=item.realerted)
        return d
    if isinstance(event, ev.AlertUpdated):
        return {"event": "alert_state", "escalation": event.escalation_id, "state": event.state,
                "by": event.by, "realerted": event.realerted}
    if isinstance(event, ev.BoardChanged):
        return {"event": "presence", "counselor": event.counselor, "status": event.status}
    if isinstance(event, ev.CoverageAlarm):
        return {"event": "coverage", "available": event.available, "minimum": event.minimum,
                "alarm": event.alarm}
    if isinstance(event, ev.RingNotice):
        return {"event": "ring", "counselor": event.counselor, "reason": event.reason,
                "rang_s": event.rang_s}
    if isinstance(event, ev.WhisperReceived):
        return {"event": "whisper", "escalation": event.escalation_id,
                "direction": event.direction, "by": event.by}
    if isinstance(event, StatusReport) and event.component == "broker":
        return {"event": "link", "level": event.level.value, "text": event.text}
    return None


def run_watch(args: argparse.Namespace) -> int:
    from core.events import Event
    from core.i18n import _
    from escalation import events as ev
    from escalation.headless import open_headless
    from escalation.outbox import MemoryOutbox
    from escalation.supervisor import SupervisorAgent

    config, settings, clock, bus = open_headless("supervisor")
    events: queue.Queue = queue.Queue()
    bus.subscribe(Event, events.put)
    agent = SupervisorAgent(config, clock, bus, MemoryOutbox(), settings)
    stop = {"now": False}

    def _quit(*_a: object) -> None:
        stop["now"] = True
    signal.signal(signal.SIGTERM, _quit)
    signal.signal(signal.SIGINT, _quit)
    end = time.monotonic() + args.quit_after if args.quit_after else None
    alerts = 0
    agent.start()
    try:
        while not stop["now"] and (end is None or time.monotonic() < end):
            try:
                e = events.get(timeout=0.1)
            except queue.Empty:
                continue
            row = _row(e, agent)
            if row is None:
                continue
            print(json.dumps(row) if args.json else
                  "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            if isinstance(e, ev.AlertShown):
                alerts += 1
                if args.ack and e.kind == "escalation":
                    agent.acknowledge(e.escalation_id)
                if args.count and alerts >= args.count:
                    time.sleep(0.5)  # let the acknowledgement reach the broker
                    break
    except BrokenPipeError:
        pass
    finally:
        agent.stop()
        clock.stop()
    return 0
