"""HID report descriptors: every field with its report id, bit offset, size and range, and the
telephony fields a headset is driven by.

Written here rather than taken from a library (docs/devices.md, "Why our own parser"):
``hid-parser`` 0.1.0 stops on Push/Pop and Designator items, reads 32-bit (extended) usages
as usages of the current page and keeps no collections; ``hid-tools`` is GPL-2.0-only and
brings six packages with it. The HID 1.11 specification, section 6.2.2, is all this needs:

- short items (one prefix byte: tag, type, size 0/1/2/4) and long items (0xFE, skipped);
- the global state (usage page, logical range, report size/count/id) with Push/Pop, the
  local state (usages, usage minimum/maximum; a 4-byte usage carries its own page) cleared
  after each main item;
- Input/Output/Feature with their Constant/Variable/Relative flags, and collections.

A telephony interface is one with an application collection on the Telephony page (0x0B:
Phone 0x01, Headset 0x05, or any other usage there). :func:`telephony` picks its fields;
:class:`DescriptorError` says, in words fit for IT staff, why a descriptor is not usable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.i18n import _

TELEPHONY_PAGE = 0x0B
LED_PAGE = 0x08
BUTTON_PAGE = 0x09

#: the input usages Faro acts on, by name (HID Usage Tables, Telephony page 0x0B)
INPUT_USAGES: dict[tuple[int, int], str] = {
    (TELEPHONY_PAGE, 0x20): "hook_switch",
    (TELEPHONY_PAGE, 0x21): "flash",
    (TELEPHONY_PAGE, 0x24): "redial",
    (TELEPHONY_PAGE, 0x26): "drop",
    (TELEPHONY_PAGE, 0x2F): "phone_mute",
    (TELEPHONY_PAGE, 0x97): "line_busy_tone",
}
#: the output usages (the lights) Faro drives, by name (LED page 0x08; Ringer on 0x0B)
OUTPUT_USAGES: dict[tuple[int, int], str] = {
    (LED_PAGE, 0x09): "mute",
    (LED_PAGE, 0x17): "off_hook",
    (LED_PAGE, 0x18): "ring",
    (LED_PAGE, 0x20): "hold",
    (LED_PAGE, 0x21): "microphone",
    (TELEPHONY_PAGE, 0x9E): "ringer",
}
APPLICATIONS = {0x01: "phone", 0x05: "headset"}

MAX_DESCRIPTOR = 4096  # HID_MAX_DESCRIPTOR_SIZE in the Linux kernel
MAX_REPORT_BITS = 8 * 4096
MAX_DEPTH = 32  # collections and pushes


class DescriptorError(ValueError):
    """The report descriptor cannot be used; the message is for IT staff."""


class NoTelephony(DescriptorError):
    """A well-formed descriptor of something else (a keyboard, a mouse): not a headset."""


@dataclass(frozen=True, slots=True)
class Field:
    """One data field of a report (a variable, or one array slot)."""

    kind: str  # input, output, feature
    report_id: int  # 0: the descriptor uses no report ids
    bit_offset: int  # from the first bit after the report id byte
    bit_size: int
    usages: tuple[tuple[int, int], ...]  # one for a variable; the array's usages for an array
    logical_min: int
    logical_max: int
    variable: bool
    relative: bool
    application: tuple[int, int] | None  # (page, usage) of the application collection

    @property
    def usage(self) -> tuple[int, int]:
        return self.usages[0]


@dataclass(frozen=True)
class Descriptor:
    fields: tuple[Field, ...]
    uses_report_ids: bool
    #: payload bytes (without the id byte) of each (kind, report id)
    sizes: dict[tuple[str, int], int]
    applications: tuple[tuple[int, int], ...]

    def report_length(self, kind: str, report_id: int) -> int:
        """Bytes hidraw hands over for this report: the id byte (if used) and the payload."""
        return self.sizes[(kind, report_id)] + (1 if self.uses_report_ids else 0)


@dataclass(frozen=True)
class Telephony:
    """The fields of a telephony interface that Faro reads and drives."""

    descriptor: Descriptor
    inputs: dict[str, Field]  # name → field (hook_switch, phone_mute, flash, ...)
    outputs: dict[str, Field]  # name → field (mute, off_hook, ring, hold, microphone, ringer)
    application: str  # headset, phone, or "0x.." for another telephony usage
    extra_outputs: dict[str, list[Field]] = field(default_factory=dict)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Input names, then ``led:`` and the LED names, for people and ``faro devices``."""
        return tuple(self.inputs) + tuple(f"led:{n}" for n in self.outputs)

    def hook_relative(self) -> bool | None:
        hook = self.inputs.get("hook_switch")
        return None if hook is None else hook.relative

    def mute_relative(self) -> bool | None:
        mute = self.inputs.get("phone_mute")
        return None if mute is None else mute.relative


def _bad(detail: str) -> DescriptorError:
    return DescriptorError(
        _("The device's HID report descriptor is malformed ({detail}).").format(detail=detail)
    )


def _signed(value: int, size: int) -> int:
    bits = 8 * size
    return value - (1 << bits) if size and value & (1 << (bits - 1)) else value


@dataclass
class _Globals:
    page: int = 0
    lmin: int = 0
    lmin_size: int = 0
    lmax: int = 0
    lmax_unsigned: int = 0
    size: int = 0
    count: int = 0
    report_id: int = 0

    def copy(self) -> _Globals:
        return _Globals(**vars(self))


def parse(data: bytes) -> Descriptor:
    """Every field of ``data``; :class:`DescriptorError` if it is malformed or truncated."""
    if not data:
        raise _bad(_("it is empty"))
    if len(data) > MAX_DESCRIPTOR:
        raise _bad(_("longer than {limit} bytes").format(limit=MAX_DESCRIPTOR))
    g = _Globals()
    stack: list[_Globals] = []
    usages: list[tuple[int, int]] = []
    umin: tuple[int, int] | None = None
    collections: list[tuple[int, tuple[int, int] | None]] = []  # (type, usage)
    fields: list[Field] = []
    offsets: dict[tuple[str, int], int] = {}
    uses_ids = False
    saw_main_without_id = False
    applications: list[tuple[int, int]] = []
    app: tuple[int, int] | None = None
    i, n = 0, len(data)
    while i < n:
        prefix = data[i]
        if prefix == 0xFE:  # long item: size, tag, data (none defined by the spec: skipped)
            if i + 2 >= n or i + 3 + data[i + 1] > n:
                raise _bad(_("a long item is cut off at byte {offset}").format(offset=i))
            i += 3 + data[i + 1]
            continue
        size = (0, 1, 2, 4)[prefix & 0x03]
        kind = (prefix >> 2) & 0x03
        tag = prefix >> 4
        if i + 1 + size > n:
            raise _bad(_("an item is cut off at byte {offset}").format(offset=i))
        value = int.from_bytes(data[i + 1 : i + 1 + size], "little")
        at = i
        i += 1 + size
        if kind == 0:  # main
            if tag in (0x8, 0x9, 0xB):  # input, output, feature
                name = {0x8: "input", 0x9: "output", 0xB: "feature"}[tag]
                if g.size <= 0 or g.size > 32 and not value & 0x01:
                    raise _bad(
                        _("a field of {bits} bits at byte {offset}").format(bits=g.size, offset=at)
                    )
                if g.report_id == 0:
                    saw_main_without_id = True
                key = (name, g.report_id)
                start = offsets.get(key, 0)
                total = g.size * g.count
                if start + total > MAX_REPORT_BITS:
                    raise _bad(_("a report longer than 4096 bytes"))
                constant = bool(value & 0x01)
                variable = bool(value & 0x02)
                relative = bool(value & 0x04)
                usage_list = list(usages)
                if not constant and usage_list:
                    lmax = g.lmax if not (g.lmin >= 0 and g.lmax < 0) else g.lmax_unsigned
                    if variable:
                        for k in range(g.count):
                            usage = usage_list[min(k, len(usage_list) - 1)]
                            fields.append(
                                Field(
                                    name,
                                    g.report_id,
                                    start + k * g.size,
                                    g.size,
                                    (usage,),
                                    g.lmin,
                                    lmax,
                                    True,
                                    relative,
                                    app,
                                )
                            )
                    else:
                        for k in range(g.count):
                            fields.append(
                                Field(
                                    name,
                                    g.report_id,
                                    start + k * g.size,
                                    g.size,
                                    tuple(usage_list),
                                    g.lmin,
                                    lmax,
                                    False,
                                    relative,
                                    app,
                                )
                            )
                offsets[key] = start + total
            elif tag == 0xA:  # collection
                if len(collections) >= MAX_DEPTH:
                    raise _bad(_("collections nested too deeply"))
                coll_usage = usages[0] if usages else None
                collections.append((value, coll_usage))
                if value == 0x01 and not any(t == 0x01 for t, _u in collections[:-1]):
                    app = coll_usage
                    if coll_usage is not None:
                        applications.append(coll_usage)
            elif tag == 0xC:  # end collection
                if not collections:
                    raise _bad(
                        _("an End Collection without a Collection at byte {offset}").format(
                            offset=at
                        )
                    )
                ended, _usage = collections.pop()
                if ended == 0x01 and not any(t == 0x01 for t, _u in collections):
                    app = None
            else:
                raise _bad(_("an unknown main item at byte {offset}").format(offset=at))
            usages, umin = [], None
        elif kind == 1:  # global
            if tag == 0x0:
                g.page = value
            elif tag == 0x1:
                g.lmin, g.lmin_size = _signed(value, size), size
            elif tag == 0x2:
                g.lmax, g.lmax_unsigned = _signed(value, size), value
            elif tag == 0x7:
                g.size = value
            elif tag == 0x8:
                if value == 0 or value > 0xFF:
                    raise _bad(_("report id {id} at byte {offset}").format(id=value, offset=at))
                g.report_id = value
                uses_ids = True
            elif tag == 0x9:
                g.count = value
            elif tag == 0xA:  # push
                if len(stack) >= MAX_DEPTH:
                    raise _bad(_("too many Push items"))
                stack.append(g.copy())
            elif tag == 0xB:  # pop
                if not stack:
                    raise _bad(_("a Pop without a Push at byte {offset}").format(offset=at))
                g = stack.pop()
            # physical range, unit exponent, unit: not needed
        elif kind == 2:  # local
            full = (value >> 16, value & 0xFFFF) if size == 4 else (g.page, value)
            if tag == 0x0:
                usages.append(full)
            elif tag == 0x1:
                umin = full
            elif tag == 0x2:
                if umin is None:
                    raise _bad(
                        _("a Usage Maximum without a Usage Minimum at byte {offset}").format(
                            offset=at
                        )
                    )
                if full[1] - umin[1] > 0xFFFF or full[1] < umin[1]:
                    raise _bad(_("a usage range backwards at byte {offset}").format(offset=at))
                usages.extend((umin[0], u) for u in range(umin[1], full[1] + 1))
                umin = None
            # designators, strings, delimiters: not needed
        else:
            raise _bad(_("a reserved item type at byte {offset}").format(offset=at))
    if collections:
        raise _bad(_("it ends inside a collection (truncated?)"))
    if uses_ids and saw_main_without_id:
        raise _bad(_("some reports have an id and some do not"))
    sizes = {key: (bits + 7) // 8 for key, bits in offsets.items()}
    return Descriptor(tuple(fields), uses_ids, sizes, tuple(applications))


def telephony(data: bytes | Descriptor) -> Telephony:
    """The telephony fields of a descriptor; :class:`DescriptorError` if there are none."""
    desc = parse(data) if isinstance(data, (bytes, bytearray)) else data
    apps = [a for a in desc.applications if a[0] == TELEPHONY_PAGE]
    if not apps:
        raise NoTelephony(
            _("The device has no HID telephony interface (no Telephony application collection).")
        )
    inputs: dict[str, Field] = {}
    outputs: dict[str, Field] = {}
    extra: dict[str, list[Field]] = {}
    for f in desc.fields:
        if f.application is None or f.application[0] != TELEPHONY_PAGE:
            continue
        if f.kind == "input":
            for usage in f.usages if not f.variable else (f.usage,):
                name = INPUT_USAGES.get(usage)
                if name and name not in inputs:
                    inputs[name] = f
        elif f.kind == "output" and f.variable:
            name = OUTPUT_USAGES.get(f.usage)
            if name and name not in outputs:
                outputs[name] = f
            elif name:
                extra.setdefault(name, []).append(f)
    if not inputs:
        raise DescriptorError(
            _(
                "The device's telephony interface has no button Faro knows (hook switch, "
                "phone mute, flash)."
            )
        )
    app_usage = apps[0][1]
    name = APPLICATIONS.get(app_usage, f"0x{app_usage:02x}")
    return Telephony(desc, inputs, outputs, name, extra)
