"""Personal data that must never reach logs, notifications or exceptions.

Wrap caller numbers, names and note text in :class:`Personal`: ``str()``, ``repr()`` and
f-strings print a placeholder, and only :meth:`Personal.reveal` hands out the value, so a
forgotten ``log.info("%s", call)`` leaks nothing. :func:`scrub` is the second line of
defence used by the logging filter: it masks anything shaped like a phone number or an
e-mail address.
"""

from __future__ import annotations

import re

PLACEHOLDER = "‹redacted›"


class Personal:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return PLACEHOLDER

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return PLACEHOLDER

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Personal) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Personal", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def reveal(value: Personal | str | None) -> str:
    if value is None:
        return ""
    return value.reveal() if isinstance(value, Personal) else value


# Seven or more digits, possibly with spaces, dots, dashes, parentheses and a leading +.
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d(?:[\d\s().-]{5,}\d)(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _mask_phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return PLACEHOLDER if digits >= 7 else match.group(0)


def scrub(text: str) -> str:
    """Mask phone numbers and e-mail addresses in free text."""
    text = _EMAIL.sub(PLACEHOLDER, text)
    return _PHONE.sub(_mask_phone, text)
