"""``python -m bench.vad``: every engine on every condition, one run, one report."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from audio.analyze import offline_mask, run_engine
from audio.frames import RATE
from audio.vad import FaroParams, FaroVad, VadEngine, make_engine, silero_available
from bench.vad import conditions as cond
from bench.vad import dataset, scoring

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "vad.md"


def engines() -> dict[str, Callable[..., VadEngine]]:
    """Engine factories, each called with ``side`` ("near" or "far") as the service does."""
    out: dict[str, Callable[..., VadEngine]] = {
        f"webrtc{m}": partial(make_engine, f"webrtc{m}") for m in range(4)
    }
    if silero_available():
        out["silero"] = partial(make_engine, "silero")
        out["faro"] = partial(make_engine, "faro")
    out["faro-lite"] = partial(FaroVad, FaroParams(use_silero=False))
    return out


class Results:
    """Counts per (condition, engine): one row per conversation, one per scored channel."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
        self.channels: dict[tuple[str, str, str], list[np.ndarray]] = defaultdict(list)
        self.cpu: dict[tuple[str, str], float] = defaultdict(float)
        self.audio_s: dict[tuple[str, str], float] = defaultdict(float)

    def table(self, c: str, e: str) -> np.ndarray:
        return np.array(self.rows[(c, e)])


def evaluate(data: dataset.LabelledSet, names, factories, noise_offset: int = 0) -> Results:
    ctx = cond.Context(data.pools, data.music)
    res = Results()
    order = list(cond.CONDITIONS)
    for c in names:
        ci = order.index(c)  # noise draws depend on the condition, not on the selection
        for si, conv in enumerate(data.conversations):
            scene = cond.render(c, conv, ctx, noise_offset + 1000 * ci + si)
            n = min(scene.near_truth.size, scene.far_truth.size)
            for ename, factory in factories.items():
                masks = {}
                for side, x in (("near", scene.near), ("far", scene.far)):
                    eng = factory(side=side)
                    t0 = time.process_time()
                    out = run_engine(eng, x)
                    res.cpu[(c, ename)] += time.process_time() - t0
                    res.audio_s[(c, ename)] += x.size / RATE
                    masks[side] = offline_mask(eng, out)[:n]
                nt, ft = scene.near_truth[:n], scene.far_truth[:n]
                res.rows[(c, ename)].append(
                    scoring.conversation_counts(
                        nt, ft, masks["near"], masks["far"], scene.utterances
                    )
                )
                # leave-one-voice-out: each channel scored alone, filed under its speaker
                for side, voice, t in (("near", conv.near_voice, nt), ("far", conv.far_voice, ft)):
                    z = np.zeros_like(t)
                    own = [u for u in scene.utterances if u[0] == side]
                    args = (t, z, masks[side], z) if side == "near" else (z, t, z, masks[side])
                    res.channels[(c, ename, voice)].append(scoring.conversation_counts(*args, own))
            print(f"{c:>13} {si + 1}/{len(data.conversations)}", end="\r", flush=True)
        line = " ".join(
            f"{e} {scoring.estimate(res.table(c, e), 'f1', 0)[0]:.3f}" for e in factories
        )
        print(f"{c:>13} F1: {line}", flush=True)
    return res


def cpu_ms(res: Results, c: str, e: str) -> float:
    """CPU ms per second of call (two channels)."""
    return 2000 * res.cpu[(c, e)] / max(1e-9, res.audio_s[(c, e)])


def fmt_ci(v: tuple[float, float, float], f: str) -> str:
    value, lo, hi = v
    if value != value:
        return "n/a"
    if lo != lo:
        return f.format(value)
    return f"{f.format(value)} [{f.format(lo)}, {f.format(hi)}]"


TABLES = [
    ("f1", "Frame F1 (10 ms grid)", "{:.3f}", None),
    ("recall", "Recall (speech frames detected)", "{:.3f}", None),
    ("far_recall", "Caller-channel recall", "{:.3f}", ("quiet20", "quiet30", "twospk")),
    ("fa", "False alarms on non-speech frames (%)", "{:.2f}", None),
    ("missed", "Utterances missed (< 50 % of frames detected, %)", "{:.1f}", None),
    ("ratio_err", "Talk-ratio error (percentage points)", "{:.1f}", None),
    ("near_fa", "Counselor's silences counted as the counselor speaking (%)", "{:.1f}", cond.HOME),
]


def machine_note() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def code_note() -> str:
    """Which pipeline was measured: the commit, and whether audio/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "audio"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "code version unknown"
    return f"commit {head or '?'}" + (" with uncommitted changes in audio/" if dirty else "")


def targets(res: Results, names, engine_names) -> list[str]:
    if "faro" not in engine_names or "silero" not in engine_names:
        return ["(targets need both `faro` and `silero` in the run)"]

    def v(c, m, e="faro"):
        return scoring.estimate(res.table(c, e), m, 0)[0]

    def mark(ok):
        return "**met**" if ok else "**not met**"

    out = ["| target (Faro's pipeline, report voices) | result | |", "|---|---|---|"]
    short = [
        f"{c} {v(c, 'f1'):.3f} vs {v(c, 'f1', 'silero'):.3f}"
        for c in names
        if v(c, "f1") < v(c, "f1", "silero") - 0.01
    ]
    out.append(
        f"| F1 within 0.01 of Silero or better, every condition | "
        f"{len(names) - len(short)} of {len(names)} conditions"
        + (f"; short: {', '.join(short)}" if short else "")
        + f" | {mark(not short)} |"
    )
    home = [c for c in ("home15", "home25", "tv15") if c in names]
    if home:
        vals = {c: v(c, "near_fa") for c in home}
        out.append(
            "| false alarms on home background 15-25 dB below the wearer <= 5 % | "
            + ", ".join(f"{c} {x:.1f} %" for c, x in vals.items())
            + f" | {mark(all(x <= 5 for x in vals.values()))} |"
        )
    if "quiet20" in names:
        r = v("quiet20", "far_recall")
        out.append(
            f"| quiet caller at -20 dB: caller recall >= 0.95 | {r:.3f} | {mark(r >= 0.95)} |"
        )
    s_cpu = sum(res.cpu[(c, "silero")] for c in names)
    f_cpu = sum(res.cpu[(c, "faro")] for c in names)
    worst = min(names, key=lambda c: res.cpu[(c, "silero")] / max(1e-9, res.cpu[(c, "faro")]))
    ratio = s_cpu / max(1e-9, f_cpu)
    wr = res.cpu[(worst, "silero")] / max(1e-9, res.cpu[(worst, "faro")])
    out.append(
        f"| CPU for two channels at least 3x below Silero | {ratio:.1f}x over the run "
        f"({2000 * f_cpu / sum(res.audio_s[(c, 'faro')] for c in names):.2f} vs "
        f"{2000 * s_cpu / sum(res.audio_s[(c, 'silero')] for c in names):.2f} ms per call second); "
        f"worst {worst} {wr:.1f}x | {mark(ratio >= 3 and wr >= 3)} |"
    )
    return out


def voice_table(data: dataset.LabelledSet) -> list[str]:
    out = [
        "| voice | language | sex | source (Debian) | speaker | utterances | split |",
        "|---|---|---|---|---|---:|---|",
    ]
    counts = dict(data.counts)
    if data.split != "tune":  # counting tune voices for the table never feeds a tuning run
        counts.update({v.id: len(dataset.load_voice(v)) for v in dataset.VOICES})
    for v in dataset.VOICES:
        n = counts.get(v.id)
        out.append(
            f"| {v.id} | {v.language} | {v.sex} | {v.source} | {v.speaker} | "
            f"{'-' if n is None else n} | {v.split} |"
        )
    out.append(
        f"| espeak-ng x{len(dataset.ESPEAK)} | es, en | synthetic | espeak-ng | - | "
        f"{len(dataset.SENTENCES['en'])} each | tune only |"
    )
    return out


def loo_table(res: Results, names, engine_names, voices) -> list[str]:
    out = [
        "| held-out voice | " + " | ".join(engine_names) + " |",
        "|---|" + "---:|" * len(engine_names),
    ]
    for v in voices:
        cells = []
        for e in engine_names:
            rows = [r for c in names for r in res.channels.get((c, e, v), [])]
            cells.append(
                fmt_ci(scoring.estimate(np.array(rows), "f1"), "{:.3f}") if rows else "n/a"
            )
        out.append(f"| {v} | " + " | ".join(cells) + " |")
    return out


def write_report(res, data, names, engine_names, elapsed, split) -> str:
    convs = data.conversations
    lines = [
        "# VAD benchmark",
        "",
        f"Generated by `.venv/bin/python -m bench.vad` (split `{split}`) in {elapsed:.0f} s on "
        f"{machine_note()}, {code_note()}. All engines ran on the same audio in one run.",
        "",
        "## Targets",
        "",
        *targets(res, names, engine_names),
        "",
        "## Data and split",
        "",
        f"{len(convs)} two-channel conversations of {dataset.LENGTH_S:.0f} s (counselor `near`, "
        "caller `far`), each of two different real voices of the split (each voice counselor and "
        "caller equally often, each time with a different partner); turns alternate, ~15 % start "
        "over the other side, ~10 % leave 3.5-6 s of dead air. Utterances are trimmed and set to "
        f"{dataset.SPEECH_DBFS:.0f} dBFS active level, then +-4 dB. Truth: frames within 35 dB of "
        "each clean utterance's loudest frame, inner gaps < 300 ms bridged; only the wearer (near) "
        "and the caller's line (far) count, never background talkers or echo. Voices are split by "
        "speaker: `--split tune` loads only tune voices (plus espeak-ng), and every number below "
        "comes from report voices never used for tuning. Background talkers are always other "
        "voices of the same split than the conversation's two speakers.",
        "",
        *voice_table(data),
        "",
        "Conditions (bench/vad/conditions.py; every channel also gets white self-noise at "
        f"{cond.FLOOR_DBFS:.0f} dBFS): `clean`; `white/pink/brown` 10/5/0 dB SNR on both channels; "
        "`quiet20/30` the caller's speech 20/30 dB below normal (about -46/-56 dBFS), line noise "
        "unchanged; `home10/15/25` 4-6 real talkers of other voices on the counselor's mic, "
        "10/15/25 dB below the wearer; `tv15` music (asterisk music on hold) plus one other voice, "
        "15 dB below the wearer; `twospk` a second real voice on the caller's line every 6-14 s, "
        "0-10 dB below the caller (counted as caller-side speech); `echo` the far side in the near "
        "mic, 30-80 ms late and 20-30 dB down; `phone_pink10` pink 10 dB, then 300-3400 Hz at "
        "8 kHz through mu-law.",
        "",
        "Scores pool both channels of all conversations; segment scores use the offline segments "
        "(hang-over trimmed, as `faro vad analyze` reports). Brackets: 95 % bootstrap intervals "
        "over conversations (1000 resamples, seeded). `faro` = Faro's pipeline with Silero on "
        "uncertain frames; `faro-lite` = without the optional extra.",
        "",
    ]
    if data.notes:
        lines += ["Notes: " + "; ".join(data.notes), ""]
    for key, title, f, only in TABLES:
        cs = [c for c in names if only is None or c in only]
        if not cs:
            continue
        lines += [
            f"## {title}",
            "",
            "| condition | " + " | ".join(engine_names) + " |",
            "|---|" + "---:|" * len(engine_names),
        ]
        for c in cs:
            cells = [fmt_ci(scoring.estimate(res.table(c, e), key), f) for e in engine_names]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## CPU ms per second of call (two channels), and Silero's CPU over the engine's",
        "",
        "| condition | " + " | ".join(engine_names) + " |",
        "|---|" + "---:|" * len(engine_names),
    ]
    for c in names:
        cells = []
        for e in engine_names:
            cell = f"{cpu_ms(res, c, e):.2f}"
            if "silero" in engine_names and e != "silero":
                cell += f" ({res.cpu[(c, 'silero')] / max(1e-9, res.cpu[(c, e)]):.1f}x)"
            cells.append(cell)
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Leave one voice out: F1 per held-out voice, its own channels, all conditions pooled",
        "",
        *loo_table(res, names, engine_names, sorted({conv.near_voice for conv in convs})),
        "",
    ]
    return "\n".join(lines)


READING = "## Reading (written by hand, not by the generator)"


def kept_reading(out: Path) -> str:
    """The hand-written reading at the end of an earlier report, kept across a rerun."""
    try:
        before = out.read_text(encoding="utf-8")
    except OSError:
        return ""
    at = before.find(READING)
    return "" if at < 0 else "\n" + before[at:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.vad")
    ap.add_argument("--quick", action="store_true", help="fewer conversations and conditions")
    ap.add_argument(
        "--split",
        choices=sorted(dataset.SPLITS),
        default="report",
        help="voices: 'tune' (parameters are chosen here), 'report' (held-out voices), "
        "'loo' (report voices, one held out at a time, pooled)",
    )
    ap.add_argument("--conditions", help="comma-separated conditions (default: all)")
    ap.add_argument("--engines", help="comma-separated engines (default: all)")
    ap.add_argument(
        "--out", type=Path, help=f"write the report here (default {RESULTS}, full runs only)"
    )
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    data = dataset.build_sets(split=args.split, quick=args.quick)
    names = list(cond.CONDITIONS)
    if args.quick:
        names = list(cond.QUICK)
    if args.conditions:
        names = args.conditions.split(",")
        unknown = [c for c in names if c not in cond.CONDITIONS]
        if unknown:
            ap.error(f"unknown conditions {unknown}; known: {', '.join(cond.CONDITIONS)}")
    factories = engines()
    if args.engines:
        factories = {k: v for k, v in factories.items() if k in args.engines.split(",")}
    partial = args.quick or args.conditions or args.engines or args.split != "report"
    res = evaluate(data, names, factories, dataset.SPLITS[args.split]["noise_offset"])
    elapsed = time.monotonic() - t0
    text = write_report(res, data, names, list(factories), elapsed, args.split)
    out = args.out or (None if partial else RESULTS)
    if out is not None:
        out.write_text(text + kept_reading(out), encoding="utf-8")
        print(f"wrote {out}")
    if partial:
        print("\n".join(targets(res, names, list(factories))))
        if args.split == "loo":
            print("\n".join(loo_table(res, names, list(factories), list(data.pools))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
