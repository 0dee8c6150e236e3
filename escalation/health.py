"""Live call-health signal codes a counselor's presence carries to the board.

Only these codes travel (no audio, no figures). They come from the audio prompts; the
application wiring (app/wiring.py) hands them to the escalation service by code.
"""

from __future__ import annotations

from core.i18n import _

AUDIO_DEVICE_LOST = "audio_device_lost"
HEALTH_SIGNALS = (
    "caller_silent",
    "talking_more",
    "muted_while_speaking",
    "dead_mic",
    "one_way_audio",
    "clipping",
    AUDIO_DEVICE_LOST,
)


def health_label(signal: str) -> str:
    return {
        "caller_silent": _("caller silent"),
        "talking_more": _("talking more than listening"),
        "muted_while_speaking": _("speaking while muted"),
        "dead_mic": _("dead mic"),
        "one_way_audio": _("one-way audio"),
        "clipping": _("clipping"),
        AUDIO_DEVICE_LOST: _("headset lost"),
    }.get(signal, signal)
