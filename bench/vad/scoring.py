"""Scores of one engine on one condition."""

from __future__ import annotations

import warnings

import numpy as np

from audio.analyze import health_figures
from audio.metrics import results_stub
from audio.segments import runs


def f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    fn = int(np.count_nonzero(truth & ~pred))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def false_alarm(truth: np.ndarray, pred: np.ndarray, margin: int = 10) -> float:
    """Share of noise-only frames (at least 100 ms from any speech) called speech."""
    near = np.convolve(truth.astype(np.int8), np.ones(2 * margin + 1, np.int8), "same") > 0
    noise_only = ~near
    return float(np.count_nonzero(pred & noise_only) / max(1, int(np.count_nonzero(noise_only))))


def dead_air_recall(
    near_t, far_t, near_p, far_p, min_frames: int = 300, slack: int = 100
) -> tuple[int, int]:
    """Truth mutual silences of 3 s or more that the engine also sees (all but 1 s of them)."""
    truth_quiet = ~(near_t | far_t)
    pred_quiet = ~(near_p | far_p)
    hits = total = 0
    for a, b in runs(truth_quiet):
        if b - a < min_frames:
            continue
        total += 1
        inner = runs(pred_quiet[a:b])
        if inner and max(e - s for s, e in inner) >= (b - a) - slack:
            hits += 1
    return hits, total


def interruptions(near: np.ndarray, far: np.ndarray) -> list[tuple[float, str]]:
    _, prompts = health_figures(results_stub(near), results_stub(far))
    return [(p["t_s"], p["who"]) for p in prompts if p["event"] == "Interruption"]


def interruption_counts(truth: list, found: list, tol: float = 1.0) -> tuple[int, int, int]:
    """(matched, truth count, found count); matching by who and time within ``tol``."""
    used = set()
    tp = 0
    for t, who in truth:
        for j, (u, w) in enumerate(found):
            if j not in used and w == who and abs(u - t) <= tol:
                used.add(j)
                tp += 1
                break
    return tp, len(truth), len(found)


def latencies(truth: np.ndarray, online: np.ndarray) -> tuple[list[float], list[float]]:
    """Onset and offset delays (ms) of the live decision at isolated truth segments."""
    on, off = [], []
    n = truth.size
    for a, b in runs(truth):
        if a >= 30 and not truth[a - 30 : a].any():
            window = online[max(0, a - 20) : min(n, a + 50)]
            idx = np.flatnonzero(window)
            if idx.size:
                on.append((idx[0] + max(0, a - 20) - a) * 10.0)
        if b + 30 <= n and not truth[b : b + 30].any():
            if online[b - 1]:
                after = np.flatnonzero(~online[b : min(n, b + 100)])
                if after.size:
                    off.append(after[0] * 10.0)
            else:
                before = np.flatnonzero(online[max(a, b - 50) : b])
                if before.size:
                    off.append((before[-1] + 1 + max(a, b - 50) - b) * 10.0)
    return on, off


# -- per-conversation counts and bootstrap confidence intervals --------------------------------

#: columns of one conversation's counts (summed over conversations, then turned into metrics)
COLUMNS = (
    "tp",  # speech frames called speech (both channels)
    "fp",
    "fn",
    "far_tp",  # the caller's channel alone (for the quiet caller)
    "far_fn",
    "noise",  # noise-only frames (>= 100 ms from any speech), both channels
    "noise_fa",
    "utts",  # utterances, and those with < 50 % of their frames detected
    "missed",
    "ratio_err",  # |predicted - true| counselor share of talk, percentage points
    "convs",
    "near_quiet",  # the counselor's silences (noise-only frames of the near channel)
    "near_quiet_fa",
)
COL = {c: i for i, c in enumerate(COLUMNS)}


def channel_counts(truth: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    quiet = noise_only(truth)
    return {
        "tp": int(np.count_nonzero(truth & pred)),
        "fp": int(np.count_nonzero(~truth & pred)),
        "fn": int(np.count_nonzero(truth & ~pred)),
        "noise": int(np.count_nonzero(quiet)),
        "noise_fa": int(np.count_nonzero(quiet & pred)),
    }


def noise_only(truth: np.ndarray, margin: int = 10) -> np.ndarray:
    """Frames at least ``margin`` frames (100 ms) from any speech."""
    near = np.convolve(truth.astype(np.int8), np.ones(2 * margin + 1, np.int8), "same") > 0
    return ~near


def missed_utterances(
    utterances: list[tuple[str, int, int]], truths: dict, preds: dict, share: float = 0.5
) -> tuple[int, int]:
    """(missed, total): an utterance is missed when < ``share`` of its truth frames are detected."""
    missed = total = 0
    for side, a, b in utterances:
        t = truths[side][a:b]
        if not t.any():
            continue
        total += 1
        if np.count_nonzero(t & preds[side][a:b]) < share * np.count_nonzero(t):
            missed += 1
    return missed, total


def conversation_counts(
    near_t: np.ndarray,
    far_t: np.ndarray,
    near_p: np.ndarray,
    far_p: np.ndarray,
    utterances: list[tuple[str, int, int]],
) -> np.ndarray:
    row = np.zeros(len(COLUMNS))
    nc, fc = channel_counts(near_t, near_p), channel_counts(far_t, far_p)
    for k in ("tp", "fp", "fn", "noise", "noise_fa"):
        row[COL[k]] = nc[k] + fc[k]
    row[COL["far_tp"]], row[COL["far_fn"]] = fc["tp"], fc["fn"]
    row[COL["near_quiet"]], row[COL["near_quiet_fa"]] = nc["noise"], nc["noise_fa"]
    m, t = missed_utterances(
        utterances, {"near": near_t, "far": far_t}, {"near": near_p, "far": far_p}
    )
    row[COL["missed"]], row[COL["utts"]] = m, t
    tn, tf, pn, pf = near_t.sum(), far_t.sum(), near_p.sum(), far_p.sum()
    row[COL["ratio_err"]] = abs(pn / max(1, pn + pf) - tn / max(1, tn + tf)) * 100
    row[COL["convs"]] = 1
    return row


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.maximum(b, 1e-12), np.nan)


#: metric name -> its value from summed columns (shape (..., len(COLUMNS)))
METRICS = {
    "f1": lambda s: _div(2 * s[..., 0], 2 * s[..., 0] + s[..., 1] + s[..., 2]),
    "recall": lambda s: _div(s[..., 0], s[..., 0] + s[..., 2]),
    "far_recall": lambda s: _div(s[..., 3], s[..., 3] + s[..., 4]),
    "fa": lambda s: 100 * _div(s[..., 6], s[..., 5]),
    "missed": lambda s: 100 * _div(s[..., 8], s[..., 7]),
    "ratio_err": lambda s: _div(s[..., 9], s[..., 10]),
    "near_fa": lambda s: 100 * _div(s[..., 12], s[..., 11]),
}


def estimate(rows: np.ndarray, metric: str, n_boot: int = 1000, seed: int = 0):
    """(value, low, high): the metric over all rows and its 95 % bootstrap interval,
    resampling rows (conversations, or a voice's channels) with replacement, seeded."""
    fn = METRICS[metric]
    value = float(fn(rows.sum(axis=0)))
    if rows.shape[0] < 2 or n_boot <= 0 or value != value:
        return value, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, rows.shape[0], (n_boot, rows.shape[0]))
    boot = fn(rows[idx].sum(axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return value, float(lo), float(hi)
