"""The laptop itself: disk encryption, updates, the clock, space, logs, the idle lock and the
case store's files (read locked: sizes, modes and headers, never contents)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from app.doctor import Check, Context, Status
from core.i18n import _
from core.options import LOCK_IDLE_MINUTES, LOG_BACKUPS, LOG_MAX_BYTES
from storage.files import StoreFiles

#: the idle lock a helpline's policy should not exceed (NIST SP 800-53 AC-11 suggests 15 min)
IDLE_LOCK_MAX_MIN = 15
UPDATES_WARN_DAYS, UPDATES_FAIL_DAYS = 7, 30
DISK_WARN_BYTES, DISK_FAIL_BYTES = 2 * 1024**3, 300 * 1024**2
SQLITE_PLAIN_HEADER = b"SQLite format 3\x00"


# -- disk encryption ---------------------------------------------------------------------
def _mount_of(ctx: Context, path: Path) -> tuple[str, str, str] | None:
    """(mount point, fstype, major:minor) of the mount holding ``path``."""
    try:
        lines = ctx.path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    target = str(Path(os.path.realpath(path)))
    best: tuple[str, str, str] | None = None
    for line in lines:
        left, _sep, right = line.partition(" - ")
        f = left.split()
        if len(f) < 5 or not right:
            continue
        point = f[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, right.split()[0], f[2])
    return best


def _crypt_layers(ctx: Context, dev: Path, depth: int = 0) -> list[str]:
    """dm-crypt uuids (``CRYPT-LUKS2-…``) at or below a block device, through LVM/RAID."""
    if depth > 8:
        return []
    found = []
    try:
        uuid = (dev / "dm" / "uuid").read_text().strip()
    except OSError:
        uuid = ""
    if uuid.startswith("CRYPT-"):
        found.append(uuid)
    slaves = dev / "slaves"
    if slaves.is_dir():
        for s in sorted(slaves.iterdir()):
            found += _crypt_layers(ctx, s.resolve(), depth + 1)
    return found


def check_disk_encryption(ctx: Context) -> Check:
    title = _("Disk encryption")
    mount = _mount_of(ctx, ctx.paths.data_dir if ctx.paths.data_dir.exists() else Path("/"))
    if mount is None:
        return Check(
            "disk_encryption",
            title,
            Status.WARN,
            _("Cannot tell: the mount table cannot be read."),
            _("Check by hand with 'lsblk -f' that the disk is encrypted with LUKS."),
        )
    point, fstype, devno = mount
    data = {"mount": point, "fstype": fstype}
    if fstype in ("overlay", "tmpfs", "fuse.lxcfs", "9p", "virtiofs"):
        return Check(
            "disk_encryption",
            title,
            Status.WARN,
            _("Cannot tell: Faro's data is on a {fstype} file system (a container?).").format(
                fstype=fstype
            ),
            _("Check the host's disk encryption; provisioned laptops use LUKS."),
            data,
        )
    layers = _crypt_layers(ctx, ctx.path(f"/sys/dev/block/{devno}").resolve())
    if layers:
        kind = layers[0].split("-")[1]  # LUKS1, LUKS2, PLAIN
        data["crypt"] = kind
        return Check(
            "disk_encryption",
            title,
            Status.OK,
            _("Encrypted ({kind}) under {mount}.").format(kind=kind, mount=point),
            data=data,
        )
    return Check(
        "disk_encryption",
        title,
        Status.FAIL,
        _("Not encrypted: the disk under {mount} has no LUKS layer.").format(mount=point),
        _(
            "Reinstall with full-disk encryption (Debian's installer: 'Guided - use entire "
            "disk and set up encrypted LVM') before this laptop holds case notes."
        ),
        data,
    )


# -- updates, clock ----------------------------------------------------------------------
def _age_days(ctx: Context, path: Path) -> float | None:
    try:
        return (ctx.clock.now().timestamp() - path.stat().st_mtime) / 86400
    except OSError:
        return None


def check_os_updates(ctx: Context) -> Check:
    title = _("Operating system updates")
    stamps = [
        "/var/lib/apt/periodic/unattended-upgrades-stamp",
        "/var/lib/apt/periodic/update-success-stamp",
        "/var/lib/apt/lists",
    ]
    ages = [a for a in (_age_days(ctx, ctx.path(s)) for s in stamps) if a is not None]
    unattended = ctx.path("/usr/bin/unattended-upgrade").exists()
    data: dict[str, object] = {"unattended_upgrades": unattended}
    if not ages:
        return Check(
            "os_updates",
            title,
            Status.WARN,
            _("Cannot tell when the system was last updated."),
            _("Run 'apt-get update && apt-get upgrade', and install unattended-upgrades."),
            data,
        )
    days = min(ages)
    data["days_since_update"] = round(days, 1)
    advice = (
        ""
        if unattended
        else _("Install unattended-upgrades so security updates come without anyone's help.")
    )
    if days > UPDATES_FAIL_DAYS:
        status = Status.FAIL
    elif days > UPDATES_WARN_DAYS or not unattended:
        status = Status.WARN
    else:
        status = Status.OK
    if status is not Status.OK and not advice:
        advice = _("Check that the laptop reaches the Debian mirrors and unattended-upgrades runs.")
    return Check(
        "os_updates",
        title,
        status,
        _("Last updated {days} days ago.").format(days=f"{days:.0f}"),
        advice,
        data,
    )


def check_clock(ctx: Context) -> Check:
    title = _("Clock synchronisation")
    synced: bool | None = None
    source = ""
    r = ctx.command(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if r is not None and r[0] == 0 and r[1].strip() in ("yes", "no"):
        synced, source = r[1].strip() == "yes", "timedatectl"
    elif ctx.path("/run/systemd/timesync/synchronized").exists():
        synced, source = True, "systemd-timesyncd"
    else:
        r = ctx.command(["chronyc", "-n", "tracking"])
        if r is not None and r[0] == 0:
            synced, source = "Normal" in r[1], "chrony"
    if synced is None:
        return Check(
            "clock",
            title,
            Status.WARN,
            _("Cannot tell whether the clock is synchronised."),
            _(
                "Install systemd-timesyncd or chrony: alert times, certificates and "
                "follow-ups depend on the clock."
            ),
        )
    if synced:
        return Check(
            "clock",
            title,
            Status.OK,
            _("Synchronised ({source}).").format(source=source),
            data={"source": source},
        )
    return Check(
        "clock",
        title,
        Status.FAIL,
        _("Not synchronised ({source}).").format(source=source),
        _("Check the network time servers ('timedatectl timesync-status')."),
        {"source": source},
    )


# -- space and logs ----------------------------------------------------------------------
def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk_space(ctx: Context) -> Check:
    title = _("Free disk space")
    usage = shutil.disk_usage(_existing(ctx.paths.data_dir))
    data = {"free_bytes": usage.free, "total_bytes": usage.total}
    free = _human(usage.free)
    if usage.free < DISK_FAIL_BYTES:
        return Check(
            "disk_space",
            title,
            Status.FAIL,
            _("Only {free} free where the case store lives.").format(free=free),
            _(
                "Free space now: with a full disk notes can no longer be saved (Faro keeps "
                "them in memory and says so)."
            ),
            data,
        )
    if usage.free < DISK_WARN_BYTES:
        return Check(
            "disk_space",
            title,
            Status.WARN,
            _("{free} free where the case store lives.").format(free=free),
            _("Free some space before it runs out."),
            data,
        )
    return Check("disk_space", title, Status.OK, _("{free} free.").format(free=free), data=data)


def check_logs(ctx: Context) -> Check:
    title = _("Log files")
    log_dir = ctx.paths.log_dir
    files = sorted(log_dir.glob("*")) if log_dir.is_dir() else []
    size = sum(f.stat().st_size for f in files if f.is_file())
    limit = ctx.config.get(LOG_MAX_BYTES) * (ctx.config.get(LOG_BACKUPS) + 1)
    data = {"bytes": size, "files": len(files), "limit_bytes": limit}
    if size > 2 * limit:
        return Check(
            "logs",
            title,
            Status.WARN,
            _("{size} of logs, more than rotation should keep ({limit}).").format(
                size=_human(size), limit=_human(limit)
            ),
            _("Old log files are not being rotated away: look at {folder}.").format(folder=log_dir),
            data,
        )
    return Check(
        "logs",
        title,
        Status.OK,
        _("{size} in {count} files.").format(size=_human(size), count=len(files)),
        data=data,
    )


# -- the idle lock and the store -----------------------------------------------------------
def check_idle_lock(ctx: Context) -> Check:
    title = _("Idle lock")
    minutes = ctx.config.get(LOCK_IDLE_MINUTES)
    data = {"minutes": minutes}
    if minutes == 0:
        return Check(
            "idle_lock",
            title,
            Status.FAIL,
            _("Off: the case notes never lock by themselves."),
            _("Set security.lock_idle_minutes (10 is the default) in the organisation's bundle."),
            data,
        )
    if minutes > IDLE_LOCK_MAX_MIN:
        return Check(
            "idle_lock",
            title,
            Status.WARN,
            _("The case notes lock after {minutes} minutes without activity.").format(
                minutes=minutes
            ),
            _("{limit} minutes or less is the usual policy.").format(limit=IDLE_LOCK_MAX_MIN),
            data,
        )
    return Check(
        "idle_lock",
        title,
        Status.OK,
        _("The case notes lock after {minutes} minutes without activity.").format(minutes=minutes),
        data=data,
    )


def check_sqlcipher(ctx: Context) -> Check:
    import sqlcipher3

    title = _("SQLCipher")
    con = sqlcipher3.connect(":memory:")
    try:
        con.execute("PRAGMA key = \"x'" + "00" * 32 + "'\"")
        row = con.execute("PRAGMA cipher_version").fetchone()
        provider = con.execute("PRAGMA cipher_provider").fetchone()
    finally:
        con.close()
    version = row[0] if row else ""
    data = {"version": version, "provider": provider[0] if provider else ""}
    major = int(version.split(".")[0]) if version[:1].isdigit() else 0
    if major < 4:
        return Check(
            "sqlcipher",
            title,
            Status.FAIL,
            _("SQLCipher {version} is too old or missing.").format(version=version or "?"),
            _("Reinstall Faro: it ships SQLCipher 4."),
            data,
        )
    return Check(
        "sqlcipher",
        title,
        Status.OK,
        _("SQLCipher {version} ({provider}).").format(version=version, provider=data["provider"]),
        data=data,
    )


def check_store(ctx: Context) -> Check:
    """The store's files, locked: present, owned by this account, mode 0600, encrypted."""
    title = _("Case store (locked check)")
    files = StoreFiles(ctx.paths.data_dir)
    if not files.has_any():
        return Check(
            "store",
            title,
            Status.OK,
            _("Not created yet: it is created at the counselor's first login."),
            data={"initialised": False},
        )
    problems: list[str] = []
    data: dict[str, object] = {"initialised": files.is_initialised()}
    for p in (files.db_path, files.key_path):
        if not p.exists():
            problems.append(_("{name} is missing").format(name=p.name))
            continue
        st = p.stat()
        if st.st_uid != os.geteuid():
            problems.append(_("{name} belongs to another account").format(name=p.name))
        if stat.S_IMODE(st.st_mode) & 0o077:
            problems.append(
                _("{name} can be read by others (mode {mode})").format(
                    name=p.name, mode=oct(stat.S_IMODE(st.st_mode))
                )
            )
    if files.db_path.exists():
        data["db_bytes"] = files.db_path.stat().st_size
        wal = files.db_path.with_name(files.db_path.name + "-wal")
        data["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
        with open(files.db_path, "rb") as f:
            head = f.read(16)
        if head == SQLITE_PLAIN_HEADER:
            problems.append(_("{name} is not encrypted").format(name=files.db_path.name))
    if problems:
        return Check(
            "store",
            title,
            Status.FAIL,
            "; ".join(problems) + ".",
            _(
                "Do not delete anything: run 'faro db check' with the counselor, and restore "
                "the latest backup if it reports damage (docs/storage.md)."
            ),
            data,
        )
    return Check(
        "store",
        title,
        Status.OK,
        _("Present, encrypted, private to this account ({size}).").format(
            size=_human(float(data.get("db_bytes", 0)))  # type: ignore[arg-type]
        ),
        _("Its integrity is checked with 'faro db check' (it needs the passphrase)."),
        data,
    )


def check_provisioned(ctx: Context) -> Check:
    """Which organisation's bundle is installed (``faro provision``'s record)."""
    import json

    from core.config import ORGANISATION_FILE

    title = _("Provisioning")
    record = ctx.path(str(ORGANISATION_FILE.parent / "provisioned.json"))
    try:
        state = json.loads(record.read_text())
    except FileNotFoundError:
        return Check(
            "provisioned",
            title,
            Status.WARN,
            _("This laptop was not provisioned with an organisation bundle."),
            _("Run 'sudo faro provision BUNDLE --enrolment FILE --account NAME'."),
        )
    except (OSError, ValueError):
        return Check(
            "provisioned",
            title,
            Status.FAIL,
            _("The record of the last provisioning ({path}) is damaged.").format(path=record),
            _("Provision the laptop again with the organisation's newest bundle."),
        )
    enrolment = state.get("enrolment") or {}
    data = {
        "organisation_id": state.get("organisation_id"),
        "version": state.get("version"),
        "counselor_id": enrolment.get("counselor_id"),
    }
    return Check(
        "provisioned",
        title,
        Status.OK,
        _("{organisation}, bundle version {version}.").format(
            organisation=state.get("organisation_name") or state.get("organisation_id"),
            version=state.get("version"),
        ),
        data=data,
    )


CHECKS = [
    check_provisioned,
    check_disk_encryption,
    check_os_updates,
    check_clock,
    check_disk_space,
    check_logs,
    check_idle_lock,
    check_sqlcipher,
    check_store,
]
