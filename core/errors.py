"""The small family of errors a user is shown.

A :class:`FaroError` carries a message written for the person in front of the screen (a
counselor or an IT admin): what happened and what to do, with no personal data and no
traceback. Everything else is a bug: it is logged with its traceback and the user sees a
generic message.
"""

from __future__ import annotations


class FaroError(Exception):
    """An error whose message is fit to show to the user as it is."""

    #: process exit code used by the ``faro`` command for this kind of error
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_text(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(FaroError):
    """The configuration file or an option value is wrong."""

    exit_code = 78  # EX_CONFIG


class DeviceError(FaroError):
    """A device is missing, busy, or speaking a protocol we do not understand."""

    exit_code = 69  # EX_UNAVAILABLE


class StorageError(FaroError):
    """The case store cannot be opened, read or written."""

    exit_code = 74  # EX_IOERR


class NotWritable(FaroError):
    """A file or folder cannot be written: disk full, read-only, file size limit, I/O error.
    What was written before is intact."""

    exit_code = 74  # EX_IOERR
