"""The escalation spool: an outbox on disk that needs no passphrase, sealed record by record.

An alert must survive a crash even when the encrypted store is locked (nobody unlocked it
yet, or a headless laptop that never does) and in ``faro escalate``, which has no store.
:class:`Spool` is an append-only file in the profile's data folder; every record is one
outbox operation (an item queued, an item done, an escalation's state) sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from this laptop's MQTT client private key —
the key the process must read anyway to reach the broker, so the spool is exactly as
strong as the laptop's TLS identity. What goes in is codes only (levels, reasons, states,
ids, times): whispers, the only free text, never do (docs/escalation.md, "The spool").

Each record is written and fsynced before :meth:`Spool.append` returns. A torn last record
(a crash in the middle of a write) is dropped when the file is read back; a record that
does not open (another key: the certificate was renewed) makes the file be set aside and
logged, never silently mixed with new records.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

VERSION = b"faro-spool-v1"
_LEN = struct.Struct(">I")
_NONCE = 12
MAX_RECORD = 64 * 1024
FALLBACK_KEY = "escalation-spool.key"


class SpoolError(OSError):
    """The spool could not be written (the caller keeps the item in memory)."""


def spool_key(key_file: str | Path | None, data_dir: Path) -> bytes:
    """The 32-byte sealing key: HKDF-SHA256 over this laptop's MQTT client private key (DER).

    Without a client key (the plain-MQTT demo broker on loopback) a random key is kept in
    ``data_dir/escalation-spool.key`` (0600): protection at rest is then only that of the
    profile folder, which holds nothing but codes in that case either."""
    if key_file:
        pem = Path(key_file).read_bytes()
        key = serialization.load_pem_private_key(pem, None)
        material = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    else:
        path = Path(data_dir) / FALLBACK_KEY
        if not path.exists():
            from escalation.pki import write_private

            write_private(path, os.urandom(32))
        material = path.read_bytes()
    return HKDF(hashes.SHA256(), 32, salt=VERSION, info=b"escalation outbox spool").derive(material)


def _enc(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (list, tuple)):
        return [_enc(v) for v in value]
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$b"}:
        return base64.b64decode(value["$b"])
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


class Spool:
    """Sealed outbox operations in one file, oldest first. Thread-safe."""

    def __init__(self, path: Path, key: bytes, context: str = "") -> None:
        self.path = Path(path)
        self._aead = AESGCM(key)
        self._aad = VERSION + b"\0" + context.encode()
        self._lock = threading.Lock()
        self._fd: int | None = None

    # -- reading ------------------------------------------------------------------------------
    def load(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Every operation in the file. A torn tail is cut off; an unreadable file is moved
        aside (``.unreadable``) and reported, and the spool starts empty."""
        with self._lock:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return []
            ops: list[tuple[str, tuple[Any, ...]]] = []
            pos = 0
            while pos + _LEN.size <= len(data):
                (n,) = _LEN.unpack_from(data, pos)
                end = pos + _LEN.size + n
                if n < _NONCE + 16 or n > MAX_RECORD or end > len(data):
                    break  # torn by a crash during the write
                nonce = data[pos + _LEN.size : pos + _LEN.size + _NONCE]
                try:
                    plain = self._aead.decrypt(
                        nonce, data[pos + _LEN.size + _NONCE : end], self._aad
                    )
                    rec = json.loads(plain)
                except (InvalidTag, ValueError):
                    if end == len(data):
                        break  # the last record, torn
                    self._set_aside(len(ops))
                    return []
                ops.append((str(rec["op"]), tuple(_dec(rec["a"]))))
                pos = end
            if pos != len(data):
                log.warning(
                    "escalation spool: dropped a torn record at the end of %s", self.path.name
                )
                self._close()
                with open(self.path, "r+b") as f:
                    f.truncate(pos)
                    os.fsync(f.fileno())
            return ops

    def _set_aside(self, readable: int) -> None:
        self._close()
        aside = self.path.with_name(self.path.name + ".unreadable")
        os.replace(self.path, aside)
        log.error(
            "escalation spool %s does not open with this laptop's key (a renewed "
            "certificate?); set aside as %s after %d readable records",
            self.path.name,
            aside.name,
            readable,
        )

    # -- writing ------------------------------------------------------------------------------
    def append(self, op: str, args: tuple[Any, ...]) -> None:
        """Seal, write and fsync one operation. Raises :class:`SpoolError`."""
        record = self._seal(op, args)
        with self._lock:
            try:
                fd = self._open()
                os.write(fd, record)
                os.fsync(fd)
            except OSError as exc:
                raise SpoolError(
                    exc.errno, f"escalation spool not written: {exc.strerror}"
                ) from exc

    def rewrite(self, ops: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Replace the file by ``ops`` (atomically; an empty list removes it)."""
        with self._lock:
            self._close()
            if not ops:
                self._remove()
                return
            from escalation.pki import write_private

            write_private(self.path, b"".join(self._seal(op, a) for op, a in ops))

    def clear(self) -> None:
        self.rewrite([])

    def close(self) -> None:
        with self._lock:
            self._close()

    # -- internals ----------------------------------------------------------------------------
    def _seal(self, op: str, args: tuple[Any, ...]) -> bytes:
        plain = json.dumps(
            {"op": op, "a": _enc(list(args))}, separators=(",", ":"), default=str
        ).encode()
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, plain, self._aad)
        if len(sealed) > MAX_RECORD:
            raise SpoolError(0, "escalation spool record too large")
        return _LEN.pack(len(sealed)) + sealed

    def _open(self) -> int:
        if self._fd is None:
            new = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if new:
                os.fchmod(self._fd, 0o600)
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _remove(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
