"""A simulated button box on a real pseudo-terminal, speaking the firmware's own logic.

The device side is :class:`devices.firmware.pico.boxlogic.BoxLogic`, the very code that runs
on the Pico, so the simulator, the tests and ``faro demo`` exercise the reference firmware.
Around it the simulator adds what a test or a demo needs: a pty whose slave path the driver
opens (optionally behind a stable symlink, as the udev rule gives /dev/faro-buttonbox),
buttons you press from code (or keys, or the Qt panel), the LED state as text, and faults:
garbage, dropped frames, bad CRC, a slow link, silence (heartbeats stop, port stays open),
a freeze (the firmware hangs: it reads, writes and times nothing, port open), and
unplug/replug (the box loses power: it comes back with its LEDs off). ``extra_fields``
makes it a box of a newer minor version, appending trailing fields to its messages.

One thread owns the pty master and the box logic; every public method only queues work for
it, except :meth:`write_raw`, which writes directly (under the write lock) for bulk tests.
"""

from __future__ import annotations

import os
import pty
import select
import termios
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from pathlib import Path

from core.i18n import _
from devices.firmware.pico import boxlogic

MODE_NAMES = {
    boxlogic.OFF: "off",
    boxlogic.ON: "on",
    boxlogic.BLINK: "blink",
    boxlogic.BLINK_FAST: "blink_fast",
    boxlogic.PULSE: "pulse",
}
DEFAULT_BUTTONS = ("answer", "hangup", "mute", "help")
DEFAULT_LEDS = (("answer", 1), ("hangup", 1), ("mute", 1), ("help", 1))


class ButtonBoxSimulator:
    def __init__(
        self,
        link: str | os.PathLike[str] | None = None,
        *,
        model: str = "Faro Box 4 (simulated)",
        serial: str = "SIM-0001",
        buttons: tuple[str, ...] = DEFAULT_BUTTONS,
        leds: tuple[tuple[str, int], ...] = DEFAULT_LEDS,
        version: int = boxlogic.VERSION,
        speaks_protocol: bool = True,
        extra_fields: dict[int, bytes] | None = None,
        on_leds: Callable[[str], None] | None = None,
    ) -> None:
        self.link = Path(link) if link is not None else None
        self._buttons = buttons
        self._box_args = dict(
            model=model,
            serial=serial,
            buttons=buttons,
            leds=leds,
            version=version,
            extra=dict(extra_fields or {}),
        )
        self.speaks_protocol = speaks_protocol
        self.on_leds = on_leds
        self._t0 = time.monotonic()
        self.box = boxlogic.BoxLogic(now=self._now(), **self._box_args)
        self._master: int | None = None
        self._slave: int | None = None
        self.pty_path = ""
        self._wlock = threading.Lock()
        self._lock = threading.Lock()
        self._todo: deque[tuple[float, Callable[[], None]]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._drop = 0
        self._corrupt = 0
        self._slow_bps: float | None = None
        self._silent = False
        self._frozen = False
        self._last_led_text = ""
        self._backlog: list[bytes] = []
        self.frames_sent = 0
        self.frames_dropped = 0
        self.frames_corrupted = 0
        self.received = 0

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> ButtonBoxSimulator:
        self._plug()
        self._thread = threading.Thread(target=self._run, name="buttonbox-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self._poke()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._unplug()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> ButtonBoxSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def path(self) -> str:
        """What the driver opens: the stable link if there is one, else the pty slave."""
        return str(self.link) if self.link is not None else self.pty_path

    @property
    def connected(self) -> bool:
        """Whether a host holds a live session with the box."""
        return self.box.session and self._master is not None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    # -- buttons ----------------------------------------------------------------------
    def button_index(self, button: str | int) -> int:
        if isinstance(button, int):
            return button
        return self._buttons.index(button)

    def button_down(self, button: str | int) -> None:
        idx = self.button_index(button)
        self._later(0, lambda: self.box.set_button(idx, True, self._now()))

    def button_up(self, button: str | int) -> None:
        idx = self.button_index(button)
        self._later(0, lambda: self.box.set_button(idx, False, self._now()))

    def press(self, button: str | int, hold_s: float = 0.06) -> None:
        """A short press: down, then up ``hold_s`` later."""
        idx = self.button_index(button)
        self._later(0, lambda: self.box.set_button(idx, True, self._now()))
        self._later(hold_s, lambda: self.box.set_button(idx, False, self._now()))

    def long_press(self, button: str | int, hold_s: float | None = None) -> None:
        """Held past the long-press time the host configured (plus a margin)."""
        hold = hold_s if hold_s is not None else self.box.long_ms / 1000 + 0.15
        self.press(button, hold)

    # -- LEDs ------------------------------------------------------------------------
    @property
    def leds(self) -> list[tuple[str, str, str]]:
        """(name, mode, #rrggbb) of every LED as the host last set it ("offline" when no host)."""
        out = []
        for (name, _caps), (mode, r, g, b) in zip(self.box.led_info, self.box.leds, strict=True):
            out.append((name, MODE_NAMES.get(mode, "?"), f"#{r:02x}{g:02x}{b:02x}"))
        return out

    def led_level(self, index: int) -> int:
        """Brightness 0..255 of LED ``index`` right now, as the firmware would drive it."""
        return self.box.led_level(index, self._now())

    def led_text(self) -> str:
        if not self.connected:
            return _("LEDs: offline (no host)")
        parts = [
            f"{name}={mode}" + (f"({colour})" if mode != "off" else "")
            for name, mode, colour in self.leds
        ]
        return _("LEDs: {leds}").format(leds=" ".join(parts))

    # -- faults ------------------------------------------------------------------------
    def drop_frames(self, n: int = 1) -> None:
        """The next ``n`` frames from the box are lost on the wire."""
        with self._lock:
            self._drop += n

    def corrupt_frames(self, n: int = 1) -> None:
        """The next ``n`` frames from the box arrive with a bad CRC."""
        with self._lock:
            self._corrupt += n

    def slow_link(self, bytes_per_s: float | None) -> None:
        """Send at most this many bytes a second (None: full speed)."""
        with self._lock:
            self._slow_bps = bytes_per_s

    def silence(self, on: bool = True) -> None:
        """Stop sending anything (heartbeats included) while the port stays open."""
        with self._lock:
            self._silent = on

    def freeze(self, on: bool = True) -> None:
        """The firmware hangs (on) or runs again (off): while it hangs it reads nothing, sends
        nothing and keeps no time; the port stays open and what the host sends piles up."""
        with self._lock:
            self._frozen = on
        self._poke()

    def inject_garbage(self, data: bytes | int) -> None:
        """Random bytes (or the given bytes) on the wire, between frames."""
        raw = os.urandom(data) if isinstance(data, int) else bytes(data)
        self._later(0, lambda: self._tx(raw))

    def write_raw(self, data: bytes, timeout: float = 30.0) -> None:
        """Write ``data`` to the host as it is, whole, blocking until written (bulk tests)."""
        with self._wlock:
            self._write_all(data, timeout)

    def unplug(self) -> None:
        """Pull the cable: the pty goes away (and the link with it); the box loses power."""
        done = threading.Event()

        def unplug() -> None:
            self._unplug()
            done.set()

        self._later(0, unplug)
        done.wait(5)

    def replug(self) -> None:
        """Plug it back in: a new pty behind the same link, a freshly booted box."""
        done = threading.Event()

        def plug() -> None:
            self.box = boxlogic.BoxLogic(now=self._now(), **self._box_args)
            self._plug()
            done.set()

        self._later(0, plug)
        done.wait(5)

    # -- internals ---------------------------------------------------------------------
    def _now(self) -> int:
        return int((time.monotonic() - self._t0) * 1000)

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._lock:
            self._todo.append((time.monotonic() + delay, fn))
        self._poke()

    def _poke(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _plug(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        os.set_blocking(master, False)
        self.pty_path = os.ttyname(slave)
        with self._wlock:
            self._master, self._slave = master, slave
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
            os.symlink(self.pty_path, tmp)
            os.replace(tmp, self.link)

    def _unplug(self) -> None:
        if self.link is not None:
            try:
                self.link.unlink()
            except FileNotFoundError:
                pass
        with self._wlock:
            fds, self._master, self._slave = (self._master, self._slave), None, None
        for fd in fds:
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _write_all(self, data: bytes, timeout: float) -> bool:
        master = self._master
        if master is None:
            return False
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                n = os.write(master, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False  # nobody reads: the rest is lost, as on a full USB buffer
            select.select([], [master], [], min(left, 0.05))
        return True

    def _tx(self, data: bytes) -> None:
        with self._lock:
            bps = self._slow_bps
        with self._wlock:
            if bps:
                for i in range(len(data)):
                    if not self._write_all(data[i : i + 1], 1.0):
                        return
                    time.sleep(1.0 / bps)
            else:
                self._write_all(data, 1.0)

    def _send_frames(self) -> None:
        frames = self._backlog + self.box.take_frames()
        self._backlog = []
        if frames and not self._wlock.acquire(blocking=False):
            # write_raw() holds the line: keep reading the host, send these afterwards
            self._backlog = frames[-64:]
            return
        if frames:
            self._wlock.release()
        for f in frames:
            with self._lock:
                if self._silent or self._master is None:
                    continue
                if self._drop:
                    self._drop -= 1
                    self.frames_dropped += 1
                    continue
                if self._corrupt:
                    self._corrupt -= 1
                    self.frames_corrupted += 1
                    decoded = bytearray(boxlogic.cobs_decode(f[1:-1]) or b"")
                    decoded[-1] ^= 0xFF  # the last CRC byte: a clean CRC mismatch
                    f = b"\x00" + boxlogic.cobs_encode(bytes(decoded)) + b"\x00"
            self._tx(f)
            self.frames_sent += 1

    def _report_leds(self) -> None:
        text = self.led_text()
        if text != self._last_led_text:
            self._last_led_text = text
            if self.on_leds:
                try:
                    self.on_leds(text)
                except Exception:
                    pass

    def _run(self) -> None:
        while not self._stopping:
            with self._lock:
                frozen = self._frozen
            if frozen:
                select.select([self._wake_r], [], [], 0.05)
                try:
                    os.read(self._wake_r, 4096)
                except (BlockingIOError, OSError):
                    pass
                continue
            now_s = time.monotonic()
            with self._lock:
                due = [fn for t, fn in self._todo if t <= now_s]
                self._todo = deque((t, fn) for t, fn in self._todo if t > now_s)
                next_due = min((t for t, _ in self._todo), default=now_s + 0.01)
            for fn in due:
                fn()
            self.box.tick(self._now())
            self._report_leds()  # before the acknowledgement leaves: printed first
            self._send_frames()
            master = self._master
            fds = [self._wake_r] + ([master] if master is not None else [])
            try:
                ready, _w, _x = select.select(fds, [], [], max(0.0, min(0.01, next_due - now_s)))
            except (OSError, ValueError):
                continue  # the master was closed under us by an unplug
            if self._wake_r in ready:
                try:
                    os.read(self._wake_r, 4096)
                except (BlockingIOError, OSError):
                    pass
            if master is not None and master in ready:
                try:
                    data = os.read(master, 4096)
                except (BlockingIOError, OSError):
                    data = b""
                if data:
                    self.received += len(data)
                    if self.speaks_protocol:
                        self.box.feed(data, self._now())
                    else:
                        self._tx(b"\r\nERROR\r\n")  # what a modem says to bytes it does not know
