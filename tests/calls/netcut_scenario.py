"""A real call through a 5 s network cut, run inside a private network namespace.

    python -m tests.calls.netcut_scenario [CUT_S]     (by tests/calls/test_sip_netcut.py)

Kamailio, the caller (a separate engine process) and Faro's ``sip`` backend all run in the
namespace made by :func:`tests.support.netns.run_inside`. Both sides speak a tone
continuously; mid-call every packet is dropped (signalling and media, both ways) for CUT_S
seconds, then the network comes back. What happened is printed as one JSON line, the
assertions are the test's.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from calls import events as ev
from calls.model import Action
from tests.calls.sip_rig import levels, phone, rig
from tests.calls.test_sip_calls import TONE, _ring_and_answer
from tests.support.netns import Nft
from tests.support.toolkit import Recorder


def main(cut_s: float) -> dict:
    out: dict = {"cut_s": cut_s}
    with tempfile.TemporaryDirectory(prefix="faro-netcut-") as tmp, rig(Path(tmp)) as r:
        with phone(r.settings(media_timeout_s=int(cut_s) + 5)) as p:
            rec = Recorder(p.bus, ev.CallAudioFlow, ev.CallRefused, ev.CallEnded, ev.LineStatus)
            p.wait_line("registered")
            with r.peer() as caller:
                _ring_and_answer(p, caller, r)
                heard: list[tuple[float, float]] = []  # (time, peak) of every far block
                p.backend.media.on_far(
                    lambda b: heard.append((time.monotonic(), float(np.abs(b).max())))
                )
                stop = threading.Event()

                def mic() -> None:
                    while not stop.is_set():
                        p.backend.media.send_near(TONE)
                        time.sleep(0.05)

                threading.Thread(target=mic, daemon=True).start()
                caller.send(op="play", signal="tone", freq=440, secs=cut_s + 14)
                time.sleep(3.0)
                t_cut = time.monotonic()
                Nft.cut()
                states = []
                while time.monotonic() < t_cut + cut_s:
                    states.append(p.machine.state.name)
                    time.sleep(0.25)
                Nft.clear()
                t_back = time.monotonic()
                time.sleep(6.0)
                stop.set()
                loud_far = [t for t, peak in heard if peak > 3000]
                out["far_before"] = any(t_cut - 1.0 < t < t_cut for t in loud_far)
                out["far_during"] = sum(1 for t in loud_far if t_cut + 0.5 < t < t_back - 0.2)
                after = [t for t in loud_far if t > t_back]
                out["far_back_after_s"] = round(after[0] - t_back, 2) if after else None
                caller.send(op="rx_report", since=t_cut - 2.0)
                frames = caller.wait("rx")["frames"]
                back = [t for t, db in frames if t > t_back and db > -30]
                out["near_back_after_s"] = round(back[0] - t_back, 2) if back else None
                out["near_after_median_db"] = float(
                    np.median(levels(frames, t_back + 2.0, t_back + 5.0) or [-99.0])
                )
                out["states_during"] = sorted(set(states))
                out["state_after"] = p.machine.state.name
                out["flow"] = [
                    [round(t - t_cut, 2), e.flowing, e.gap_s]
                    for t, e in rec.timed
                    if isinstance(e, ev.CallAudioFlow)
                ]
                out["refused"] = [e.reason for e in rec.events if isinstance(e, ev.CallRefused)]
                out["line_after"] = p.backend.line_state
                p.machine.do(Action.HANG_UP)  # the BYE still goes through the proxy
                caller.wait("closed", timeout=15)
                out["hung_up"] = True
                out["ended"] = [e.ended_by.name for e in rec.events if isinstance(e, ev.CallEnded)]
    return out


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)))
