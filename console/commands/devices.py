"""``faro devices``: diagnostics for IT, and the button-box simulator.

- ``faro devices list [--json]``: serial ports and audio devices with their USB ids.
- ``faro devices monitor [--port PATH] [--json]``: talk to the button box and print what
  happens, one line per event (JSON objects with ``--json``): connected, pressed, ignored
  (a gesture bound to nothing), led, disconnected, rejected, status (e.g. the box does not
  answer), bad_frames (running counts).
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

SIM_KEYS = """keys: 1-4 press a button, ! @ # $ long-press it, g garbage, d drop the next frame,
      c bad CRC on the next frame, s slow link on/off, h heartbeats (all output) off/on,
      f freeze / thaw the firmware (port open), u unplug / plug back, q quit"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list, monitor and simulate devices")
    dsub = p.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    lp = dsub.add_parser("list", help="serial ports and audio devices with USB ids")
    lp.add_argument("--json", action="store_true", help="one JSON object per device")
    lp.set_defaults(func=run_list)
    mp = dsub.add_parser("monitor", help="show what the button box sends")
    mp.add_argument("--port", metavar="PATH", help="serial port (default: the configured one)")
    mp.add_argument("--json", action="store_true", help="one JSON object per line")
    mp.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: Ctrl+C)")
    mp.set_defaults(func=run_monitor)
    sp = dsub.add_parser("simulate", help="run a simulated device on a pseudo-terminal")
    sp.add_argument("device", choices=["buttonbox"])
    sp.add_argument("--link", metavar="PATH", help="also make PATH a symlink to the device")
    sp.add_argument("--protocol-version", type=int, default=1, help=argparse.SUPPRESS)
    sp.set_defaults(func=run_simulate)


def run(args: argparse.Namespace) -> int:  # the module's face, as other commands have
    return args.func(args)


# -- list --------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    from audio.devices import list_devices
    from devices.ports import serial_ports

    ports = serial_ports()
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
        return 0
    print("Serial ports:")
    if not ports:
        print("  (none)")
    for p in ports:
        print(
            f"  {p.device:<20} {p.usb_id or '-':<10} {p.description}"
            + (f"  serial {p.serial_number}" if p.serial_number else "")
        )
    print("Audio devices:")
    if audio_error:
        print(f"  (cannot list: {audio_error})")
    elif not audio:
        print("  (none)")
    for a in audio:
        print(
            f"  {a.index:>3} {a.name:<40} in {a.inputs} out {a.outputs}  {a.host_api}"
            + (f"  usb {a.usb_id}" if a.usb_id else "")
        )
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
    return None


def _human(rec: dict[str, Any]) -> str:
    kind = rec["event"]
    if kind == "connected":
        i = rec["identity"]
        return (
            f"connected  {rec['port']}: {i['model']} serial {i['serial']} firmware "
            f"{i['firmware']} protocol {i['protocol']}, buttons {', '.join(i['buttons'])}"
        )
    if kind in ("disconnected", "rejected"):
        return f"{kind:<11}{rec['port']}: {rec['message']}"
    if kind == "pressed":
        return f"pressed    {rec['button']} ({rec['gesture']}) → {rec['action'] or 'no action'}"
    if kind in ("ignored", "status"):
        return f"{kind:<11}{rec['message']}"
    if kind == "led":
        return "led        " + " ".join(f"{led['name']}={led['mode']}" for led in rec["leds"])
    return "bad frames " + " ".join(f"{k}={v}" for k, v in rec.items() if k != "event")


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
            f"There is no device at {settings.port}.",
            hint="Check the cable, or run 'faro devices list'.",
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
        print(f"Watching for a button box on {where}. Ctrl+C stops.", flush=True)
    driver.start()
    try:
        deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        driver.stop()
        clock.stop()
    return 0


# -- simulate --------------------------------------------------------------------------------
def run_simulate(args: argparse.Namespace) -> int:
    from devices.buttonbox.simulator import ButtonBoxSimulator

    def show(text: str) -> None:
        print(text, flush=True)

    sim = ButtonBoxSimulator(args.link, version=args.protocol_version)
    sim.start()
    print(f"Button box simulator on {sim.pty_path}", flush=True)
    if args.link:
        print(f"link: {args.link} -> {sim.pty_path}", flush=True)
    print(f"Point Faro at it: faro devices monitor --port {sim.path}", flush=True)
    print(SIM_KEYS, flush=True)
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
                show(f"press {sim.box.buttons[int(ch) - 1]}")
            elif ch in longs:
                sim.long_press(longs.index(ch))
                show(f"long press {sim.box.buttons[longs.index(ch)]}")
            elif ch == "g":
                sim.inject_garbage(64)
                show("fault: 64 bytes of garbage")
            elif ch == "d":
                sim.drop_frames(1)
                show("fault: the next frame is dropped")
            elif ch == "c":
                sim.corrupt_frames(1)
                show("fault: the next frame has a bad CRC")
            elif ch == "s":
                slow = not slow
                sim.slow_link(200 if slow else None)
                show(f"fault: slow link {'on (200 bytes/s)' if slow else 'off'}")
            elif ch == "h":
                silent = not silent
                sim.silence(silent)
                show(f"fault: box {'silent' if silent else 'talking again'}")
            elif ch == "f":
                frozen = not frozen
                sim.freeze(frozen)
                show(f"fault: firmware {'frozen' if frozen else 'running again'}")
            elif ch == "u":
                unplugged = not unplugged
                (sim.unplug if unplugged else sim.replug)()
                show("unplugged" if unplugged else f"plugged in again on {sim.pty_path}")
    except KeyboardInterrupt:
        pass
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        sim.stop()
    return 0
