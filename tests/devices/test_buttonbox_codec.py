"""The pure codec: COBS framing, CRC-32, message encoding (hypothesis property tests)."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from devices.buttonbox import protocol as p
from devices.buttonbox.codec import (
    MAX_BODY,
    MAX_ENCODED,
    FrameDecoder,
    FrameError,
    cobs_decode,
    cobs_encode,
    crc32,
    encode_frame,
)
from devices.firmware.pico import boxlogic

bodies = st.binary(min_size=3, max_size=MAX_BODY)


@given(st.binary(max_size=1000))
def test_cobs_round_trip_and_no_zero(data):
    enc = cobs_encode(data)
    assert 0 not in enc
    assert cobs_decode(enc) == data


@given(bodies)
def test_frame_round_trip(body):
    frame = encode_frame(body)
    assert frame[0] == 0 and frame[-1] == 0 and 0 not in frame[1:-1]
    assert len(frame) - 2 <= MAX_ENCODED
    dec = FrameDecoder()
    assert dec.feed(frame) == [body]
    assert dec.stats.bad == 0


def test_body_over_the_limit_is_refused():
    with pytest.raises(FrameError):
        encode_frame(bytes(MAX_BODY + 1))


@given(st.lists(st.binary(max_size=600), max_size=20))
@settings(max_examples=300)
def test_any_stream_never_raises_yields_only_good_crc_and_stays_bounded(chunks):
    dec = FrameDecoder()
    for chunk in chunks:
        for body in dec.feed(chunk):
            # what comes out is exactly a body whose CRC was right on the wire
            assert len(body) >= 3
            assert encode_frame(body)  # re-framable: within limits
        assert dec.buffered <= MAX_ENCODED


@given(
    st.lists(st.tuples(st.binary(max_size=300), bodies), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=64),
    st.randoms(use_true_random=False),
)
@settings(max_examples=200)
def test_frames_survive_garbage_at_any_chunking(pairs, chunk, rnd):
    stream = b"".join(garbage + encode_frame(body) for garbage, body in pairs)
    dec = FrameDecoder()
    out: list[bytes] = []
    i = 0
    while i < len(stream):
        n = rnd.randint(1, chunk)
        out += dec.feed(stream[i : i + n])
        i += n
    wanted = [body for _g, body in pairs]
    # every real frame comes out, in order; garbage could only add a frame with a valid
    # CRC-32 by a 1-in-4-billion chance, which hypothesis' garbage does not reach
    assert out == wanted


def test_bad_crc_and_broken_cobs_are_counted_not_returned():
    dec = FrameDecoder()
    good = encode_frame(b"\x01\x03\x00abcd")
    bad = bytearray(good)
    bad[5] ^= 0x01 if bad[5] != 1 else 0x03
    assert dec.feed(bytes(bad)) == []
    assert dec.stats.bad_crc + dec.stats.bad_cobs == 1
    assert dec.feed(b"\x00\x09\x01\x00") == []  # COBS code runs past the end
    assert dec.stats.bad_cobs >= 1
    assert dec.feed(b"\x00" + b"\x41" * 500 + b"\x00") == []
    assert dec.stats.overlong == 1 and dec.buffered == 0
    assert dec.feed(good) == [b"\x01\x03\x00abcd"]


def test_overlong_run_split_over_many_reads_is_dropped_once():
    dec = FrameDecoder()
    for _ in range(100):
        assert dec.feed(b"\x55" * 97) == []
        assert dec.buffered <= MAX_ENCODED
    assert dec.stats.overlong == 1
    assert dec.feed(encode_frame(b"\x01\x03\x07")) == [b"\x01\x03\x07"]


def test_crc_is_ieee_crc32():
    assert crc32(b"123456789") == 0xCBF43926


# -- messages ----------------------------------------------------------------------------
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
messages = st.one_of(
    st.builds(p.Hello, st.integers(0, 255), st.integers(0, 65535), st.integers(0, 65535)),
    st.builds(p.Heartbeat, st.integers(0, 2**32 - 1)),
    st.builds(p.Ack, st.integers(0, 255)),
    st.builds(
        p.Button,
        st.integers(0, 255),
        st.sampled_from(list(p.ButtonKind)),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(p.Error, st.integers(0, 255), st.integers(0, 255)),
    st.builds(
        p.LedState,
        st.lists(
            st.builds(
                p.Led,
                st.integers(0, 255),
                st.sampled_from(list(p.LedMode)),
                st.tuples(*[st.integers(0, 255)] * 3),
            ),
            max_size=20,
        ).map(tuple),
    ),
    st.builds(
        p.Identity,
        names,
        names,
        st.tuples(*[st.integers(0, 255)] * 3),
        st.integers(0, 255),
        st.lists(names, max_size=4).map(tuple),
        st.lists(st.builds(p.LedInfo, names, st.integers(0, 255)), max_size=4).map(tuple),
    ),
)


@given(messages, st.integers(0, 255))
def test_message_round_trip(msg, seq):
    body = p.encode_body(msg, seq)
    head, back = p.decode_body(body)
    assert (head.version, head.seq) == (p.VERSION, seq)
    assert back == msg


@given(st.binary(max_size=200))
def test_decoding_any_body_raises_only_protocol_error(body):
    try:
        p.decode_body(body)
    except p.ProtocolError:
        pass


# -- the firmware's own codec agrees with the host's -------------------------------------
@given(bodies)
def test_firmware_frames_equal_host_frames(body):
    assert boxlogic.frame(body) == encode_frame(body)
    assert boxlogic.cobs_decode(cobs_encode(body)) == body


def test_firmware_table_crc_matches_zlib(monkeypatch):
    monkeypatch.setattr(boxlogic, "_crc32", None)
    rnd = random.Random(4)
    for n in (0, 1, 9, 64, 300):
        data = rnd.randbytes(n)
        assert boxlogic.crc32(data) == crc32(data)


# -- forward compatibility: the trailing-field rule ------------------------------------------
@given(messages, st.integers(0, 255), st.binary(max_size=MAX_BODY))
@settings(max_examples=400)
def test_any_valid_frame_with_trailing_bytes_decodes_to_the_same_message(msg, seq, trailing):
    """A newer minor version's fields after the known ones are ignored, in every message."""
    body = p.encode_body(msg, seq)
    assume(len(body) <= MAX_BODY)  # a frame that can be sent
    longer = body + trailing[: MAX_BODY - len(body)]
    dec = FrameDecoder()
    assert dec.feed(encode_frame(longer)) == [longer]  # framing carries them as is
    assert p.decode_body(longer) == p.decode_body(body) == (p.Header(p.VERSION, body[1], seq), msg)


@given(messages, st.integers(0, 255), st.integers(1, 40))
def test_a_payload_shorter_than_its_fields_is_malformed(msg, seq, cut):
    body = p.encode_body(msg, seq)
    short = body[: max(3, len(body) - cut)]
    with pytest.raises(p.ProtocolError):
        p.decode_body(short)


def test_the_firmware_and_the_host_agree_on_the_frame_limits():
    from devices.buttonbox.codec import MAX_DECODED

    assert boxlogic.MAX_BODY == MAX_BODY and boxlogic.MAX_ENCODED == MAX_ENCODED == 129
    assert MAX_DECODED == 128
    assert len(encode_frame(bytes(MAX_BODY))) == MAX_ENCODED + 2 == 131  # on the wire
    assert boxlogic.SEQ_WINDOW == p.SEQ_WINDOW == 127


@given(st.integers(0, 255), st.integers(0, 255))
def test_sequence_numbers_compare_on_the_8_bit_circle(seq, last):
    d = p.seq_delta(seq, last)
    assert d == (seq - last) % 256
    assert p.seq_delta((last + d) & 0xFF, last) == d
    if 0 < d <= p.SEQ_WINDOW:  # newer ...
        assert p.seq_delta(last, seq) > p.SEQ_WINDOW  # ... so last is older
