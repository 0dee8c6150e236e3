"""``faro escalate``: send a test escalation as this laptop's counselor and wait for it.

It runs as the laptop's command-line identity (``NAME.cli``: its own certificate and client
id, never the console's, and no presence on the board). Its outbox is the sealed spool in the
profile's data folder: the escalation is on disk before the first line is printed, and each
line says only what is true — ``queued`` (saved on this laptop), ``sent`` (the broker has
it), ``delivered`` (on a supervisor's screen), ``acknowledged``. The test escalation is
resolved (``test_done`` / ``test_cancelled``) before exiting, also on Ctrl+C or SIGTERM, and
the resolution — the clearing of its retained alert included — goes through the same spool:
whatever a run could not finish (killed, broker gone) the next run finishes first, after
delivering it; ``--flush`` does only that.

Exit codes (docs/escalation.md):
  0   acknowledged within --timeout, and the resolution is on the broker
      (--flush: nothing left to send)
  3   not acknowledged in time (the broker took it; it may have been delivered)
  4   undeliverable: the broker never took it (unreachable, certificate refused)
      (--flush: something could not be sent; it stays saved for the next run)
  5   acknowledged, but the resolution could not reach the broker before exiting
      (saved on this laptop; the next run or 'faro escalate --flush' sends it)
  75  another 'faro escalate' is running on this laptop
  78  escalation is not configured on this laptop
  130 interrupted (the escalation was resolved as test_cancelled, or is saved to be)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import queue
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.i18n import _, ngettext

if TYPE_CHECKING:
    from escalation.events import EscalationStateChanged

EXIT_ACKNOWLEDGED = 0
EXIT_NOT_ACKNOWLEDGED = 3
EXIT_UNDELIVERABLE = 4
EXIT_RESOLUTION_PENDING = 5
EXIT_BUSY = 75
EXIT_INTERRUPTED = 130
#: how long a run waits for its resolution to reach the broker before it exits
SETTLE_S = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    from escalation.levels import LEVELS
    from escalation.reasons import REASONS

    p = sub.add_parser(
        "escalate",
        help=_("send a test escalation to the supervisors and wait for an acknowledgement"),
    )
    p.add_argument("--level", choices=LEVELS, default="consult")
    p.add_argument("--reason", choices=REASONS, default="test")
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help=_("how long to wait for an acknowledgement (default 60)"),
    )
    p.add_argument("--json", action="store_true", help=_("print each lifecycle step as JSON"))
    p.add_argument(
        "--flush",
        action="store_true",
        help=_(
            "send only what earlier runs left (an escalation or resolution of a run "
            "that was killed or lost the broker), then exit"
        ),
    )
    p.set_defaults(func=run)


def _what() -> dict[str, str]:
    from escalation import events as ev

    return {
        ev.RAISED: _("queued on this laptop (saved, not yet sent)"),
        ev.SENT: _("sent: the broker has it"),
        ev.DELIVERED: _("delivered: on a supervisor's screen"),
        ev.ACKNOWLEDGED: _("acknowledged"),
        ev.RESOLVED: _("resolved"),
    }


@contextlib.contextmanager
def _only_run(data_dir: Path) -> Iterator[None]:
    """One ``faro escalate`` per profile: they share one identity and one spool."""
    from core.errors import FaroError

    class Busy(FaroError):
        exit_code = EXIT_BUSY

    fd = os.open(data_dir / "escalation-cli.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(_("Another 'faro escalate' is running on this laptop.")) from None
        yield
    finally:
        os.close(fd)


def _sigterm_interrupts() -> None:
    def _raise(*_a: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def run(args: argparse.Namespace) -> int:
    from escalation.headless import open_headless

    config, settings, clock, bus, paths = open_headless("counselor")
    with _only_run(paths.data_dir):
        return _run(args, config, settings, clock, bus, paths)


def _run(args, config, settings, clock, bus, paths) -> int:  # noqa: ANN001
    from escalation import events as ev
    from escalation.counselor import CounselorAgent
    from escalation.outbox import SpoolOutbox, open_spool

    outbox = SpoolOutbox(
        open_spool(paths.data_dir, settings.key_file if settings.tls else None, "cli")
    )
    events: queue.Queue = queue.Queue()
    bus.subscribe(ev.EscalationStateChanged, events.put)
    agent = CounselorAgent(config, clock, bus, outbox, settings, presence=False, strays="resolve")
    earlier = {e for e, rec in outbox.escalations.items() if rec.get("state") != ev.RESOLVED}
    _sigterm_interrupts()
    start = time.monotonic()
    esc_id: str | None = None
    reached = acknowledged = interrupted = settled = False
    by = None
    agent.start()
    try:
        left_open = len(earlier)
        for earlier_id in sorted(earlier):
            agent.known(earlier_id)
        _settle_earlier(agent, earlier)
        if args.flush:
            deadline = start + args.timeout
            while (earlier or _unsent(outbox)) and time.monotonic() < deadline:
                _drain_events(events, agent, earlier, None, 0.05)
            left = _unsent(outbox) or len(earlier)
            if left:
                print(
                    ngettext(
                        "Could not send everything earlier runs left ({n} item): it stays "
                        "saved on this laptop.",
                        "Could not send everything earlier runs left ({n} items): they stay "
                        "saved on this laptop.",
                        left,
                    ).format(n=left),
                    file=sys.stderr,
                )
                return EXIT_UNDELIVERABLE
            print(
                ngettext(
                    "Nothing left to send ({n} escalation of earlier runs ended).",
                    "Nothing left to send ({n} escalations of earlier runs ended).",
                    left_open,
                ).format(n=left_open),
                file=sys.stderr,
            )
            return EXIT_ACKNOWLEDGED
        esc_id = agent.raise_escalation(args.level, None, reason=args.reason, source="cli")
        what = _what()
        deadline = time.monotonic() + args.timeout  # from the moment it is saved
        while time.monotonic() < deadline and not acknowledged:
            for e in _drain_events(
                events, agent, earlier, esc_id, max(0.01, deadline - time.monotonic())
            ):
                t = round(time.monotonic() - start, 3)
                text = what.get(e.state, e.state)
                if e.state == ev.RAISED and esc_id in outbox.unsaved:
                    text = _(
                        "raised, but NOT saved on this laptop (the spool could not be "
                        "written): a crash now would lose it"
                    )
                if args.json:
                    print(
                        json.dumps(
                            {
                                "escalation": esc_id,
                                "state": e.state,
                                "by": e.by,
                                "t": t,
                                "what": text,
                            }
                        ),
                        flush=True,
                    )
                else:
                    extra = f"  ({e.by})" if e.by else ""
                    ident = (
                        "  " + _("escalation {id}").format(id=esc_id)
                        if e.state == ev.RAISED
                        else ""
                    )
                    print(f"{t:7.2f}s  {text}{extra}{ident}", flush=True)
                reached = reached or e.state != ev.RAISED
                if e.state == ev.ACKNOWLEDGED:
                    acknowledged, by = True, e.by
        agent.resolve(esc_id, "test_done" if acknowledged else "test_cancelled")
        settled = _settle(agent, outbox, events, earlier, reached)
    except KeyboardInterrupt:
        interrupted = True
        if esc_id is not None:
            agent.resolve(esc_id, "test_cancelled")
            settled = _settle(agent, outbox, events, earlier, True)
        print(
            _("Interrupted: the test escalation was cancelled.")
            if esc_id is None or settled
            else _(
                "Interrupted: the test escalation was cancelled (its resolution is saved on "
                "this laptop; 'faro escalate --flush' sends it)."
            ),
            file=sys.stderr,
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # let the stop and the spool's compaction end
            signal.signal(sig, signal.SIG_IGN)
        agent.stop()
        clock.stop()
        outbox.close()
    if interrupted:
        return EXIT_INTERRUPTED
    pending_note = " " + _(
        "Its resolution could not reach the broker: it is saved on this laptop and "
        "'faro escalate --flush' (or the next run) sends it."
    )
    if acknowledged:
        if not settled:
            print(_("Acknowledged by {who}.").format(who=by) + pending_note, file=sys.stderr)
            return EXIT_RESOLUTION_PENDING
        print(_("Acknowledged by {who}.").format(who=by), file=sys.stderr)
        return EXIT_ACKNOWLEDGED
    if reached:
        print(
            _("Not acknowledged within {s:g} seconds.").format(s=args.timeout)
            + ("" if settled else pending_note),
            file=sys.stderr,
        )
        return EXIT_NOT_ACKNOWLEDGED
    print(
        _("Undeliverable: the broker did not take the escalation within {s:g} seconds.").format(
            s=args.timeout
        ),
        file=sys.stderr,
    )
    return EXIT_UNDELIVERABLE


def _drain_events(
    events: queue.Queue[EscalationStateChanged],
    agent,
    earlier: set[str],  # noqa: ANN001
    esc_id: str | None,
    timeout: float,
) -> list[EscalationStateChanged]:
    """Wait up to ``timeout`` for lifecycle events; earlier runs' escalations are ended as
    soon as the broker has them; returns this run's events."""
    out: list[EscalationStateChanged] = []
    try:
        e = events.get(timeout=timeout)
    except queue.Empty:
        return out
    while True:
        if e.escalation_id == esc_id:
            out.append(e)
        elif e.escalation_id in earlier:
            _settle_earlier(agent, earlier)
        try:
            e = events.get_nowait()
        except queue.Empty:
            return out


def _settle_earlier(agent, earlier: set[str]) -> None:  # noqa: ANN001
    """End every escalation an earlier run left open, once the broker has it (so that what was
    raised is delivered, and then closed everywhere)."""
    from escalation import events as ev

    for e in sorted(earlier):
        esc = agent.escalations.get(e)
        if esc is None or not esc.open:
            earlier.discard(e)
        elif esc.state != ev.RAISED:
            print(
                _(
                    "An earlier run's escalation {id} was left open: ending it (test_cancelled)."
                ).format(id=e),
                file=sys.stderr,
            )
            agent.resolve(e, "test_cancelled")
            earlier.discard(e)


def _unsent(outbox) -> int:  # noqa: ANN001
    from escalation.outbox import CLEAR, EVENT

    return len(outbox.pending(EVENT)) + len(outbox.pending(CLEAR))


def _settle(
    agent,
    outbox,
    events: queue.Queue,
    earlier: set[str],  # noqa: ANN001
    reached: bool,
) -> bool:
    """Wait (at most SETTLE_S) until every resolution and clearing is on the broker."""
    if not reached and not agent.connected:
        return not _unsent(outbox)  # it never got out: nothing to wait for
    end = time.monotonic() + SETTLE_S
    while (_unsent(outbox) or earlier) and time.monotonic() < end:
        _drain_events(events, agent, earlier, None, 0.02)
    return not _unsent(outbox)
