"""``faro demo``: the real console on simulated parts, in a throwaway profile.

- calls: scripted calls ring a few seconds after the counselor is available
  (calls/scenarios/demo.toml);
- button box: the simulator runs the reference firmware's logic on a real pty, and the
  driver talks to it exactly as to a box on USB; its buttons and LEDs show in the window;
- audio: scripted caller and counselor voices are paced in real time through the VAD and
  call-health pipeline;
- case notes: a real encrypted store, created with the demo passphrase and unlocked;
- the chat line: Debian's Prosody with Faro's configuration on 127.0.0.1, the real router
  and a scripted person who writes a little after the start (app/demo_chat.py; off, with one
  line saying why, when Prosody is not installed);
- supervisors: an embedded broker on 127.0.0.1 (Mosquitto with a throwaway CA when it is
  installed, else a Python broker) and a supervisor window beside the counselor's, so an
  escalation travels over MQTT and is acknowledged by a person.

Nothing touches the real profile: the demo keeps its config, data and logs in a temporary
folder unless --home is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.i18n import _, current_language

if TYPE_CHECKING:
    from app.demo_chat import DemoChatLine
    from app.session import Session
    from console.main_window import MainWindow
    from console.supervisor_window import DemoSupervisor
    from devices.buttonbox.simulator import ButtonBoxSimulator
    from devices.headset.simulator import HeadsetSimulator
    from escalation.broker import EmbeddedBroker

DEMO_PASSPHRASE = "faro demo passphrase"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=_("run the console with simulated calls and devices"))
    p.add_argument(
        "--scenario",
        default="demo",
        help=_("bundled scenario name or path to a scenario TOML (default: demo)"),
    )
    p.add_argument("--keep", action="store_true", help=_("keep the demo profile folder afterwards"))
    p.add_argument("--no-chat", action="store_true", help=_("run the demo without its chat line"))
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def demo_overrides(scenario: str) -> dict[str, object]:
    return {
        "calls.backend": "simulated",
        "calls.scenario": scenario,
        "identity.counselor_id": "demo-counselor",
        "audio.source": "simulated",
        "escalation.fallback_phone": "+52 55 5555 0000",
    }


def run(args: argparse.Namespace) -> int:
    return run_demo(
        args.scenario, keep=args.keep, quit_after_s=args.quit_after, chat=not args.no_chat
    )


@dataclass
class DemoParts:
    """What a running demo is made of, for a driver (the night-shift soak) to act on."""

    home: Path
    session: Session
    window: MainWindow
    supervisor: DemoSupervisor
    box: ButtonBoxSimulator
    broker: EmbeddedBroker
    headset: HeadsetSimulator | None = None
    #: the chat line (server, router, the person writing); None when it is off
    chat: DemoChatLine | None = None


def run_demo(
    scenario: str = "demo",
    *,
    keep: bool = False,
    quit_after_s: float | None = None,
    overrides: dict[str, object] | None = None,
    on_shown: Callable[[DemoParts], None] | None = None,
    chat: bool = True,
    chat_pace: float = 1.0,
) -> int:
    """Run the demo until its windows close; ``on_shown`` gets the parts once they are up.
    ``chat`` False leaves the chat line out (the night-shift soak drives calls only);
    ``chat_pace`` scales the scripted person's waits (tests)."""
    from app.session import Session
    from console.app import ensure_display
    from console.app import run as run_app
    from console.buttonbox_panel import ButtonBoxPanel
    from console.headset_panel import HeadsetPanel
    from console.main_window import MainWindow
    from console.supervisor_window import open_demo_supervisor
    from core.paths import Paths
    from devices.buttonbox.simulator import ButtonBoxSimulator
    from devices.headset.service import HeadsetService
    from devices.headset.simulator import HeadsetSimulator
    from escalation.broker import start_embedded_broker

    ensure_display()
    given = os.environ.get("FARO_HOME")
    home = Path(given) if given else Path(tempfile.mkdtemp(prefix="faro-demo-"))
    paths = Paths.under(home).ensure()
    box = ButtonBoxSimulator(paths.state_dir / "faro-buttonbox").start()
    # a USB headset with call buttons: raw HID reports on a fake hidraw node (a Plantronics
    # Blackwire's report descriptor), read by the real headset driver
    headset = HeadsetSimulator(paths.state_dir / "headset", "blackwire").plug()
    broker = start_embedded_broker(home / "broker")
    supervisor = None
    chat_line: DemoChatLine | None = None
    try:
        if chat:
            chat_line = _start_chat_line(home / "chat", broker, chat_pace)
        options = dict(
            demo_overrides(scenario),
            **{"devices.buttonbox.port": box.path, "devices.headset.enabled": False},
            **broker.client_overrides("demo-counselor"),
            **(chat_line.counselor_overrides() if chat_line is not None else {}),
            **(overrides or {}),
        )
        # a throwaway profile with simulated parts: the organisation's locks are not for it
        session = Session.open(paths, overrides=options, organisation=False)
        if "devices.headset.enabled" not in (overrides or {}):  # the simulated one, not /sys
            session.add_service(
                "headset",
                HeadsetService(session, sysfs_root=headset.sysfs_root, dev_root=headset.dev_root),
            )
        store = session.service("store")
        if store is not None:
            if store.is_initialised():
                store.unlock(DEMO_PASSPHRASE)
            else:
                store.init(DEMO_PASSPHRASE)
            if chat_line is not None:  # where production keeps it: the case store's secret
                chat_line.give_password(store)
        print(
            _("Faro demo: profile in {path}; a simulated call rings in a few seconds.").format(
                path=home
            ),
            flush=True,
        )
        print(
            _("Case notes passphrase for this demo: {passphrase} (Ctrl+L locks them).").format(
                passphrase=repr(DEMO_PASSPHRASE)
            ),
            flush=True,
        )
        if chat_line is not None:
            chat_line.start_person("es" if current_language().startswith("es") else "en")
            chat_line.follow(session.bus)  # writes once the first call is over
            print(
                _(
                    "Chat line: someone writes after the first call; when the chat rings, "
                    "F5 (or Accept chat) takes it."
                ),
                flush=True,
            )

        def windows(s: Session) -> list:
            nonlocal supervisor
            window = MainWindow(s)
            if window.lock_screen is not None:  # throwaway: shown where it is needed
                window.lock_screen.show_hint(
                    _("Demo passphrase: {passphrase}").format(passphrase=DEMO_PASSPHRASE)
                )
            window.add_side_panel(ButtonBoxPanel(box, window.bridge))  # says what a press did
            window.add_side_panel(HeadsetPanel(headset, window.bridge))
            supervisor = open_demo_supervisor(broker, home / "supervisor")
            # cascaded over the counselor's, but never off a small screen's edge
            sup = supervisor.window
            x, y = window.x() + 60, window.y() + 60
            screen = sup.screen()
            if screen is not None:
                free = screen.availableGeometry()
                x = max(free.left(), min(x, free.right() + 1 - sup.width()))
                y = max(free.top(), min(y, free.bottom() + 1 - sup.height()))
            sup.move(x, y)
            if on_shown is not None:
                on_shown(DemoParts(home, s, window, supervisor, box, broker, headset, chat_line))
            return [supervisor.window, window]

        quit_ms = int(quit_after_s * 1000) if quit_after_s else None
        return run_app(session, windows, quit_after_ms=quit_ms)
    finally:
        if supervisor is not None:
            supervisor.close()
        if chat_line is not None:
            chat_line.stop()
        broker.stop()
        box.stop()
        headset.unplug()
        if not given and not keep:
            shutil.rmtree(home, ignore_errors=True)


def _start_chat_line(directory: Path, broker: EmbeddedBroker, pace: float) -> DemoChatLine | None:
    """The demo's chat line, or None with one line saying why it is off."""
    import logging

    from app import demo_chat

    if not demo_chat.available():
        print(
            _(
                "Chat line: off in this demo, because Prosody is not installed "
                "(scripts/setup installs it)."
            ),
            flush=True,
        )
        return None
    try:
        return demo_chat.DemoChatLine(directory, "demo-counselor", broker, pace=pace).start()
    except Exception as exc:
        logging.getLogger(__name__).warning("the demo's chat line did not start: %s", exc)
        print(_("Chat line: off in this demo, because its chat server did not start."), flush=True)
        return None
