"""Input reports in, LED output reports out, from the fields of a :class:`Telephony`.

hidraw hands over one report per read: the report id byte first when the descriptor uses
ids, then the payload. :class:`ReportDecoder` turns one into the values of the telephony
usages it holds; a report it cannot read (an id it does not know, too short, absurdly long)
is counted and ignored, never an exception. :class:`LedEncoder` builds the output reports
for a wanted LED state, keeping the other bits of each report as last sent (0 at first).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.headset.descriptor import Field, Telephony

#: a report longer than its declared size is accepted up to this (a full-speed interrupt
#: packet; some firmware pads), its tail ignored
MAX_PADDED = 64


def get_bits(payload: bytes | bytearray, offset: int, size: int) -> int:
    value = int.from_bytes(payload, "little") >> offset
    return value & ((1 << size) - 1)


def set_bits(payload: bytearray, offset: int, size: int, value: int) -> None:
    whole = int.from_bytes(payload, "little")
    mask = ((1 << size) - 1) << offset
    whole = (whole & ~mask) | ((value << offset) & mask)
    payload[:] = whole.to_bytes(len(payload), "little")


def _signed(value: int, f: Field) -> int:
    if f.logical_min < 0 and value & (1 << (f.bit_size - 1)):
        return value - (1 << f.bit_size)
    return value


@dataclass
class ReportCounts:
    bad_size: int = 0
    unknown_id: int = 0


class ReportDecoder:
    """Input report bytes → {usage name: value} for the telephony usages in it."""

    def __init__(self, tel: Telephony) -> None:
        desc = tel.descriptor
        self.uses_ids = desc.uses_report_ids
        self.counts = ReportCounts()
        by_report: dict[int, list[tuple[str, tuple[Field, ...]]]] = {}
        for name, f in tel.inputs.items():
            slots: tuple[Field, ...] = (f,)
            if not f.variable:  # every slot of the array may hold the usage
                slots = tuple(
                    g
                    for g in desc.fields
                    if g.kind == "input" and g.report_id == f.report_id and g.usages == f.usages
                )
            by_report.setdefault(f.report_id, []).append((name, slots))
        #: report id → (payload bytes, [(name, fields)])
        self._reports = {
            rid: (desc.sizes[("input", rid)], fields) for rid, fields in by_report.items()
        }
        self._other_ids = {rid for (kind, rid) in desc.sizes if kind == "input"}

    def decode(self, report: bytes) -> dict[str, int] | None:
        """The values, or None (counted) for a report that is not one of ours."""
        if self.uses_ids:
            if not report:
                self.counts.bad_size += 1
                return None
            rid, payload = report[0], report[1:]
        else:
            rid, payload = 0, report
        entry = self._reports.get(rid)
        if entry is None:
            if rid not in self._other_ids:
                self.counts.unknown_id += 1
            return None  # another report of the interface (a vendor's): not a telephony one
        size, fields = entry
        if len(payload) < size or len(payload) > max(size, MAX_PADDED):
            self.counts.bad_size += 1
            return None
        out: dict[str, int] = {}
        for name, slots in fields:
            f = slots[0]
            if f.variable:
                out[name] = _signed(get_bits(payload, f.bit_offset, f.bit_size), f)
            else:  # an array slot holds the index of a usage pressed
                out[name] = int(any(_array_holds(payload, g, name) for g in slots))
        return out


def _array_holds(payload: bytes, f: Field, name: str) -> bool:
    index = get_bits(payload, f.bit_offset, f.bit_size) - f.logical_min
    return 0 <= index < len(f.usages) and _usage_name(f.usages[index]) == name


def _usage_name(usage: tuple[int, int]) -> str | None:
    from devices.headset.descriptor import INPUT_USAGES

    return INPUT_USAGES.get(usage)


def encode_input(tel: Telephony, values: dict[str, int]) -> list[bytes]:
    """The input report(s) a headset would send with these usage values (the simulator's
    side; the other fields 0)."""
    desc = tel.descriptor
    payloads: dict[int, bytearray] = {}
    for name, value in values.items():
        f = tel.inputs[name]
        buf = payloads.setdefault(f.report_id, bytearray(desc.sizes[("input", f.report_id)]))
        if f.variable:
            set_bits(buf, f.bit_offset, f.bit_size, value)
        elif value:
            set_bits(buf, f.bit_offset, f.bit_size, f.logical_min + _index(f, name))
    return [
        (bytes([rid]) if desc.uses_report_ids else b"") + bytes(buf)
        for rid, buf in sorted(payloads.items())
    ]


def _index(f: Field, name: str) -> int:
    return next(k for k, u in enumerate(f.usages) if _usage_name(u) == name)


class LedEncoder:
    """A wanted LED state → the output reports to write (those that changed, or all)."""

    def __init__(self, tel: Telephony) -> None:
        self._tel = tel
        desc = tel.descriptor
        self._prefix = desc.uses_report_ids
        self._last: dict[int, bytearray] = {}
        fields: dict[str, list[Field]] = {}
        for name, f in tel.outputs.items():
            fields.setdefault(name, []).append(f)
        for name, more in tel.extra_outputs.items():
            fields.setdefault(name, []).extend(more)
        self._fields = fields
        self._sizes = {rid: desc.sizes[("output", rid)] for (k, rid) in desc.sizes if k == "output"}

    @property
    def leds(self) -> tuple[str, ...]:
        return tuple(self._fields)

    def encode(self, wanted: dict[str, bool], force: bool = False) -> list[bytes]:
        changed: list[int] = []
        for name, fields in self._fields.items():
            on = bool(wanted.get(name, False))
            for f in fields:
                buf = self._last.get(f.report_id)
                fresh = buf is None
                if buf is None:
                    buf = self._last[f.report_id] = bytearray(self._sizes[f.report_id])
                value = (f.logical_max if f.logical_max > 0 else 1) if on else max(f.logical_min, 0)
                before = get_bits(buf, f.bit_offset, f.bit_size)
                set_bits(buf, f.bit_offset, f.bit_size, value)
                if (fresh or before != value or force) and f.report_id not in changed:
                    changed.append(f.report_id)
        return [self._frame(rid) for rid in sorted(changed)]

    def _frame(self, rid: int) -> bytes:
        return (bytes([rid]) if self._prefix else b"") + bytes(self._last[rid])


def decode_output(tel: Telephony, report: bytes) -> dict[str, bool]:
    """The LEDs an output report sets (the simulated headset's side)."""
    desc = tel.descriptor
    rid, payload = (report[0], report[1:]) if desc.uses_report_ids else (0, report)
    out: dict[str, bool] = {}
    fields = [(n, f) for n, f in tel.outputs.items()]
    fields += [(n, f) for n, more in tel.extra_outputs.items() for f in more]
    for name, f in fields:
        if f.report_id == rid and len(payload) * 8 >= f.bit_offset + f.bit_size:
            out[name] = get_bits(payload, f.bit_offset, f.bit_size) > max(f.logical_min, 0)
    return out
