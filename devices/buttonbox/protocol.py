"""Messages of the button-box protocol, version 1 (docs/buttonbox-protocol.md).

A frame body is ``version, type, seq, payload...``. Version, framing, and the HELLO and
IDENTITY type codes are frozen for ever, so a host can always tell a box that speaks
another version and say so. Multi-byte integers are little-endian; strings are one length
byte followed by UTF-8.

Forward compatibility (the trailing-field rule): a newer minor version may append fields at
the end of any payload. A reader takes the fields it knows from the start and ignores
whatever follows them, in every message type; only a payload *shorter* than the known
fields is malformed.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

VERSION = 1


class MsgType(enum.IntEnum):
    HELLO = 0x01  # host → box: start a session (frozen code)
    IDENTITY = 0x02  # box → host: who I am (frozen code)
    HEARTBEAT = 0x03  # both ways
    ACK = 0x04  # both ways: payload is the acknowledged seq
    BUTTON = 0x10  # box → host, reliable
    ERROR = 0x11  # box → host, reliable
    LED_STATE = 0x20  # host → box, reliable


RELIABLE = frozenset({MsgType.BUTTON, MsgType.ERROR, MsgType.LED_STATE})
#: sequence numbers are 8-bit; a number is *newer* than the last accepted one when it is
#: 1..SEQ_WINDOW ahead (modulo 256), a retransmission when equal, and *older* (a replay or a
#: frame out of order, never acted on) otherwise
SEQ_WINDOW = 127


def seq_delta(seq: int, last: int) -> int:
    """How far ``seq`` is ahead of ``last`` on the 8-bit circle: 0 (the same), 1..127 (newer),
    128..255 (older: a replay)."""
    return (seq - last) & 0xFF


class ButtonKind(enum.IntEnum):
    DOWN = 1
    UP = 2
    LONG = 3  # still held after the long-press time


class LedMode(enum.IntEnum):
    OFF = 0
    ON = 1
    BLINK = 2  # 1 Hz
    BLINK_FAST = 3  # 4 Hz
    PULSE = 4  # slow breathing, 0.5 Hz


class ErrorCode(enum.IntEnum):
    BAD_FRAME = 1  # the box received frames with a bad CRC / COBS (info: count, saturating)
    UNKNOWN_TYPE = 2  # info: the type code
    BAD_PAYLOAD = 3  # info: the type code
    VERSION = 4  # info: the version the host sent
    EVENT_LOST = 5  # the box gave up retransmitting an event (info: how many)


LED_CAP_COLOUR = 0x01


class ProtocolError(ValueError):
    """A frame with a good CRC whose content is not a valid message."""


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    type: int
    seq: int


@dataclass(frozen=True, slots=True)
class Hello:
    minor: int = 0
    heartbeat_ms: int = 500
    long_press_ms: int = 800


@dataclass(frozen=True, slots=True)
class LedInfo:
    name: str
    caps: int = 0

    @property
    def colour(self) -> bool:
        return bool(self.caps & LED_CAP_COLOUR)


@dataclass(frozen=True, slots=True)
class Identity:
    model: str
    serial: str
    firmware: tuple[int, int, int]
    minor: int
    buttons: tuple[str, ...]
    leds: tuple[LedInfo, ...]

    @property
    def firmware_version(self) -> str:
        return ".".join(map(str, self.firmware))

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware_version,
            "protocol": f"{VERSION}.{self.minor}",
            "buttons": list(self.buttons),
            "leds": [{"name": i.name, "colour": i.colour} for i in self.leds],
        }


@dataclass(frozen=True, slots=True)
class Heartbeat:
    uptime_ms: int = 0


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int


@dataclass(frozen=True, slots=True)
class Button:
    button: int
    kind: ButtonKind
    t_ms: int


@dataclass(frozen=True, slots=True)
class Error:
    code: int
    info: int


@dataclass(frozen=True, slots=True)
class Led:
    led: int
    mode: LedMode
    rgb: tuple[int, int, int] = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class LedState:
    leds: tuple[Led, ...]


Message = Hello | Identity | Heartbeat | Ack | Button | Error | LedState


def _str(s: str) -> bytes:
    raw = s.encode("utf-8")[:32]
    return bytes([len(raw)]) + raw


def encode_payload(msg: Message) -> tuple[MsgType, bytes]:
    if isinstance(msg, Hello):
        return MsgType.HELLO, struct.pack("<BHH", msg.minor, msg.heartbeat_ms, msg.long_press_ms)
    if isinstance(msg, Identity):
        out = bytearray(struct.pack("<BBBB", msg.minor, *msg.firmware))
        out += _str(msg.model) + _str(msg.serial)
        out.append(len(msg.buttons))
        for name in msg.buttons:
            out += _str(name)
        out.append(len(msg.leds))
        for info in msg.leds:
            out += _str(info.name) + bytes([info.caps])
        return MsgType.IDENTITY, bytes(out)
    if isinstance(msg, Heartbeat):
        return MsgType.HEARTBEAT, struct.pack("<I", msg.uptime_ms & 0xFFFFFFFF)
    if isinstance(msg, Ack):
        return MsgType.ACK, bytes([msg.seq])
    if isinstance(msg, Button):
        return MsgType.BUTTON, struct.pack("<BBI", msg.button, msg.kind, msg.t_ms & 0xFFFFFFFF)
    if isinstance(msg, Error):
        return MsgType.ERROR, bytes([msg.code, msg.info])
    if isinstance(msg, LedState):
        out = bytearray([len(msg.leds)])
        for led in msg.leds:
            out += bytes([led.led, led.mode, *led.rgb])
        return MsgType.LED_STATE, bytes(out)
    raise TypeError(f"not a message: {type(msg).__name__}")


def encode_body(msg: Message, seq: int, version: int = VERSION) -> bytes:
    mtype, payload = encode_payload(msg)
    return bytes([version, mtype, seq & 0xFF]) + payload


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("payload too short")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def string(self) -> str:
        try:
            return self.take(self.u8()).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad string") from None


def decode_header(body: bytes) -> Header:
    if len(body) < 3:
        raise ProtocolError("frame too short")
    return Header(body[0], body[1], body[2])


def decode_body(body: bytes) -> tuple[Header, Message]:
    """Header and message of a version-1 body; :class:`ProtocolError` if it is not one.

    Bytes after the fields of the message are a newer minor version's trailing fields:
    ignored, for every type (the trailing-field rule)."""
    head = decode_header(body)
    if head.version != VERSION:
        raise ProtocolError(f"protocol version {head.version}")
    r = _Reader(body[3:])
    t = head.type
    msg: Message
    if t == MsgType.HELLO:
        msg = Hello(*struct.unpack("<BHH", r.take(5)))
    elif t == MsgType.IDENTITY:
        minor, a, b, c = r.take(4)
        model, serial = r.string(), r.string()
        buttons = tuple(r.string() for _ in range(r.u8()))
        infos = []
        for _ in range(r.u8()):
            name = r.string()
            infos.append(LedInfo(name, r.u8()))
        msg = Identity(model, serial, (a, b, c), minor, buttons, tuple(infos))
    elif t == MsgType.HEARTBEAT:
        msg = Heartbeat(*struct.unpack("<I", r.take(4)))
    elif t == MsgType.ACK:
        msg = Ack(r.u8())
    elif t == MsgType.BUTTON:
        button, kind, t_ms = struct.unpack("<BBI", r.take(6))
        try:
            msg = Button(button, ButtonKind(kind), t_ms)
        except ValueError:
            raise ProtocolError("bad button event kind") from None
    elif t == MsgType.ERROR:
        msg = Error(r.u8(), r.u8())
    elif t == MsgType.LED_STATE:
        leds = []
        for _ in range(r.u8()):
            led, mode, red, green, blue = r.take(5)
            try:
                leds.append(Led(led, LedMode(mode), (red, green, blue)))
            except ValueError:
                raise ProtocolError("bad LED mode") from None
        msg = LedState(tuple(leds))
    else:
        raise ProtocolError(f"unknown message type {t:#04x}")
    return head, msg
