"""Report descriptors of real headset families, and how their firmware behaves, for the
simulator, the tests and ``faro demo``. Descriptors are byte data (facts about devices),
each with where it was published; docs/devices.md, "Headset families", has the list.

``hook``: ``absolute`` (the hook switch is a state: 1 = off-hook, and the firmware follows
the host's Off-Hook LED) or ``toggle`` (each press of the call button is a 1 then a 0;
Faro decides by the call what it means). ``mute``: ``press`` (a momentary press: 1 then 0),
``state`` (the report carries the headset's mute state) or ``echo`` (a press flips the
headset's own mute at once, and the firmware flips it back unless the host echoes the Mute
LED within ``echo_timeout_s``: WICG/webhid issue 72 describes Jabra, EPOS/Sennheiser and
Poly headsets doing so).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    key: str
    name: str  # HID_NAME as the kernel would show it
    usb_id: tuple[int, int]
    descriptor: bytes
    hook: str  # absolute | toggle
    mute: str  # press | state | echo
    source: str
    echo_timeout_s: float = 0.5


# Plantronics (Poly) Blackwire 3220, USB 047f:c056, interface 3, its Telephony Headset
# collection: published by mcuee in libusb/hidapi pull request 262 (hidtest output,
# 2021-07). The dump goes on after the Ring LED (report 0x18) with vendor reports; the
# telephony part Faro uses is kept, the collection closed after it. Phone Mute is
# Input(Data,Var,Rel): a press; Hook Switch and Flash are Input(Data,Var,Abs).
BLACKWIRE_3220 = bytes.fromhex(
    "050b 0905 a101"
    "8508 092f 1500 2501 7501 9501 8106"  # report 8: Phone Mute (relative)
    "0920 0921 1500 2501 7501 9502 8122"  # Hook Switch, Flash (absolute)
    "8509 0508 0909 1500 2501 7501 9501 9122"  # report 9: LED Mute
    "8517 0917 1500 2501 7501 9501 9122"  # report 0x17: LED Off-Hook
    "8518 0918 1500 2501 7501 9501 9122"  # report 0x18: LED Ring
    "c0"
)

# Qualcomm's headset ADK (the reference firmware of QCC5xxx Bluetooth headsets and their USB
# dongles), adk/src/domains/usb/usb_hid/usb_hid_consumer_transport_descriptors.c, as
# mirrored on GitHub (yangjianwei12/yang): a Consumer Control collection (report 1) and a
# Telephony Headset collection (report 2: Phone Mute relative, Hook Switch and Flash
# absolute, a Programmable Button; one output report per LED, padded to a byte).
QUALCOMM_ADK = bytes.fromhex(
    "050c 0901 a101 8501"
    "1500 2501 09cd 09b5 09b6 09b7 7501 9504 8102"
    "1500 2501 09b0 09b1 09b3 09b4 7501 9504 8122"
    "1500 2501 09e9 09ea 7501 9502 8102"
    "09e2 7501 9501 8106"
    "7501 9505 8101"
    "c0"
    "050b 0905 a101 8502 050b 1500 2501"
    "092f 7501 9501 8106"
    "0920 0921 7501 9502 8122"
    "0907 0509 0901 7501 9501 8102"
    "7501 950c 8101"
    "0508 7501"
    "8509 0909 9501 9122 9507 9101"
    "8520 0920 9501 9122 9507 9101"
    "8517 0917 9501 9122 9507 9101"
    "8518 0918 9501 9122 9507 9101"
    "c0"
)

# Actions Semiconductor's USB audio SDK (hid_handler.h, "Report ID: 7, Telephone Status",
# Apache-2.0, public on GitHub): a Telephony Phone collection whose one report carries Hook
# Switch, Flash and Phone Mute as absolute bits, and fifteen LEDs in one 16-bit output
# report with the same id (Off-Hook, Ring, Hold, Microphone and Mute among them): the
# encoder must keep the other LEDs of the report as it last sent them.
ACTIONS_PHONE = bytes.fromhex(
    "050b 0901 a101 8507 1500 2501"
    "0920 0921 092f 7501 9503 8102"
    "7505 9501 8103"
    "0508 1500 2501"
    "0908 0917 0918 0919 091a 091e 091f 0920 0921 0922 0923 0924 0925 0926 0909"
    "7501 950f 9102 7501 9501 9103"
    "c0"
)

# Not a vendor's: Faro's own descriptor for a call button declared Input(Data,Var,Rel) on
# the Hook Switch usage (a toggle, as the HUT allows and some DECT and USB base stations
# do); built from the HID Usage Tables to test that path from the descriptor, not from the
# hook_mode option. No report ids; Push/Pop and an extended (32-bit) usage on purpose.
RELATIVE_HOOK = bytes.fromhex(
    "050b 0905 a101"
    "a4"  # Push
    "1500 2501 7501 9501"
    "0b20000b00 8106"  # Usage (0x000B0020 Hook Switch, extended), Input (Data,Var,Rel)
    "092f 8106"  # Phone Mute, relative
    "b4"  # Pop
    "7506 9501 8103"  # padding
    "0508 1500 2501 7501 9502 0917 0909 9102 7506 9501 9103"  # LEDs Off-Hook, Mute
    "c0"
)

FAMILIES: dict[str, Family] = {
    f.key: f
    for f in (
        Family(
            "blackwire",
            "Plantronics Blackwire 3220 Series",
            (0x047F, 0xC056),
            BLACKWIRE_3220,
            hook="absolute",
            mute="press",
            source="libusb/hidapi pull request 262 (Plantronics Blackwire 3220, interface 3)",
        ),
        Family(
            "qualcomm",
            "QCC Headset Dongle",
            (0x0A12, 0x4007),
            QUALCOMM_ADK,
            hook="absolute",
            mute="echo",
            source="Qualcomm headset ADK usb_hid_consumer_transport_descriptors.c",
        ),
        Family(
            "actions",
            "USB Audio Phone",
            (0x10D6, 0xDD01),
            ACTIONS_PHONE,
            hook="absolute",
            mute="state",
            source="Actions Semiconductor USB audio SDK hid_handler.h (report 7)",
        ),
        Family(
            "toggle",
            "Faro Test Toggle Headset",
            (0x1209, 0xFA50),
            RELATIVE_HOOK,
            hook="toggle",
            mute="press",
            source="Faro's own (HID Usage Tables 1.4, Telephony page), not a vendor's",
        ),
    )
}

#: malformed or unusable descriptors, for the tests of DescriptorError
MALFORMED = {
    "truncated": BLACKWIRE_3220[:-9],  # cut inside an item and the collection
    "cut_item": bytes.fromhex("050b 0905 a101 8508 26ff"),  # a 2-byte item with 1 byte
    "pop_without_push": bytes.fromhex("050b 0905 a101 b4 c0"),
    "end_without_collection": bytes.fromhex("050b 0905 c0"),
    "keyboard": bytes.fromhex(  # a boot keyboard: well formed, no telephony
        "0501 0906 a101 0507 19e0 29e7 1500 2501 7501 9508 8102 9501 7508 8101 c0"
    ),
    "telephony_without_buttons": bytes.fromhex("050b 0905 a101 0508 0909 7501 9501 9102 c0"),
    "report_id_zero": bytes.fromhex("050b 0905 a101 8500 0920 7501 9501 8102 c0"),
}
