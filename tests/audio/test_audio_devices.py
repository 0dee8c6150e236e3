"""Choosing the headset: by name, by USB id, USB preferred, default as fallback."""

from __future__ import annotations

from audio.devices import choose_far, choose_near, list_inputs

RAW = [
    {
        "name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)",
        "max_input_channels": 2,
        "default_samplerate": 44100.0,
    },
    {
        "name": "HDA Intel PCH: HDMI 0 (hw:0,3)",
        "max_input_channels": 0,
        "default_samplerate": 44100.0,
    },
    {
        "name": "Jabra EVOLVE 20 MS: USB Audio (hw:2,0)",
        "max_input_channels": 1,
        "default_samplerate": 48000.0,
    },
    {"name": "Loopback: PCM (hw:3,0)", "max_input_channels": 2, "default_samplerate": 48000.0},
    {"name": "pulse", "max_input_channels": 32, "default_samplerate": 44100.0},
    {"name": "default", "max_input_channels": 32, "default_samplerate": 44100.0},
]
IDS = {2: "0b0e:0300", 0: None}


def devices(raw=RAW, default=5):
    return list_inputs(raw, default_index=default, usb_ids={k: v for k, v in IDS.items() if v})


def test_outputs_are_not_inputs_and_usb_ids_come_from_alsa():
    devs = devices()
    assert [d.index for d in devs] == [0, 2, 3, 4, 5]
    jabra = next(d for d in devs if "Jabra" in d.name)
    assert jabra.usb_id == "0b0e:0300" and jabra.is_usb


def test_automatic_prefers_the_usb_headset_then_the_default():
    assert "Jabra" in choose_near("", devices()).name
    without = [r for r in RAW if "Jabra" not in r["name"]]
    assert (
        choose_near("", list_inputs(without, default_index=3, usb_ids={})).name == "pulse"
    )  # index in `without`


def test_by_name_or_usb_id_and_no_silent_substitute_when_absent():
    assert choose_near("alc3246", devices()).index == 0
    assert "Jabra" in choose_near("usb:0B0E:0300", devices()).name
    unplugged = [r for r in RAW if "Jabra" not in r["name"]]
    assert choose_near("usb:0b0e:0300", list_inputs(unplugged, default_index=5, usb_ids={})) is None
    assert choose_near("Jabra", list_inputs(unplugged, default_index=5, usb_ids={})) is None


def test_far_side_is_a_monitor_or_loopback_or_none():
    assert "Loopback" in choose_far("", devices()).name
    assert choose_far("none", devices()) is None
    assert choose_far("", list_inputs(RAW[:3], default_index=0, usb_ids={})) is None


def test_every_device_is_listed_with_the_same_usb_id_the_chooser_sees():
    """``faro devices list`` and the headset choice read one listing (audio/devices.py)."""
    from audio.devices import list_devices

    raw = [dict(r, max_output_channels=2 if "HDMI" in r["name"] else 0, hostapi=0) for r in RAW]
    listed = list_devices(raw, ["ALSA"], usb_ids={2: "0b0e:0300"})
    assert [d.index for d in listed] == list(range(len(RAW)))  # outputs too
    hdmi = listed[1]
    assert (hdmi.inputs, hdmi.outputs, hdmi.host_api) == (0, 2, "ALSA")
    chosen = choose_near("", list_inputs(raw, default_index=5, usb_ids={2: "0b0e:0300"}))
    assert chosen is not None
    assert listed[chosen.index].usb_id == chosen.usb_id == "0b0e:0300"
