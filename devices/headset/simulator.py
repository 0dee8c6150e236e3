"""A simulated HID telephony headset where hidraw sits: a fake sysfs entry and a node.

There is no kernel uhid here, so the simulator makes what the kernel would show for a USB
headset: ``<root>/sys/class/hidraw/hidrawN/device/{report_descriptor,uevent}`` with a real
family's descriptor (:mod:`devices.headset.families`), and ``<root>/dev/hidrawN``, a Unix
``SOCK_SEQPACKET`` socket that the driver's :class:`~devices.headset.node.HidrawNode` opens:
one message per report both ways, as hidraw. Everything from the report bytes up is the
real driver.

The firmware's behaviours are modelled: an absolute hook switch (a state, which follows the
host's Off-Hook LED, as Jabra and Poly firmware do) or a toggle call button (1 then 0); mute
as a press, as a state in the report, or ``echo`` (the headset mutes itself at once and
flips back unless the host answers with the Mute LED within ``echo_timeout_s``). Faults:
:meth:`flood`, :meth:`send_raw` (a report of the wrong size, an unknown id), :meth:`unplug`.

One thread owns the socket; the public methods are safe from any thread.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import threading
import time
from pathlib import Path

from devices.headset.descriptor import Telephony, telephony
from devices.headset.families import FAMILIES, Family
from devices.headset.node import short_path
from devices.headset.reports import decode_output, encode_input


class HeadsetSimulator:
    def __init__(
        self,
        root: str | os.PathLike[str],
        family: str = "blackwire",
        *,
        index: int = 0,
        name: str | None = None,
        usb_id: tuple[int, int] | None = None,
        descriptor: bytes | None = None,
    ) -> None:
        self.family: Family = FAMILIES[family]
        self.root = Path(root)
        self.index = index
        self.name = name or self.family.name
        self.usb_id = usb_id or self.family.usb_id
        self.descriptor = descriptor if descriptor is not None else self.family.descriptor
        self.tel: Telephony | None = None
        with contextlib.suppress(ValueError):
            self.tel = telephony(self.descriptor)
        self._lock = threading.Lock()
        #: held from reading the headset's state to sending the report made of it, so
        #: reports go out in the order of the states they carry
        self._send_lock = threading.RLock()
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop_r, self._stop_w = -1, -1
        #: the LEDs as the headset sees them (from the host's output reports)
        self.leds: dict[str, bool] = {}
        self.hook = False  # the headset's own hook state (off-hook = True)
        self.muted = False  # the headset's own mute state
        self._echo_deadline: float | None = None
        self._echo_before = False
        self.received: list[bytes] = []
        self.flipped_back = 0  # echo-required mutes undone for want of the host's echo

    # -- paths --------------------------------------------------------------------------
    @property
    def node(self) -> str:
        return f"hidraw{self.index}"

    @property
    def sysfs_root(self) -> str:
        return str(self.root / "sys")

    @property
    def dev_root(self) -> str:
        return str(self.root / "dev")

    @property
    def path(self) -> str:
        return str(self.root / "dev" / self.node)

    @property
    def usb_text(self) -> str:
        return f"{self.usb_id[0]:04x}:{self.usb_id[1]:04x}"

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._conn is not None

    # -- plug / unplug ------------------------------------------------------------------
    def plug(self) -> HeadsetSimulator:
        if self._thread is not None:
            return self
        base = self.root / "sys" / "class" / "hidraw" / self.node / "device"
        base.mkdir(parents=True, exist_ok=True)
        (self.root / "dev").mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with short_path(self.path) as address:
            listener.bind(address)
        listener.listen(2)
        self._listener = listener
        vendor, product = self.usb_id
        (base / "uevent").write_text(
            "DRIVER=hid-generic\n"
            f"HID_ID=0003:{vendor:08X}:{product:08X}\n"
            f"HID_NAME={self.name}\n"
            f"HID_PHYS=usb-0000:00:14.0-{self.index + 1}/input3\n"
            f"HID_UNIQ=\nMODALIAS=hid:b0003g0001v{vendor:08X}p{product:08X}\n"
        )
        (base / "report_descriptor").write_bytes(self.descriptor)
        self.leds = {}
        self.hook = self.muted = False
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="headset-simulator", daemon=True)
        self._thread.start()
        return self

    start = plug

    def unplug(self) -> None:
        """The cable pulled: the node and its sysfs entry go, the host's reads fail."""
        thread = self._thread
        if thread is None:
            return
        os.write(self._stop_w, b"x")
        thread.join(5)
        self._thread = None
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)
        with self._lock:
            for s in (self._conn, self._listener):
                if s is not None:
                    s.close()
            self._conn = self._listener = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        shutil.rmtree(self.root / "sys" / "class" / "hidraw" / self.node, ignore_errors=True)

    stop = unplug

    def __enter__(self) -> HeadsetSimulator:
        return self.plug()

    def __exit__(self, *exc: object) -> None:
        self.unplug()

    # -- the buttons ----------------------------------------------------------------------
    def press_hook(self) -> None:
        """The call button: an absolute hook changes state; a toggle one sends 1 then 0."""
        if self.family.hook == "toggle":
            self._send({"hook_switch": 1}, also={"phone_mute": 0})
            self._send({"hook_switch": 0}, also={"phone_mute": 0})
            return
        with self._send_lock:
            with self._lock:
                self.hook = not self.hook
            self._send_state()

    def press_mute(self) -> None:
        mode = self.family.mute
        if mode == "state":
            with self._send_lock:
                with self._lock:
                    self.muted = not self.muted
                self._send_state()
            return
        if mode == "echo":
            with self._lock:
                self._echo_before = self.muted
                self.muted = not self.muted  # at once, on the headset's own light
                self._echo_deadline = time.monotonic() + self.family.echo_timeout_s
        self._send({"phone_mute": 1})
        self._send({"phone_mute": 0})

    def press_flash(self) -> None:
        self._send({"flash": 1})
        self._send({"flash": 0})

    def flood(self, n: int, report: bytes | None = None, block: bool = False) -> int:
        """``n`` reports as fast as the socket takes them (the same one, or mute presses);
        returns how many went out (without ``block``, a full socket buffer drops the rest,
        as a full hidraw queue does)."""
        tel = self._tel()
        sent = 0
        frames = (
            [report]
            if report is not None
            else [
                encode_input(tel, self._values({"phone_mute": 1}))[0],
                encode_input(tel, self._values({"phone_mute": 0}))[0],
            ]
        )
        for k in range(n):
            if self.send_raw(frames[k % len(frames)], block=block):
                sent += 1
        return sent

    def send_raw(self, report: bytes, block: bool = True) -> bool:
        with self._lock:
            conn = self._conn
        if conn is None:
            return False
        try:
            if block:
                conn.sendall(report)
            else:
                conn.send(report, socket.MSG_DONTWAIT)
        except (BlockingIOError, OSError):
            return False
        return True

    def report_for(self, values: dict[str, int]) -> bytes:
        """The input report these values make (with the rest of the headset's state)."""
        return encode_input(self._tel(), self._values(values))[0]

    # -- internals --------------------------------------------------------------------------
    def _tel(self) -> Telephony:
        if self.tel is None:
            raise ValueError("this simulated headset's descriptor has no telephony fields")
        return self.tel

    def _values(self, values: dict[str, int]) -> dict[str, int]:
        tel = self._tel()
        out = {name: 0 for name in tel.inputs}
        if self.family.hook == "absolute" and "hook_switch" in out:
            out["hook_switch"] = int(self.hook)
        if self.family.mute == "state" and "phone_mute" in out:
            out["phone_mute"] = int(self.muted)
        out.update({k: v for k, v in values.items() if k in out})
        return out

    def _send_state(self) -> None:
        self._send({})

    def _send(self, values: dict[str, int], also: dict[str, int] | None = None) -> None:
        merged = dict(also or {})
        merged.update(values)
        with self._send_lock:
            for report in encode_input(self._tel(), self._values(merged)):
                self.send_raw(report)

    def _run(self) -> None:
        listener = self._listener
        assert listener is not None
        while True:
            with self._lock:
                conn = self._conn
                deadline = self._echo_deadline
            watch: list[int] = [self._stop_r, listener.fileno()] + (
                [conn.fileno()] if conn is not None else []
            )
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = select.select(watch, [], [], timeout)[0]
            if self._stop_r in ready:
                return
            if listener.fileno() in ready:
                new, _addr = listener.accept()
                with self._lock:
                    old, self._conn = self._conn, new
                if old is not None:
                    old.close()
            if conn is not None and conn.fileno() in ready:
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the host closed the node
                    with self._lock:
                        if self._conn is conn:
                            self._conn = None
                    conn.close()
                else:
                    self._on_output(data)
            self._check_echo()

    def _on_output(self, report: bytes) -> None:
        self.received.append(report)
        if self.tel is None:
            return
        leds = decode_output(self.tel, report)
        with self._lock:
            self.leds.update(leds)
            follow = (
                "off_hook" in leds
                and self.family.hook == "absolute"
                and self.hook != leds["off_hook"]
            )
            if follow:  # the firmware follows the host's Off-Hook, and says so
                self.hook = leds["off_hook"]
            if "mute" in leds:
                if self._echo_deadline is not None and leds["mute"] == self.muted:
                    self._echo_deadline = None  # echoed in time: the mute stays
                elif self._echo_deadline is None:
                    self.muted = leds["mute"]  # the host sets the headset's mute
                # (an echo disagreeing with the press: the deadline undoes it)
        if follow:
            threading.Thread(target=self._send_state, daemon=True).start()  # not on our thread

    def _check_echo(self) -> None:
        with self._lock:
            deadline = self._echo_deadline
            if deadline is not None and time.monotonic() >= deadline:
                self._echo_deadline = None
                self.muted = self._echo_before  # no echo: the headset flips its mute back
                self.flipped_back += 1
