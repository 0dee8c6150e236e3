"""bench/chat: the smallest run (a few rounds, a few chats) on a real Prosody and the router
as its own process gives every figure the results file reports. No timing is checked here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import prosody

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.skipif(not prosody.available(), reason="prosody is not installed")
def test_quick_run_reports_every_figure():
    out = subprocess.run(
        [sys.executable, "-m", "bench.chat", "--quick", "--json"]
        + ["--rounds", "5", "--chats", "12", "--counselors", "2", "--capacity", "6"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(res["latency"]) >= {"raw_direct", "raw_router", "faro"}
    for path in ("raw_direct", "raw_router", "faro"):
        assert res["latency"][path]["n"] == 5
    scale = res["scale"]
    assert scale["chats"] == 12
    for key in (
        "hellos_to_all_waiting_s",
        "assign_all_s",
        "round_trip_under_load",
        "router_cpu_s_assigning",
        "router_rss_mb_peak",
        "hello_with_all_waiting_ms",
    ):
        assert key in scale
    assert scale["round_trip_under_load"]["n"] == 12
