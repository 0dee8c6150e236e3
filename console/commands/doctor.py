"""``faro doctor [--json] [--bundle FILE]``: the laptop's posture and health, for IT staff.

Runs as the counselor's account (what it checks is what the console can do), needs no
passphrase and changes nothing. Each check is ok / warn / fail (or skip: not set up here)
with one line of advice; the exit code is the worst: 0 ok, 1 warning, 2 failure (the
monitoring-plugin convention). ``--bundle FILE`` also writes a support bundle with no
personal data (app/doctor/bundle.py). docs/doctor.md lists the checks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.i18n import _

MARKS = {"ok": "✓", "skip": "–", "warn": "!", "fail": "✗"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor", help=_("check this laptop's security posture and devices (for IT staff)")
    )
    p.add_argument("--json", action="store_true", help=_("the report as one JSON object"))
    p.add_argument(
        "--bundle",
        metavar="FILE",
        help=_("also write a support bundle (.tar.gz, no personal data) to FILE"),
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help=_("how long to wait for the broker, the SIP server and the chat server (default 5 s)"),
    )
    p.set_defaults(func=run)


def _labels() -> dict[str, str]:
    return {"ok": _("ok"), "skip": _("skip"), "warn": _("warn"), "fail": _("FAIL")}


def run(args: argparse.Namespace) -> int:
    from app.doctor import Context, run_checks
    from app.doctor.bundle import write_bundle
    from core.config import Config
    from core.paths import Paths

    paths = Paths.default()
    config = Config.load(paths.config_file)
    ctx = Context(config, paths, network_timeout_s=max(0.5, args.timeout))
    report = run_checks(ctx)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        labels = _labels()
        width = max((len(c.title) for c in report.checks), default=10)
        for c in report.checks:
            s = c.status.value
            print(f"{MARKS[s]} {labels[s]:<5} {c.title:<{width}}  {c.summary}")
            if c.advice and s in ("warn", "fail"):
                print(f"  {'':<5} {'':<{width}}  → {c.advice}")
    if args.bundle:
        target = Path(args.bundle).expanduser()
        try:
            write_bundle(ctx, report, target)
        except OSError as exc:
            print(
                _("faro doctor: cannot write the bundle {path}: {reason}").format(
                    path=target, reason=exc.strerror or type(exc).__name__
                ),
                file=sys.stderr,
            )
            return max(report.exit_code, 2)
        print(_("Support bundle written to {path}.").format(path=target), file=sys.stderr)
    return report.exit_code
