"""The call-health panel reads the service's latest values on its timer."""

from __future__ import annotations

from audio import events as ev
from audio.metrics import results_stub


def test_panel_shows_balance_caller_silence_muted_line_and_prompts(
    qtbot, audio_session, fake_clock
):
    import numpy as np

    from console.call_health_panel import TICK_MS, CallHealthPanel

    panel = CallHealthPanel(audio_session)
    qtbot.addWidget(panel)
    assert panel.available and 50 <= TICK_MS <= 100 and panel._timer.isActive()
    health = audio_session.service("audio").health
    health.start_call("c")
    health.set_muted(True)
    for _ in range(30):  # 3 s counselor (muted), then (unmuted) 2.5 s of silence
        fake_clock.advance(0.1)
        health.on_frames(
            results_stub(np.ones(10, bool), -20.0), results_stub(np.zeros(10, bool), -50.0)
        )
    muted_line = panel.prompts.slots[0]
    qtbot.waitUntil(lambda: "speaking while muted" in muted_line.text(), timeout=2000)
    assert muted_line.property("role") == "danger"
    health.set_muted(False)
    qtbot.waitUntil(lambda: muted_line.text() == "", timeout=2000)
    for _ in range(25):
        fake_clock.advance(0.1)
        health.on_frames(
            results_stub(np.zeros(10, bool), -50.0), results_stub(np.zeros(10, bool), -50.0)
        )
    qtbot.wait(2 * TICK_MS)
    assert panel.balance.value() == 100 and "You 100%" in panel.balance_text.text()
    assert panel.silence.text() == "0:05"  # the caller's silence, since the call began
    assert panel.near_meter.value() == 10
    assert panel.device.text() == "Starting audio"  # the service is not started here
    for _ in range(200):  # the caller silent for 20 s: the check-in prompt
        fake_clock.advance(0.1)
        health.on_frames(
            results_stub(np.zeros(10, bool), -50.0), results_stub(np.zeros(10, bool), -50.0)
        )
    qtbot.waitUntil(lambda: bool(panel.prompt_texts()), timeout=2000)
    assert "silent" in panel.prompt_texts()[0]
    panel.on_event(ev.Interruption("c", "caller", 0.4))
    assert "caller spoke over you" in panel.note.text()
    fake_clock.advance(5)
    qtbot.waitUntil(lambda: panel.note.text() == "", timeout=2000)
