"""What crossed the wire: a tcpdump capture on an interface and a small pcap reader.

``with Capture(path) as cap: ...`` runs ``tcpdump -i lo -w path`` for the duration;
:func:`packets` reads the file back (pcap, Ethernet or Linux cooked or raw IP) into
:class:`Packet` records carrying the transport protocol, the ports and the payload, so a test
can assert on the bytes themselves.
"""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import time
from pathlib import Path

from core import children


@dataclasses.dataclass(frozen=True)
class Packet:
    proto: str  # "tcp" | "udp"
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


class Capture:
    def __init__(self, path: Path, interface: str = "lo", bpf: str = "ip") -> None:
        self.path = Path(path)
        self.interface = interface
        self.bpf = bpf
        self.proc: subprocess.Popen[bytes] | None = None
        self.packets: list[Packet] = []

    def start(self, timeout: float = 5.0) -> Capture:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        err = self.path.with_suffix(".stderr")
        with open(err, "wb") as log:
            self.proc = children.spawn(
                [
                    "tcpdump",
                    "-i",
                    self.interface,
                    "-s",
                    "0",
                    "-U",
                    "-n",
                    "-w",
                    str(self.path),
                    self.bpf,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while b"listening on" not in err.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tcpdump did not start: {err.read_text(errors='replace')}")
            time.sleep(0.02)
        return self

    def stop(self) -> list[Packet]:
        if self.proc is not None:
            time.sleep(0.3)  # the last packets reach the file (-U writes per packet)
            self.proc.send_signal(2)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                children.stop(self.proc)
            self.proc = None
        self.packets = packets(self.path)
        return self.packets

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.stop()


def packets(path: Path) -> list[Packet]:
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"not a pcap file: {path}")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0xFFFF
    out: list[Packet] = []
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8 : off + 12])[0]
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        pkt = _decode(frame, linktype)
        if pkt is not None:
            out.append(pkt)
    return out


def _decode(frame: bytes, linktype: int) -> Packet | None:
    if linktype == 1:  # Ethernet (Linux loopback)
        if len(frame) < 14 or frame[12:14] != b"\x08\x00":
            return None
        ip = frame[14:]
    elif linktype == 113:  # Linux cooked
        if len(frame) < 16 or frame[14:16] != b"\x08\x00":
            return None
        ip = frame[16:]
    elif linktype in (12, 101):  # raw IP
        ip = frame
    else:
        return None
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    proto = ip[9]
    src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
    body = ip[ihl:total]
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[:4])
        return Packet("udp", src, sport, dst, dport, body[8:])
    if proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack("!HH", body[:4])
        doff = (body[12] >> 4) * 4
        return Packet("tcp", src, sport, dst, dport, body[doff:])
    return None


def longest_run(payload: bytes, value: int) -> int:
    best = run = 0
    for b in payload:
        run = run + 1 if b == value else 0
        best = max(best, run)
    return best
