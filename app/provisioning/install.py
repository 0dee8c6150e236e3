"""``faro provision``: install an organisation bundle (and a laptop's enrolment) on this
laptop, all or nothing, and again with nothing changed. docs/provisioning.md.

Everything is checked before anything is written: the bundle's signature (against the key
installed by an earlier provisioning, or on the first one against the fingerprint IT was
given), its organisation and version against what is installed, the enrolment's signature,
organisation and certificates (signed by the bundle's CA, valid now), the counselor's
account and the ``faro`` group, and that no console of that account is running. Then every
file is written next to its place and renamed into it; a failure before the renames removes
what was written, so a laptop is never half provisioned. The record of what is installed
(``provisioned.json``) is written last.
"""

from __future__ import annotations

import datetime as dt
import grp
import hashlib
import json
import os
import pwd
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.provisioning.bundle import Bundle, BundleError, fingerprint, load_public, read_bundle
from core.errors import FaroError
from core.i18n import _

ETC = Path("/etc/faro")
GROUP = "faro"
STATE = "provisioned.json"
SIGNING_PUB = "organisation-signing.pub"
#: options provisioning writes itself (paths of what it installs, the laptop's identity):
#: always locked, so nothing on the laptop can point Faro at other files
MANAGED_LOCKS = (
    "escalation.ca_file",
    "escalation.cert_file",
    "escalation.key_file",
    "escalation.cli_cert_file",
    "escalation.cli_key_file",
    "identity.counselor_id",
    "storage.recovery_public_key",
    "clinical.forms_file",
)


class ProvisionRefused(FaroError):
    """Something on this laptop stops provisioning now (not the bundle's fault)."""

    exit_code = 3


class ConsoleRunning(FaroError):
    exit_code = 75  # EX_TEMPFAIL: try again once the console is closed


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path

    @classmethod
    def named(cls, name: str) -> Account:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            raise ProvisionRefused(
                _("There is no account named {name} on this laptop.").format(name=name),
                hint=_("Create the counselor's account first (adduser)."),
            ) from None
        return cls(pw.pw_name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / "faro"

    @property
    def data_dir(self) -> Path:
        return self.home / ".local" / "share" / "faro"

    @property
    def certs_dir(self) -> Path:
        return self.config_dir / "certs"


def consoles_of(uid: int, proc: Path = Path("/proc")) -> list[int]:
    """PIDs of Faro consoles (counselor, supervisor, demo) running as ``uid``."""
    found = []
    for d in proc.iterdir() if proc.is_dir() else []:
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if d.stat().st_uid != uid:
                continue
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [os.path.basename(a.decode("utf-8", "replace")) for a in argv if a]
        joined = " ".join(words)
        if "faro" in joined and any(w in ("counselor", "supervisor", "demo") for w in words):
            found.append(int(d.name))
    return found


@dataclass
class Target:
    """Where provisioning writes, and how it asks the system (tests give a private tree)."""

    account: Account
    etc: Path = ETC
    group: str = GROUP
    clock_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    running: Callable[[int], list[int]] = consoles_of
    add_to_group: Callable[[str, str], None] | None = None
    chown: bool = True  # False in tests that run as a user who cannot chown

    def group_id(self) -> int:
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise ProvisionRefused(
                _("The group {group} does not exist on this laptop.").format(group=self.group),
                hint=_("Install the faro package first (apt-get install faro): it creates it."),
            ) from None

    def in_group(self) -> bool:
        g = grp.getgrnam(self.group)
        return self.account.name in g.gr_mem or self.account.gid == g.gr_gid


@dataclass(frozen=True)
class Planned:
    path: Path
    data: bytes
    mode: int
    uid: int
    gid: int

    def unchanged(self) -> bool:
        try:
            st = self.path.stat()
            same_owner = (st.st_uid, st.st_gid) == (self.uid, self.gid)
            return (
                self.path.read_bytes() == self.data
                and (st.st_mode & 0o7777) == self.mode
                and same_owner
            )
        except OSError:
            return False


@dataclass
class Plan:
    files: list[Planned] = field(default_factory=list)
    dirs: list[tuple[Path, int, int, int]] = field(default_factory=list)  # path, mode, uid, gid
    join_group: bool = False
    summary: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Planned]:
        return [f for f in self.files if not f.unchanged()]


# -- checks -------------------------------------------------------------------------------
def _installed_state(target: Target) -> dict[str, Any] | None:
    try:
        return json.loads((target.etc / STATE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise ProvisionRefused(
            _("The record of the last provisioning ({path}) is damaged.").format(
                path=target.etc / STATE
            ),
            hint=_("Nothing was changed. Move it aside only if you know this laptop's history."),
        ) from None


def _trusted_key(target: Target, trust: str | None) -> Any:
    pub = target.etc / SIGNING_PUB
    if pub.exists():
        key = load_public(pub.read_bytes())
        if trust and not _same(trust, fingerprint(key)):
            raise BundleError(
                _(
                    "This laptop already trusts the signing key {installed}, not {given}: it "
                    "belongs to another organisation or the key was replaced. Nothing was "
                    "installed."
                ).format(installed=fingerprint(key), given=trust)
            )
        return key
    if not trust:
        raise BundleError(
            _(
                "This laptop trusts no organisation yet: give the signing key's fingerprint "
                "with --trust (IT received it from the organisation, not with the bundle)."
            )
        )
    return trust


def _same(a: str, b: str) -> bool:
    from app.provisioning.bundle import same_fingerprint

    return same_fingerprint(a, b)


def _check_version(org: Bundle, state: dict[str, Any] | None) -> str:
    """'new', 'same' or 'upgrade'; refuses older versions and another organisation."""
    if state is None:
        return "new"
    if state.get("organisation_id") != org.organisation_id:
        raise BundleError(
            _(
                "This laptop belongs to the organisation {installed}; the bundle is for "
                "{other}. Nothing was installed."
            ).format(installed=state.get("organisation_id"), other=org.organisation_id)
        )
    installed = int(state.get("version", 0))
    if org.version < installed:
        raise BundleError(
            _(
                "The bundle is version {version}; this laptop has version {installed}. An "
                "older bundle is never installed over a newer one."
            ).format(version=org.version, installed=installed)
        )
    if org.version == installed:
        if state.get("bundle_sha256") != org.sha256:
            raise BundleError(
                _(
                    "The bundle has version {version}, like the one installed, but other "
                    "contents. Make the new bundle with a higher version."
                ).format(version=org.version)
            )
        return "same"
    return "upgrade"


def _check_enrolment(enrolment: Bundle, org: Bundle, now: dt.datetime) -> dict[str, Any]:
    from cryptography import x509

    if enrolment.organisation_id != org.organisation_id:
        raise BundleError(
            _("The enrolment is for the organisation {other}, not {org}.").format(
                other=enrolment.organisation_id, org=org.organisation_id
            )
        )
    missing = [
        n
        for n in ("laptop.crt", "laptop.key", "laptop.cli.crt", "laptop.cli.key")
        if n not in enrolment.files
    ]
    if missing:
        raise BundleError(_("The enrolment lacks {names}.").format(names=", ".join(missing)))
    ca = x509.load_pem_x509_certificate(org.files["ca.crt"])
    counselor = str(enrolment.manifest.get("counselor_id", ""))
    info: dict[str, Any] = {
        "counselor_id": counselor,
        "laptop": enrolment.manifest.get("laptop", ""),
    }
    for name in ("laptop.crt", "laptop.cli.crt"):
        try:
            cert = x509.load_pem_x509_certificate(enrolment.files[name])
            cert.verify_directly_issued_by(ca)
        except Exception:  # noqa: BLE001 - unreadable or not issued by this CA
            raise BundleError(
                _(
                    "The enrolment's certificate {name} is not issued by the organisation's "
                    "CA in the bundle."
                ).format(name=name)
            ) from None
        if cert.not_valid_after_utc <= now:
            raise BundleError(
                _("The enrolment's certificate {name} expired on {date}.").format(
                    name=name, date=cert.not_valid_after_utc.date()
                )
            )
        if cert.not_valid_before_utc > now + dt.timedelta(minutes=10):
            raise BundleError(
                _(
                    "The enrolment's certificate {name} is not valid yet: is the clock right?"
                ).format(name=name)
            )
        from cryptography.x509.oid import NameOID

        cn = str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        wanted = counselor + (".cli" if name == "laptop.cli.crt" else "")
        if cn != wanted:
            raise BundleError(
                _("The enrolment's certificate {name} is for {cn}, not {wanted}.").format(
                    name=name, cn=cn, wanted=wanted
                )
            )
        if name == "laptop.crt":
            info["cert_serial"] = format(cert.serial_number, "x")
            info["not_after"] = cert.not_valid_after_utc.isoformat()
    return info


# -- the plan ------------------------------------------------------------------------------
def _organisation_toml(org: Bundle, target: Target, enrolment: Bundle | None) -> bytes:
    """The organisation's file as installed: the bundle's options plus the paths of what
    provisioning installs and the laptop's identity, all of those locked."""
    import tomllib

    data = tomllib.loads(org.files["organisation.toml"].decode("utf-8"))
    head = data.setdefault("organisation", {})
    managed: dict[str, Any] = {"escalation.ca_file": str(target.etc / "ca.crt")}
    if "recovery.pub" in org.files:
        managed["storage.recovery_public_key"] = str(target.etc / "recovery.pub")
    if "forms.toml" in org.files:
        managed["clinical.forms_file"] = str(target.etc / "forms.toml")
    if enrolment is not None:
        certs = target.account.certs_dir
        managed |= {
            "identity.counselor_id": str(enrolment.manifest.get("counselor_id", "")),
            "escalation.cert_file": str(certs / "laptop.crt"),
            "escalation.key_file": str(certs / "laptop.key"),
            "escalation.cli_cert_file": str(certs / "laptop.cli.crt"),
            "escalation.cli_key_file": str(certs / "laptop.cli.key"),
        }
    for key, value in managed.items():
        section, name = key.rsplit(".", 1)
        table = data
        for part in section.split("."):
            table = table.setdefault(part, {})
        table[name] = value
    locked = list(head.get("locked", []))
    head["locked"] = locked + [k for k in managed if k not in locked]
    header = (
        f"# Written by 'faro provision' from the bundle of {org.organisation_id}, version "
        f"{org.version} (sha256 {org.sha256[:16]}). Do not edit: provision a new bundle.\n"
    )
    return (header + dump_toml(data)).encode()


def plan(target: Target, org: Bundle, enrolment: Bundle | None) -> Plan:
    p = Plan()
    target.group_id()  # the group must exist (the package creates it)
    acct = target.account
    root_ids = (0, 0) if target.chown else (os.geteuid(), os.getegid())
    user_ids = (acct.uid, acct.gid) if target.chown else root_ids
    p.dirs.append((target.etc, 0o755, *root_ids))
    pub = org.files["signer.pub"]
    for name, data in (
        ("organisation.toml", _organisation_toml(org, target, enrolment)),
        ("ca.crt", org.files["ca.crt"]),
        ("recovery.pub", org.files.get("recovery.pub")),
        ("forms.toml", org.files.get("forms.toml")),
        (SIGNING_PUB, pub),
    ):
        if data is not None:
            p.files.append(Planned(target.etc / name, data, 0o644, *root_ids))
    for d in (
        acct.home / ".config",
        acct.config_dir,
        acct.home / ".local",
        acct.home / ".local" / "share",
    ):
        p.dirs.append((d, 0o700 if "faro" in d.name else 0o755, *user_ids))
    p.dirs.append((acct.data_dir, 0o700, *user_ids))
    if enrolment is not None:
        p.dirs.append((acct.certs_dir, 0o700, *user_ids))
        for name in ("laptop.crt", "laptop.key", "laptop.cli.crt", "laptop.cli.key"):
            p.files.append(Planned(acct.certs_dir / name, enrolment.files[name], 0o600, *user_ids))
    p.join_group = not target.in_group()
    return p


def _state(org: Bundle, enrolment_info: dict[str, Any] | None, target: Target) -> bytes:
    state = {
        "organisation_id": org.organisation_id,
        "organisation_name": org.organisation_name,
        "version": org.version,
        "bundle_sha256": org.sha256,
        "account": target.account.name,
        "enrolment": enrolment_info,
    }
    return (json.dumps(state, indent=2, sort_keys=True) + "\n").encode()


# -- applying -------------------------------------------------------------------------------
def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.provision-{os.getpid()}")


def apply(target: Target, p: Plan, state: bytes) -> list[str]:
    """Write the plan all or nothing; the lines of what changed."""
    made_dirs: list[Path] = []
    written: list[tuple[Path, Path]] = []
    state_file = Planned(
        target.etc / STATE,
        state,
        0o644,
        *((0, 0) if target.chown else (os.geteuid(), os.getegid())),
    )
    changes = p.changes
    if state_file.unchanged() and not changes and not p.join_group:
        return []
    try:
        for d, mode, uid, gid in p.dirs:
            if not d.exists():
                d.mkdir(mode=mode)
                made_dirs.append(d)
                os.chmod(d, mode)
                if target.chown:
                    os.chown(d, uid, gid)
        for f in [*changes, state_file]:
            tmp = _tmp(f.path)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            written.append((tmp, f.path))
            with os.fdopen(fd, "wb") as out:
                out.write(f.data)
                out.flush()
                os.fsync(out.fileno())
            if target.chown:
                os.chown(tmp, f.uid, f.gid)
            os.chmod(tmp, f.mode)
    except OSError as exc:
        for tmp, _final in written:
            tmp.unlink(missing_ok=True)
        for d in reversed(made_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        raise ProvisionRefused(
            _("Writing {path} failed: {reason}. Nothing was changed.").format(
                path=exc.filename or "?", reason=exc.strerror or type(exc).__name__
            )
        ) from None
    lines = []
    for tmp, final in written[:-1]:
        os.replace(tmp, final)
        lines.append(_("installed {path}").format(path=final))
    if p.join_group:
        join = target.add_to_group or _gpasswd
        join(target.account.name, target.group)
        lines.append(
            _("added {account} to the group {group} (headset and button box)").format(
                account=target.account.name, group=target.group
            )
        )
    os.replace(*written[-1])  # the record last: it says all of the above is in place
    return lines


def _gpasswd(account: str, group: str) -> None:
    r = subprocess.run(["gpasswd", "-a", account, group], capture_output=True, text=True)
    if r.returncode != 0:
        raise ProvisionRefused(
            _("Adding {account} to the group {group} failed: {reason}").format(
                account=account, group=group, reason=r.stderr.strip()[-200:]
            )
        )


# -- the whole step -------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    kind: str  # new, same, upgrade
    organisation: str
    version: int
    changed: list[str]


def provision(
    target: Target, bundle: Path, enrolment: Path | None = None, trust: str | None = None
) -> Outcome:
    running = target.running(target.account.uid)
    if running:
        raise ConsoleRunning(
            _(
                "Faro is running for {account} (process {pids}). Close it (or log the "
                "counselor out), then provision again: nothing was changed."
            ).format(account=target.account.name, pids=", ".join(map(str, running)))
        )
    state = _installed_state(target)
    key = _trusted_key(target, trust)
    org = read_bundle(bundle, key, "organisation")
    if isinstance(key, str):  # first provisioning: from now on the bundle's own key
        key = load_public(org.files["signer.pub"])
    kind = _check_version(org, state)
    enrol = read_bundle(enrolment, key, "enrolment") if enrolment is not None else None
    info = _check_enrolment(enrol, org, target.clock_now()) if enrol is not None else None
    if enrol is None and state and state.get("enrolment"):
        info = state["enrolment"]  # an organisation upgrade keeps the laptop's enrolment
        enrol = _installed_enrolment(target, info)
    _check_organisation_file(org)
    p = plan(target, org, enrol)
    changed = apply(target, p, _state(org, info, target))
    return Outcome(kind, org.organisation_name, org.version, changed)


def _installed_enrolment(target: Target, info: dict[str, Any]) -> Bundle:
    files = {}
    for name in ("laptop.crt", "laptop.key", "laptop.cli.crt", "laptop.cli.key"):
        try:
            files[name] = (target.account.certs_dir / name).read_bytes()
        except OSError:
            raise ProvisionRefused(
                _(
                    "The laptop's installed certificate {name} is missing: provision again "
                    "with its enrolment (--enrolment FILE)."
                ).format(name=name)
            ) from None
    return Bundle(
        {"counselor_id": info.get("counselor_id", ""), "laptop": info.get("laptop", "")}, files, ""
    )


def _check_organisation_file(org: Bundle) -> None:
    """The organisation's options are read exactly as the console will read them."""
    import tempfile

    from core.config import load_organisation

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "organisation.toml"
        path.write_bytes(org.files["organisation.toml"])
        load_organisation(path)  # ConfigError with the reason


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- a small TOML writer for the installed file ----------------------------------------------
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v).__name__)


def dump_toml(data: dict[str, Any]) -> str:
    """Tables of scalars, lists and inline tables (what option files hold). A nested table
    whose values are all scalars becomes ``[a.b]``; dict *options* (their keys free-form)
    stay inline tables, as their option says."""
    from core.config import all_options

    options = all_options()
    lines: list[str] = []
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for k, v in top.items():
        lines.append(f"{k} = {_value(v)}")

    def walk(prefix: str, table: dict[str, Any]) -> None:
        scalars, subs = [], []
        for k, v in table.items():
            key = f"{prefix}.{k}"
            opt = options.get(key)
            if isinstance(v, dict) and not (opt is not None and opt.type is dict):
                subs.append((key, v))
            else:
                scalars.append((k, v))
        if scalars:
            lines.append("")
            lines.append(f"[{prefix}]")
            lines.extend(
                f"{json.dumps(k)} = {_value(v)}" if "." in k else f"{k} = {_value(v)}"
                for k, v in scalars
            )
        for key, v in subs:
            walk(key, v)

    for k, v in data.items():
        if isinstance(v, dict):
            walk(k, v)
    return "\n".join(lines).lstrip("\n") + "\n"
