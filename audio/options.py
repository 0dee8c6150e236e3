"""Options of the audio service (capture, VAD, call-health prompts)."""

from core.config import declare
from core.i18n import N_

SOURCE = declare(
    "audio.source",
    str,
    "device",
    N_(
        "Where call audio comes from: 'device' (the headset through the sound system) or "
        "'simulated' (scripted conversations paced in real time, for the demo and training)."
    ),
    choices=("device", "simulated"),
)
NEAR_DEVICE = declare(
    "audio.near_device",
    str,
    "",
    N_(
        "The counselor's microphone: part of a device name, or 'usb:VID:PID'. Empty: prefer a USB "
        "headset, else the system default."
    ),
)
FAR_DEVICE = declare(
    "audio.far_device",
    str,
    "",
    N_(
        "The caller's side: an input that hears the headset's playback (a monitor or loopback "
        "device; part of its name or 'usb:VID:PID'). Empty: a monitor/loopback input when one "
        "exists. 'none': only what the telephony backend hands over."
    ),
)
OUT_DEVICE = declare(
    "audio.out_device",
    str,
    "",
    N_(
        "Where the caller is heard when Faro carries the call audio itself (SIP): part of a "
        "device name, or 'usb:VID:PID'. Empty: the output of the microphone's card, else a USB "
        "headset, else the system default. A named device that is absent is waited for."
    ),
)
FALLBACK_TO_LAPTOP = declare(
    "audio.fallback_to_laptop",
    bool,
    False,
    N_(
        "When the headset's output is absent or unplugged, play the caller on the laptop's own "
        "output instead of waiting for the headset (others in the room may hear the caller)."
    ),
)
ENGINE = declare(
    "audio.engine",
    str,
    "faro",
    N_(
        "Voice-activity engine: faro (Faro's pipeline), webrtc0-3 (raw webrtcvad), silero "
        "(needs the optional extra)."
    ),
    choices=("faro", "webrtc0", "webrtc1", "webrtc2", "webrtc3", "silero"),
)
RETRY_S = declare(
    "audio.retry_s",
    float,
    2.0,
    N_("Seconds between attempts to open a missing audio device."),
    minimum=0.2,
    maximum=60.0,
)
QUEUE_BLOCKS = declare(
    "audio.queue_blocks",
    int,
    200,
    N_("Captured blocks that may wait for the VAD worker before new ones are dropped (counted)."),
    minimum=10,
    maximum=10_000,
)
CALLER_SILENCE_S = declare(
    "audio.caller_silence_s",
    float,
    20.0,
    N_("Seconds of caller silence after which the counselor is prompted to check in."),
    minimum=3.0,
    maximum=600.0,
)
MUTED_SPEECH_S = declare(
    "audio.muted_speech_s",
    float,
    0.5,
    N_("Seconds of the counselor's speech while muted before the muted-while-speaking warning."),
    minimum=0.1,
    maximum=2.0,
)
DEAD_MIC_S = declare(
    "audio.dead_mic_s",
    float,
    8.0,
    N_("Seconds without any signal from the counselor's mic before a device-check prompt."),
    minimum=2.0,
    maximum=120.0,
)
ONE_WAY_S = declare(
    "audio.one_way_s",
    float,
    10.0,
    N_("Seconds without any signal from the caller's side before a one-way-audio prompt."),
    minimum=2.0,
    maximum=120.0,
)
TALK_RATIO_LIMIT = declare(
    "audio.talk_ratio_limit",
    float,
    0.7,
    N_("Counselor share of talk time above which the talking-more-than-listening prompt shows."),
    minimum=0.3,
    maximum=1.0,
)
RING_SOUND = declare(
    "audio.ring_sound",
    str,
    "chime",
    N_(
        "Sound played while a call rings: chime (two soft bell notes), classic (a telephone's "
        "tone), soft (one low swelling tone) or none (the banner and the box's light only)."
    ),
    choices=("chime", "classic", "soft", "none"),
)
RING_VOLUME = declare(
    "audio.ring_volume",
    float,
    0.6,
    N_("Loudness of the ring, from 0.05 (very quiet) to 1.0 (full)."),
    minimum=0.05,
    maximum=1.0,
)
RING_DEVICE = declare(
    "audio.ring_device",
    str,
    "",
    N_(
        "Where the ring is heard: empty for the laptop's default output (heard with the "
        "headset off), or part of a device name, or usb:VID:PID."
    ),
)
