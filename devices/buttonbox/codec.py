"""Framing of the button-box protocol: COBS frames between 0x00 delimiters, CRC-32 inside.

A frame on the wire is ``00 COBS(body + crc32_le(body)) 00``. COBS removes every zero byte
from the frame, so a zero always means "frame boundary": after garbage, the decoder is back
in step at the next zero. The decoder never holds more than :data:`MAX_ENCODED` bytes: a
longer run without a zero is dropped (counted as overlong) until the next zero. Every
candidate frame whose COBS is broken, whose CRC does not match, or which is too short is
counted and dropped; only frames with a good CRC are handed on. See
docs/buttonbox-protocol.md for why COBS and CRC-32.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

#: largest frame body (header + payload) before the CRC
MAX_BODY = 124
#: largest decoded frame (body + 4-byte CRC)
MAX_DECODED = MAX_BODY + 4
#: largest COBS-encoded frame between two delimiters (one overhead byte per 254)
MAX_ENCODED = MAX_DECODED + 1 + MAX_DECODED // 254
MIN_DECODED = 3 + 4  # version, type, seq + CRC
#: zlib.crc32 of a body followed by its own little-endian CRC-32 (the CRC-32 residue): one
#: C call checks a frame without cutting off and converting its last four bytes
CRC_RESIDUE = 0x2144DF1C


class FrameError(ValueError):
    """A body that cannot be framed (too long)."""


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result contains no zero byte."""
    out = bytearray(b"\x00")
    code_at, code = 0, 1
    for byte in data:
        if byte:
            out.append(byte)
            code += 1
        if not byte or code == 0xFF:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes | None:
    """Decode one COBS block sequence (without delimiters); None if it is malformed."""
    parts = []
    i, n = 0, len(data)
    full = False  # a 0xFF block (254 bytes, no zero after it) was seen
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            return None
        parts.append(data[i + 1 : end])
        if code == 0xFF:
            full = True
        i = end
    if not full:  # every block but the last ends in a zero
        return b"\x00".join(parts)
    out = bytearray()
    last = len(parts) - 1
    i = 0
    for k, part in enumerate(parts):
        out += part
        code = data[i]
        i += code
        if code != 0xFF and k != last:
            out.append(0)
    return bytes(out)


def encode_frame(body: bytes) -> bytes:
    """``00 COBS(body + CRC) 00``: the leading zero ends any garbage before the frame."""
    if len(body) > MAX_BODY:
        raise FrameError(f"frame body of {len(body)} bytes exceeds {MAX_BODY}")
    return b"\x00" + cobs_encode(body + crc32(body).to_bytes(4, "little")) + b"\x00"


@dataclass
class DecodeStats:
    frames: int = 0
    bad_crc: int = 0
    bad_cobs: int = 0
    overlong: int = 0
    too_short: int = 0

    @property
    def bad(self) -> int:
        return self.bad_crc + self.bad_cobs + self.overlong + self.too_short


class FrameDecoder:
    """Turns any byte stream into frame bodies with a good CRC. Never raises on input."""

    __slots__ = ("_buf", "_discarding", "stats")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarding = False
        self.stats = DecodeStats()

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished frame (never more than MAX_ENCODED)."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        """Return the bodies (CRC checked and stripped) of the frames completed by ``data``."""
        out: list[bytes] = []
        n = len(data)
        if (
            2 < n <= MAX_ENCODED + 2
            and not self._buf
            and not self._discarding
            and data[0] == 0
            and data[-1] == 0
            and data.find(0, 1, -1) < 0
        ):
            # The usual read: exactly one whole frame, nothing held from before. Exactly what
            # the loop below and _candidate do with it, written out for latency: at this size
            # no block can be a 0xFF one, so every block but the last ends in a zero.
            parts = []
            i, last = 1, n - 1
            while i < last:
                end = i + data[i]
                if end > last:
                    self.stats.bad_cobs += 1
                    return out
                parts.append(data[i + 1 : end])
                i = end
            decoded = b"\x00".join(parts)
            if len(decoded) < MIN_DECODED:
                self.stats.too_short += 1
            elif zlib.crc32(decoded) != CRC_RESIDUE:
                self.stats.bad_crc += 1
            else:
                self.stats.frames += 1
                out.append(decoded[:-4])
            return out
        buf = self._buf
        start = 0
        find = data.find
        while start <= n:
            idx = find(0, start)
            if idx < 0:
                if not self._discarding:
                    if len(buf) + n - start > MAX_ENCODED:
                        self._discarding = True
                        self.stats.overlong += 1
                        buf.clear()
                    else:
                        buf += data[start:]
                break
            if self._discarding:
                self._discarding = False
            else:
                size = len(buf) + idx - start
                if size > MAX_ENCODED:
                    self.stats.overlong += 1
                elif size:
                    if buf:
                        buf += data[start:idx]
                        self._candidate(bytes(buf), out)
                    else:
                        self._candidate(data[start:idx], out)
            buf.clear()
            start = idx + 1
        return out

    def _candidate(self, encoded: bytes, out: list[bytes]) -> None:
        decoded = cobs_decode(encoded)
        if decoded is None:
            self.stats.bad_cobs += 1
            return
        if len(decoded) < MIN_DECODED:
            self.stats.too_short += 1
            return
        if zlib.crc32(decoded) != CRC_RESIDUE:  # same as crc32(body) != the CRC sent
            self.stats.bad_crc += 1
            return
        self.stats.frames += 1
        out.append(decoded[:-4])
