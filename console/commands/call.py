"""``faro call``: the SIP account of this laptop and a test call.

    faro call account set      store the SIP password in the case store (encrypted)
    faro call account show     the account (sip.* options) and whether a password is stored
    faro call account clear    remove the stored password
    faro call test [--uri X]   register, call the echo extension, report TLS/SRTP, latency, loss

Passwords never come from the command line: the store's passphrase as for ``faro db``
(terminal, ``--passphrase-fd N`` line 1, ``FARO_PASSPHRASE``), the SIP password from the
terminal, line 2 of the same fd, or ``FARO_SIP_PASSWORD``. Exit codes: 0 fine, 2 usage or
missing input, 3 the account is not configured, 4 registration refused or unreachable,
5 the test call failed, 6 the call connected but no audio came back.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from app.wiring import SIP_PASSWORD
from calls.sip.settings import SipCredentials, SipSettings
from core.config import Config
from core.errors import FaroError
from core.i18n import _, ngettext
from core.paths import Paths
from storage.hardening import wipe

EXIT_NOT_CONFIGURED = 3
EXIT_REGISTRATION = 4
EXIT_CALL = 5
EXIT_NO_AUDIO = 6


class CallCommandError(FaroError):
    exit_code = 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("call", help=_("the SIP account of this laptop; a test call"))
    p.add_argument(
        "--passphrase-fd", type=int, metavar="N", help=_("passphrase (and SIP password)")
    )
    csub = p.add_subparsers(dest="call_command", metavar="ACTION", required=True)
    acc = csub.add_parser("account", help=_("set, show or clear the SIP password"))
    acc.add_argument("what", choices=("set", "show", "clear"))
    t = csub.add_parser("test", help=_("register and call the echo extension (sip.test_uri)"))
    t.add_argument("--uri", help=_("extension or URI to call instead of sip.test_uri"))
    t.add_argument("--bursts", type=int, default=5, help=_("tone bursts to time (default 5)"))
    t.add_argument("--json", action="store_true", help=_("the report as JSON"))
    p.set_defaults(func=run)


def _settings() -> SipSettings:
    config = Config.load(Paths.default().config_file)
    return SipSettings.from_config(config)


def run(args: argparse.Namespace) -> int:
    if args.call_command == "account":
        return _account(args)
    return _test(args)


def _sip_password(pw, confirm: bool) -> str:
    if pw._fd is not None:
        lines = pw._from_fd()
        if len(lines) > 1 and lines[1]:
            return bytes(lines[1]).decode("utf-8")
    value = os.environ.pop("FARO_SIP_PASSWORD", None)
    if value:
        return value
    if sys.stdin.isatty():
        first = getpass.getpass(_("SIP password: "))
        if confirm and getpass.getpass(_("Repeat it: ")) != first:
            raise CallCommandError(_("The two passwords differ; nothing was changed."))
        return first
    raise CallCommandError(
        _(
            "No SIP password: run this in a terminal, or give line 2 of --passphrase-fd or "
            "FARO_SIP_PASSWORD."
        )
    )


def _open_store(pw):
    from console.commands.db import _service

    svc = _service()
    if not svc.is_initialised():
        raise CallCommandError(_("There is no case store on this laptop yet (faro db init)."))
    secret = pw.get("current", _("Case store passphrase: "))
    try:
        svc.unlock(secret)
    finally:
        wipe(secret)
    return svc


def _account(args: argparse.Namespace) -> int:
    from console.commands.db import Passphrases

    settings = _settings()
    pw = Passphrases(args.passphrase_fd)
    if args.what == "show":
        not_set = _("(not set)")
        _line("sip.user", settings.user or not_set)
        _line("sip.domain", settings.domain or not_set)
        _line("sip.proxy", settings.proxy or _("(the domain)"))
        _line("sip.ca_file", str(settings.ca_path))
        # Translators: report labels (transport, problem, password, registration…) are
        # padded to 14 columns: keep them under 14 characters.
        _line(_("transport"), _("TLS (server certificate verified), SRTP mandatory"))
        for problem in settings.problems():
            _line(_("problem"), problem)
    svc = _open_store(pw)
    try:
        if args.what == "set":
            password = _sip_password(pw, confirm=True)
            if not password:
                raise CallCommandError(_("An empty SIP password was not stored."))
            svc.set_secret(SIP_PASSWORD, password)
            print(_("SIP password stored in the case store (encrypted)."))
        elif args.what == "clear":
            gone = svc.delete_secret(SIP_PASSWORD)
            print(_("SIP password removed.") if gone else _("No SIP password was stored."))
        else:
            stored = svc.secret(SIP_PASSWORD) is not None
            _line(_("password"), _("stored (encrypted)") if stored else _("not stored"))
    finally:
        svc.lock("shutdown")
        svc.clock.stop()
    return 0


def _credentials(pw) -> SipCredentials:
    value = os.environ.pop("FARO_SIP_PASSWORD", None)
    if value:
        return SipCredentials(value)
    svc = _open_store(pw)
    try:
        password = svc.secret(SIP_PASSWORD)
    finally:
        svc.lock("shutdown")
        svc.clock.stop()
    if password is None:
        raise CallCommandError(_("No SIP password is stored: faro call account set."))
    return SipCredentials(password)


def _test(args: argparse.Namespace) -> int:
    from calls.sip.probe import run_call_test
    from console.commands.db import Passphrases

    settings = _settings()
    problems = settings.problems()
    uri = args.uri or settings.test_uri
    if not uri:
        problems.append(_("No test extension: set sip.test_uri or give --uri."))
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return EXIT_NOT_CONFIGURED
    report = run_call_test(
        settings, _credentials(Passphrases(args.passphrase_fd)), uri, args.bursts
    )
    if args.json:
        out = dict(
            report.__dict__, ok=report.ok, median_round_trip_ms=report.median_round_trip_ms()
        )
        print(json.dumps(out))
    else:
        _print_report(settings, report)
    if not report.registered:
        return EXIT_REGISTRATION
    if not report.call_ok:
        return EXIT_CALL
    if not report.bursts_heard:
        return EXIT_NO_AUDIO
    return 0


def _line(name: str, value: str) -> None:
    """One line of a two-column report: a label (an option name, or a translated word)
    padded to 14 characters, then its value."""
    print(f"{name:<14}{value}")


def _print_report(settings: SipSettings, r) -> None:
    line = _line
    if r.registered:
        line(
            _("registration"),
            _("ok in {ms} ms ({account})").format(
                ms=f"{r.register_ms:.0f}", account=f"{settings.user}@{settings.domain}"
            ),
        )
    else:
        line(_("registration"), _("FAILED: {error}").format(error=r.register_error))
        return
    line(_("signalling"), _("TLS, server certificate {tls}").format(tls=r.tls))
    if not r.call_ok:
        line(_("test call"), _("FAILED: {error}").format(error=r.call_error))
        return
    line(_("test call"), _("connected in {ms} ms").format(ms=f"{r.setup_ms:.0f}"))
    line(
        _("media"),
        _("SRTP {srtp}, codec {codec}").format(srtp=r.srtp or "?", codec=r.codec or "?"),
    )
    med = r.median_round_trip_ms()
    heard = ngettext(
        "{heard} of {n} burst came back", "{heard} of {n} bursts came back", r.bursts_sent
    ).format(heard=r.bursts_heard, n=r.bursts_sent)
    line(
        _("round trip"),
        _("{ms} ms median ({heard})").format(ms=f"{med:.0f}", heard=heard)
        if med is not None
        else heard,
    )
    if r.loss_pct is not None:
        line(
            _("loss"),
            _("{loss} %, jitter {jitter} ms, MOS {mos}").format(
                loss=f"{r.loss_pct:.1f}", jitter=f"{r.jitter_ms:.1f}", mos=f"{r.mos:.2f}"
            ),
        )
