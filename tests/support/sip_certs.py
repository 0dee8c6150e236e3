"""Throwaway certificates for the SIP test rig: a CA, a server certificate, bad variants.

:func:`make_certs` writes a CA and a server certificate for ``localhost`` and ``127.0.0.1``
(CN and SAN) signed by it. :func:`make_other_certs` writes an unrelated CA and server
certificate, for tests where the server's certificate must not verify against the rig's CA.
:func:`make_expired_cert` writes a server certificate signed by the good CA whose validity
ended yesterday. All files are PEM; keys are unencrypted EC P-256.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class CertFiles:
    """PEM files: ``ca`` verifies ``cert``; ``key`` is the private key of ``cert``."""

    ca: Path
    cert: Path
    key: Path
    ca_key: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Faro tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ca(cn: str, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _server(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    names: tuple[str, ...] = ("localhost", "127.0.0.1"),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    general: list[x509.GeneralName] = []
    for n in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            general.append(x509.DNSName(n))
    san = x509.SubjectAlternativeName(general)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(san, critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _write_set(
    directory: Path,
    prefix: str,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
) -> CertFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(
        ca=directory / f"{prefix}ca.pem",
        cert=directory / f"{prefix}server.pem",
        key=directory / f"{prefix}server.key",
        ca_key=directory / f"{prefix}ca.key",
    )
    _write_cert(files.ca, ca_cert)
    _write_key(files.ca_key, ca_key)
    _write_cert(files.cert, cert)
    _write_key(files.key, key)
    return files


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_certs(
    directory: Path, prefix: str = "", names: tuple[str, ...] = SERVER_NAMES
) -> CertFiles:
    """A fresh CA and a server certificate (``names``: localhost, 127.0.0.1) it signed, valid
    30 days."""
    now = _now()
    ca_cert, ca_key = _ca("Faro test CA", now)
    cert, key = _server(
        ca_cert, ca_key, now - dt.timedelta(days=1), now + dt.timedelta(days=30), names
    )
    return _write_set(Path(directory), prefix, ca_cert, ca_key, cert, key)


def make_other_certs(directory: Path) -> CertFiles:
    """An unrelated CA and server certificate: neither verifies against :func:`make_certs`'."""
    now = _now()
    ca_cert, ca_key = _ca("Unrelated test CA", now)
    cert, key = _server(ca_cert, ca_key, now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    return _write_set(Path(directory), "other-", ca_cert, ca_key, cert, key)


def make_expired_cert(directory: Path, good: CertFiles) -> CertFiles:
    """A server certificate signed by ``good``'s CA that expired yesterday (same names)."""
    now = _now()
    ca_cert = x509.load_pem_x509_certificate(good.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(good.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    cert, key = _server(ca_cert, ca_key, now - dt.timedelta(days=10), now - dt.timedelta(days=1))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(
        ca=good.ca,
        cert=directory / "expired-server.pem",
        key=directory / "expired-server.key",
        ca_key=good.ca_key,
    )
    _write_cert(files.cert, cert)
    _write_key(files.key, key)
    return files


def make_wrong_name_cert(directory: Path, good: CertFiles) -> CertFiles:
    """A server certificate signed by ``good``'s CA for another host (sip.elsewhere.example)."""
    now = _now()
    ca_cert = x509.load_pem_x509_certificate(good.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(good.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    cert, key = _server(
        ca_cert,
        ca_key,
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=30),
        names=("sip.elsewhere.example",),
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(
        ca=good.ca,
        cert=directory / "wrong-name-server.pem",
        key=directory / "wrong-name-server.key",
        ca_key=good.ca_key,
    )
    _write_cert(files.cert, cert)
    _write_key(files.key, key)
    return files
