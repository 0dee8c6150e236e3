"""``python -m bench.vad``: every engine on every condition, one run, one report."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from audio.analyze import offline_mask, run_engine
from audio.frames import RATE
from audio.vad import FaroParams, FaroVad, make_engine, silero_available
from bench.vad import conditions as cond
from bench.vad import dataset, scoring

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "vad.md"


def engines() -> dict[str, object]:
    out = {f"webrtc{m}": (lambda m=m: make_engine(f"webrtc{m}")) for m in range(4)}
    if silero_available():
        out["silero"] = lambda: make_engine("silero")
        out["faro"] = lambda: FaroVad()
    out["faro-lite"] = lambda: FaroVad(FaroParams(use_silero=False))
    return out


def evaluate(sets, pool, condition_names, engine_factories, noise_offset: int = 0):
    rows: dict[tuple[str, str], dict] = {}
    for c in condition_names:
        ci = cond.CONDITIONS.index(c)  # noise draws depend on the condition, not on the selection
        mixed = {}
        for si, (name, conv) in enumerate(sets.items()):
            seed = noise_offset + 100 * ci + 10 * si
            mixed[name] = (
                cond.mix(c, conv.near, conv.near_truth, pool, seed + 1),
                cond.mix(c, conv.far, conv.far_truth, pool, seed + 2),
            )
        for ename, factory in engine_factories.items():
            acc = defaultdict(list)
            cpu = 0.0
            audio_s = 0.0
            for name, conv in sets.items():
                masks, onlines, n = {}, {}, min(conv.near_truth.size, conv.far_truth.size)
                results = {}
                for side, x, truth in (
                    ("near", mixed[name][0], conv.near_truth),
                    ("far", mixed[name][1], conv.far_truth),
                ):
                    eng = factory()
                    t0 = time.process_time()
                    res = run_engine(eng, x)
                    cpu += time.process_time() - t0
                    audio_s += x.size / RATE
                    results[side] = res
                    masks[side] = offline_mask(eng, res)[:n]
                    onlines[side] = res.speech[:n]
                    acc["truth"].append(truth[:n])
                    acc["pred"].append(masks[side])
                    on, off = scoring.latencies(truth[:n], res.speech[:n])
                    acc["onset"] += on
                    acc["offset"] += off
                # the metrics state machine is part of the live pipeline's cost
                t0 = time.process_time()
                found = scoring.interruptions(onlines["near"], onlines["far"])
                cpu += time.process_time() - t0
                expected = scoring.interruptions(conv.near_truth[:n], conv.far_truth[:n])
                acc["intr"].append(scoring.interruption_counts(expected, found))
                acc["dead"].append(
                    scoring.dead_air_recall(
                        conv.near_truth[:n], conv.far_truth[:n], onlines["near"], onlines["far"]
                    )
                )
                tn, tf = conv.near_truth[:n].sum(), conv.far_truth[:n].sum()
                pn, pf = masks["near"].sum(), masks["far"].sum()
                acc["ratio_err"].append(abs(pn / max(1, pn + pf) - tn / max(1, tn + tf)) * 100)
            truth = np.concatenate(acc["truth"])
            pred = np.concatenate(acc["pred"])
            tp = sum(i[0] for i in acc["intr"])
            nt = sum(i[1] for i in acc["intr"])
            nf = sum(i[2] for i in acc["intr"])
            dh = sum(d[0] for d in acc["dead"])
            dt = sum(d[1] for d in acc["dead"])
            rows[(c, ename)] = {
                "f1": scoring.f1(truth, pred),
                "fa": scoring.false_alarm(truth, pred) * 100,
                "ratio_err": float(np.mean(acc["ratio_err"])),
                "dead": dh / dt if dt else float("nan"),
                "intr_f1": 2 * tp / (nt + nf) if nt + nf else float("nan"),
                "onset": float(np.median(acc["onset"])) if acc["onset"] else float("nan"),
                "offset": float(np.median(acc["offset"])) if acc["offset"] else float("nan"),
                "cpu": cpu * 1000 / audio_s,
            }
            print(
                f"{c:>13} {ename:>10}: F1 {rows[(c, ename)]['f1']:.3f} FA {rows[(c, ename)]['fa']:.2f}% "
                f"cpu {rows[(c, ename)]['cpu']:.2f} ms/s",
                flush=True,
            )
    return rows


METRICS = [
    ("f1", "Frame F1 (10 ms grid)", "{:.3f}"),
    ("fa", "False alarms on noise-only frames (%)", "{:.2f}"),
    ("ratio_err", "Talk-ratio error (percentage points)", "{:.1f}"),
    ("dead", "Dead-air recall (mutual silences >= 3 s)", "{:.2f}"),
    ("intr_f1", "Interruption F1", "{:.2f}"),
    ("onset", "Onset latency, median (ms, live decision)", "{:.0f}"),
    ("offset", "Offset latency, median (ms, live decision)", "{:.0f}"),
    ("cpu", "CPU ms per audio second (engine; for faro also the metrics)", "{:.2f}"),
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


def write_report(rows, condition_names, engine_names, sets, notes, elapsed, path: Path) -> str:
    lines = [
        "# VAD benchmark",
        "",
        f"Generated by `/tmp/venv/bin/python -m bench.vad` in {elapsed:.0f} s on {machine_note()}. "
        "All engines ran on the same audio in one run.",
        "",
        "Data: two-channel 120 s conversations (counselor `near`, caller `far`) built from "
        + ", ".join(f"**{k}**" for k in sets)
        + " speech (espeak-ng voices es, es-419, en, en-us; "
        "asterisk-core-sounds es/en recordings of a human speaker), with ~15 % of turns starting over "
        "the other side (interruptions), ~10 % gaps of 3.5-6 s (dead air). Truth: frames within 35 dB "
        "of each clean utterance's loudest frame, inner gaps < 300 ms bridged. Noise at the stated SNR "
        "(speech power over truth frames); babble = 6 overlapping talkers from the same pool; "
        "phone = pink 10 dB, then 300-3400 Hz at 8 kHz through mu-law. "
        "`faro` = Faro's pipeline with Silero on uncertain frames at low SNR; `faro-lite` = the same "
        "without the optional extra. Reported on the held-out half of the labelled set (parameters "
        "were chosen on the other half, `--split tune`). Segment-based scores (F1, false alarms, talk ratio) use the offline segments (hang-over "
        "trimmed, as `faro vad analyze` reports); dead air, interruptions and latencies use the live "
        "decision the metrics see.",
        "",
    ]
    if notes:
        lines += ["Notes: " + "; ".join(notes), ""]
    for key, title, fmt in METRICS:
        lines += [
            f"## {title}",
            "",
            "| condition | " + " | ".join(engine_names) + " |",
            "|---|" + "---:|" * len(engine_names),
        ]
        for c in condition_names:
            cells = []
            for e in engine_names:
                v = rows[(c, e)][key]
                cells.append("n/a" if v != v else fmt.format(v))
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.vad")
    ap.add_argument("--quick", action="store_true", help="a few conditions only (for tuning)")
    ap.add_argument(
        "--split",
        choices=sorted(dataset.SPLITS),
        default="report",
        help="which half of the labelled set (parameters are chosen on 'tune')",
    )
    ap.add_argument("--conditions", help="comma-separated conditions (default: all)")
    ap.add_argument("--engines", help="comma-separated engines (default: all)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    sets, pool, notes = dataset.build_sets(split=args.split)
    names = cond.CONDITIONS
    if args.quick:
        names = ["clean", "white10", "pink5", "brown5", "babble5", "white0"]
    if args.conditions:
        names = args.conditions.split(",")
    factories = engines()
    if args.engines:
        factories = {k: v for k, v in factories.items() if k in args.engines.split(",")}
    partial = args.quick or args.conditions or args.engines or args.split != "report"
    rows = evaluate(sets, pool, names, factories, dataset.SPLITS[args.split]["noise_offset"])
    elapsed = time.monotonic() - t0
    text = write_report(rows, names, list(factories), sets, notes, elapsed, args.out)
    summary = summarize(rows, names)
    text += "\n" + summary
    if not partial:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    print(summary)
    return 0


def summarize(rows, names) -> str:
    if ("clean", "faro") not in rows:
        return ""
    out = ["## Faro's pipeline against the targets", ""]

    def get(c, k, e="faro"):
        return rows[(c, e)][k] if (c, e) in rows else float("nan")

    hi = [c for c in names if c == "clean" or c.endswith("20") or c.endswith("10")]
    five = [c for c in names if c.endswith("5") and not c.endswith("15")]
    out.append(
        f"- F1 at 10 dB and above (target >= 0.95): min {min(get(c, 'f1') for c in hi):.3f} "
        f"over {', '.join(hi)}"
    )
    if five:
        out.append(
            "- F1 at 5 dB (target >= 0.93): " + ", ".join(f"{c} {get(c, 'f1'):.3f}" for c in five)
        )
    out.append(
        f"- noise-only false alarms (target <= 1 %): max {max(get(c, 'fa') for c in names):.2f} %"
    )
    out.append(
        "- CPU (target <= 1 ms per audio second): "
        + ", ".join(f"{c} {get(c, 'cpu'):.2f}" for c in names)
    )
    out.append(
        "- faro-lite CPU: " + ", ".join(f"{c} {get(c, 'cpu', 'faro-lite'):.2f}" for c in names)
    )
    short = [c for c in hi if get(c, "f1") < 0.95] + [c for c in five if get(c, "f1") < 0.93]
    short_fa = [c for c in names if get(c, "fa") > 1.0]
    short_cpu = [c for c in names if get(c, "cpu") > 1.0]
    out += [
        "",
        "### Where it falls short (said plainly)",
        "",
        f"- F1 below target in: {', '.join(short) or 'none'}.",
        f"- False alarms above 1 % in: {', '.join(short_fa) or 'none'}.",
        f"- CPU above 1 ms per audio second in: {', '.join(short_cpu) or 'none'}.",
        "- **Babble** (six background talkers 5-10 dB below the wearer; the truth counts only the "
        "wearer, which is the product's intent) defeats every raw engine here, Silero included: babble "
        "*is* speech, so only level can separate it. Faro's babble mode switches on when a channel has "
        "been called speech almost without a break for many seconds (no turn does that), its noise "
        "frames score like speech and the floor is within 35 dB of the speaker; it then relearns the "
        "background level from the frames it rejects and keeps only frames 5 dB above it. Detection "
        "takes ~10 s, and those first seconds are false alarms; soft syllables of the wearer below "
        "the babble are lost, most at 5 dB. The demo's synthetic calls and a minute of clean or noisy "
        "human monologue never switch it on (tests/audio/test_audio_vad_babble.py).",
        "- **Silero** is now consulted only at an estimated SNR below 8 dB and only on frames whose "
        "region score lies just under the start threshold, and it can only add speech. Where it "
        "runs (0 dB) it lifts F1 by 0.01-0.05 and the pipeline then costs 1.7-2.0 ms per audio second; `faro-lite` "
        "(no extra) stays near 0.6 ms/s everywhere.",
        "- The `webrtc*` CPU column includes the per-frame Python call, level and clip computation and "
        "the metrics; the bare C library costs about 0.1 ms per audio second.",
        "- Parameters were chosen on the tuning half (`--split tune`: other utterances, layouts and "
        "noise draws); the tables above are the held-out reporting half. Human speech is one speaker "
        "(the asterisk prompts' voice) at 8 kHz; the synthetic voices are espeak-ng. Real calls with "
        "crosstalk and codecs will score lower.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
