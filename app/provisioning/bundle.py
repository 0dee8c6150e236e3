"""Signed bundles: the organisation's (one per organisation and version) and a laptop's
enrolment (its certificates and its counselor's id). docs/provisioning.md.

A bundle is a gzip tar holding ``manifest.json``, ``manifest.sig`` (Ed25519 over the
manifest's exact bytes) and the files the manifest lists with their SHA-256. Reading one
checks everything before anything is returned: the signature against the key the caller
trusts, every listed file present with its hash, nothing else inside (no links, no paths
outside, no oversized member). The organisation's signing key is Ed25519: small, no
parameters to get wrong, and its fingerprint is short enough to read over the phone.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import FaroError
from core.i18n import _

FORMAT = 1
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
MAX_MEMBER_BYTES = 8 * 1024 * 1024
ORGANISATION_FILES = ("organisation.toml", "ca.crt", "recovery.pub", "forms.toml")
REQUIRED_ORGANISATION_FILES = ("organisation.toml", "ca.crt")
ENROLMENT_FILES = ("laptop.crt", "laptop.key", "laptop.cli.crt", "laptop.cli.key")
ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class BundleError(FaroError):
    """A bundle that must not be installed: the message says why, for IT staff."""

    exit_code = 2


# -- keys ---------------------------------------------------------------------------------
def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, 128 bits as eight groups of four hex digits."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    h = hashlib.sha256(raw).hexdigest()[:32]
    return "-".join(h[i : i + 4] for i in range(0, 32, 4))


def same_fingerprint(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[^0-9a-f]", "", s.lower())

    return bool(norm(a)) and norm(a) == norm(b)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise BundleError(_("The organisation's signing key is damaged.")) from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(_("The organisation's signing key is not an Ed25519 key."))
    return key


def new_signing_key(directory: Path) -> tuple[Path, Path]:
    """``signing.key`` (0600, kept by IT) and ``signing.pub`` in ``directory``."""
    from escalation.pki import write_private

    directory = Path(directory)
    priv, pub = directory / "signing.key", directory / "signing.pub"
    if priv.exists():
        raise BundleError(
            _("There is already a signing key in {dir}; it was not replaced.").format(dir=directory)
        )
    key = Ed25519PrivateKey.generate()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(
        priv,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private(pub, public_pem(key.public_key()))
    return priv, pub


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    except FileNotFoundError:
        raise BundleError(_("No signing key at {path}.").format(path=path)) from None
    except ValueError:
        raise BundleError(_("The signing key {path} is damaged.").format(path=path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(_("The signing key {path} is not an Ed25519 key.").format(path=path))
    return key


# -- writing ------------------------------------------------------------------------------
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(
    target: Path, manifest: dict[str, Any], files: dict[str, bytes], key: Ed25519PrivateKey
) -> Path:
    """Sign and write a bundle atomically (mode 0600: an enrolment holds private keys)."""
    body = dict(manifest)
    body["format"] = FORMAT
    body["signer"] = fingerprint(key.public_key())
    body["files"] = {name: _sha256(data) for name, data in sorted(files.items())}
    raw = json.dumps(body, indent=2, sort_keys=True).encode()
    signature = base64.b64encode(key.sign(raw))
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            for name, data in [(MANIFEST, raw), (SIGNATURE, signature), *sorted(files.items())]:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o600
                info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# -- reading ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    manifest: dict[str, Any]
    files: dict[str, bytes]
    sha256: str  # of the whole bundle file: what was installed, exactly

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def organisation_id(self) -> str:
        return str(self.manifest.get("organisation", {}).get("id", ""))

    @property
    def organisation_name(self) -> str:
        return str(self.manifest.get("organisation", {}).get("name", ""))

    @property
    def version(self) -> int:
        v = self.manifest.get("version", 0)
        return v if isinstance(v, int) else 0


def _members(path: Path) -> tuple[dict[str, bytes], str]:
    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        raise BundleError(_("There is no bundle at {path}.").format(path=path)) from None
    except OSError as exc:
        raise BundleError(
            _("The bundle {path} cannot be read: {reason}.").format(
                path=path, reason=exc.strerror or type(exc).__name__
            )
        ) from None
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for m in tar.getmembers():
                if not m.isfile() or "/" in m.name or m.name.startswith(".") or m.name in out:
                    raise BundleError(
                        _("The bundle {path} holds something a bundle never holds.").format(
                            path=path
                        )
                    )
                if m.size > MAX_MEMBER_BYTES:
                    raise BundleError(_("The bundle {path} is too large.").format(path=path))
                f = tar.extractfile(m)
                out[m.name] = f.read() if f else b""
    except (tarfile.TarError, EOFError, OSError, ValueError):
        raise BundleError(
            _("{path} is not a Faro bundle, or it is damaged.").format(path=path)
        ) from None
    return out, _sha256(blob)


def read_bundle(path: Path, trusted: Ed25519PublicKey | str, kind: str) -> Bundle:
    """The bundle at ``path``, checked. ``trusted`` is the organisation's signing key, or on
    a first provisioning the fingerprint IT was given out of band: the bundle then carries
    ``signer.pub`` and must match it."""
    members, digest = _members(path)
    raw, sig = members.pop(MANIFEST, None), members.pop(SIGNATURE, None)
    if raw is None or sig is None:
        raise BundleError(_("{path} is not a Faro bundle, or it is damaged.").format(path=path))
    if isinstance(trusted, str):
        pem = members.get("signer.pub")
        if pem is None:
            raise BundleError(
                _("The bundle {path} does not carry its signer's key.").format(path=path)
            )
        key = load_public(pem)
        if not same_fingerprint(fingerprint(key), trusted):
            raise BundleError(
                _(
                    "The bundle {path} is signed by key {found}, not by the key you gave "
                    "({given}). Do not install it: check the fingerprint with your "
                    "organisation."
                ).format(path=path, found=fingerprint(key), given=trusted)
            )
    else:
        key = trusted
    try:
        key.verify(base64.b64decode(sig, validate=True), raw)
    except (InvalidSignature, ValueError):
        raise BundleError(
            _(
                "The bundle {path} is not signed by this laptop's organisation (or it was "
                "changed after signing). Nothing was installed."
            ).format(path=path)
        ) from None
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise BundleError(
            _("{path} is not a Faro bundle, or it is damaged.").format(path=path)
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(
            _("The bundle {path} has a format this Faro does not read (format {found}).").format(
                path=path, found=manifest.get("format") if isinstance(manifest, dict) else "?"
            )
        )
    if manifest.get("kind") != kind:
        raise BundleError(
            _("{path} is not an {kind} bundle.").format(
                path=path,
                kind=_("organisation") if kind == "organisation" else _("enrolment"),
            )
        )
    listed = manifest.get("files", {})
    if not isinstance(listed, dict) or set(listed) != set(members):
        raise BundleError(
            _("The bundle {path} does not hold exactly the files it lists.").format(path=path)
        )
    for name, data in members.items():
        if listed[name] != _sha256(data):
            raise BundleError(
                _("The file {name} in the bundle {path} was changed after signing.").format(
                    name=name, path=path
                )
            )
    org = manifest.get("organisation", {})
    if not isinstance(org, dict) or not ORG_ID.match(str(org.get("id", ""))):
        raise BundleError(_("The bundle {path} names no valid organisation id.").format(path=path))
    return Bundle(manifest, members, digest)


# -- IT's side: making the bundles ---------------------------------------------------------
def create_organisation_bundle(
    source: Path, key: Ed25519PrivateKey, version: int, target: Path
) -> Path:
    """The organisation bundle from a folder with organisation.toml and ca.crt (and,
    optionally, recovery.pub and forms.toml). organisation.toml's ``[organisation]`` gives
    ``id`` and ``name``; it is checked as Faro will read it before anything is signed."""
    from core.config import load_organisation

    source = Path(source)
    missing = [n for n in REQUIRED_ORGANISATION_FILES if not (source / n).is_file()]
    if missing:
        raise BundleError(_("{dir} lacks {names}.").format(dir=source, names=", ".join(missing)))
    org = load_organisation(source / "organisation.toml")  # raises ConfigError with the line
    assert org is not None
    if not ORG_ID.match(org.id):
        raise BundleError(
            _(
                "[organisation] id in {path} must be a short id of lowercase letters, digits "
                "and '-' (for example linea-cdmx)."
            ).format(path=source / "organisation.toml")
        )
    if version < 1:
        raise BundleError(_("A bundle's version is a whole number from 1."))
    files = {n: (source / n).read_bytes() for n in ORGANISATION_FILES if (source / n).is_file()}
    if "forms.toml" in files:
        from core.forms import parse_form

        parse_form(files["forms.toml"].decode("utf-8"), str(source / "forms.toml"))
    files["signer.pub"] = public_pem(key.public_key())
    manifest = {
        "kind": "organisation",
        "organisation": {"id": org.id, "name": org.name},
        "version": version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return write_bundle(target, manifest, files, key)


def create_enrolment(
    pki: Path,
    laptop: str,
    counselor_id: str,
    organisation_id: str,
    key: Ed25519PrivateKey,
    target: Path,
    days: int = 825,
) -> Path:
    """A laptop's enrolment: certificates for its console and its command-line tools,
    issued by the organisation's CA in ``pki``. Their names are the counselor's id
    (``ID`` and ``ID.cli``): on the broker a laptop is its certificate's name, and
    ``identity.counselor_id`` must match it. ``laptop`` is the machine's label for IT."""
    from escalation.pki import Authority

    ca = Authority.load(pki)
    cert, ckey = ca.issue(counselor_id, days=days)
    cli, cli_key = ca.issue(counselor_id + ".cli", days=days)
    files = {
        "laptop.crt": cert,
        "laptop.key": ckey,
        "laptop.cli.crt": cli,
        "laptop.cli.key": cli_key,
        "signer.pub": public_pem(key.public_key()),
    }
    manifest = {
        "kind": "enrolment",
        "organisation": {"id": organisation_id},
        "laptop": laptop,
        "counselor_id": counselor_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return write_bundle(target, manifest, files, key)
