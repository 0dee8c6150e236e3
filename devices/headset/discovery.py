"""Which hidraw nodes are HID telephony headsets, and which one Faro uses.

Linux shows each hidraw node under ``/sys/class/hidraw/hidrawN/device/``: the interface's
``report_descriptor`` (the raw bytes) and ``uevent`` (``HID_ID=0003:0000047F:0000C056``:
bus, vendor, product; ``HID_NAME``; ``HID_PHYS``). :func:`scan` reads that tree under a
configurable root (tests and the simulator give a fake one) and parses each descriptor;
the node is ``<dev_root>/hidrawN``. Hotplug is a poll of that tree (the driver's owner
thread, every ``poll_s``): cheap (a directory listing and, for a new node, two small
files), and the same with and without udev.

The choice (:func:`choose`): ``devices.headset.device`` empty → the first telephony-capable
node (by number); else a ``vvvv:pppp`` USB id, a node path or name, or a piece of the
HID_NAME (case ignored). Every other telephony-capable node is *ignored*, with a note.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from devices.headset.descriptor import DescriptorError, NoTelephony, Telephony, telephony

log = logging.getLogger(__name__)

SYSFS_ROOT = "/sys"
DEV_ROOT = "/dev"
_NODE = re.compile(r"hidraw(\d+)$")


@dataclass(frozen=True)
class Candidate:
    """One hidraw node, as sysfs describes it."""

    node: str  # hidrawN
    path: str  # the device node to open
    name: str  # HID_NAME
    usb_id: str  # vvvv:pppp ("" if unknown)
    bus: int
    phys: str
    tel: Telephony | None = field(default=None, compare=False)
    error: str = ""  # why the descriptor is not usable (malformed; empty for "no telephony")
    stamp: tuple[int, ...] = ()  # what tells this node from a replugged one at the same name

    @property
    def number(self) -> int:
        m = _NODE.search(self.node)
        return int(m.group(1)) if m else 1 << 30

    @property
    def usable(self) -> bool:
        return self.tel is not None


def _uevent(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _usb_id(hid_id: str) -> tuple[int, str]:
    """``0003:0000047F:0000C056`` → (3, "047f:c056")."""
    parts = hid_id.split(":")
    if len(parts) != 3:
        return 0, ""
    try:
        bus, vendor, product = (int(p, 16) for p in parts)
    except ValueError:
        return 0, ""
    return bus, f"{vendor & 0xFFFF:04x}:{product & 0xFFFF:04x}"


_cache: dict[tuple[str, tuple[int, ...]], Candidate] = {}


def read_candidate(sysfs_root: str, dev_root: str, node: str) -> Candidate | None:
    """The node as sysfs says (None if it went meanwhile); descriptors parsed once per node."""
    base = Path(sysfs_root, "class", "hidraw", node, "device")
    try:
        st = os.stat(base / "report_descriptor")
        stamp = (st.st_ino, st.st_ctime_ns, st.st_size)
        cached = _cache.get((str(base), stamp))
        if cached is not None:
            return cached
        raw = (base / "report_descriptor").read_bytes()
        info = _uevent((base / "uevent").read_text(errors="replace"))
    except OSError:
        return None
    bus, usb_id = _usb_id(info.get("HID_ID", ""))
    tel: Telephony | None = None
    error = ""
    try:
        tel = telephony(raw)
    except NoTelephony:
        pass  # a keyboard, a mouse: not listed
    except DescriptorError as exc:
        if b"\x05\x0b" in raw:  # it names the Telephony page, but cannot be used
            error = str(exc)
    cand = Candidate(
        node,
        os.path.join(dev_root, node),
        info.get("HID_NAME", ""),
        usb_id,
        bus,
        info.get("HID_PHYS", ""),
        tel,
        error,
        stamp,
    )
    if len(_cache) > 256:
        _cache.clear()
    _cache[(str(base), stamp)] = cand
    return cand


def scan(sysfs_root: str = SYSFS_ROOT, dev_root: str = DEV_ROOT) -> list[Candidate]:
    """Every hidraw node that is, or says it is, a telephony interface, by number. A
    machine without hidraw at all (no /sys/class/hidraw) has none."""
    try:
        nodes = os.listdir(os.path.join(sysfs_root, "class", "hidraw"))
    except OSError:
        return []
    out = []
    for node in nodes:
        if not _NODE.search(node):
            continue
        cand = read_candidate(sysfs_root, dev_root, node)
        if cand is not None and (cand.usable or cand.error):
            out.append(cand)
    return sorted(out, key=lambda c: c.number)


def matches(cand: Candidate, wanted: str) -> bool:
    w = wanted.strip().lower()
    return (
        w == cand.usb_id
        or w == cand.path.lower()
        or w == cand.node
        or (bool(w) and w in cand.name.lower())
    )


def choose(cands: list[Candidate], wanted: str) -> tuple[Candidate | None, list[Candidate]]:
    """The headset to use and the other usable ones (ignored)."""
    usable = [c for c in cands if c.usable]
    pick = next((c for c in usable if not wanted or matches(c, wanted)), None)
    return pick, [c for c in usable if c is not pick]
