"""``faro devices``: diagnostics for IT, and the button-box simulator.

- ``faro devices list [--json]``: serial ports and audio devices with their USB ids.
- ``faro devices monitor [--port PATH] [--json]``: talk to the button box and print what
  happens, one line per event (JSON objects with ``--json``): connected, pressed, ignored
  (a gesture bound to nothing), led, disconnected, rejected, status (e.g. the box does not
  answer), bad_frames (running counts).
  With a HID telephony headset, its events too: headset_connected, headset_button,
  headset_ignored, headset_leds, headset_disconnected, headset_other, headset_rejected,
  headset_reports.
- ``faro devices simulate buttonbox [--link PATH]``: a simulated box on a pty; prints the
  device path, the LED state, and turns keys into presses and faults.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

from core.errors import DeviceError
from core.i18n import N_, _

SIM_KEYS = N_("""keys: 1-4 press a button, ! @ # $ long-press it, g garbage, d drop the next frame,
      c bad CRC on the next frame, s slow link on/off, h heartbeats (all output) off/on,
      f freeze / thaw the firmware (port open), u unplug / plug back, q quit""")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help=_("list, monitor and simulate devices"))
    dsub = p.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    lp = dsub.add_parser("list", help=_("serial ports and audio devices with USB ids"))
    lp.add_argument("--json", action="store_true", help=_("one JSON object per device"))
    _hid_roots(lp)
    lp.set_defaults(func=run_list)
    mp = dsub.add_parser("monitor", help=_("show what the button box sends"))
    mp.add_argument("--port", metavar="PATH", help=_("serial port (default: the configured one)"))
    mp.add_argument("--json", action="store_true", help=_("one JSON object per line"))
    mp.add_argument(
        "--seconds", type=float, default=0.0, help=_("stop after this long (0: Ctrl+C)")
    )
    _hid_roots(mp)
    mp.set_defaults(func=run_monitor)
    sp = dsub.add_parser("simulate", help=_("run a simulated device on a pseudo-terminal"))
    sp.add_argument("device", choices=["buttonbox"])
    sp.add_argument("--link", metavar="PATH", help=_("also make PATH a symlink to the device"))
    sp.add_argument("--protocol-version", type=int, default=1, help=argparse.SUPPRESS)
    sp.set_defaults(func=run_simulate)


def _hid_roots(p: argparse.ArgumentParser) -> None:
    """Where hidraw is looked for (hidden: tests and the simulator give a fake tree)."""
    p.add_argument(
        "--sysfs-root",
        default=os.environ.get("FARO_HID_SYSFS_ROOT", "/sys"),
        help=argparse.SUPPRESS,
    )
    p.add_argument(
        "--dev-root", default=os.environ.get("FARO_HID_DEV_ROOT", "/dev"), help=argparse.SUPPRESS
    )


def headset_records(sysfs_root: str, dev_root: str, wanted: str) -> list[dict[str, Any]]:
    """The HID telephony headsets for ``faro devices list``: chosen, ignored, or unusable."""
    from devices.headset.discovery import choose, scan

    cands = scan(sysfs_root, dev_root)
    pick, _others = choose(cands, wanted)
    out = []
    for c in cands:
        if not c.usable:
            state, note = "unusable", c.error
        elif c is pick:
            state, note = "chosen", ""
        else:
            state = "ignored"
            note = _("another headset is chosen (devices.headset.device)")
        if c.usable and not os.access(c.path, os.R_OK | os.W_OK):
            note = _("cannot open {path}: permission denied — install the udev rule").format(
                path=c.path
            )
        out.append(
            {
                "kind": "headset",
                "name": c.name,
                "usb_id": c.usb_id,
                "path": c.path,
                "capabilities": list(c.tel.capabilities) if c.tel else [],
                "state": state,
                "note": note,
            }
        )
    return out


def run(args: argparse.Namespace) -> int:  # the module's face, as other commands have
    return args.func(args)


# -- list --------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    from audio.devices import list_devices
    from core.config import Config
    from core.paths import Paths
    from devices.options import HEADSET_DEVICE
    from devices.ports import serial_ports

    ports = serial_ports()
    headsets = headset_records(
        args.sysfs_root, args.dev_root, Config.load(Paths.default().config_file).get(HEADSET_DEVICE)
    )
    try:
        audio = list_devices()
        audio_error = ""
    except Exception as exc:  # no PortAudio: still list the serial ports
        audio, audio_error = [], str(exc) or type(exc).__name__
    if args.json:
        for p in ports:
            print(
                json.dumps(
                    {
                        "kind": "serial",
                        "device": p.device,
                        "usb_id": p.usb_id,
                        "description": p.description,
                        "serial_number": p.serial_number,
                        "manufacturer": p.manufacturer,
                    }
                )
            )
        for a in audio:
            print(
                json.dumps(
                    {
                        "kind": "audio",
                        "index": a.index,
                        "name": a.name,
                        "inputs": a.inputs,
                        "outputs": a.outputs,
                        "host_api": a.host_api,
                        "usb_id": a.usb_id or "",
                    }
                )
            )
        for h in headsets:
            print(json.dumps(h))
        return 0
    none = "  " + _("(none)")
    print(_("Serial ports:"))
    if not ports:
        print(none)
    for p in ports:
        print(
            f"  {p.device:<20} {p.usb_id or '-':<10} {p.description}"
            + (
                "  " + _("serial {number}").format(number=p.serial_number)
                if p.serial_number
                else ""
            )
        )
    print(_("Audio devices:"))
    if audio_error:
        print("  " + _("(cannot list: {error})").format(error=audio_error))
    elif not audio:
        print(none)
    for a in audio:
        channels = _("in {inputs} out {outputs}").format(inputs=a.inputs, outputs=a.outputs)
        print(
            f"  {a.index:>3} {a.name:<40} {channels}  {a.host_api}"
            + (f"  usb {a.usb_id}" if a.usb_id else "")
        )
    print(_("Headsets with call buttons (HID telephony):"))
    if not headsets:
        print(none)
    states = {"chosen": _("chosen"), "ignored": _("ignored"), "unusable": _("unusable")}
    for h in headsets:
        print(
            f"  {h['path']:<20} {h['usb_id'] or '-':<10} {h['name']}  [{states[h['state']]}]"
            + ("  " + ", ".join(h["capabilities"]) if h["capabilities"] else "")
        )
        if h["note"]:
            print("    " + h["note"])
    return 0


# -- monitor ---------------------------------------------------------------------------------
def event_record(event: object) -> dict[str, Any] | None:
    """The JSON object ``faro devices monitor`` prints for a device event (None: not shown)."""
    from core.status import StatusReport
    from devices import events as ev

    if isinstance(event, ev.ButtonBoxConnected):
        return {"event": "connected", "port": event.port, "identity": event.identity.as_dict()}
    if isinstance(event, ev.ButtonBoxDisconnected):
        return {
            "event": "disconnected",
            "port": event.port,
            "reason": event.reason,
            "message": event.message,
        }
    if isinstance(event, ev.ButtonBoxRejected):
        return {
            "event": "rejected",
            "port": event.port,
            "reason": event.reason,
            "message": event.message,
        }
    if isinstance(event, ev.ButtonPressed):
        return {
            "event": "pressed",
            "button": event.button,
            "gesture": event.gesture,
            "action": event.action.value if event.action else None,
        }
    if isinstance(event, ev.PressIgnored):
        return {
            "event": "ignored",
            "button": event.button,
            "gesture": event.gesture,
            "reason": event.reason,
            "message": event.message,
        }
    if isinstance(event, StatusReport) and event.component == "buttonbox":
        return {"event": "status", "level": event.level.value, "message": event.text}
    if isinstance(event, ev.LedStateChanged):
        return {
            "event": "led",
            "leds": [
                {"name": led.name, "mode": led.mode, "colour": led.colour} for led in event.leds
            ],
        }
    if isinstance(event, ev.BadFrames):
        return {"event": "bad_frames", **event.as_dict()}
    return headset_record(event)


def headset_record(event: object) -> dict[str, Any] | None:
    """The JSON object ``faro devices monitor`` prints for a headset event."""
    from devices import events as ev

    if isinstance(event, ev.HeadsetConnected):
        return {
            "event": "headset_connected",
            "name": event.name,
            "usb_id": event.usb_id,
            "path": event.path,
            "family": event.family,
            "capabilities": list(event.capabilities),
        }
    if isinstance(event, ev.HeadsetDisconnected):
        return {
            "event": "headset_disconnected",
            "path": event.path,
            "reason": event.reason,
            "message": event.message,
        }
    if isinstance(event, ev.HeadsetButton):
        return {
            "event": "headset_button",
            "usage": event.usage,
            "value": event.value,
            "gesture": event.gesture,
            "action": event.action.value if event.action else None,
        }
    if isinstance(event, ev.HeadsetPressIgnored):
        return {
            "event": "headset_ignored",
            "usage": event.usage,
            "reason": event.reason,
            "message": event.message,
        }
    if isinstance(event, (ev.HeadsetIgnored, ev.HeadsetRejected)):
        kind = "headset_other" if isinstance(event, ev.HeadsetIgnored) else "headset_rejected"
        return {"event": kind, "path": event.path, "message": event.message}
    if isinstance(event, ev.HeadsetLeds):
        return {"event": "headset_leds", "on": list(event.on)}
    if isinstance(event, ev.HeadsetReports):
        return {"event": "headset_reports", **event.as_dict()}
    return None


def _human(rec: dict[str, Any]) -> str:
    kind = rec["event"]
    label = {
        # Translators: these labels are padded to 10 columns: keep them at most 10 characters.
        "connected": _("connected"),
        "disconnected": _("disconnected"),
        "rejected": _("rejected"),
        "pressed": _("pressed"),
        "ignored": _("ignored"),
        "status": _("status"),
        "led": _("led"),
    }.get(kind, _("bad frames"))
    head = f"{label:<10} "
    if kind == "connected":
        i = rec["identity"]
        return head + _(
            "{port}: {model} serial {serial} firmware {firmware} protocol {protocol}, "
            "buttons {buttons}"
        ).format(
            port=rec["port"],
            model=i["model"],
            serial=i["serial"],
            firmware=i["firmware"],
            protocol=i["protocol"],
            buttons=", ".join(i["buttons"]),
        )
    if kind in ("disconnected", "rejected"):
        return head + f"{rec['port']}: {rec['message']}"
    if kind == "pressed":
        action = rec["action"] or _("no action")
        return head + f"{rec['button']} ({rec['gesture']}) → {action}"
    if kind in ("ignored", "status"):
        return head + rec["message"]
    if kind == "led":
        return head + " ".join(f"{led['name']}={led['mode']}" for led in rec["leds"])
    if kind.startswith("headset"):
        return _human_headset(rec)
    return head + " ".join(f"{k}={v}" for k, v in rec.items() if k != "event")


def _human_headset(rec: dict[str, Any]) -> str:
    kind = rec["event"]
    # Translators: padded to 10 columns like the box's labels: at most 10 characters.
    head = f"{_('headset'):<10} "
    if kind == "headset_connected":
        return head + _("{path}: {name} ({usb_id}), {capabilities}").format(
            path=rec["path"],
            name=rec["name"],
            usb_id=rec["usb_id"],
            capabilities=", ".join(rec["capabilities"]),
        )
    if kind == "headset_button":
        action = rec["action"] or _("no action")
        return head + f"{rec['usage']}={rec['value']} ({rec['gesture']}) → {action}"
    if kind == "headset_leds":
        return head + _("lights: {on}").format(on=", ".join(rec["on"]) or _("all off"))
    if "message" in rec:
        return head + rec["message"]
    return head + " ".join(f"{k}={v}" for k, v in rec.items() if k != "event")


def _start_headset_monitor(args: argparse.Namespace, config: Any, show: Any) -> Any:
    """The headset driver for ``faro devices monitor`` (None when disabled): buttons are
    printed with the action they are bound to, as if nothing rang (no call machine here)."""
    from calls.model import CallState
    from devices import events as ev
    from devices.headset.driver import HeadsetDriver
    from devices.headset.machine import HeadsetLogic, parse_actions
    from devices.headset.service import settings_from_config as headset_settings
    from devices.options import HEADSET_ACTIONS, HEADSET_ENABLED

    if not config.get(HEADSET_ENABLED):
        return None
    bindings, _problems = parse_actions(config.get(HEADSET_ACTIONS))
    logic = HeadsetLogic(bindings, hook_toggle=False)

    def connected(cand: Any) -> None:
        logic.hook_toggle = bool(cand.tel and cand.tel.hook_relative())
        logic.reset()

    def values(vals: dict[str, int]) -> bool:
        for d in logic.feed(vals, CallState.RINGING, False):
            show(ev.HeadsetButton(d.usage, d.value, d.gesture, d.action))
        return False

    driver = HeadsetDriver(
        headset_settings(config, args.sysfs_root, args.dev_root), show, values, connected
    )
    driver.start()
    return driver


def run_monitor(args: argparse.Namespace) -> int:
    from core.clock import SystemClock
    from core.config import Config
    from core.paths import Paths
    from devices import events as ev
    from devices.buttonbox.driver import ButtonBoxDriver
    from devices.buttonbox.keymap import GestureRecognizer, parse_bindings
    from devices.options import BUTTONBOX_ACTIONS
    from devices.service import ignored_press, settings_from_config

    config = Config.load(Paths.default().config_file)
    settings = settings_from_config(config, port=args.port)
    if settings.port and not os.path.exists(settings.port):
        raise DeviceError(
            _("There is no device at {port}.").format(port=settings.port),
            hint=_("Check the cable, or run 'faro devices list'."),
        )
    actions = config.get(BUTTONBOX_ACTIONS)
    bindings, _problems = parse_bindings(actions)
    gestures = GestureRecognizer(bindings)
    out_lock = threading.Lock()

    def show(event: object) -> None:
        if isinstance(event, (ev.ButtonBoxConnected, ev.ButtonBoxDisconnected)):
            gestures.reset()
        rec = event_record(event)
        if rec is None:
            return
        with out_lock:
            print(json.dumps(rec) if args.json else _human(rec), flush=True)

    def on_button(button: str, kind: object) -> None:
        gesture = gestures.feed(button, kind)  # type: ignore[arg-type]  # a ButtonKind from the driver
        if gesture:
            action = gestures.action(button, gesture)
            show(ev.ButtonPressed(button, gesture, action))
            ignored = None if action else ignored_press(button, gesture, bindings)
            if ignored is not None:
                show(ignored)

    clock = SystemClock()
    driver = ButtonBoxDriver(settings, clock, show, on_button)
    if not args.json:
        where = settings.port or "USB " + ", ".join(f"{v:04x}:{p:04x}" for v, p in settings.usb_ids)
        print(
            _("Watching for a button box on {port}. Ctrl+C stops.").format(port=where), flush=True
        )
    driver.start()
    headset = _start_headset_monitor(args, config, show)
    try:
        deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        driver.stop()
        if headset is not None:
            headset.stop()
        clock.stop()
    return 0


# -- simulate --------------------------------------------------------------------------------
def run_simulate(args: argparse.Namespace) -> int:
    from devices.buttonbox.simulator import ButtonBoxSimulator

    def show(text: str) -> None:
        print(text, flush=True)

    sim = ButtonBoxSimulator(args.link, version=args.protocol_version)
    sim.start()
    print(_("Button box simulator on {path}").format(path=sim.pty_path), flush=True)
    if args.link:
        print(_("link: {link} -> {path}").format(link=args.link, path=sim.pty_path), flush=True)
    print(
        _("Point Faro at it: faro devices monitor --port {path}").format(path=sim.path), flush=True
    )
    print(_(SIM_KEYS), flush=True)
    sim.on_leds = show
    interactive = sys.stdin.isatty()
    saved = None
    if interactive:
        import termios
        import tty

        saved = termios.tcgetattr(sys.stdin.fileno())
        tty.setcbreak(sys.stdin.fileno())
    slow = silent = frozen = unplugged = False
    longs = "!@#$"
    try:
        while True:
            ch = sys.stdin.read(1)
            if not ch or ch == "q":
                break
            if ch in "1234":
                sim.press(int(ch) - 1)
                show(_("press {button}").format(button=sim.box.buttons[int(ch) - 1]))
            elif ch in longs:
                sim.long_press(longs.index(ch))
                show(_("long press {button}").format(button=sim.box.buttons[longs.index(ch)]))
            elif ch == "g":
                sim.inject_garbage(64)
                show(_("fault: 64 bytes of garbage"))
            elif ch == "d":
                sim.drop_frames(1)
                show(_("fault: the next frame is dropped"))
            elif ch == "c":
                sim.corrupt_frames(1)
                show(_("fault: the next frame has a bad CRC"))
            elif ch == "s":
                slow = not slow
                sim.slow_link(200 if slow else None)
                show(_("fault: slow link on (200 bytes/s)") if slow else _("fault: slow link off"))
            elif ch == "h":
                silent = not silent
                sim.silence(silent)
                show(_("fault: box silent") if silent else _("fault: box talking again"))
            elif ch == "f":
                frozen = not frozen
                sim.freeze(frozen)
                show(_("fault: firmware frozen") if frozen else _("fault: firmware running again"))
            elif ch == "u":
                unplugged = not unplugged
                (sim.unplug if unplugged else sim.replug)()
                show(
                    _("unplugged")
                    if unplugged
                    else _("plugged in again on {path}").format(path=sim.pty_path)
                )
    except KeyboardInterrupt:
        pass
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        sim.stop()
    return 0
