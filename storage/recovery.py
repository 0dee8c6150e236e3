"""The organisation's emergency access: the data key sealed to an X25519 public key.

A sealed box (core/sealing.py: an ephemeral X25519 key pair, HKDF-SHA256 over the shared
secret bound to both public keys, ChaCha20-Poly1305 with a zero nonce). Only the holder of
the organisation's private key (kept offline) can open it; the laptop never can.

    blob = ephemeral_public (32) || ciphertext+tag
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from core.errors import ConfigError
from core.i18n import _
from core.sealing import SCHEME, public_raw, seal, unseal

__all__ = ["SCHEME", "public_raw", "seal", "unseal"]


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
