"""Helpers of the button-box tests (the recorder and ``wait_until``: tests/support/toolkit.py)."""

from __future__ import annotations

from devices.buttonbox.simulator import ButtonBoxSimulator
from tests.support.toolkit import wait_until


def box_hears_host_for(box: ButtonBoxSimulator, ms: int, timeout: float = 5.0) -> bool:
    """Wait until the box has gone on hearing the host for ``ms`` of its own time.

    The host's owner thread has then gone round its loop (heartbeats, reads) for that long:
    whatever the box sent before has been handled, and anything that was going to follow from
    it (a phantom press, a second escalation) would have arrived."""
    heard = box.box.host_seen
    return wait_until(
        lambda: box.box.host_seen - heard >= ms, timeout, f"the box hearing the host for {ms} ms"
    )
