"""``faro demo``: the real console on simulated parts, in a throwaway profile.

Scripted calls ring a few seconds after the counselor is available (calls/scenarios/demo.toml);
everything else runs the production code paths. Nothing touches the real profile: the demo
keeps its config, data and logs in a temporary folder unless --home is given.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the console with simulated calls and devices")
    p.add_argument("--scenario", default="demo",
                   help="bundled scenario name or path to a scenario TOML (default: demo)")
    p.add_argument("--keep", action="store_true", help="keep the demo profile folder afterwards")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def demo_overrides(scenario: str) -> dict[str, object]:
    return {"calls.backend": "simulated", "calls.scenario": scenario,
            "identity.counselor_id": "demo-counselor"}


def run(args: argparse.Namespace) -> int:
    from console.app import ensure_display, run as run_app
    from console.main_window import MainWindow
    from core.paths import Paths
    from core.session import Session

    ensure_display()
    given = os.environ.get("FARO_HOME")
    home = Path(given) if given else Path(tempfile.mkdtemp(prefix="faro-demo-"))
    try:
        session = Session.open(Paths.under(home), overrides=demo_overrides(args.scenario))
        print(f"Faro demo: profile in {home}; a simulated call rings in a few seconds.")
        quit_ms = int(args.quit_after * 1000) if args.quit_after else None
        return run_app(session, lambda s: [MainWindow(s)], quit_after_ms=quit_ms)
    finally:
        if not given and not args.keep:
            shutil.rmtree(home, ignore_errors=True)
