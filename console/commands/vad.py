"""``faro vad analyze FILE.wav [--engine NAME] [--json]``: speech segments and call-health
figures of a recording, for supervisors reviewing consented training recordings.

A mono file is the counselor (``near``); a stereo file is left ``near`` (counselor) and right
``far`` (caller). Everything runs locally; nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import FaroError
from core.i18n import _, ngettext


class VadUsageError(FaroError):
    exit_code = 64  # EX_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vad", help=_("voice activity tools (analyze a recording)"))
    vsub = p.add_subparsers(dest="vad_command", metavar="ACTION")
    a = vsub.add_parser("analyze", help=_("speech segments and call-health figures of a WAV file"))
    a.add_argument("file", type=Path, metavar="FILE.wav")
    a.add_argument(
        "--engine",
        default="faro",
        help=_("faro (default), webrtc0..webrtc3, or silero (optional extra)"),
    )
    a.add_argument("--json", action="store_true", help=_("print one JSON object"))
    a.set_defaults(func=run)
    p.set_defaults(func=_usage(p))


def _usage(parser: argparse.ArgumentParser):
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def run(args: argparse.Namespace) -> int:
    from audio.analyze import analyze
    from audio.vad import ENGINE_NAMES
    from audio.wavread import read_wav

    if args.engine not in ENGINE_NAMES:
        raise VadUsageError(
            _("Unknown engine {engine}; choose one of: {engines}.").format(
                engine=repr(args.engine), engines=", ".join(ENGINE_NAMES)
            )
        )
    data, rate = read_wav(args.file)
    if data.shape[1] > 2:
        raise VadUsageError(
            _("{file} has {n} channels; give a mono or stereo file.").format(
                file=args.file, n=data.shape[1]
            )
        )
    channels = {"near": data[:, 0]}
    if data.shape[1] == 2:
        channels["far"] = data[:, 1]
    result = analyze(channels, rate, args.engine)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        _("{file}: {seconds} s at {rate} Hz, engine {engine}").format(
            file=args.file.name,
            seconds=f"{result['duration_s']:.2f}",
            rate=rate,
            engine=result["engine"],
        )
    )
    for name, ch in result["channels"].items():
        who = _("counselor") if name == "near" else _("caller")
        n = len(ch["segments"])
        speech = ngettext(
            "{seconds} s of speech in {n} segment", "{seconds} s of speech in {n} segments", n
        ).format(seconds=f"{ch['talk_s']:.2f}", n=n)
        print(f"  {name} ({who}): {speech}")
        for a, b in ch["segments"]:
            print(f"    {a:8.2f} - {b:8.2f}")
    m = result["metrics"]
    print("  " + _("metrics:"))
    for key, value in m.items():
        if key != "prompts":
            print(f"    {key}: {value}")
    for p in m["prompts"]:
        print(
            "    "
            + _("at {seconds} s: {event}").format(seconds=f"{p['t_s']:.2f}", event=p["event"])
            + "".join(f" {k}={v}" for k, v in p.items() if k not in ("t_s", "event"))
        )
    return 0
