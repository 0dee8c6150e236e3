"""``faro counselor``: the counselor console on this laptop's own profile."""

from __future__ import annotations

import argparse

from core.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("counselor", help=_("open the counselor console"))
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.session import Session
    from console.app import ensure_display
    from console.app import run as run_app
    from console.main_window import MainWindow

    ensure_display()
    session = Session.open()
    quit_ms = int(args.quit_after * 1000) if args.quit_after else None
    return run_app(session, lambda s: [MainWindow(s)], quit_after_ms=quit_ms)
