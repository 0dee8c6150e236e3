"""The organisation's own certificate authority, with the ``cryptography`` library.

``faro certs`` uses these functions: one CA per organisation, one certificate per laptop
(counselor or supervisor; its common name is the identity on the broker) and one for the
broker. Keys are ECDSA P-256. Every file is written atomically with mode 0600 set before the
first byte (private keys and certificates alike; the CA certificate is public but kept the
same way for simplicity). The broker's own copies are the one exception: Mosquitto reads them
after dropping to its ``mosquitto`` user, so :func:`write_private` with ``group`` makes them
0640 root:GROUP (set before the first byte too) in a 0750 root:GROUP folder
(:func:`group_folder`). Counselor and supervisor keys never get a group.
"""

from __future__ import annotations

import datetime as dt
import grp
import ipaddress
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import ConfigError, FaroError
from core.i18n import _
from core.paths import make_private_dir
from escalation.messages import IDENTITY

CA_CERT = "ca.crt"
CA_KEY = "ca.key"


class CertError(FaroError):
    exit_code = 65


def group_id(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise CertError(
            _("There is no group '{group}' on this computer.").format(group=group),
            hint=_("Install the broker first (apt install mosquitto) or pass --group ''."),
        ) from None


def group_folder(directory: Path, group: str) -> bool:
    """Make ``directory`` a folder members of ``group`` can enter and read: 0750 root:GROUP
    when this creates it; an existing folder is never loosened. Returns whether they can."""
    directory = Path(directory)
    gid = group_id(group)
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        directory.mkdir(mode=0o750)
        os.chown(directory, -1, gid)
        os.chmod(directory, 0o750)
        return True
    st = directory.stat()
    mode = stat.S_IMODE(st.st_mode)
    return mode & 0o005 == 0o005 or (st.st_gid == gid and mode & 0o050 == 0o050)


def write_private(path: Path, data: bytes, group: str | None = None) -> None:
    """Atomic write, 0600 before the first byte (0640 root:``group`` with a group), fsync,
    replace."""
    path = Path(path)
    gid = group_id(group) if group else None
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        if gid is not None:
            os.fchown(fd, -1, gid)
            os.fchmod(fd, 0o640)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def organisation(self) -> str:
        attrs = self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(attrs[0].value) if attrs else "Faro"

    @classmethod
    def create(
        cls, organisation: str, days: int = 3650, now: dt.datetime | None = None
    ) -> Authority:
        now = now or dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"{organisation} Faro CA", organisation)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        if (directory / CA_KEY).exists():
            raise CertError(
                _("There is already a CA in {dir}; it was not replaced.").format(dir=directory)
            )
        write_private(directory / CA_KEY, _key_pem(self.key))
        write_private(directory / CA_CERT, _cert_pem(self.cert))

    @classmethod
    def load(cls, directory: Path) -> Authority:
        directory = Path(directory)
        try:
            cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
            key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), None)
        except FileNotFoundError:
            raise CertError(
                _("No CA in {dir}.").format(dir=directory),
                hint=_("Create it with 'faro certs ca'."),
            ) from None
        except ValueError:
            raise CertError(_("The CA files in {dir} are damaged.").format(dir=directory)) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CertError(_("The CA files in {dir} are damaged.").format(dir=directory))
        return cls(cert, key)

    def issue(
        self,
        cn: str,
        *,
        server_names: list[str] | None = None,
        days: int = 825,
        not_before: dt.datetime | None = None,
    ) -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM) for ``cn``: a client certificate, or a server one
        when ``server_names`` (DNS names / IP addresses) are given."""
        if not IDENTITY.match(cn):
            raise CertError(
                _(
                    "'{cn}' is not a valid name: use letters, digits, '.', '_' and "
                    "'-' (at most 64)."
                ).format(cn=cn)
            )
        start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        key = ec.generate_private_key(ec.SECP256R1())
        b = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, self.organisation))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server_names:
            sans: list[x509.GeneralName] = []
            for n in server_names:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(n)))
                except ValueError:
                    sans.append(x509.DNSName(n))
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        else:
            b = b.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        cert = b.sign(self.key, hashes.SHA256())
        return _cert_pem(cert), _key_pem(key)

    def issue_to(self, directory: Path, cn: str, **kw: Any) -> tuple[Path, Path]:
        cert, key = self.issue(cn, **kw)
        cp, kp = Path(directory) / f"{cn}.crt", Path(directory) / f"{cn}.key"
        write_private(kp, key)
        write_private(cp, cert)
        return cp, kp


def common_name(cert_file: str | Path) -> str:
    """The common name of a PEM certificate (the identity on the broker)."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    except FileNotFoundError:
        raise ConfigError(
            _("The certificate file {path} does not exist.").format(path=cert_file),
            hint=_("Create it with 'faro certs'."),
        ) from None
    except (OSError, ValueError):
        raise ConfigError(
            _("The certificate file {path} cannot be read as PEM.").format(path=cert_file)
        ) from None
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        raise ConfigError(_("The certificate {path} has no common name.").format(path=cert_file))
    return str(attrs[0].value)
