"""The handshake: HELLO until the box answers with its IDENTITY, or the reasons it did not.

:func:`handshake` runs on the owner thread (its reads and writes go through the
:class:`~devices.buttonbox.link.Link`, which asserts it). Its outcomes: the identity of a
version-1 box (and the frames that came after it), :class:`Rejected` (another version, or an
identity that cannot be read: the device is set aside), :class:`NoAnswer` (tried again), or
:class:`~devices.buttonbox.link.Closed` when the driver stops meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

from core.clock import Clock
from core.i18n import _
from devices.buttonbox.codec import FrameDecoder
from devices.buttonbox.link import POLL_S, Closed, Link
from devices.buttonbox.protocol import (
    VERSION,
    Hello,
    Identity,
    MsgType,
    ProtocolError,
    decode_body,
    decode_header,
)
from devices.buttonbox.settings import DriverSettings


class Rejected(Closed):
    """The device answered, but it is not a box this Faro can use: it is set aside."""


class NoAnswer(Exception):
    """No IDENTITY in time. ``foreign``: bytes came, but never one frame with a good CRC."""

    def __init__(self, foreign: bool) -> None:
        super().__init__("no answer")
        self.foreign = foreign


def handshake(
    link: Link,
    decoder: FrameDecoder,
    settings: DriverSettings,
    clock: Clock,
    stopping: Callable[[], bool],
) -> tuple[Identity, list[bytes]]:
    """Say HELLO (again after half the timeout) and wait for the IDENTITY.

    Returns the identity and the bodies of the frames that came after it in the same read,
    for the session to handle."""
    hello = Hello(0, int(settings.heartbeat_s * 1000), settings.long_press_ms)
    reprobe_s = settings.reprobe_s
    link.write(hello)
    start = clock.monotonic()
    deadline = start + settings.hello_timeout_s
    resend_at = start + settings.hello_timeout_s / 2
    got = framed = 0
    while not stopping():
        now = clock.monotonic()
        if now >= deadline:
            # a box that is busy or frozen says nothing, or frames (heartbeats, events of a
            # session it still believes in): try again. Bytes that never make one good frame
            # are something else on the port.
            raise NoAnswer(foreign=bool(got) and not framed)
        if now >= resend_at:
            link.write(hello)
            resend_at = deadline + 1
        data = link.read(min(POLL_S, min(deadline, resend_at) - now))
        got += len(data)
        bodies = decoder.feed(data)
        framed += len(bodies)
        for i, body in enumerate(bodies):
            head = decode_header(body)
            if head.type != MsgType.IDENTITY:
                continue
            if head.version != VERSION:
                raise Rejected(
                    "wrong_version",
                    _(
                        "The button box on {port} speaks protocol version {theirs}; this Faro "
                        "speaks version {ours}. Update the box firmware or Faro; Faro tries it "
                        "again when it is plugged in again or in {seconds:.0f} s."
                    ).format(port=link.path, theirs=head.version, ours=VERSION, seconds=reprobe_s),
                )
            try:
                _head, identity = decode_body(body)
            except ProtocolError:
                raise Rejected(
                    "unknown_device",
                    _(
                        "The device on {port} sent an identity Faro cannot read; Faro tries it "
                        "again when it is plugged in again or in {seconds:.0f} s."
                    ).format(port=link.path, seconds=reprobe_s),
                ) from None
            assert isinstance(identity, Identity)  # decode_body decodes by the type code
            return identity, bodies[i + 1 :]
    raise Closed("stopped", "")
