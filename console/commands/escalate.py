"""``faro escalate``: send a test escalation as this laptop's counselor and wait for it.

Exit codes (docs/escalation.md):
  0  acknowledged by a supervisor within --timeout
  3  not acknowledged in time (the broker took it; it may have been delivered)
  4  undeliverable: the broker never took it (unreachable, certificate refused)
  78 escalation is not configured on this laptop
The test escalation is resolved (outcome ``test_done`` or ``test_cancelled``) before exiting.
"""
from __future__ import annotations

import argparse
import json
import queue
import sys
import time

from core.i18n import _

EXIT_ACKNOWLEDGED = 0
EXIT_NOT_ACKNOWLEDGED = 3
EXIT_UNDELIVERABLE = 4


def register(sub: argparse._SubParsersAction) -> None:
    from escalation.levels import LEVELS, REASONS
    p = sub.add_parser("escalate", help="send a test escalation to the supervisors and wait for "
                                        "an acknowledgement")
    p.add_argument("--level", choices=LEVELS, default="consult")
    p.add_argument("--reason", choices=REASONS, default="test")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for an acknowledgement (default 60)")
    p.add_argument("--json", action="store_true", help="print each lifecycle step as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from escalation import events as ev
    from escalation.counselor import CounselorAgent
    from escalation.headless import open_headless
    from escalation.outbox import MemoryOutbox

    config, settings, clock, bus = open_headless("counselor")
    events: queue.Queue = queue.Queue()
    bus.subscribe(ev.EscalationStateChanged, events.put)
    agent = CounselorAgent(config, clock, bus, MemoryOutbox(), settings)
    start = time.monotonic()
    deadline = start + args.timeout
    reached = acknowledged = False
    by = None
    agent.start()
    try:
        esc_id = agent.raise_escalation(args.level, None, reason=args.reason, source="cli")
        while time.monotonic() < deadline and not acknowledged:
            try:
                e = events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if e.escalation_id != esc_id:
                continue
            t = round(time.monotonic() - start, 3)
            if args.json:
                print(json.dumps({"escalation": esc_id, "state": e.state, "by": e.by, "t": t}),
                      flush=True)
            else:
                print(f"{t:7.2f}s  {e.state}{'  (' + e.by + ')' if e.by else ''}", flush=True)
            reached = reached or e.state != ev.RAISED
            if e.state == ev.ACKNOWLEDGED:
                acknowledged, by = True, e.by
        if reached:
            agent.resolve(esc_id, "test_done" if acknowledged else "test_cancelled")
            _drain(agent, 2.0)
    finally:
        agent.stop()
        clock.stop()
    if acknowledged:
        print(_("Acknowledged by {who}.").format(who=by), file=sys.stderr)
        return EXIT_ACKNOWLEDGED
    if reached:
        print(_("Not acknowledged within {s:g} seconds.").format(s=args.timeout), file=sys.stderr)
        return EXIT_NOT_ACKNOWLEDGED
    print(_("Undeliverable: the broker did not take the escalation within {s:g} seconds.")
          .format(s=args.timeout), file=sys.stderr)
    return EXIT_UNDELIVERABLE


def _drain(agent, timeout: float) -> None:  # noqa: ANN001
    from escalation.outbox import EVENT
    end = time.monotonic() + timeout
    while agent.outbox.pending(EVENT) and time.monotonic() < end and agent.connected:
        time.sleep(0.02)
