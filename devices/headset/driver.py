"""The headset driver: the face other threads use, and the one owner thread behind it.

:class:`HeadsetDriver` starts one thread ("faro-headset"); it alone scans, opens, reads and
writes the hidraw node. Other threads call :meth:`set_leds` and :meth:`stop` and read
``status``, ``message``, ``headset`` and :meth:`counts`; those store a value and wake the
owner through a pipe (:class:`~devices.buttonbox.owner.Wakeup`).

Life of a connection, on the owner thread: scan sysfs (:mod:`devices.headset.discovery`),
choose (the configured one, else the first; the others are ignored with a note) → open
(:class:`~devices.headset.node.HidrawNode`) → the LEDs written in full (the resync) → serve:
``select`` on the node and the wake-up pipe, at most ``max_burst`` reports read per wake-up,
each decoded (:class:`~devices.headset.reports.ReportDecoder`) and handed to ``on_values``;
the LEDs written when asked, and in full after every report that held a press → on a read
error (ENODEV: unplugged) or the node gone from sysfs, close, publish the disconnect and
look again every ``poll_s`` (backoff from 50 ms).

A flooding headset never freezes the thread: equal reports in a row are skipped (counted
``repeated``), and changed reports beyond ``max_reports_per_s`` (a token bucket) are read and
dropped (``flood_dropped``), so LED writes and stop() are served between bursts.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.events import Event
from core.i18n import _
from devices import events as ev
from devices.buttonbox.owner import Wakeup, owner_thread_only
from devices.headset.discovery import DEV_ROOT, SYSFS_ROOT, Candidate, choose, scan
from devices.headset.node import HidrawNode
from devices.headset.reports import LedEncoder, ReportDecoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadsetSettings:
    device: str = ""  # "" = the first; a vvvv:pppp id, a path or a piece of the name
    sysfs_root: str = SYSFS_ROOT
    dev_root: str = DEV_ROOT
    poll_s: float = 0.5  # hotplug scan, and the longest wait between two looks
    reconnect_min_s: float = 0.05
    max_burst: int = 256  # reports read per wake-up at most
    max_reports_per_s: float = 50.0  # changed reports acted on (a press is two)
    counts_every_s: float = 0.5


class HeadsetDriver:
    def __init__(
        self,
        settings: HeadsetSettings,
        emit: Callable[[Event], None],
        on_values: Callable[[dict[str, int]], bool] | None = None,
        on_connect: Callable[[Candidate], None] | None = None,
    ) -> None:
        """``on_values`` (owner thread) gets each decoded report and says whether to write
        the LEDs again in full (a press: the truth, accepted or not); ``on_connect`` is told
        the headset just opened (before the LED resync)."""
        self.settings = settings
        self._emit = emit
        self._on_values = on_values or (lambda values: False)
        self._on_connect = on_connect or (lambda cand: None)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wakeup = Wakeup()
        self._leds: dict[str, bool] = {}
        self._leds_dirty = False
        self._final: dict[str, bool] | None = None
        self.status = "stopped"
        self.message = ""
        self.headset: Candidate | None = None
        self.ignored: dict[str, str] = {}  # path → why (for `faro devices list` and tests)
        self.rejected: dict[str, str] = {}
        self.leds_written: dict[str, bool] = {}
        self.connections = 0
        self._repeated = 0
        self._flood_dropped = 0
        self._published = ev.HeadsetReports()
        self._decoder: ReportDecoder | None = None

    # -- any thread -------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            self.status, self.message = "searching", _("Looking for a headset.")
            self._thread = threading.Thread(target=self._run, name="faro-headset", daemon=True)
            self._thread.start()

    def stop(self, final_leds: dict[str, bool] | None = None) -> None:
        """Stop the owner thread (writing ``final_leds`` first if connected). Idempotent."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._final = final_leds
            thread = self._thread
        self._wakeup.wake()
        if thread is None:
            self._wakeup.close()
        elif thread is not threading.current_thread():
            thread.join(5)
            if thread.is_alive():
                log.error("headset thread did not stop within 5 s")

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    owner = thread

    def set_leds(self, leds: dict[str, bool]) -> None:
        """The LED state the headset should show (written now, and after every reconnect)."""
        with self._lock:
            self._leds = dict(leds)
            self._leds_dirty = True
        self._wakeup.wake()

    def counts(self) -> ev.HeadsetReports:
        d = self._decoder
        bad, unknown = (d.counts.bad_size, d.counts.unknown_id) if d else (0, 0)
        return ev.HeadsetReports(bad, unknown, self._flood_dropped, self._repeated)

    # -- the owner thread ---------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.settings.reconnect_min_s
        try:
            while not self._stopping:
                cand = self._pick()
                if cand is not None and self._serve(cand):
                    backoff = self.settings.reconnect_min_s
                self._pause(backoff)
                backoff = min(backoff * 2, self.settings.poll_s)
        except Exception:  # a bug: log it, report the headset as gone, end the thread
            log.exception("headset driver failed")
            self.status, self.message = "disconnected", _("The headset driver failed; see the log.")
        finally:
            self.status, self.message = "stopped", ""
            self._wakeup.close()

    def _pause(self, seconds: float) -> None:
        if not self._stopping:
            select.select([self._wakeup.fd], [], [], seconds)
            self._wakeup.drain()

    def _pick(self) -> Candidate | None:
        s = self.settings
        cands = scan(s.sysfs_root, s.dev_root)
        for c in cands:
            if not c.usable and self.rejected.get(c.path) != c.error:
                self.rejected[c.path] = c.error
                self._emit(ev.HeadsetRejected("bad_descriptor", c.error, c.path))
        pick, others = choose(cands, s.device)
        self._note_ignored(others)
        if pick is None:
            self.status = "searching"
            self.message = (
                _("No headset with call buttons is plugged in.")
                if not s.device
                else _("The headset {device} is not plugged in.").format(device=s.device)
            )
        return pick

    def _note_ignored(self, others: list[Candidate]) -> None:
        for c in others:
            if c.path not in self.ignored:
                why = _(
                    "Another headset is plugged in ({name}, {usb_id}); Faro uses only the one "
                    "chosen in devices.headset.device (or the first)."
                ).format(name=c.name or c.node, usb_id=c.usb_id or "?")
                self.ignored[c.path] = why
                self._emit(ev.HeadsetIgnored(c.name, c.usb_id, c.path, why))
        here = {c.path for c in others}
        for path in list(self.ignored):
            if path not in here:
                del self.ignored[path]

    @owner_thread_only
    def _serve(self, cand: Candidate) -> bool:
        """One connection. Returns True if the headset was opened."""
        assert cand.tel is not None
        try:
            node = HidrawNode.open(cand.path)
        except PermissionError:
            msg = _(
                "cannot open {path}: permission denied — install the udev rule "
                "(packaging/udev/70-faro-headset.rules)"
            ).format(path=cand.path)
            self.status, self.message = "rejected", msg
            if self.rejected.get(cand.path) != msg:
                self.rejected[cand.path] = msg
                log.warning("headset %s: permission denied", cand.path)
                self._emit(ev.HeadsetRejected("permission", msg, cand.path))
            return False
        except OSError as exc:
            log.info("cannot open %s: %s", cand.path, exc)
            return False
        self.rejected.pop(cand.path, None)
        decoder = ReportDecoder(cand.tel)
        if self._decoder is not None:  # keep the running counts across connections
            decoder.counts.bad_size = self._decoder.counts.bad_size
            decoder.counts.unknown_id = self._decoder.counts.unknown_id
        self._decoder = decoder
        leds = LedEncoder(cand.tel)
        self.headset = cand
        self.connections += 1
        self.status, self.message = "connected", ""
        reason, message = "stopped", ""
        try:
            self._on_connect(cand)
            self._emit(
                ev.HeadsetConnected(
                    cand.name, cand.usb_id, cand.path, cand.tel.application, cand.tel.capabilities
                )
            )
            self._write_leds(node, leds, force=True)  # the resync
            reason, message = self._loop(node, cand, decoder, leds)
        finally:
            if self._stopping and self._final is not None:
                try:
                    self._write(node, leds.encode(self._final, force=True), self._final)
                except OSError:
                    pass
            node.close()
            self.headset = None
            self.status, self.message = ("disconnected", message) if message else ("stopped", "")
            self._publish_counts(force=True)
            self._emit(ev.HeadsetDisconnected(reason, message, cand.path))
        return True

    def _loop(
        self, node: HidrawNode, cand: Candidate, decoder: ReportDecoder, leds: LedEncoder
    ) -> tuple[str, str]:
        s = self.settings
        tokens = s.max_reports_per_s
        refilled = next_scan = time.monotonic()
        last: bytes | None = None
        gone = _(
            "The headset was unplugged: its buttons no longer work. A call goes on; use the "
            "screen or the keys."
        )
        while not self._stopping:
            now = time.monotonic()
            timeout = max(0.0, min(next_scan - now, s.counts_every_s))
            ready = select.select([node.fd, self._wakeup.fd], [], [], timeout)[0]
            if self._wakeup.fd in ready:
                self._wakeup.drain()
            now = time.monotonic()
            tokens = min(s.max_reports_per_s, tokens + (now - refilled) * s.max_reports_per_s)
            refilled = now
            if node.fd in ready:
                resend = False
                # equal reports are skipped within one burst only (a flood); a report equal
                # to the one of an earlier burst is news: the headset may have followed the
                # host's lights in between without reporting it
                last = None
                for _i in range(s.max_burst):
                    try:
                        report = node.read()
                    except OSError as exc:
                        log.info("headset %s: %s", cand.path, exc)
                        return "unplugged", gone
                    if report is None:
                        break
                    if report == last:
                        self._repeated += 1
                        continue
                    last = report
                    if tokens < 1.0:
                        self._flood_dropped += 1
                        continue
                    tokens -= 1.0
                    values = decoder.decode(report)
                    if values:
                        resend = self._on_values(values) or resend
                if resend:
                    self._write_leds(node, leds, force=True)
            with self._lock:
                dirty = self._leds_dirty
            if dirty:
                try:
                    self._write_leds(node, leds)
                except OSError:
                    return "unplugged", gone
            if now >= next_scan:
                next_scan = now + s.poll_s
                if not os.path.exists(os.path.join(s.sysfs_root, "class", "hidraw", cand.node)):
                    return "unplugged", gone
                _pick, others = choose(scan(s.sysfs_root, s.dev_root), cand.path)
                self._note_ignored([c for c in others if c.path != cand.path])
            self._publish_counts()
        return "stopped", ""

    def _write_leds(self, node: HidrawNode, leds: LedEncoder, force: bool = False) -> None:
        with self._lock:
            wanted = dict(self._leds)
            self._leds_dirty = False
        reports = leds.encode(wanted, force=force)
        if reports:
            self._write(node, reports, wanted)

    def _write(self, node: HidrawNode, reports: list[bytes], wanted: dict[str, bool]) -> None:
        for report in reports:
            try:
                node.write(report)
            except BlockingIOError:
                log.debug("headset output queue full: LED report dropped")
            except OSError as exc:
                if exc.errno in (errno.ENODEV, errno.EIO, errno.EPIPE, errno.ECONNRESET):
                    raise
                log.info("headset LED write failed: %s", exc)
        self.leds_written = wanted
        self._emit(ev.HeadsetLeds(tuple(sorted(k for k, v in wanted.items() if v))))

    _last_counts_at = 0.0

    def _publish_counts(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_counts_at < self.settings.counts_every_s:
            return
        counts = self.counts()
        if counts != self._published:
            self._published = counts
            self._last_counts_at = now
            self._emit(counts)
