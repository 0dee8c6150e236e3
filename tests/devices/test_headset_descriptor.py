"""Report descriptors of every headset family, malformed ones, and report bytes both ways."""

from __future__ import annotations

import pytest

from devices.headset.descriptor import DescriptorError, NoTelephony, parse, telephony
from devices.headset.families import FAMILIES, MALFORMED
from devices.headset.reports import LedEncoder, ReportDecoder, decode_output, encode_input


def test_blackwire_fields_ids_offsets_and_flags():
    tel = telephony(FAMILIES["blackwire"].descriptor)
    assert tel.application == "headset" and tel.descriptor.uses_report_ids
    mute, hook, flash = tel.inputs["phone_mute"], tel.inputs["hook_switch"], tel.inputs["flash"]
    assert (mute.report_id, mute.bit_offset, mute.bit_size, mute.relative) == (8, 0, 1, True)
    assert (hook.report_id, hook.bit_offset, hook.relative) == (8, 1, False)
    assert (flash.bit_offset, flash.logical_min, flash.logical_max) == (2, 0, 1)
    assert {n: f.report_id for n, f in tel.outputs.items()} == {
        "mute": 9,
        "off_hook": 0x17,
        "ring": 0x18,
    }
    assert tel.descriptor.report_length("input", 8) == 2


def test_qualcomm_telephony_after_a_consumer_collection():
    tel = telephony(FAMILIES["qualcomm"].descriptor)
    assert tel.inputs["hook_switch"].report_id == 2 and tel.inputs["phone_mute"].relative
    assert tel.outputs["hold"].report_id == 0x20
    desc = tel.descriptor
    assert desc.applications[0] == (0x0C, 0x01) and desc.sizes[("input", 1)] == 2
    # the Consumer collection's Mute (0x0C:0xE2) is not the telephony Phone Mute
    assert all(f.application == (0x0B, 0x05) for f in tel.inputs.values())


def test_actions_leds_share_one_report_and_other_bits_are_kept():
    tel = telephony(FAMILIES["actions"].descriptor)
    assert {f.report_id for f in tel.outputs.values()} == {7}
    assert tel.outputs["mute"].bit_offset == 14 and tel.outputs["off_hook"].bit_offset == 1
    enc = LedEncoder(tel)
    (first,) = enc.encode({"off_hook": True, "mute": True})
    assert first == bytes([7, 0x02, 0x40])
    assert enc.encode({"off_hook": True, "mute": True}) == []  # nothing changed
    (again,) = enc.encode({"off_hook": True, "mute": True}, force=True)
    assert again == first
    (ring,) = enc.encode({"ring": True})
    assert decode_output(tel, ring) == {
        "off_hook": False,
        "ring": True,
        "hold": False,
        "microphone": False,
        "mute": False,
    }


def test_relative_hook_push_pop_and_extended_usage_without_report_ids():
    tel = telephony(FAMILIES["toggle"].descriptor)
    assert not tel.descriptor.uses_report_ids
    assert tel.hook_relative() is True and tel.inputs["hook_switch"].bit_offset == 0
    # after Pop the padding uses the pushed-away state's report size 6 from after the pop
    assert tel.descriptor.sizes[("input", 0)] == 1
    assert ReportDecoder(tel).decode(b"\x01") == {"hook_switch": 1, "phone_mute": 0}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_round_trips_its_reports(family):
    tel = telephony(FAMILIES[family].descriptor)
    dec = ReportDecoder(tel)
    for name in tel.inputs:
        values = {n: int(n == name) for n in tel.inputs}
        (report,) = encode_input(tel, values)
        assert dec.decode(report) == values
    assert dec.counts.bad_size == dec.counts.unknown_id == 0


@pytest.mark.parametrize(
    "key", ["truncated", "cut_item", "pop_without_push", "end_without_collection", "report_id_zero"]
)
def test_malformed_descriptors_are_a_clear_error(key):
    with pytest.raises(DescriptorError) as info:
        telephony(MALFORMED[key])
    assert "malformed" in str(info.value) and not isinstance(info.value, NoTelephony)


def test_unknown_descriptors_say_they_are_not_a_headset():
    with pytest.raises(NoTelephony):
        telephony(MALFORMED["keyboard"])
    with pytest.raises(DescriptorError, match="no button Faro knows"):
        telephony(MALFORMED["telephony_without_buttons"])
    with pytest.raises(DescriptorError, match="empty"):
        parse(b"")


def test_long_items_are_skipped_and_signed_ranges_read():
    raw = bytes.fromhex("fe0210aabb 050b 0905 a101 15ff 2501 7502 9501 0920 8102 7506 8103 c0")
    tel = telephony(raw)
    hook = tel.inputs["hook_switch"]
    assert (hook.logical_min, hook.logical_max, hook.bit_size) == (-1, 1, 2)
    assert ReportDecoder(tel).decode(b"\x03") == {"hook_switch": -1}


def test_wrong_size_and_unknown_reports_are_counted_not_raised():
    tel = telephony(FAMILIES["blackwire"].descriptor)
    dec = ReportDecoder(tel)
    assert dec.decode(b"\x08") is None  # the id without its byte
    assert dec.decode(b"") is None
    assert dec.decode(b"\x08" + bytes(100)) is None  # absurdly long
    assert dec.decode(b"\x42\x01") is None  # an id the descriptor does not have
    assert (dec.counts.bad_size, dec.counts.unknown_id) == (3, 1)
    assert dec.decode(b"\x08\x02") == {"phone_mute": 0, "hook_switch": 1, "flash": 0}


def test_array_inputs_hold_the_usage_index():
    raw = bytes.fromhex("050b 0905 a101 1501 2503 0920 092f 0921 7508 9502 8100 c0")
    tel = telephony(raw)
    dec = ReportDecoder(tel)
    assert dec.decode(bytes([2, 0])) == {"hook_switch": 0, "phone_mute": 1, "flash": 0}
    assert dec.decode(bytes([1, 3])) == {"hook_switch": 1, "phone_mute": 0, "flash": 1}
