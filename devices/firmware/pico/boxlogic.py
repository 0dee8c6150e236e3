"""Faro button box, device side of protocol 1. Pure logic: no hardware, no clock.

Runs unchanged under MicroPython (copied to the Pico next to main.py) and under CPython
(the simulator, the tests). The caller passes the time in milliseconds to every method and
writes the bytes of :meth:`BoxLogic.take_frames` to the host. Only MicroPython-safe Python:
no dataclasses, enums, typing or walrus.

The rules it shares with the host (docs/buttonbox-protocol.md): fields after the ones it
knows are a newer minor version's trailing fields, ignored in every message; its own
sequence counter starts at 0 at power-up (the first event is 1), wraps at 256 and is not
reset by HELLO; the host's LED_STATE numbers are taken in a window that restarts at every
HELLO, so a repeated or older LED_STATE never undoes a newer one.
"""

try:
    import struct
except ImportError:  # pragma: no cover - very old MicroPython
    import ustruct as struct  # type: ignore

try:
    from binascii import crc32 as _crc32

    if _crc32(b"123456789") & 0xFFFFFFFF != 0xCBF43926:  # pragma: no cover
        raise ImportError
except ImportError:  # pragma: no cover - builds without binascii.crc32
    _crc32 = None  # type: ignore[assignment]  # MicroPython has no typing to say Optional

VERSION = 1
FIRMWARE = (1, 0, 0)
MAX_BODY = 124
MAX_ENCODED = MAX_BODY + 4 + 1  # COBS of body + CRC: one overhead byte (under 254 bytes)
SEQ_WINDOW = 127  # 1..127 ahead (mod 256) is newer; anything else is not

HELLO = 0x01
IDENTITY = 0x02
HEARTBEAT = 0x03
ACK = 0x04
BUTTON = 0x10
ERROR = 0x11
LED_STATE = 0x20

DOWN = 1
UP = 2
LONG = 3

OFF = 0
ON = 1
BLINK = 2
BLINK_FAST = 3
PULSE = 4

ERR_BAD_FRAME = 1
ERR_UNKNOWN_TYPE = 2
ERR_BAD_PAYLOAD = 3
ERR_VERSION = 4
ERR_EVENT_LOST = 5

RETRY_MS = 150  # resend an unacknowledged event this often
MAX_TRIES = 6  # then give up on it (the host counts the gap)
MAX_AGE_MS = 1500  # never deliver a press older than this
QUEUE_MAX = 16
DEBOUNCE_MS = 20

_TABLE = None


def crc32(data):
    if _crc32 is not None:
        return _crc32(data) & 0xFFFFFFFF
    global _TABLE
    if _TABLE is None:
        _TABLE = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            _TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def cobs_encode(data):
    out = bytearray(b"\x00")
    code_at = 0
    code = 1
    for b in data:
        if b:
            out.append(b)
            code += 1
        if not b or code == 0xFF:
            out[code_at] = code
            code_at = len(out)
            code = 1
            out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            return None
        out.extend(data[i + 1 : i + code])
        i += code
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def frame(body):
    return b"\x00" + cobs_encode(body + struct.pack("<I", crc32(body))) + b"\x00"


def _str(s):
    raw = s.encode()[:32]
    return bytes([len(raw)]) + raw


class BoxLogic:
    """One button box: debounced buttons in, LED state out, protocol 1 on the wire."""

    def __init__(
        self,
        model="Faro Box 4",
        serial="0001",
        buttons=("answer", "hangup", "mute", "help"),
        leds=(("answer", 0), ("hangup", 0), ("mute", 0), ("help", 0)),
        firmware=FIRMWARE,
        version=VERSION,
        now=0,
        extra=None,
    ):
        self.model = model
        self.serial = serial
        self.buttons = tuple(buttons)
        self.led_info = tuple(leds)
        self.firmware = firmware
        self.version = version  # a test can build a box of another version
        # ... or of a newer minor one: type code -> trailing fields appended to that payload
        self.extra = dict(extra or {})
        self.leds = [(OFF, 255, 255, 255) for _ in self.led_info]
        self.session = False  # a host said HELLO and keeps sending
        self.had_session = False  # there was one: events from now on are lost ones
        self.heartbeat_ms = 500
        self.long_ms = 800
        self.host_seen = now
        self.hb_sent = now
        self.seq = 0  # my last reliable seq (HELLO does not reset it)
        self.host_seq = None  # host's last LED_STATE seq applied (this session)
        self.queue = []  # [seq, body, created, sent_at, tries]
        self.frames = []  # encoded frames waiting to be sent
        self.rx = bytearray()
        self.discarding = False
        self.bad_frames = 0  # since the last report
        self.bad_total = 0
        self.bad_reported_at = now
        self.lost = 0
        n = len(self.buttons)
        self.raw = [False] * n
        self.raw_at = [0] * n
        self.pressed = [False] * n
        self.down_at = [0] * n
        self.long_sent = [False] * n

    # -- output ------------------------------------------------------------------
    def _send(self, mtype, payload, seq=None):
        body = (
            bytes([self.version, mtype, (self.seq if seq is None else seq) & 0xFF])
            + payload
            + self.extra.get(mtype, b"")
        )
        self.frames.append(frame(body))

    def take_frames(self):
        out = self.frames
        self.frames = []
        return out

    def take_output(self):
        return b"".join(self.take_frames())

    def _queue(self, mtype, payload, now):
        if not self.session:
            if self.had_session:
                self.lost += 1  # the next host hears of it (ERROR EVENT_LOST after IDENTITY)
            return  # nobody listens: a press now must not arrive later
        if len(self.queue) >= QUEUE_MAX:
            self.queue.pop(0)
            self.lost += 1
        self.seq = (self.seq + 1) & 0xFF
        body = bytes([self.version, mtype, self.seq]) + payload + self.extra.get(mtype, b"")
        self.queue.append([self.seq, body, now, None, 0])
        self._pump(now)

    def _pump(self, now):
        while self.queue:
            head = self.queue[0]
            if head[4] >= MAX_TRIES or now - head[2] > MAX_AGE_MS:
                self.queue.pop(0)
                self.lost += 1
                continue
            if head[3] is None or now - head[3] >= RETRY_MS:
                head[3] = now
                head[4] += 1
                self.frames.append(frame(head[1]))
            return
        if self.lost:
            lost = min(self.lost, 255)
            self.lost = 0
            self._queue(ERROR, bytes([ERR_EVENT_LOST, lost]), now)

    # -- input from the host -----------------------------------------------------
    def feed(self, data, now):
        start = 0
        n = len(data)
        while start <= n:
            idx = data.find(b"\x00", start)
            if idx < 0:
                if not self.discarding:
                    if len(self.rx) + n - start > MAX_ENCODED:
                        self.discarding = True
                        self.rx = bytearray()
                        self._bad(now)
                    else:
                        self.rx.extend(data[start:])
                break
            if self.discarding:
                self.discarding = False
            else:
                self.rx.extend(data[start:idx])
                if len(self.rx) > MAX_ENCODED:
                    self._bad(now)
                elif self.rx:
                    self._candidate(bytes(self.rx), now)
            self.rx = bytearray()
            start = idx + 1

    def _bad(self, now):
        self.bad_frames += 1
        self.bad_total += 1

    def _candidate(self, enc, now):
        dec = cobs_decode(enc)
        if dec is None or len(dec) < 7:
            self._bad(now)
            return
        body = dec[:-4]
        if crc32(body) != struct.unpack("<I", dec[-4:])[0]:
            self._bad(now)
            return
        self._message(body[0], body[1], body[2], body[3:], now)

    def _message(self, version, mtype, seq, payload, now):
        if mtype == HELLO:
            # frozen for every version: always answer with who we are
            self._hello(version, payload, now)
            return
        if version != self.version:
            self._queue(ERROR, bytes([ERR_VERSION, version]), now)
            return
        self.host_seen = now
        if mtype == HEARTBEAT:
            return
        if mtype == ACK:
            if len(payload) >= 1 and self.queue and self.queue[0][0] == payload[0]:
                self.queue.pop(0)
                self._pump(now)
            return
        if mtype == LED_STATE:
            self._send(ACK, bytes([seq]))  # a repeat or an older one is acknowledged too
            if not self._led_payload_ok(payload):
                self._queue(ERROR, bytes([ERR_BAD_PAYLOAD, mtype]), now)
                return  # the ERROR tells the host; sending it again would not help
            ahead = 1 if self.host_seq is None else (seq - self.host_seq) & 0xFF
            if 0 < ahead <= SEQ_WINDOW:
                self.host_seq = seq
                self._leds(payload)
            return
        self._queue(ERROR, bytes([ERR_UNKNOWN_TYPE, mtype]), now)

    def _hello(self, version, payload, now):
        if version == self.version and len(payload) >= 5:
            _minor, hb, lp = struct.unpack("<BHH", payload[:5])
            self.heartbeat_ms = max(50, hb)
            self.long_ms = max(200, lp)
            if self.session:
                self.lost += len(self.queue)
            self.session = self.had_session = True
            self.host_seen = now
            self.hb_sent = now
            self.queue = []  # a new session: nothing of the last one is delivered,
            self.host_seq = None  # but the host hears how many (ERROR EVENT_LOST)
        self._send(IDENTITY, self._identity())
        self._pump(now)

    def _identity(self):
        out = bytearray(bytes([0]) + bytes(self.firmware))
        out.extend(_str(self.model))
        out.extend(_str(self.serial))
        out.append(len(self.buttons))
        for name in self.buttons:
            out.extend(_str(name))
        out.append(len(self.led_info))
        for name, caps in self.led_info:
            out.extend(_str(name))
            out.append(caps)
        return bytes(out)

    def _led_payload_ok(self, payload):
        """n, then n LED entries of 5 bytes (what follows them: trailing fields, ignored)."""
        if not payload or len(payload) < 1 + 5 * payload[0]:
            return False
        for i in range(payload[0]):
            if payload[1 + 5 * i] >= len(self.leds) or payload[2 + 5 * i] > PULSE:
                return False
        return True

    def _leds(self, payload):
        new = list(self.leds)
        for i in range(payload[0]):
            led, mode, r, g, b = payload[1 + 5 * i : 6 + 5 * i]
            new[led] = (mode, r, g, b)
        self.leds = new

    # -- buttons -------------------------------------------------------------------
    def sample(self, idx, raw_pressed, now):
        """A raw pin reading; a change counts once it has been stable for DEBOUNCE_MS."""
        if raw_pressed != self.raw[idx]:
            self.raw[idx] = raw_pressed
            self.raw_at[idx] = now
        elif raw_pressed != self.pressed[idx] and now - self.raw_at[idx] >= DEBOUNCE_MS:
            self.set_button(idx, raw_pressed, now)

    def set_button(self, idx, pressed, now):
        """A debounced change of button ``idx``."""
        if pressed == self.pressed[idx]:
            return
        self.pressed[idx] = pressed
        if pressed:
            self.down_at[idx] = now
            self.long_sent[idx] = False
        self._queue(
            BUTTON, struct.pack("<BBI", idx, DOWN if pressed else UP, now & 0xFFFFFFFF), now
        )

    # -- time ------------------------------------------------------------------------
    def tick(self, now):
        for i in range(len(self.buttons)):
            if self.pressed[i] and not self.long_sent[i] and now - self.down_at[i] >= self.long_ms:
                self.long_sent[i] = True
                self._queue(BUTTON, struct.pack("<BBI", i, LONG, now & 0xFFFFFFFF), now)
        if self.session and now - self.host_seen > 4 * self.heartbeat_ms:
            self.session = False  # the host is gone: show offline, forget pending presses
            self.lost += len(self.queue)
            self.queue = []
        if self.session:
            if now - self.hb_sent >= self.heartbeat_ms:
                self.hb_sent = now
                self._send(HEARTBEAT, struct.pack("<I", now & 0xFFFFFFFF))
            if self.bad_frames and now - self.bad_reported_at >= 1000:
                self.bad_reported_at = now
                self._queue(ERROR, bytes([ERR_BAD_FRAME, min(self.bad_frames, 255)]), now)
                self.bad_frames = 0
        self._pump(now)

    # -- LEDs ------------------------------------------------------------------------
    def led_level(self, idx, now):
        """Brightness 0..255 of LED ``idx`` now (offline: the first LED breathes, others off)."""
        if not self.session:
            mode = PULSE if idx == 0 else OFF
        else:
            mode = self.leds[idx][0]
        if mode == ON:
            return 255
        if mode == BLINK:
            return 255 if (now // 500) % 2 == 0 else 0
        if mode == BLINK_FAST:
            return 255 if (now // 125) % 2 == 0 else 0
        if mode == PULSE:
            phase = now % 2000
            return (phase if phase < 1000 else 2000 - phase) * 255 // 1000
        return 0
