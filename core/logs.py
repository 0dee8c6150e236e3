"""Logging to a rotating file in the state dir, with personal data kept out.

:class:`PrivacyFilter` sits on every handler Faro installs: it renders the message,
masks phone numbers and e-mail addresses (:func:`core.privacy.scrub`), and does the same
to exception text. :class:`core.privacy.Personal` values print as a placeholder anyway.

A log that cannot be written (disk full, read-only folder) never stops Faro: it says so
once, in one line on stderr, and keeps running without the file (:func:`problem`).
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from pathlib import Path

from core.i18n import _
from core.privacy import scrub

FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


class PrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not drop the record
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotating file whose files are created 0600 before the first byte. A failed write
    (disk full) is reported once on stderr, without a traceback; later records are tried
    again (the disk may have room by then) but not reported again."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding)  # appends whatever mode was asked

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            _report(
                _(
                    "the log file {path} cannot be written ({reason}); Faro goes on without it"
                ).format(path=self.baseFilename, reason=exc.strerror)
            )
            try:  # drop what is buffered, or every later flush fails again
                if self.stream:
                    self.stream.close()
            except OSError:
                pass
            self.stream = None  # reopened by the next emit
        else:  # a bad record (format string): logging's own report
            super().handleError(record)


_installed: list[logging.Handler] = []
_problem: str | None = None


def problem() -> str | None:
    """Why the log file is not being written, or None when it is."""
    return _problem


def _report(text: str) -> None:
    global _problem
    if _problem is None:
        _problem = text
        try:
            print(_("faro: {problem}.").format(problem=text), file=sys.stderr)
        except (OSError, ValueError):
            pass


def configure(
    log_dir: Path,
    level: str = "INFO",
    max_bytes: int = 2_000_000,
    backups: int = 5,
    stderr: bool = False,
) -> Path | None:
    """Install Faro's handlers on the root logger (replacing earlier ones). Returns the file,
    or None when it cannot be written (said once on stderr; Faro goes on without it)."""
    from core.errors import NotWritable
    from core.paths import make_private_dir

    global _problem
    _problem = None
    root = logging.getLogger()
    for h in _installed:
        root.removeHandler(h)
        try:
            h.close()
        except OSError:  # its last buffered line could not be written
            pass
    _installed.clear()
    file = log_dir / "faro.log"
    path: Path | None = file
    handlers: list[logging.Handler] = []
    try:
        make_private_dir(log_dir)
        handlers.append(
            _PrivateRotatingFileHandler(
                file,
                maxBytes=max_bytes,
                backupCount=backups,
                encoding="utf-8",
            )
        )
    except NotWritable as exc:
        _report(
            _("{problem}; Faro goes on without a log file").format(problem=exc.message.rstrip("."))
        )
        path = None
    except OSError as exc:
        _report(
            _("the log file {path} cannot be opened ({reason}); Faro goes on without it").format(
                path=path, reason=exc.strerror
            )
        )
        path = None
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(PrivacyFilter())
        root.addHandler(h)
        _installed.append(h)
    root.setLevel(level)
    return path
