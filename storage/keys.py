"""Envelope encryption of the SQLCipher data key.

The data key is 32 random bytes used as SQLCipher's raw key. It only exists on disk wrapped:

- by the counselor's passphrase: Argon2id (salt, time cost, memory, lanes recorded with the
  wrap) derives a key-encryption key; AES-256-GCM wraps the data key, with the KDF
  parameters as associated data so they cannot be swapped;
- by the organisation's recovery public key (:mod:`storage.recovery`), when configured.

The key file is JSON, written atomically with mode 0600 set before the first byte. During a
rekey it holds the next key too (``pending``), so a crash at any point leaves a key that opens
the database. A SHA-256 ``checksum`` over every other field tells a damaged key file from a
wrong passphrase (both would otherwise fail at the AES-GCM tag). The file also anchors the
head of the audit chain (``audit_head``: sequence number and MAC of the newest row, see
:mod:`storage.audit`). Every write holds an exclusive ``flock`` on the data folder, and the
anchor is a read-modify-write under it, so it can never put back an older wrap.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.i18n import _, ngettext
from storage import recovery
from storage.errors import (
    AlreadyInitialised,
    StoreDamaged,
    WeakPassphrase,
    WrongPassphrase,
    restore_hint,
    write_failed,
)
from storage.hardening import atomic_write, wipe

FORMAT = "faro-keyfile"
VERSION = 1
KEY_BYTES = 32
MIN_PASSPHRASE = 8

#: Argon2id tuning bounds. The floor is for security whatever the machine (with at least
#: 64 MiB it is above OWASP's minimum of 46 MiB, t=1); the ceiling keeps one noisy
#: measurement on a busy machine from making every later unlock slow.
MIN_TIME_COST = 2
MAX_TIME_COST = 50
#: a tuned derivation, measured once more at the chosen cost, takes at most this times the target
CEILING_FACTOR = 1.5


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def as_secret(passphrase: bytearray | bytes | str) -> bytearray:
    if isinstance(passphrase, str):
        return bytearray(passphrase.encode("utf-8"))
    return bytearray(passphrase)


def check_strength(passphrase: bytearray | bytes | str) -> None:
    secret = as_secret(passphrase)
    try:
        n = len(secret.decode("utf-8", "replace"))
    finally:
        wipe(secret)
    if n < MIN_PASSPHRASE:
        raise WeakPassphrase(
            ngettext(
                "A passphrase needs at least {n} character.",
                "A passphrase needs at least {n} characters.",
                MIN_PASSPHRASE,
            ).format(n=MIN_PASSPHRASE)
        )


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    time_cost: int
    memory_kib: int
    parallelism: int

    def derive(self, passphrase: bytearray | bytes | str) -> bytearray:
        secret = as_secret(passphrase)
        try:
            return bytearray(
                hash_secret_raw(
                    bytes(secret),
                    self.salt,
                    self.time_cost,
                    self.memory_kib,
                    self.parallelism,
                    32,
                    Type.ID,
                )
            )
        finally:
            wipe(secret)

    def to_json(self) -> dict[str, Any]:
        return {
            "kdf": "argon2id",
            "salt": _b64(self.salt),
            "time_cost": self.time_cost,
            "memory_kib": self.memory_kib,
            "parallelism": self.parallelism,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KdfParams:
        if d.get("kdf") != "argon2id":
            raise StoreDamaged(_("The key file names an unknown key derivation."))
        return cls(
            _unb64(d["salt"]), int(d["time_cost"]), int(d["memory_kib"]), int(d["parallelism"])
        )

    @classmethod
    def tuned(
        cls,
        memory_kib: int,
        parallelism: int,
        target_s: float,
        measure: Callable[[int], float] | None = None,
    ) -> KdfParams:
        """Time cost chosen so that one derivation takes about ``target_s`` here, within
        [MIN_TIME_COST, MAX_TIME_COST] and never measured above ``CEILING_FACTOR`` times the
        target. ``measure(t)`` (seconds for one derivation at time cost t) is injectable so
        the bounds are tested deterministically."""
        salt = secrets.token_bytes(16)

        def timed(t: int) -> float:
            t0 = time.perf_counter()
            hash_secret_raw(b"tuning", salt, t, memory_kib, parallelism, 32, Type.ID)
            return time.perf_counter() - t0

        measure = measure or timed
        base = measure(MIN_TIME_COST)
        if base >= target_s:
            return cls(salt, MIN_TIME_COST, memory_kib, parallelism)
        probe = measure(MIN_TIME_COST + 2)
        # A pass costs about base / MIN_TIME_COST (base also pays for the memory). The
        # difference of two noisy runs can be near zero on a busy machine, which once gave a
        # time cost of 50 (2.3 s): a pass is never taken as cheaper than a quarter of that.
        per_pass = max((probe - base) / 2, base / (4 * MIN_TIME_COST))
        time_cost = MIN_TIME_COST + int((target_s - base) / per_pass)
        time_cost = max(MIN_TIME_COST, min(MAX_TIME_COST, time_cost))
        for _attempt in range(2):  # measure the choice; too slow: scale it down
            took = measure(time_cost)
            if took <= target_s * CEILING_FACTOR or time_cost == MIN_TIME_COST:
                break
            time_cost = max(MIN_TIME_COST, min(time_cost - 1, int(time_cost * target_s / took)))
        return cls(salt, time_cost, memory_kib, parallelism)

    def aad(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True).encode()


@dataclass
class KeyFile:
    kdf: KdfParams
    wrapped: bytes  # nonce(12) + AES-GCM(data key)
    key_id: str
    recovery: dict[str, str] | None = None
    pending: dict[str, Any] | None = None  # {"key_id", "wrapped", "recovery"} during rekey
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    audit_head: dict[str, Any] | None = None  # {"seq", "mac"} of the newest audit row anchored

    # -- wrapping --------------------------------------------------------------------
    @staticmethod
    def wrap(kek: bytearray, data_key: bytearray, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(bytes(kek)).encrypt(nonce, bytes(data_key), aad)

    @staticmethod
    def unwrap(kek: bytearray, blob: bytes, aad: bytes) -> bytearray:
        try:
            return bytearray(AESGCM(bytes(kek)).decrypt(blob[:12], blob[12:], aad))
        except InvalidTag:
            raise WrongPassphrase() from None

    @staticmethod
    def seal_recovery(data_key: bytearray, public_key_path: str) -> dict[str, str] | None:
        if not public_key_path:
            return None
        pub = recovery.load_public_key(public_key_path)
        return {
            "scheme": recovery.SCHEME,
            "recipient": _b64(recovery.public_raw(pub)),
            "blob": _b64(recovery.seal(pub, data_key)),
        }

    @classmethod
    def create(
        cls, kek: bytearray, kdf: KdfParams, data_key: bytearray, recovery_key_path: str = ""
    ) -> KeyFile:
        return cls(
            kdf,
            cls.wrap(kek, data_key, kdf.aad()),
            secrets.token_hex(8),
            cls.seal_recovery(data_key, recovery_key_path),
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )

    def open(self, kek: bytearray) -> bytearray:
        return self.unwrap(kek, self.wrapped, self.kdf.aad())

    def open_pending(self, kek: bytearray) -> bytearray | None:
        if not self.pending:
            return None
        return self.unwrap(kek, _unb64(self.pending["wrapped"]), self.kdf.aad())

    def promote_pending(self, path: Path) -> None:
        """The last step of a rekey: the pending key becomes the current one (saved)."""
        p = self.pending
        assert p is not None
        self.wrapped = _unb64(p["wrapped"])
        self.key_id = p["key_id"]
        self.recovery = p.get("recovery")
        self.pending = None
        self.save(path)

    # -- file ------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        d = {
            "format": FORMAT,
            "version": VERSION,
            "key_id": self.key_id,
            "created_at": self.created_at,
            "passphrase_wrap": {
                **self.kdf.to_json(),
                "aead": "aes-256-gcm",
                "wrapped": _b64(self.wrapped),
            },
            "recovery_wrap": self.recovery,
            "pending": self.pending,
            "audit_head": self.audit_head,
            **self.extra,
        }
        d["checksum"] = _checksum(d)
        return (json.dumps(d, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "cases.key") -> KeyFile:
        """Parse a key file. Damage (bad JSON, a wrong checksum, a missing field) raises
        :class:`StoreDamaged` naming ``name``; a file written before checksums existed is
        read without one (it gets one when it is next written)."""
        try:
            d = json.loads(data)
            if not isinstance(d, dict):
                raise ValueError
            stored = d.pop("checksum", None)
            if stored is not None and stored != _checksum(d):
                raise ValueError
            if d.get("format") != FORMAT or d.get("version") != VERSION:
                raise ValueError
            w = d["passphrase_wrap"]
            head = d.get("audit_head")
            if head is not None and not (
                isinstance(head.get("seq"), int) and isinstance(head.get("mac"), str)
            ):
                raise ValueError
            return cls(
                KdfParams.from_json(w),
                _unb64(w["wrapped"]),
                d["key_id"],
                d.get("recovery_wrap"),
                d.get("pending"),
                d.get("created_at", ""),
                audit_head=head,
            )
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise StoreDamaged(
                _(
                    "The key file {name} is damaged (it does not match its own "
                    "checksum, or is not a Faro key file), so no passphrase can "
                    "open it."
                ).format(name=name),
                hint=restore_hint(),
            ) from None

    def save(self, path: Path, *, exclusive: bool = False) -> None:
        """Write atomically under the key-file lock. ``exclusive``: never replace an existing
        file (init), raise :class:`AlreadyInitialised` instead."""
        path = Path(path)
        with key_file_lock(path.parent):
            _write(path, self.to_bytes(), exclusive)

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreDamaged(
                _("The key file {name} is missing, so the database cannot be opened.").format(
                    name=path.name
                ),
                hint=restore_hint(),
            ) from None
        return cls.from_bytes(data, path.name)

    @staticmethod
    def anchor(
        path: Path, head: dict[str, Any], still_valid: Callable[[KeyFile], bool] = lambda kf: True
    ) -> bool:
        """Record ``head`` as the audit anchor: read, change only ``audit_head``, write, all
        under the lock, so a passphrase change or rekey made meanwhile (by any process) is
        kept. Skipped (False) when ``still_valid(current)`` says the current anchor must
        stay (the database no longer contains it: that is evidence, never overwritten)."""
        path = Path(path)
        with key_file_lock(path.parent):
            current = KeyFile.load(path)
            if current.audit_head == head:
                return True
            if not still_valid(current):
                return False
            current.audit_head = head
            _write(path, current.to_bytes(), False)
            return True


def _checksum(d: dict[str, Any]) -> str:
    body = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _write(path: Path, data: bytes, exclusive: bool) -> None:
    try:
        atomic_write(path, data, exclusive=exclusive)
    except FileExistsError:
        raise AlreadyInitialised(
            _("The key file {name} already exists; it was not replaced.").format(name=path.name)
        ) from None
    except OSError as exc:
        raise write_failed(
            exc, path.parent, _("The key file {name} could not be written").format(name=path.name)
        ) from None


@contextlib.contextmanager
def key_file_lock(directory: Path) -> Iterator[None]:
    """Exclusive flock on the data folder: one key-file writer at a time, across processes."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def new_data_key() -> bytearray:
    return bytearray(os.urandom(KEY_BYTES))


def sqlcipher_key_literal(key: bytearray) -> str:
    """SQLCipher's raw-key literal. An immutable copy exists while the PRAGMA runs."""
    return "\"x'" + key.hex() + "'\""
