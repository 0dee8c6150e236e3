"""Sealed boxes on X25519, built from `cryptography` (no libsodium needed).

An ephemeral X25519 key pair, HKDF-SHA256 over the shared secret bound to both public keys
(and to a purpose, ``info``), ChaCha20-Poly1305 with a zero nonce (each key is used once).
Only the holder of the recipient's private key can open the box; the sender cannot.

    blob = ephemeral_public (32) || ciphertext+tag

Used for the store's data key sealed to the organisation's recovery key
(storage/recovery.py) and for a follow-up handed to another counselor (app/wiring.py):
storage and escalation both need it, so it lives here, importing no Faro package.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SCHEME = "x25519-hkdf-sha256-chacha20poly1305"
#: the purpose of the recovery seal (the data key); kept as it was for existing wraps
RECOVERY = b"faro recovery seal v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class SealError(ValueError):
    """A box that does not open with this key (wrong key, or damaged)."""


def _kdf(shared: bytes, eph: bytes, recipient: bytes, info: bytes) -> bytes:
    return HKDF(SHA256(), 32, salt=None, info=info + eph + recipient).derive(shared)


def seal(recipient: X25519PublicKey, data: bytes | bytearray, info: bytes = RECOVERY) -> bytes:
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(*_RAW)
    rec = recipient.public_bytes(*_RAW)
    key = _kdf(eph.exchange(recipient), eph_pub, rec, info)
    return eph_pub + ChaCha20Poly1305(key).encrypt(b"\0" * 12, bytes(data), rec)


def unseal(private: X25519PrivateKey, blob: bytes, info: bytes = RECOVERY) -> bytearray:
    """The opened box; :class:`SealError` if it is not for this key or was altered."""
    if len(blob) < 32 + 16:
        raise SealError("sealed box too short")
    eph_pub, ct = blob[:32], blob[32:]
    rec = private.public_key().public_bytes(*_RAW)
    try:
        key = _kdf(private.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, rec, info)
        return bytearray(ChaCha20Poly1305(key).decrypt(b"\0" * 12, ct, rec))
    except (InvalidTag, ValueError):
        raise SealError("sealed box does not open with this key") from None


def public_raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(*_RAW)


def new_private() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def private_b64(key: X25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def private_from_b64(text: str) -> X25519PrivateKey:
    try:
        return X25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        raise SealError("not an X25519 private key") from None


def public_b64(key: X25519PublicKey) -> str:
    return base64.b64encode(public_raw(key)).decode()


def public_from_b64(text: str) -> X25519PublicKey:
    try:
        return X25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        raise SealError("not an X25519 public key") from None
