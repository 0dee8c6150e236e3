"""``faro supervisor``: the supervisor console; ``watch`` runs headless; ``stale`` is for IT.

``watch`` prints one line per alert or state change (``--json``: one JSON object per line)
and, with ``--ack``, acknowledges every new escalation at once (drills). It stops on
SIGINT/SIGTERM, after ``--count`` alerts, or after ``--quit-after`` seconds. Like every
command-line tool it connects as the laptop's NAME.cli identity, next to the console.

``stale [--clear] [--older-than MINUTES] [--json] [ESCALATION ...]`` lists what is retained on
the broker (alerts, re-alerts, acknowledgements) and which of it is stale: an acknowledgement
or re-alert without its alert, or an alert whose counselor has been offline (or never had a
console) since longer than --older-than (default 10 minutes) after it was raised; named
escalations are stale by definition. ``--clear`` resolves them (outcome ``cleared_stale``,
so running consoles close them) and empties them. Exit codes:
  0   nothing stale (list) / everything stale cleared
  3   stale entries found (list only)
  4   the broker could not be reached, or did not answer every clear in time
  77  the broker refused to clear something: this certificate is not an IT identity
      ('faro certs acl --it NAME'); supervisors may only clear acknowledgements
  78  escalation not configured
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import queue
import signal
import sys
import time

from core.i18n import _, ngettext

EXIT_STALE_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_REFUSED = 77


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("supervisor", help=_("open the supervisor console (or 'watch' headless)"))
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    inner = p.add_subparsers(dest="supervisor_command", metavar="")
    w = inner.add_parser("watch", help=_("headless: print alerts and state changes"))
    w.add_argument("--json", action="store_true", help=_("one JSON object per line"))
    w.add_argument("--ack", action="store_true", help=_("acknowledge every new escalation"))
    w.add_argument("--count", type=int, metavar="N", help=_("exit after N new alerts"))
    w.add_argument("--quit-after", type=float, metavar="SECONDS", help=_("exit after SECONDS"))
    w.set_defaults(func=run_watch)
    st = inner.add_parser(
        "stale", help=_("IT: list, and with --clear clear, escalations left on the broker")
    )
    st.add_argument(
        "ids", nargs="*", metavar="ESCALATION", help=_("clear exactly these (whatever their state)")
    )
    st.add_argument("--list", action="store_true", help=_("only list (the default)"))
    st.add_argument("--clear", action="store_true", help=_("resolve and clear the stale ones"))
    st.add_argument(
        "--older-than",
        type=float,
        default=10.0,
        metavar="MINUTES",
        help=_("an offline counselor's alert is stale this long after it was raised (default 10)"),
    )
    st.add_argument("--json", action="store_true", help=_("one JSON object per line"))
    st.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    st.set_defaults(func=run_stale)


def run(args: argparse.Namespace) -> int:
    from app.session import SUPERVISOR_SERVICES, Session
    from console.app import ensure_display
    from console.app import run as run_app
    from console.supervisor_window import SupervisorWindow

    ensure_display()
    session = Session.open(
        overrides={"escalation.role": "supervisor"}, services=SUPERVISOR_SERVICES
    )
    quit_ms = int(args.quit_after * 1000) if args.quit_after else None
    return run_app(session, lambda s: [SupervisorWindow(s)], quit_after_ms=quit_ms)


def _row(event: object, agent) -> dict | None:  # noqa: ANN001
    from core.status import StatusReport
    from escalation import events as ev

    if isinstance(event, ev.AlertShown):
        item = agent.alert(event.escalation_id)
        d = {
            "event": "alert",
            "escalation": event.escalation_id,
            "counselor": event.counselor,
            "level": event.level,
            "kind": event.kind,
        }
        if item is not None:
            d.update(
                contact=item.contact,
                reason=item.reason,
                risk=item.risk,
                call_s=item.call_s,
                raised_at=item.raised_at.isoformat(),
                realert=item.realerted,
            )
        return d
    if isinstance(event, ev.AlertUpdated):
        return {
            "event": "alert_state",
            "escalation": event.escalation_id,
            "state": event.state,
            "by": event.by,
            "realerted": event.realerted,
        }
    if isinstance(event, ev.BoardChanged):
        return {"event": "presence", "counselor": event.counselor, "status": event.status}
    if isinstance(event, ev.CoverageAlarm):
        return {
            "event": "coverage",
            "available": event.available,
            "minimum": event.minimum,
            "alarm": event.alarm,
        }
    if isinstance(event, ev.RingNotice):
        return {
            "event": "ring",
            "counselor": event.counselor,
            "reason": event.reason,
            "rang_s": event.rang_s,
        }
    if isinstance(event, ev.WhisperReceived):
        return {
            "event": "whisper",
            "escalation": event.escalation_id,
            "direction": event.direction,
            "by": event.by,
        }
    if isinstance(event, StatusReport) and event.component == "broker":
        return {"event": "link", "level": event.level.value, "text": event.text}
    return None


def run_watch(args: argparse.Namespace) -> int:
    from core.events import Event
    from escalation import events as ev
    from escalation.headless import open_headless
    from escalation.outbox import MemoryOutbox
    from escalation.supervisor import SupervisorAgent

    config, settings, clock, bus, _paths = open_headless("supervisor")
    # a drill watcher keeps no session: the broker must not queue a week of alerts for it
    settings = dataclasses.replace(settings, session_expiry=0)
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
            print(
                json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()),
                flush=True,
            )
            if isinstance(e, ev.AlertShown):
                alerts += 1
                if args.ack and e.kind == "escalation":
                    agent.acknowledge(e.escalation_id)
                if args.count and alerts >= args.count:
                    _replies_out(agent, 2.0)
                    break
    except BrokenPipeError:
        pass
    finally:
        agent.stop()
        clock.stop()
    return 0


def _replies_out(agent, timeout: float) -> None:  # noqa: ANN001
    """Wait (bounded) until the broker has taken this watcher's acknowledgements."""
    from escalation.outbox import REPLY

    end = time.monotonic() + timeout
    while agent.outbox.pending(REPLY) and agent.connected and time.monotonic() < end:
        time.sleep(0.02)


def run_stale(args: argparse.Namespace) -> int:
    from escalation.headless import open_headless
    from escalation.stale import StaleSurvey

    _config, settings, clock, _bus, _paths = open_headless("supervisor")
    survey = StaleSurvey(settings, clock)
    try:
        if not survey.collect(args.timeout):
            print(
                _("The broker could not be reached within {s:g} seconds.").format(s=args.timeout),
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        entries = survey.classify(args.older_than * 60.0, set(args.ids) if args.ids else None)
        now = clock.now()
        for e in entries:
            row = e.row(now)
            if args.json:
                print(json.dumps({"event": "retained", **row}), flush=True)
            else:
                age = "-" if row["age_min"] is None else row["age_min"]
                # Translators: a column 5 characters wide.
                state = _("STALE") if e.stale else _("open")
                print(
                    f"{state:<5}  {e.escalation}  {e.counselor}  {row['level'] or '-'}  "
                    + _("{age} min  ack: {by}  ({why})").format(
                        age=age, by=e.ack_by or "-", why=_(e.why) if e.why else ""
                    ),
                    flush=True,
                )
        stale = [e for e in entries if e.stale]
        if not args.clear:
            if not args.json:
                print(
                    ngettext(
                        "{n} stale of {total} retained.",
                        "{n} stale of {total} retained.",
                        len(entries),
                    ).format(n=len(stale), total=len(entries)),
                    file=sys.stderr,
                )
            return EXIT_STALE_FOUND if stale else 0
        cleared, refused, unanswered = survey.clear(stale, args.timeout)
        if args.json:
            print(
                json.dumps(
                    {
                        "event": "cleared",
                        "cleared": cleared,
                        "refused": refused,
                        "unanswered": unanswered,
                    }
                ),
                flush=True,
            )
        else:
            print(
                ngettext(
                    "Cleared {n} retained message of {k} stale escalations.",
                    "Cleared {n} retained messages of {k} stale escalations.",
                    cleared,
                ).format(n=cleared, k=len(stale)),
                file=sys.stderr,
            )
        if refused:
            print(
                ngettext(
                    "The broker refused {n} of them: this certificate ({who}) may not clear "
                    "it (an IT identity is listed with 'faro certs acl --it NAME').",
                    "The broker refused {n} of them: this certificate ({who}) may not clear "
                    "them (an IT identity is listed with 'faro certs acl --it NAME').",
                    len(refused),
                ).format(n=len(refused), who=settings.identity),
                file=sys.stderr,
            )
            return EXIT_REFUSED
        return EXIT_UNREACHABLE if unanswered else 0
    finally:
        survey.close()
        clock.stop()
