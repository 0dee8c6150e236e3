"""Scores of one engine on one condition."""

from __future__ import annotations

import numpy as np

from audio.analyze import health_figures
from audio.metrics import results_stub
from audio.segments import runs


def f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = np.count_nonzero(truth & pred)
    fp = np.count_nonzero(~truth & pred)
    fn = np.count_nonzero(truth & ~pred)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def false_alarm(truth: np.ndarray, pred: np.ndarray, margin: int = 10) -> float:
    """Share of noise-only frames (at least 100 ms from any speech) called speech."""
    near = np.convolve(truth.astype(np.int8), np.ones(2 * margin + 1, np.int8), "same") > 0
    noise_only = ~near
    return float(np.count_nonzero(pred & noise_only) / max(1, np.count_nonzero(noise_only)))


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
