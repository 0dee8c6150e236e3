"""``faro certs``: the organisation's CA and its certificates (for IT staff).

  faro certs ca --org "City Helpline" [--dir DIR]        create the CA (once)
  faro certs issue NAME [--dir DIR] [--out DIR]          a laptop's certificate (its identity)
  faro certs broker HOST [HOST...] [--dir DIR]           the broker's server certificate
  faro certs acl --supervisor NAME ... [--out FILE]      the broker's ACL file
  faro certs show FILE                                   name, issuer and validity
Files are written atomically with mode 0600.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certs", help="create the organisation CA and laptop certificates")
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    inner = p.add_subparsers(dest="certs_command", metavar="")
    ca = inner.add_parser("ca", help="create the organisation's CA")
    ca.add_argument("--org", required=True, help="organisation name")
    ca.add_argument("--dir", default="faro-pki", help="where the CA lives (default ./faro-pki)")
    ca.add_argument("--days", type=int, default=3650)
    ca.set_defaults(func=run_ca)
    issue = inner.add_parser("issue", help="certificate of one counselor or supervisor laptop")
    issue.add_argument("name", help="the identity (counselor or supervisor id)")
    issue.add_argument("--dir", default="faro-pki")
    issue.add_argument("--out", help="folder for NAME.crt and NAME.key (default: --dir)")
    issue.add_argument("--days", type=int, default=825)
    issue.set_defaults(func=run_issue)
    broker = inner.add_parser("broker", help="the broker's server certificate")
    broker.add_argument("hosts", nargs="+", help="DNS names or IP addresses of the broker")
    broker.add_argument("--dir", default="faro-pki")
    broker.add_argument("--name", default="broker")
    broker.add_argument("--days", type=int, default=825)
    broker.set_defaults(func=run_broker)
    acl = inner.add_parser("acl", help="write the broker's ACL file")
    acl.add_argument("--supervisor", action="append", default=[], metavar="NAME")
    acl.add_argument("--out", default="acl")
    acl.set_defaults(func=run_acl)
    show = inner.add_parser("show", help="show a certificate")
    show.add_argument("file")
    show.set_defaults(func=run_show)


def run_ca(args: argparse.Namespace) -> int:
    from escalation.pki import Authority
    Authority.create(args.org, days=args.days).save(Path(args.dir))
    print(f"CA created in {args.dir} (keep ca.key offline; give ca.crt to every laptop)")
    return 0


def run_issue(args: argparse.Namespace) -> int:
    from escalation.pki import Authority
    cert, key = Authority.load(Path(args.dir)).issue_to(Path(args.out or args.dir), args.name,
                                                         days=args.days)
    print(f"{cert}\n{key}")
    return 0


def run_broker(args: argparse.Namespace) -> int:
    from escalation.pki import Authority
    cert, key = Authority.load(Path(args.dir)).issue_to(Path(args.dir), args.name,
                                                         server_names=args.hosts, days=args.days)
    print(f"{cert}\n{key}")
    return 0


def run_acl(args: argparse.Namespace) -> int:
    from escalation.broker import acl_text
    from escalation.messages import IDENTITY
    from escalation.pki import CertError, write_private
    for name in args.supervisor:
        if not IDENTITY.match(name):
            raise CertError(f"'{name}' is not a valid supervisor name.")
    write_private(Path(args.out), acl_text(args.supervisor).encode())
    print(args.out)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cryptography import x509
    from escalation.pki import CertError
    try:
        cert = x509.load_pem_x509_certificate(Path(args.file).read_bytes())
    except (OSError, ValueError):
        raise CertError(f"{args.file} is not a readable PEM certificate.") from None
    print(f"subject   {cert.subject.rfc4514_string()}")
    print(f"issuer    {cert.issuer.rfc4514_string()}")
    print(f"valid     {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}")
    return 0
