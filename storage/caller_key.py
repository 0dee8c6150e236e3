"""The caller's salted key: repeat callers linked without their number.

``contacts.caller_key`` is HMAC-SHA256 of the *normalised* caller number under a random
32-byte key made for this store on first use and kept in the encrypted ``settings`` table
(``caller_key.secret``). The number itself stays in ``contacts.caller``; the key is what
queries compare (an earlier contact's safety plan), so the number is never needed outside
that column. Two stores never give the same key for the same number (their secrets
differ), and a backup carries the secret with the contacts, so keys stay comparable after
a restore. The key is a link, not a secret of its own: anyone who can open the store can
read the number anyway.

Normalisation (Mexico first, since the 2019 numbering plan every Mexican number has ten
digits and no prefix is dialled):

- spaces, dashes, dots, brackets and a ``tel:``/``sip:`` scheme or ``@host`` are dropped;
- ``+`` or ``00`` starts an international number; ``+52`` is Mexico. The ``1`` that mobile
  numbers once carried after ``+52`` (``+52 1 55 …``) is dropped;
- without them: ten digits are a Mexican number (``55 5555 0101`` is ``+525555550101``),
  as are ``52`` + ten digits, and the retired national prefixes ``01`` (long distance) and
  ``044``/``045`` (mobile) + ten digits;
- any other international number is kept as ``+`` and its digits (country codes are not
  parsed further); anything else, as its digits.

So ``+52 55 5555 0101``, ``5555550101``, ``(55) 5555-0101``, ``0052 1 55 5555 0101`` and
``044 55 5555 0101`` all give ``+525555550101``. A withheld or unknown number, or one of
fewer than :data:`MIN_DIGITS` digits (911, a switchboard extension), gives no key: such
calls are never linked to each other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import sqlcipher3

#: the settings row that holds the store's caller-key secret (hex)
SECRET_SETTING = "caller_key.secret"
#: numbers with fewer digits than this (emergency and short codes) are never linked
MIN_DIGITS = 7
#: the country of a number dialled without one (the helpline's own)
DEFAULT_COUNTRY = "52"

_NATIONAL_DIGITS = 10  # Mexico, 2019 numbering plan
_NOT_DIGITS = re.compile(r"[^0-9]")


def normalise(number: str | None, country: str = DEFAULT_COUNTRY) -> str | None:
    """The caller number in one canonical form (see the module doc), or None if it cannot
    link calls (withheld, unknown, too short)."""
    if not number:
        return None
    text = number.strip().lower()
    for scheme in ("tel:", "sip:", "sips:"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    text = text.split("@", 1)[0].split(";", 1)[0]
    international = text.lstrip().startswith("+")
    digits = _NOT_DIGITS.sub("", text)
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if len(digits) < MIN_DIGITS:
        return None
    if international:
        if digits.startswith(country):
            return "+" + country + _national(digits[len(country) :])
        return "+" + digits
    if country == DEFAULT_COUNTRY:
        n = _NATIONAL_DIGITS
        if len(digits) == n:
            return "+" + country + digits
        if len(digits) in (n + 2, n + 3) and digits.startswith(country):
            return "+" + country + _national(digits[len(country) :])
        if len(digits) == n + 2 and digits.startswith("01"):
            return "+" + country + digits[2:]
        if len(digits) == n + 3 and digits[:3] in ("044", "045"):
            return "+" + country + digits[3:]
    return digits


def _national(rest: str) -> str:
    """Mexico: drop the old mobile ``1`` of ``+52 1 …`` (eleven digits)."""
    if len(rest) == _NATIONAL_DIGITS + 1 and rest.startswith("1"):
        return rest[1:]
    return rest


def secret_in(db: sqlcipher3.Connection) -> bytes:
    """The store's caller-key secret, created on first use (writer thread, inside or
    outside a transaction: ``INSERT OR IGNORE`` keeps the first one made)."""
    row = db.execute("SELECT value FROM settings WHERE key=?", (SECRET_SETTING,)).fetchone()
    if row is None:
        db.execute(
            "INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)",
            (SECRET_SETTING, secrets.token_hex(32)),
        )
        row = db.execute("SELECT value FROM settings WHERE key=?", (SECRET_SETTING,)).fetchone()
    return bytes.fromhex(row[0])


def caller_key(secret: bytes, number: str | None) -> str | None:
    """HMAC-SHA256 (hex) of the normalised number under ``secret``; None: never linked."""
    canonical = normalise(number)
    if canonical is None:
        return None
    return hmac.new(secret, canonical.encode("ascii"), hashlib.sha256).hexdigest()
