"""``faro certs``: the organisation's CA and its certificates (for IT staff).

  faro certs ca --org "City Helpline" [--dir DIR]        create the CA (once)
  faro certs issue NAME [--dir DIR] [--out DIR]          a laptop's certificates: NAME for its
                                                         console, NAME.cli for its command-line
                                                         tools (each process its own identity)
  faro certs broker HOST [HOST...] [--dir DIR] [--out DIR] [--group GROUP]
                                                         the broker's server certificate; --out
                                                         installs it with ca.crt for Mosquitto
  faro certs acl --supervisor NAME ... [--it NAME ...] [--out FILE] [--group GROUP]
                                                         the broker's ACL file
  faro certs show FILE                                   name, issuer and validity
Files are written atomically with mode 0600 — except what the broker reads after dropping to
its own user: with a group (default ``mosquitto`` when run as root and that group exists) the
files of ``broker --out`` and ``acl`` are 0640 root:GROUP in a 0750 root:GROUP folder.
"""

from __future__ import annotations

import argparse
import grp
import os
import sys
from pathlib import Path

from core.i18n import _

BROKER_GROUP = "mosquitto"


def _default_group() -> str:
    """``mosquitto`` when this runs as root on a machine with the broker installed."""
    if os.geteuid() != 0:
        return ""
    try:
        grp.getgrnam(BROKER_GROUP)
    except KeyError:
        return ""
    return BROKER_GROUP


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certs", help=_("create the organisation CA and laptop certificates"))
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    inner = p.add_subparsers(dest="certs_command", metavar="")
    ca = inner.add_parser("ca", help=_("create the organisation's CA"))
    ca.add_argument("--org", required=True, help=_("organisation name"))
    ca.add_argument("--dir", default="faro-pki", help=_("where the CA lives (default ./faro-pki)"))
    ca.add_argument("--days", type=int, default=3650)
    ca.set_defaults(func=run_ca)
    issue = inner.add_parser("issue", help=_("certificate of one counselor or supervisor laptop"))
    issue.add_argument("name", help=_("the identity (counselor or supervisor id)"))
    issue.add_argument("--dir", default="faro-pki")
    issue.add_argument("--out", help=_("folder for NAME.crt and NAME.key (default: --dir)"))
    issue.add_argument("--days", type=int, default=825)
    issue.set_defaults(func=run_issue)
    broker = inner.add_parser("broker", help=_("the broker's server certificate"))
    broker.add_argument("hosts", nargs="+", help=_("DNS names or IP addresses of the broker"))
    broker.add_argument("--dir", default="faro-pki")
    broker.add_argument("--name", default="broker")
    broker.add_argument("--days", type=int, default=825)
    broker.add_argument(
        "--out",
        metavar="DIR",
        help=_(
            "also install broker.crt, broker.key and ca.crt here for Mosquitto "
            "(e.g. /etc/mosquitto/faro)"
        ),
    )
    broker.add_argument(
        "--group",
        default=None,
        metavar="GROUP",
        help=_(
            "group that may read the --out files (default: mosquitto when run as root; '' for none)"
        ),
    )
    broker.set_defaults(func=run_broker)
    acl = inner.add_parser("acl", help=_("write the broker's ACL file"))
    acl.add_argument("--supervisor", action="append", default=[], metavar="NAME")
    acl.add_argument(
        "--it",
        action="append",
        default=[],
        metavar="NAME",
        help=_("an IT identity allowed to clear stale alerts ('faro supervisor stale --clear')"),
    )
    acl.add_argument("--out", default="acl")
    acl.add_argument(
        "--group",
        default=None,
        metavar="GROUP",
        help=_("group that may read the file (default: mosquitto when run as root; '' for none)"),
    )
    acl.set_defaults(func=run_acl)
    show = inner.add_parser("show", help=_("show a certificate"))
    show.add_argument("file")
    show.set_defaults(func=run_show)


def run_ca(args: argparse.Namespace) -> int:
    from escalation.pki import Authority

    Authority.create(args.org, days=args.days).save(Path(args.dir))
    print(
        _("CA created in {dir} (keep ca.key offline; give ca.crt to every laptop)").format(
            dir=args.dir
        )
    )
    return 0


def _check_name(name: str, what: str) -> None:
    from escalation.messages import IDENTITY
    from escalation.pki import CertError
    from escalation.transport import CLI_SUFFIX

    if not IDENTITY.match(name) or len(name) + len(CLI_SUFFIX) > 64:
        raise CertError(
            _(
                "'{name}' is not a valid {what} name: letters, digits, '.', '_' and "
                "'-', at most 60."
            ).format(name=name, what=what)
        )
    if name.endswith(CLI_SUFFIX):
        raise CertError(
            _(
                "'{name}' ends with '{suffix}', which names the command-line identity "
                "'faro certs issue' makes by itself."
            ).format(name=name, suffix=CLI_SUFFIX)
        )


def _warn_folder(folder: Path, group: str) -> None:
    from escalation.pki import group_folder

    if not group_folder(folder, group):
        print(
            _(
                "warning: the group '{group}' cannot enter {dir}: the broker will not be able "
                "to read what is written there (choose a new folder: it is created 0750 "
                "root:{group})"
            ).format(group=group, dir=folder),
            file=sys.stderr,
        )


def run_issue(args: argparse.Namespace) -> int:
    from escalation.pki import Authority
    from escalation.transport import CLI_SUFFIX

    # Translators: {what} in "'{name}' is not a valid {what} name": laptop, supervisor or IT.
    _check_name(args.name, _("laptop"))
    ca = Authority.load(Path(args.dir))
    for cn in (args.name, args.name + CLI_SUFFIX):
        cert, key = ca.issue_to(Path(args.out or args.dir), cn, days=args.days)
        print(f"{cert}\n{key}")
    return 0


def run_broker(args: argparse.Namespace) -> int:
    from escalation.pki import CA_CERT, Authority, write_private

    ca = Authority.load(Path(args.dir))
    cert, key = ca.issue_to(Path(args.dir), args.name, server_names=args.hosts, days=args.days)
    print(f"{cert}\n{key}")
    if args.out:
        group = _default_group() if args.group is None else args.group
        out = Path(args.out)
        if group:
            _warn_folder(out, group)
        for src, name in (
            (cert, "broker.crt"),
            (key, "broker.key"),
            (Path(args.dir) / CA_CERT, CA_CERT),
        ):
            write_private(out / name, src.read_bytes(), group=group or None)
            print(f"{out / name}  ({'0640 root:' + group if group else '0600'})")
    return 0


def run_acl(args: argparse.Namespace) -> int:
    from escalation.broker import acl_text
    from escalation.pki import write_private

    for name in args.supervisor:
        _check_name(name, _("supervisor"))
    for name in args.it:
        _check_name(name, _("IT"))
    group = _default_group() if args.group is None else args.group
    out = Path(args.out)
    if group:
        _warn_folder(out.parent, group)
    write_private(out, acl_text(args.supervisor, it=args.it).encode(), group=group or None)
    print(f"{args.out}  ({'0640 root:' + group if group else '0600'})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cryptography import x509

    from escalation.pki import CertError

    try:
        cert = x509.load_pem_x509_certificate(Path(args.file).read_bytes())
    except (OSError, ValueError):
        raise CertError(
            _("{file} is not a readable PEM certificate.").format(file=args.file)
        ) from None
    valid = _("{start} to {end}").format(
        start=f"{cert.not_valid_before_utc:%Y-%m-%d}", end=f"{cert.not_valid_after_utc:%Y-%m-%d}"
    )
    for label, value in (
        (_("subject"), cert.subject.rfc4514_string()),
        (_("issuer"), cert.issuer.rfc4514_string()),
        (_("valid"), valid),
    ):
        print(f"{label:<10}{value}")
    return 0
