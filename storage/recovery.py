"""The organisation's emergency access: the data key sealed to an X25519 public key.

A sealed box built from `cryptography` (no libsodium needed): an ephemeral X25519 key pair,
HKDF-SHA256 over the shared secret bound to both public keys, ChaCha20-Poly1305 with a
zero nonce (the key is used once). Only the holder of the organisation's private key
(kept offline) can open it; the laptop never can.

    blob = ephemeral_public (32) || ciphertext+tag
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ConfigError
from core.i18n import _

SCHEME = "x25519-hkdf-sha256-chacha20poly1305"
_INFO = b"faro recovery seal v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def _kdf(shared: bytes, eph: bytes, recipient: bytes) -> bytes:
    return HKDF(SHA256(), 32, salt=None, info=_INFO + eph + recipient).derive(shared)


def seal(recipient: X25519PublicKey, data: bytes | bytearray) -> bytes:
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(*_RAW)
    rec = recipient.public_bytes(*_RAW)
    key = _kdf(eph.exchange(recipient), eph_pub, rec)
    return eph_pub + ChaCha20Poly1305(key).encrypt(b"\0" * 12, bytes(data), rec)


def unseal(private: X25519PrivateKey, blob: bytes) -> bytearray:
    eph_pub, ct = blob[:32], blob[32:]
    rec = private.public_key().public_bytes(*_RAW)
    key = _kdf(private.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, rec)
    return bytearray(ChaCha20Poly1305(key).decrypt(b"\0" * 12, ct, rec))


def public_raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(*_RAW)


def load_public_key(path: Path | str) -> X25519PublicKey:
    """A PEM public key, or 32 raw bytes in base64 on one line."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            _("Cannot read the recovery public key {path}: {reason}.").format(
                path=path, reason=exc.strerror
            )
        ) from None
    try:
        if b"BEGIN" in data:
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, X25519PublicKey):
                raise ValueError
            return key
        return X25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except ValueError:
        raise ConfigError(
            _("The recovery public key {path} is not an X25519 public key.").format(path=path)
        ) from None


def load_private_key(path: Path | str) -> X25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            _("Cannot read the recovery key {path}: {reason}.").format(
                path=path, reason=exc.strerror or type(exc).__name__
            )
        ) from None
    try:
        if b"BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
            if not isinstance(key, X25519PrivateKey):
                raise ValueError
            return key
        return X25519PrivateKey.from_private_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError):
        raise ConfigError(
            _("The recovery key {path} is not an X25519 private key (PEM or base64).").format(
                path=path
            )
        ) from None


def fingerprint(public: bytes) -> str:
    """A short name for a recovery public key, to tell one organisation's key from another."""
    digest = hashlib.sha256(public).hexdigest()[:16]
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))


def generate_pem_pair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) for the organisation's offline recovery key."""
    priv = X25519PrivateKey.generate()
    return (
        priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
