"""``faro training``: practice calls through the real console (docs/training.md).

- ``faro training run SCENARIO``: the demo's console and supervisor in training mode, on
  one practice call of the bundled scenario SCENARIO (or a scenario file): the practice
  banner, the trainee's own microphone (``audio.source = "device"``) with the scenario's
  caller spoken by espeak-ng on the headset, the separate practice store, and the
  supervisor's watch open beside it. ``--no-mic``: the simulated line instead, the model
  counselor's lines as the trainee's side (no sound card). A throwaway profile, as
  ``faro demo``.
- ``faro training list``: the bundled scenarios (id, language, kind, difficulty, title).
- ``faro training check FILE...``: check scenario files; every problem with its file and
  line. Exit codes: 0 all valid, 2 a problem, 66 a file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.i18n import _

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 2, 66


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("training", help=_("practice calls in training mode"))
    actions = p.add_subparsers(dest="training_command", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run", help=_("a practice call on the demo's console, watched by the demo's supervisor")
    )
    run.add_argument("scenario", metavar="SCENARIO", help=_("a bundled scenario id or a file"))
    run.add_argument("--keep", action="store_true", help=_("keep the profile folder afterwards"))
    run.add_argument(
        "--no-mic",
        action="store_true",
        help=_("no microphone: the model counselor's lines speak for you on a simulated line"),
    )
    run.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    run.set_defaults(func=run_training)
    listing = actions.add_parser("list", help=_("the bundled practice scenarios"))
    listing.set_defaults(func=run_list)
    check = actions.add_parser("check", help=_("check scenario files (0 valid, 2 not)"))
    check.add_argument("files", metavar="FILE", nargs="+", help=_("scenario files (TOML)"))
    check.set_defaults(func=run_check)


def training_overrides(scenario: str, mic: bool = True) -> dict[str, object]:
    """Training mode on ``scenario``; ``mic``: the trainee's microphone and headset (the
    demo's simulated audio otherwise)."""
    out: dict[str, object] = {"calls.training": True, "calls.training_scenario": scenario}
    if mic:
        out["audio.source"] = "device"
    return out


def run_training(args: argparse.Namespace) -> int:
    from calls.training import load_training
    from console.commands.demo import DemoParts, run_demo

    scenario = load_training(args.scenario)  # a wrong file stops here, naming its line
    print(
        _("Practice call: {title} ({language}). Nothing of it is a real record.").format(
            title=scenario.title, language=scenario.language
        ),
        flush=True,
    )

    def shown(parts: DemoParts) -> None:
        button = getattr(parts.supervisor.window, "trainees_button", None)
        if button is not None:
            button.open_watch()

    return run_demo(
        keep=args.keep,
        quit_after_s=args.quit_after,
        overrides=training_overrides(
            str(Path(args.scenario)) if args.scenario.endswith(".toml") else scenario.id,
            mic=not args.no_mic,
        ),
        on_shown=shown,
    )


def run_list(args: argparse.Namespace) -> int:
    from calls.training import bundled_training

    for s in bundled_training().values():
        print(f"{s.id:26} {s.language:6} {s.kind:20} {s.difficulty}  {s.title}")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from calls.training import check_training

    worst = EXIT_OK
    for name in args.files:
        path = Path(name).expanduser()
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else _("not UTF-8 text")
            )
            print(
                _("{file}: cannot be read: {reason}").format(file=path, reason=reason),
                file=sys.stderr,
            )
            worst = max(worst, EXIT_UNREADABLE)
            continue
        scenario, problems = check_training(text, path.name)
        for problem in problems:
            print(problem, file=sys.stderr)
        if scenario is None:
            worst = max(worst, EXIT_INVALID)
        else:
            print(
                _("{file}: valid ({kind}, {language}, difficulty {difficulty}).").format(
                    file=path.name,
                    kind=scenario.kind,
                    language=scenario.language,
                    difficulty=scenario.difficulty,
                )
            )
    return worst
