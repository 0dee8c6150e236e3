"""What the counselor wears and presses: the audio devices Faro would choose now, the button
box's serial port (and whether this account may open it), the headset's HID interface."""

from __future__ import annotations

import os
from typing import Any

from app.doctor import Check, Context, Status
from core.i18n import _, ngettext


def check_audio(ctx: Context) -> Check:
    from audio import devices as ad
    from audio import options as ao

    title = _("Audio devices")
    if ctx.config.get(ao.SOURCE) != "device":
        return Check("audio", title, Status.SKIP, _("Call audio is simulated on this laptop."))
    try:
        inputs, outputs = ad.list_inputs(), ad.list_outputs()
    except Exception as exc:  # no PortAudio, no sound server
        return Check(
            "audio",
            title,
            Status.FAIL,
            _("The sound system cannot be asked ({error}).").format(error=type(exc).__name__),
            _("Check that PulseAudio or PipeWire runs in the counselor's session."),
        )
    near = ad.choose_near(ctx.config.get(ao.NEAR_DEVICE), inputs)
    out = ad.choose_out(
        ctx.config.get(ao.OUT_DEVICE), outputs, near, ctx.config.get(ao.FALLBACK_TO_LAPTOP)
    )
    data: dict[str, Any] = {
        "inputs": len(inputs),
        "outputs": len(outputs),
        "microphone": near.name if near else "",
        "output": out.name if out else "",
        "usb_headset": bool(near and near.is_usb),
    }
    if near is None or out is None:
        missing = _("microphone") if near is None else _("output")
        return Check(
            "audio",
            title,
            Status.FAIL,
            _("No {what} to use (the configured device is absent?).").format(what=missing),
            _("Plug in the headset; 'faro devices list' shows what the system sees."),
            data,
        )
    if not near.is_usb:
        return Check(
            "audio",
            title,
            Status.WARN,
            _("No USB headset: Faro would use {mic}.").format(mic=near.name),
            _("Counselors should wear the provisioned headset, not the laptop's microphone."),
            data,
        )
    return Check(
        "audio",
        title,
        Status.OK,
        _("Microphone {mic}, output {out}.").format(mic=near.name, out=out.name),
        data=data,
    )


def _access(path: str) -> bool:
    return os.access(path, os.R_OK | os.W_OK)


def check_button_box(ctx: Context) -> Check:
    from devices import options as do
    from devices.ports import find_by_usb_id, parse_usb_ids

    title = _("Call-button box")
    if not ctx.config.get(do.BUTTONBOX_ENABLED):
        return Check("buttonbox", title, Status.SKIP, _("Turned off on this laptop."))
    port = ctx.config.get(do.BUTTONBOX_PORT)
    ids: list[str] = ctx.config.get(do.BUTTONBOX_USB_IDS)
    ports = [port] if port else find_by_usb_id(parse_usb_ids(ids))
    ports = [p for p in ports if os.path.exists(p)]
    if not ports:
        return Check(
            "buttonbox",
            title,
            Status.WARN,
            _("Not plugged in."),
            _("Counselors can work from the keyboard; plug the box in to use its buttons."),
        )
    blocked = [p for p in ports if not _access(p)]
    if blocked:
        return Check(
            "buttonbox",
            title,
            Status.FAIL,
            _("{port} is there, but this account may not open it.").format(port=blocked[0]),
            _("Install Faro's udev rule (packaging/udev) or add the account to 'dialout'."),
            {"ports": ports},
        )
    return Check(
        "buttonbox",
        title,
        Status.OK,
        _("On {port}.").format(port=ports[0]),
        data={"ports": ports},
    )


def check_headset(ctx: Context) -> Check:
    """The headset's HID telephony interface (its call buttons and lights) and whether this
    account may open it (the udev rule, packaging/udev/70-faro-headset.rules)."""
    from devices import options as do
    from devices.headset import discovery

    title = _("Headset buttons")
    if not ctx.config.get(do.HEADSET_ENABLED):
        return Check("headset", title, Status.SKIP, _("Turned off on this laptop."))
    cands = discovery.scan(str(ctx.path("/sys")), str(ctx.path("/dev")))
    pick, others = discovery.choose(cands, ctx.config.get(do.HEADSET_DEVICE))
    broken = [c for c in cands if not c.usable]
    data: dict[str, Any] = {
        "headsets": [
            {"node": c.node, "name": c.name, "usb_id": c.usb_id, "usable": c.usable} for c in cands
        ]
    }
    if pick is None:
        if broken:
            return Check(
                "headset",
                title,
                Status.WARN,
                _("{name} has call buttons Faro cannot read ({error}).").format(
                    name=broken[0].name or broken[0].node, error=broken[0].error
                ),
                _("Its buttons will not work; the screen, the keyboard and the box still do."),
                data,
            )
        return Check(
            "headset",
            title,
            Status.WARN,
            _("No headset with call buttons is plugged in."),
            _("Calls work with the screen, the keyboard and the box; plug in the headset."),
            data,
        )
    data["chosen"] = pick.node
    if not _access(pick.path):
        return Check(
            "headset",
            title,
            Status.FAIL,
            _("{name} is there, but this account may not open {path}.").format(
                name=pick.name, path=pick.path
            ),
            _(
                "Install Faro's udev rule (the faro package does) and add the account to "
                "the faro group (faro provision does), then plug the headset in again."
            ),
            data,
        )
    note = (
        " "
        + ngettext("{n} other headset ignored.", "{n} other headsets ignored.", len(others)).format(
            n=len(others)
        )
        if others
        else ""
    )
    return Check(
        "headset",
        title,
        Status.OK,
        _("{name} ({usb_id}) on {path}.").format(name=pick.name, usb_id=pick.usb_id, path=pick.path)
        + note,
        data=data,
    )


CHECKS = [check_audio, check_button_box, check_headset]
