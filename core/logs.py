"""Logging to a rotating file in the state dir, with personal data kept out.

:class:`PrivacyFilter` sits on every handler Faro installs: it renders the message,
masks phone numbers and e-mail addresses (:func:`core.privacy.scrub`), and does the same
to exception text. :class:`core.privacy.Personal` values print as a placeholder anyway.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

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
    """Rotating file whose files are created 0600 before the first byte."""

    def _open(self):  # type: ignore[override]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, self.mode.replace("w", "a"), encoding=self.encoding)


_installed: list[logging.Handler] = []


def configure(log_dir: Path, level: str = "INFO", max_bytes: int = 2_000_000,
              backups: int = 5, stderr: bool = False) -> Path:
    """Install Faro's handlers on the root logger (replacing earlier ones). Returns the file."""
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = log_dir / "faro.log"
    root = logging.getLogger()
    for h in _installed:
        root.removeHandler(h)
        h.close()
    _installed.clear()
    handlers: list[logging.Handler] = [
        _PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(PrivacyFilter())
        root.addHandler(h)
        _installed.append(h)
    root.setLevel(level)
    return path
