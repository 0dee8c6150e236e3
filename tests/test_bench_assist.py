"""bench/assist: the smallest --quick run (2 bursts, 1 s windows) on the real rig gives every
figure the results file reports. No timing is checked here: timing is the benchmark's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # real engines on Kamailio in real time (~35 s)
@pytest.mark.timeout(150)
def test_quick_run_reports_every_figure():
    out = subprocess.run(
        [sys.executable, "-m", "bench.assist", "--quick", "--json"]
        + ["--bursts", "2", "--window", "1", "--mix-s", "0.3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"latency", "cpu", "mix_per_10ms_tick", "loss", "tx_drift_flushes_total"} <= set(res)
    lat = res["latency"]
    assert {"raw_peer_to_peer_ms", "faro_without_assistance", "coach", "barge"} <= set(lat)
    for mode in ("coach", "barge"):
        assert set(lat[mode]) == {
            "supervisor_to_counselor_ms",
            "caller_to_supervisor_ms",
            "mic_to_supervisor_ms",
        }
        for row in lat[mode].values():
            assert {"faro", "faro_minus_raw"} <= set(row)
    cpu = res["cpu"]
    assert set(cpu["faro_cpu_s_per_s"]) == {"caller_only", "listen", "coach", "barge"}
    assert set(cpu["assist_leg"]) == {"listen", "coach", "barge"}
    assert cpu["raw_engine_one_call_cpu_s_per_s"] > 0
    for mode in ("listen", "coach", "barge"):
        assert {"numpy_us_per_tick", "pump_thread_us_per_tick", "pump_extra_vs_numpy"} <= set(
            res["mix_per_10ms_tick"][mode]
        )
        window = res["loss"][mode]
        assert {"caller", "supervisor"} == set(window["legs"])
        assert {"counselor_heard_pct", "vad_far_side_pct", "tx_drift_flushes"} <= set(window)
