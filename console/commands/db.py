"""``faro db``: the case store tools for IT.

The passphrase never comes from the command line: it is read from the terminal, from a
file descriptor (``--passphrase-fd N``: one line; for ``passwd`` and ``init`` a second line
is the new passphrase), or from ``FARO_PASSPHRASE`` / ``FARO_NEW_PASSPHRASE`` for
automation. Exit codes are listed in docs/storage.md: every expected fault (wrong
passphrase, damage, a disk that cannot be written) ends in one line and its own code, never
in a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from pathlib import Path

import sqlcipher3

from core import logs
from core.clock import SystemClock
from core.config import Config
from core.errors import FaroError
from core.events import EventBus
from core.i18n import _, ngettext
from core.paths import Paths
from storage import database
from storage.errors import (
    StoreDamaged,
    WeakPassphrase,
    is_os_write_failure,
    restore_hint,
    write_failed,
)
from storage.hardening import wipe

log = logging.getLogger(__name__)

EXIT_CHECK_FAILED = StoreDamaged.exit_code


class NoPassphrase(FaroError):
    exit_code = 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help=_("the encrypted case store: init, check, backup, restore…"))
    p.add_argument(
        "--passphrase-fd",
        type=int,
        metavar="N",
        help=_("read the passphrase (then the new one, for init/passwd) from fd N"),
    )
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dsub.add_parser("init", help=_("create the case store with a new passphrase"))
    dsub.add_parser("unlock-check", help=_("check that a passphrase opens the store"))
    c = dsub.add_parser("check", help=_("integrity, cipher integrity, audit chain and WAL"))
    c.add_argument(
        "--json",
        action="store_true",
        help=_("print the report as JSON (with the audit head to ship to the organisation)"),
    )
    c.add_argument(
        "--audit-head",
        type=_audit_head,
        metavar="SEQ:MAC",
        help=_("an audit head recorded earlier that the log must still hold"),
    )
    b = dsub.add_parser("backup", help=_("write an encrypted, verified backup"))
    b.add_argument("path", type=Path)
    r = dsub.add_parser("restore", help=_("restore a backup into this (clean) profile"))
    r.add_argument("path", type=Path)
    dsub.add_parser("passwd", help=_("change the passphrase"))
    dsub.add_parser("rekey", help=_("replace the data key (re-encrypts the database)"))
    g = dsub.add_parser("purge", help=_("shred contacts past the retention period"))
    g.add_argument("--dry-run", action="store_true", help=_("only count what would be shredded"))
    dsub.add_parser("stats", help=_("sizes, row counts and key parameters (no personal data)"))
    rc = dsub.add_parser("recover", help=_("emergency access with the organisation's recovery key"))
    rc.add_argument(
        "--recovery-key",
        type=Path,
        required=True,
        help=_("the organisation's X25519 private key (PEM)"),
    )
    p.set_defaults(func=run)


def _audit_head(text: str) -> dict:
    seq, sep, mac = text.partition(":")
    if (
        not sep
        or not seq.isdigit()
        or len(mac) != 64
        or any(c not in "0123456789abcdef" for c in mac)
    ):
        raise argparse.ArgumentTypeError(_("expected SEQ:MAC as printed by 'faro db check --json'"))
    return {"seq": int(seq), "mac": mac}


class Passphrases:
    """Where passphrases come from: fd, environment, or the terminal (never argv)."""

    def __init__(self, fd: int | None) -> None:
        self._lines: list[bytearray] | None = None
        self._fd = fd

    def _from_fd(self) -> list[bytearray]:
        if self._lines is None:
            data = bytearray()
            try:
                while chunk := os.read(self._fd, 4096):  # type: ignore[arg-type]  # only with an fd
                    data += chunk
            except OSError as exc:
                raise NoPassphrase(
                    _("Cannot read the passphrase from fd {fd}: {reason}.").format(
                        fd=self._fd, reason=exc.strerror
                    )
                ) from None
            self._lines = [bytearray(x) for x in bytes(data).split(b"\n")]
            wipe(data)
        return self._lines

    def get(self, which: str, prompt: str, confirm: bool = False) -> bytearray:
        """``current``: fd line 1 or FARO_PASSPHRASE; ``new`` (passwd): fd line 2 or
        FARO_NEW_PASSPHRASE; ``first-new`` (init, recover): fd line 1, FARO_NEW_PASSPHRASE
        or FARO_PASSPHRASE."""
        index, envs = {
            "current": (0, ("FARO_PASSPHRASE",)),
            "new": (1, ("FARO_NEW_PASSPHRASE",)),
            "first-new": (0, ("FARO_NEW_PASSPHRASE", "FARO_PASSPHRASE")),
        }[which]
        if self._fd is not None:
            lines = self._from_fd()
            if len(lines) > index and lines[index]:
                return lines[index]
        for env in envs:
            value = os.environ.pop(env, None)
            if value:
                return bytearray(value.encode("utf-8"))
        env = envs[0]
        if sys.stdin.isatty():
            first = getpass.getpass(prompt)
            if confirm and getpass.getpass(_("Repeat it: ")) != first:
                raise WeakPassphrase(_("The two passphrases differ; nothing was changed."))
            return bytearray(first.encode("utf-8"))
        raise NoPassphrase(
            _("No passphrase: run this in a terminal, or give --passphrase-fd N or {env}.").format(
                env=env
            )
        )


def _service():
    from storage.service import StoreService

    paths = Paths.default().ensure()
    config = Config.load(paths.config_file).with_overrides({"storage.auto_purge": False})
    logs.configure(paths.log_dir)
    return StoreService(config, SystemClock(), EventBus(), paths.data_dir)


def run(args: argparse.Namespace) -> int:
    svc = _service()
    pw = Passphrases(args.passphrase_fd)
    try:
        return _ACTIONS[args.db_command](svc, pw, args)
    except (OSError, sqlcipher3.DatabaseError) as exc:
        raise _expected_fault(svc, args.db_command, exc) from None
    finally:
        svc.lock("shutdown")
        svc.clock.stop()


def _expected_fault(svc, command: str, exc: BaseException) -> BaseException:
    """The disk or damage, wherever it surfaced: one line and its code (74 or 7). Anything
    else stays a bug (logged with its traceback by console.cli)."""
    if database.is_write_failure(exc) or is_os_write_failure(exc):
        log.warning("faro db %s: write failed (%s)", command, type(exc).__name__)
        return write_failed(
            exc, svc.data_dir, _("'faro db {command}' could not write").format(command=command)
        )
    if isinstance(exc, sqlcipher3.DatabaseError) and database.is_damage(exc):
        log.warning("faro db %s: damaged store (%s)", command, type(exc).__name__)
        return StoreDamaged(
            _("The case store is damaged ({error}).").format(error=exc), hint=restore_hint()
        )
    return exc


def _init(svc, pw, args) -> int:
    svc.refuse_existing()  # before asking for a passphrase
    secret = pw.get("first-new", _("New passphrase: "), confirm=True)
    try:
        svc.init(secret)
    finally:
        wipe(secret)
    print(_("Case store created in {path}.").format(path=svc.data_dir))
    return 0


def _unlocked(svc, pw) -> None:
    secret = pw.get("current", _("Passphrase: "))
    try:
        svc.unlock(secret)
    finally:
        wipe(secret)


def _unlock_check(svc, pw, args) -> int:
    secret = pw.get("current", _("Passphrase: "))
    try:
        svc.unlock_check(secret)
    finally:
        wipe(secret)
    print(
        _(
            "The passphrase opens the case store: the key file and every page of the database "
            "were read."
        )
    )
    return 0


def _check(svc, pw, args) -> int:
    secret = pw.get("current", _("Passphrase: "))
    try:
        report = svc.inspect(secret, args.audit_head)
    finally:
        wipe(secret)
    if args.json:
        print(json.dumps(report.to_json(), indent=1, sort_keys=True))
    elif report.ok:
        print(_("ok: integrity, cipher integrity, audit chain and write-ahead log"))
    else:
        for line in report.lines():
            print(_("problem: {problem}").format(problem=line))
    if report.head and not args.json:
        # Translators: scripts may read this line: keep {seq}:{mac} together, as printed.
        print(_("audit head: {seq}:{mac}").format(seq=report.head["seq"], mac=report.head["mac"]))
    if report.ok:
        return 0
    if report.audit_only:
        print(
            _(
                "The notes are sound, but the audit log was changed outside Faro. Keep the "
                "data folder as it is for whoever investigates; do not restore over it."
            ),
            file=sys.stderr,
        )
    elif report.wal_only:
        print(
            _(
                "The database itself is sound, but saved changes were lost from its "
                "write-ahead log. Keep the copy named above for support; nothing was deleted."
            ),
            file=sys.stderr,
        )
    else:
        print(_("The case store is damaged.") + " " + restore_hint(), file=sys.stderr)
    return EXIT_CHECK_FAILED


def _backup(svc, pw, args) -> int:
    svc.check_backup_target(args.path)  # before asking for a passphrase
    _unlocked(svc, pw)
    man = svc.backup(args.path)
    rows = sum(n for n, _digest in man.values())
    print(
        _("Backup written and verified: {path} ({rows} in {tables}).").format(
            path=args.path,
            rows=ngettext("{n} row", "{n} rows", rows).format(n=rows),
            tables=ngettext("{n} table", "{n} tables", len(man)).format(n=len(man)),
        )
    )
    return 0


def _restore(svc, pw, args) -> int:
    secret = pw.get("current", _("Passphrase of the backup: "))
    try:
        svc.restore(args.path, secret)
    finally:
        wipe(secret)
    print(_("Backup restored into {path} and verified.").format(path=svc.data_dir))
    return 0


def _passwd(svc, pw, args) -> int:
    old = pw.get("current", _("Current passphrase: "))
    new = pw.get("new", _("New passphrase: "), confirm=True)
    try:
        svc.passwd(old, new)
    finally:
        wipe(old)
        wipe(new)
    print(_("Passphrase changed."))
    return 0


def _rekey(svc, pw, args) -> int:
    secret = pw.get("current", _("Passphrase: "))
    try:
        svc.rekey(secret)
    finally:
        wipe(secret)
    print(_("The case store has a new data key."))
    return 0


def _purge(svc, pw, args) -> int:
    _unlocked(svc, pw)
    result = svc.purge(dry_run=args.dry_run)
    cutoff = result.cutoff or _("the retention period")
    text = (
        ngettext(
            "Would shred {n} contact older than {cutoff}; {held} kept under legal hold.",
            "Would shred {n} contacts older than {cutoff}; {held} kept under legal hold.",
            result.contacts,
        )
        if args.dry_run
        else ngettext(
            "Shredded {n} contact older than {cutoff}; {held} kept under legal hold.",
            "Shredded {n} contacts older than {cutoff}; {held} kept under legal hold.",
            result.contacts,
        )
    )
    print(text.format(n=result.contacts, cutoff=cutoff, held=result.held))
    return 0


def _stats(svc, pw, args) -> int:
    _unlocked(svc, pw)
    print(json.dumps(svc.stats(), indent=1, sort_keys=True))
    return 0


def _recover(svc, pw, args) -> int:
    new = pw.get("first-new", _("New passphrase: "), confirm=True)
    try:
        svc.recover(args.recovery_key, new)
    finally:
        wipe(new)
    print(_("Recovered: the case store now opens with the new passphrase."))
    return 0


_ACTIONS = {
    "init": _init,
    "unlock-check": _unlock_check,
    "check": _check,
    "backup": _backup,
    "restore": _restore,
    "passwd": _passwd,
    "rekey": _rekey,
    "purge": _purge,
    "stats": _stats,
    "recover": _recover,
}
