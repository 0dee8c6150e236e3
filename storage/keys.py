"""Envelope encryption of the SQLCipher data key.

The data key is 32 random bytes used as SQLCipher's raw key. It only exists on disk wrapped:

- by the counselor's passphrase: Argon2id (salt, time cost, memory, lanes recorded with the
  wrap) derives a key-encryption key; AES-256-GCM wraps the data key, with the KDF
  parameters as associated data so they cannot be swapped;
- by the organisation's recovery public key (:mod:`storage.recovery`), when configured.

The key file is JSON, written atomically with mode 0600 set before the first byte. During a
rekey it holds the next key too (``pending``), so a crash at any point leaves a key that opens
the database.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage import recovery
from storage.errors import StoreDamaged, WeakPassphrase, WrongPassphrase
from storage.hardening import atomic_write, wipe

FORMAT = "faro-keyfile"
VERSION = 1
KEY_BYTES = 32
MIN_PASSPHRASE = 8


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
        raise WeakPassphrase(f"A passphrase needs at least {MIN_PASSPHRASE} characters.")


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    time_cost: int
    memory_kib: int
    parallelism: int

    def derive(self, passphrase: bytearray | bytes | str) -> bytearray:
        secret = as_secret(passphrase)
        try:
            return bytearray(hash_secret_raw(bytes(secret), self.salt, self.time_cost,
                                             self.memory_kib, self.parallelism, 32, Type.ID))
        finally:
            wipe(secret)

    def to_json(self) -> dict[str, Any]:
        return {"kdf": "argon2id", "salt": _b64(self.salt), "time_cost": self.time_cost,
                "memory_kib": self.memory_kib, "parallelism": self.parallelism}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "KdfParams":
        if d.get("kdf") != "argon2id":
            raise StoreDamaged("The key file names an unknown key derivation.")
        return cls(_unb64(d["salt"]), int(d["time_cost"]), int(d["memory_kib"]),
                   int(d["parallelism"]))

    @classmethod
    def tuned(cls, memory_kib: int, parallelism: int, target_s: float) -> "KdfParams":
        """Time cost chosen so that one derivation takes about ``target_s`` here."""
        salt = secrets.token_bytes(16)

        def timed(t: int) -> float:
            t0 = time.perf_counter()
            hash_secret_raw(b"tuning", salt, t, memory_kib, parallelism, 32, Type.ID)
            return time.perf_counter() - t0
        one = timed(1)
        if one >= target_s:
            return cls(salt, 1, memory_kib, parallelism)
        per_pass = max(timed(2) - one, 1e-3)  # t=1 also pays for allocating the memory
        time_cost = max(1, min(50, 1 + round((target_s - one) / per_pass)))
        return cls(salt, time_cost, memory_kib, parallelism)

    def aad(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True).encode()


@dataclass
class KeyFile:
    kdf: KdfParams
    wrapped: bytes                    # nonce(12) + AES-GCM(data key)
    key_id: str
    recovery: dict[str, str] | None = None
    pending: dict[str, Any] | None = None   # {"key_id", "wrapped", "recovery"} during rekey
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

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
        return {"scheme": recovery.SCHEME, "recipient": _b64(recovery.public_raw(pub)),
                "blob": _b64(recovery.seal(pub, data_key))}

    @classmethod
    def create(cls, kek: bytearray, kdf: KdfParams, data_key: bytearray,
               recovery_key_path: str = "") -> "KeyFile":
        return cls(kdf, cls.wrap(kek, data_key, kdf.aad()), secrets.token_hex(8),
                   cls.seal_recovery(data_key, recovery_key_path),
                   created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def open(self, kek: bytearray) -> bytearray:
        return self.unwrap(kek, self.wrapped, self.kdf.aad())

    def open_pending(self, kek: bytearray) -> bytearray | None:
        if not self.pending:
            return None
        return self.unwrap(kek, _unb64(self.pending["wrapped"]), self.kdf.aad())

    # -- file ------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        d = {"format": FORMAT, "version": VERSION, "key_id": self.key_id,
             "created_at": self.created_at,
             "passphrase_wrap": {**self.kdf.to_json(), "aead": "aes-256-gcm",
                                 "wrapped": _b64(self.wrapped)},
             "recovery_wrap": self.recovery, "pending": self.pending, **self.extra}
        return (json.dumps(d, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "KeyFile":
        try:
            d = json.loads(data)
            if d.get("format") != FORMAT or d.get("version") != VERSION:
                raise ValueError
            w = d["passphrase_wrap"]
            return cls(KdfParams.from_json(w), _unb64(w["wrapped"]), d["key_id"],
                       d.get("recovery_wrap"), d.get("pending"), d.get("created_at", ""))
        except (ValueError, KeyError, TypeError):
            raise StoreDamaged("The case store key file is damaged; restore it from a backup.") from None

    def save(self, path: Path) -> None:
        atomic_write(path, self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> "KeyFile":
        return cls.from_bytes(Path(path).read_bytes())


def new_data_key() -> bytearray:
    return bytearray(os.urandom(KEY_BYTES))


def sqlcipher_key_literal(key: bytearray) -> str:
    """SQLCipher's raw-key literal. An immutable copy exists while the PRAGMA runs."""
    return "\"x'" + key.hex() + "'\""
