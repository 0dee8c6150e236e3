"""The button-box driver: the face other threads use, and the one owner thread behind it.

:class:`ButtonBoxDriver` starts one thread ("faro-buttonbox") and that thread alone touches
the port, from open to close: it makes the objects below and they remember it as their owner
(:mod:`devices.buttonbox.owner` asserts it). Other threads only call :meth:`set_leds`,
:meth:`stop`, and read ``status``, ``message``, ``identity`` and :meth:`counts`; those store a
value and wake the owner through a pipe.

Life of a connection, on the owner thread (:meth:`ButtonBoxDriver._run`):
pick the port (:class:`~devices.buttonbox.discovery.PortFinder`: the configured path, or the
first port whose USB vendor:product is listed, minus devices set aside) → open it
(:class:`~devices.buttonbox.link.Link`) → HELLO and IDENTITY
(:func:`~devices.buttonbox.handshake.handshake`) → serve
(:class:`~devices.buttonbox.box_session.BoxSession`: heartbeats both ways, each button event
accepted once, in order; the LED state sent until acknowledged by
:class:`~devices.buttonbox.led_output.LedOutput`) → on an unplug, a write failure or
heartbeat silence, close and try again with backoff (50 ms doubling to ``reconnect_max_s``).
Counts of what went wrong: :mod:`devices.buttonbox.counters`. The press handler is given the
box's down / up / long and the host's hold / lost (:mod:`devices.buttonbox.holds`).
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable, Sequence

import serial

from core.clock import Clock
from core.events import Event
from core.i18n import _
from devices import events as ev
from devices.buttonbox.box_session import BoxSession
from devices.buttonbox.codec import FrameDecoder
from devices.buttonbox.counters import BadFramesReport, LinkCounters
from devices.buttonbox.discovery import NodeId, PortFinder, node_identity
from devices.buttonbox.handshake import NoAnswer, Rejected, handshake
from devices.buttonbox.holds import Kind
from devices.buttonbox.led_output import LedOutput, LedRequest
from devices.buttonbox.leds import LedFrame
from devices.buttonbox.link import Closed, Link
from devices.buttonbox.owner import Wakeup, owner_thread_only
from devices.buttonbox.protocol import Identity
from devices.buttonbox.settings import DriverSettings
from devices.ports import ComPort

__all__ = ["ButtonBoxDriver", "DriverSettings", "NodeId", "node_identity"]

log = logging.getLogger(__name__)


class ButtonBoxDriver:
    def __init__(
        self,
        settings: DriverSettings,
        clock: Clock,
        emit: Callable[[Event], None],
        on_button: Callable[[str, Kind], None] | None = None,
        comports: Callable[[], Sequence[ComPort]] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._emit = emit
        self._on_button = on_button or (lambda name, kind: None)
        self._comports = comports
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wakeup = Wakeup()
        self._leds = LedRequest()
        self._decoder = FrameDecoder()  # its counts live as long as the driver
        self._counters = LinkCounters()
        self._report = BadFramesReport(self.counts, emit, clock, settings.bad_frames_every_s)
        self._session: BoxSession | None = None
        self.attempts = 0  # handshakes begun (for tests and diagnostics)
        self.status = "stopped"
        self.message = ""
        self.identity: Identity | None = None
        self.port_path = ""

    # -- any thread -------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            self.status, self.message = "searching", _("Looking for the button box.")
            self._thread = threading.Thread(target=self._run, name="faro-buttonbox", daemon=True)
            self._thread.start()

    def stop(self, final_leds: LedFrame | None = None) -> None:
        """Stop the owner thread (sending ``final_leds`` first if connected). Idempotent."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._leds.final = final_leds
            thread = self._thread
        self._wakeup.wake()
        if thread is None:
            self._wakeup.close()
        elif thread is not threading.current_thread():
            thread.join(5)
            if thread.is_alive():
                log.error("button-box thread did not stop within 5 s")

    @property
    def thread(self) -> threading.Thread | None:
        """The owner thread (None before :meth:`start`)."""
        return self._thread

    owner = thread

    def set_leds(self, frame: LedFrame) -> None:
        """The LED state the box should show (sent now, and again after every reconnect)."""
        self._leds.set(frame)
        self._wakeup.wake()

    def counts(self) -> ev.BadFrames:
        return self._counters.bad_frames(self._decoder.stats)

    @property
    def max_buffered(self) -> int:
        """The most bytes the decoder ever held for an unfinished frame."""
        return self._counters.max_buffered

    @property
    def confirmed_leds(self) -> LedFrame | None:
        """The LED state the box of the last connection acknowledged."""
        session = self._session
        return session.leds.confirmed if session is not None else None

    def _is_stopping(self) -> bool:
        return self._stopping

    # -- the owner thread ---------------------------------------------------------------
    def _run(self) -> None:
        finder = PortFinder(
            self.settings, self._clock, self._comports, self._set_status, self._emit
        )
        backoff = self.settings.reconnect_min_s
        try:
            while not self._stopping:
                path = finder.pick()
                if path is None:
                    self._pause(backoff)
                    backoff = min(backoff * 2, self.settings.reconnect_max_s)
                    continue
                served = self._connect_and_serve(finder, path)
                if served:
                    backoff = self.settings.reconnect_min_s
                self._pause(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_s)
        except Exception:  # a bug: log it, report the box as gone, end the thread
            log.exception("button-box driver failed")
            self._set_status("disconnected", _("The button box driver failed; see the log."))
        finally:
            self._set_status("stopped", "")
            self._wakeup.close()

    def _set_status(self, status: str, message: str) -> None:
        self.status, self.message = status, message

    @owner_thread_only
    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` of real time, or less if woken by stop()."""
        if self._stopping:
            return
        select.select([self._wakeup.fd], [], [], seconds)
        self._wakeup.drain()

    @owner_thread_only
    def _connect_and_serve(self, finder: PortFinder, path: str) -> bool:
        """One connection. Returns True if a box identified itself on it."""
        s = self.settings
        try:
            link = Link.open(path, s.baudrate, self._wakeup)
        except (OSError, serial.SerialException, ValueError) as exc:
            log.info("cannot open %s: %s", path, exc)
            self._set_status(
                "searching", _("Cannot open {port}: it is busy or not allowed.").format(port=path)
            )
            return False
        node = node_identity(path, link.fd)  # the node opened, whatever the path says later
        served = False
        try:
            link.port.reset_input_buffer()
            self._decoder.reset()
            self._set_status("connecting", self.message if finder.unanswered(path) else "")
            self.attempts += 1
            identity, backlog = handshake(link, self._decoder, s, self._clock, self._is_stopping)
            finder.forget(path)
            served = True
            leds = LedOutput(link, identity, self._leds, self._emit, s.led_retry_s)
            self._session = session = BoxSession(
                link,
                identity,
                self._decoder,
                self._counters,
                leds,
                self._report,
                s,
                self._clock,
                self._on_button,
                self._is_stopping,
            )
            self.identity, self.port_path = identity, path
            self._set_status("connected", "")
            self._emit(ev.ButtonBoxConnected(identity, path))
            session.serve(backlog)
        except Rejected as rej:
            finder.put_aside(path, node, rej.reason, rej.message)
        except NoAnswer as none:
            finder.no_answer(path, node, none.foreign)
        except Closed as closed:
            if served:
                log.info("button box on %s: %s", path, closed.reason)
                self._set_status("disconnected", closed.message)
                self._report.publish(force=True)
                self._emit(ev.ButtonBoxDisconnected(closed.reason, closed.message, path))
        finally:
            try:
                link.close()
            except Exception:
                log.debug("closing %s failed", path, exc_info=True)
            self.identity = None
        return served
