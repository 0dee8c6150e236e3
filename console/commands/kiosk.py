"""``faro kiosk``: the counselor console, and nothing else, for as long as the session lasts.

The kiosk session (packaging/kiosk/, docs/kiosk.md) runs ``cage -- faro kiosk``: the cage
compositor shows one application full screen, with no desktop, panel or terminal, and the
session ends when that application ends. So this command never ends by itself: it runs
``faro counselor`` as its child and starts it again whenever it exits, whatever the reason
(a crash, a kill, the window closed), after a pause that doubles from 1 s to 30 s while the
console keeps dying within 10 s of starting (and is 1 s again once it ran longer). Each
restart is logged with its exit status, never with anything the console showed.

It ends only when it is told to (SIGTERM or SIGHUP: the session is closing, the laptop shuts
down): it stops the console with SIGTERM, waits up to 10 s for it to save and lock, and
exits. The console dies with it even on SIGKILL (core/children.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time

from core.i18n import _

log = logging.getLogger(__name__)

FIRST_PAUSE_S, MAX_PAUSE_S, HEALTHY_S = 1.0, 30.0, 10.0
STOP_WAIT_S = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kiosk", help=_("run the counselor console for the kiosk session, restarting it")
    )
    p.add_argument("--command", help=argparse.SUPPRESS)  # tests: a JSON argv instead
    p.add_argument("--max-starts", type=int, help=argparse.SUPPRESS)  # tests: then exit
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core import children, logs
    from core.paths import Paths

    if not logging.getLogger().handlers:
        logs.configure(Paths.default().ensure().log_dir)
    argv = (
        json.loads(args.command)
        if args.command
        else [sys.executable, "-m", "console.cli", "counselor"]
    )
    stopping = threading.Event()
    child = None

    def stop(signum: int, _frame: object) -> None:
        log.info("kiosk: signal %d: stopping the console", signum)
        stopping.set()
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    signal.signal(signal.SIGINT, stop)
    pause, starts = FIRST_PAUSE_S, 0
    while not stopping.is_set():
        starts += 1
        began = time.monotonic()
        child = children.spawn(argv)
        rc = child.wait()
        ran = time.monotonic() - began
        if stopping.is_set():
            break
        log.warning(
            "kiosk: the console exited (status %s) after %.0f s; starting it again", rc, ran
        )
        if args.max_starts is not None and starts >= args.max_starts:
            return 0
        if ran >= HEALTHY_S:  # it had been working: this is not a crash loop
            pause = FIRST_PAUSE_S
        stopping.wait(pause)
        pause = min(pause * 2, MAX_PAUSE_S)
    if child is not None and child.poll() is None:
        children.stop(child, STOP_WAIT_S)
    log.info("kiosk: stopped")
    return 0
