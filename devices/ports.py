"""Serial ports with their USB ids, for discovery and ``faro devices list`` (audio devices:
:mod:`audio.devices`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class ComPort(Protocol):
    """What Faro reads of a pyserial ``ListPortInfo`` (tests pass their own)."""

    device: str
    description: str | None
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None


@dataclass(frozen=True)
class SerialPortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None

    @property
    def usb_id(self) -> str:
        return (
            f"{self.vid:04x}:{self.pid:04x}"
            if self.vid is not None and self.pid is not None
            else ""
        )


def parse_usb_ids(ids: Iterable[str]) -> list[tuple[int, int]]:
    """``["2e8a:0005"]`` → ``[(0x2e8a, 0x0005)]``; bad entries raise ValueError."""
    out = []
    for text in ids:
        m = re.fullmatch(r"\s*([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\s*", text)
        if not m:
            raise ValueError(f"'{text}' is not a USB id like 2e8a:0005")
        out.append((int(m.group(1), 16), int(m.group(2), 16)))
    return out


def serial_ports(comports: Sequence[ComPort] | None = None) -> list[SerialPortInfo]:
    """Every serial port pyserial sees (``comports`` is for tests: ListPortInfo objects)."""
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports()
    return [
        SerialPortInfo(p.device, p.description or "", p.vid, p.pid, p.serial_number, p.manufacturer)
        for p in comports
    ]


def find_by_usb_id(
    usb_ids: Sequence[tuple[int, int]], comports: Sequence[ComPort] | None = None
) -> list[str]:
    """Device paths of the ports whose USB vendor:product is in ``usb_ids``, sorted."""
    wanted = set(usb_ids)
    return sorted(p.device for p in serial_ports(comports) if (p.vid, p.pid) in wanted)
