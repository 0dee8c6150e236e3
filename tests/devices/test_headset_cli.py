"""``faro devices list`` and ``faro devices monitor`` with simulated headsets (a fake
sysfs/dev tree given through the hidden --sysfs-root / --dev-root options)."""

from __future__ import annotations

import json
import signal

from devices.headset.families import MALFORMED
from devices.headset.simulator import HeadsetSimulator
from tests.devices.test_devices_cli import Lines, faro
from tests.support.toolkit import wait_until


def test_list_shows_the_chosen_the_ignored_and_the_unusable_headsets(faro_home, tmp_path):
    root = tmp_path / "hw"
    sims = [
        HeadsetSimulator(root, "blackwire", index=0).plug(),
        HeadsetSimulator(root, "qualcomm", index=1).plug(),
        HeadsetSimulator(root, "toggle", index=2, descriptor=MALFORMED["truncated"]).plug(),
    ]
    try:
        roots = ["--sysfs-root", sims[0].sysfs_root, "--dev-root", sims[0].dev_root]
        proc = faro("devices", "list", "--json", *roots, home=faro_home)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        heads = [r for r in map(json.loads, out.splitlines()) if r["kind"] == "headset"]
        assert [(h["usb_id"], h["state"]) for h in heads] == [
            ("047f:c056", "chosen"),
            ("0a12:4007", "ignored"),
            ("1209:fa50", "unusable"),
        ]
        assert "hook_switch" in heads[0]["capabilities"] and "led:mute" in heads[0]["capabilities"]
        assert "another headset" in heads[1]["note"] and "malformed" in heads[2]["note"]
        proc = faro("devices", "list", *roots, home=faro_home)
        text, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Headsets with call buttons" in text and "[chosen]" in text
    finally:
        for sim in sims:
            sim.unplug()


def test_monitor_prints_headset_events(faro_home, tmp_path):
    sim = HeadsetSimulator(tmp_path / "hw", "blackwire").plug()
    proc = faro(
        "devices", "monitor", "--json", "--seconds", "60",
        "--sysfs-root", sim.sysfs_root, "--dev-root", sim.dev_root,
        home=faro_home,
    )  # fmt: skip
    assert proc.stdout is not None
    printed = Lines(proc.stdout)
    try:
        printed.wait_for(lambda r: r["event"] == "headset_connected", "connected printed", 30)
        assert wait_until(lambda: sim.connected, 10)
        sim.press_hook()
        printed.wait_for(lambda r: r["event"] == "headset_button", "the press printed", 30)
        sim.unplug()
        printed.wait_for(lambda r: r["event"] == "headset_disconnected", "unplug printed", 30)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    recs = [json.loads(line) for line in printed.finish()]
    button = next(r for r in recs if r["event"] == "headset_button")
    assert (button["usage"], button["gesture"], button["action"]) == (
        "hook_switch",
        "off_hook",
        "answer",
    )
