"""``faro provision`` (on the laptop, as root) and ``faro bundle`` (IT's own machine).

  faro bundle keygen [--dir DIR]                     the organisation's signing key (once)
  faro bundle create SOURCE_DIR --key KEY --version N --out FILE
                                                     the organisation's bundle
  faro bundle enrol ID --pki DIR --key KEY --organisation ORG_ID [--laptop NAME] --out FILE
                                                     one laptop's enrolment (its certificates)
  faro bundle show FILE                              what a bundle holds and who signed it
  faro provision BUNDLE [--enrolment FILE] --account NAME [--trust FINGERPRINT] [--json]

Exit codes of ``faro provision`` (docs/provisioning.md): 0 provisioned (or nothing to
change), 2 the bundle or enrolment must not be installed (signature, organisation, version,
certificates), 3 this laptop is not ready (no such account, no ``faro`` group, a write
failed: nothing was changed), 75 a console of that account is running, 77 not root,
78 the organisation's options are wrong.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from core.errors import FaroError
from core.i18n import _

EXIT_NOT_ROOT = 77


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("provision", help=_("install the organisation's bundle on this laptop"))
    p.add_argument("bundle", metavar="BUNDLE", help=_("the organisation's bundle (.faro)"))
    p.add_argument("--enrolment", metavar="FILE", help=_("this laptop's enrolment"))
    p.add_argument(
        "--account",
        metavar="NAME",
        default=os.environ.get("SUDO_USER") or None,
        help=_("the counselor's account (default: the one that ran sudo)"),
    )
    p.add_argument(
        "--trust",
        metavar="FINGERPRINT",
        help=_("the organisation's signing key fingerprint (first provisioning)"),
    )
    p.add_argument("--json", action="store_true", help=_("the outcome as one JSON object"))
    # for tests and image builds: another /etc/faro, and the account's home elsewhere
    p.add_argument("--etc", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--account-home", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--group", default="faro", help=argparse.SUPPRESS)
    p.set_defaults(func=run_provision)

    b = sub.add_parser("bundle", help=_("make the organisation's bundle and enrolments (IT)"))
    b.set_defaults(func=lambda a: (b.print_help(sys.stderr), 2)[1])
    inner = b.add_subparsers(dest="bundle_command", metavar="")
    k = inner.add_parser("keygen", help=_("create the organisation's signing key"))
    k.add_argument("--dir", default="faro-signing", help=_("where (default ./faro-signing)"))
    k.set_defaults(func=run_keygen)
    c = inner.add_parser("create", help=_("sign the organisation's bundle"))
    c.add_argument("source", metavar="SOURCE_DIR", help=_("organisation.toml, ca.crt, ..."))
    c.add_argument("--key", required=True, help=_("the signing key"))
    c.add_argument("--version", type=int, required=True, help=_("1, 2, 3... (raise it)"))
    c.add_argument("--out", required=True, help=_("the bundle file to write"))
    c.set_defaults(func=run_create)
    e = inner.add_parser("enrol", help=_("a laptop's enrolment: its certificates"))
    e.add_argument("counselor_id", metavar="ID", help=_("the counselor's id (certificate name)"))
    e.add_argument("--pki", required=True, help=_("the organisation's CA folder (faro certs)"))
    e.add_argument("--key", required=True, help=_("the signing key"))
    e.add_argument("--organisation", required=True, help=_("the organisation's id"))
    e.add_argument("--laptop", default="", help=_("the laptop's label, for IT"))
    e.add_argument("--days", type=int, default=825, help=_("certificate validity in days"))
    e.add_argument("--out", required=True, help=_("the enrolment file to write"))
    e.set_defaults(func=run_enrol)
    s = inner.add_parser("show", help=_("what a bundle holds and who signed it"))
    s.add_argument("file", metavar="FILE")
    s.set_defaults(func=run_show)


def _fail(exc: FaroError) -> int:
    print(_("faro: {error}").format(error=exc.user_text()), file=sys.stderr)
    return exc.exit_code


def run_provision(args: argparse.Namespace) -> int:
    from app.provisioning.install import ETC, Account, Target, provision

    if os.geteuid() != 0:
        print(
            _("faro provision must run as root: sudo faro provision {bundle} ...").format(
                bundle=args.bundle
            ),
            file=sys.stderr,
        )
        return EXIT_NOT_ROOT
    if not args.account:
        print(_("faro: name the counselor's account with --account NAME."), file=sys.stderr)
        return 2
    try:
        account = Account.named(args.account)
        if args.account_home:
            account = dataclasses.replace(account, home=Path(args.account_home))
        target = Target(account, etc=Path(args.etc) if args.etc else ETC, group=args.group)
        outcome = provision(
            target,
            Path(args.bundle),
            Path(args.enrolment) if args.enrolment else None,
            args.trust,
        )
    except FaroError as exc:
        return _fail(exc)
    if args.json:
        print(
            json.dumps(
                {
                    "outcome": outcome.kind,
                    "organisation": outcome.organisation,
                    "version": outcome.version,
                    "changed": outcome.changed,
                },
                ensure_ascii=False,
            )
        )
        return 0
    for line in outcome.changed:
        print("  " + line)
    if not outcome.changed:
        print(
            _("Nothing to change: {organisation}, version {version}, is installed.").format(
                organisation=outcome.organisation, version=outcome.version
            )
        )
    else:
        print(
            _("Provisioned for {organisation}, version {version}.").format(
                organisation=outcome.organisation, version=outcome.version
            )
        )
        print(_("Run 'faro doctor' as the counselor to check the laptop."))
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    from app.provisioning.bundle import fingerprint, load_signing_key, new_signing_key

    try:
        priv, pub = new_signing_key(Path(args.dir))
    except FaroError as exc:
        return _fail(exc)
    fpr = fingerprint(load_signing_key(priv).public_key())
    print(_("Signing key: {path} (keep it offline; mode 0600)").format(path=priv))
    print(_("Fingerprint: {fpr}").format(fpr=fpr))
    print(_("Give the fingerprint to whoever provisions laptops, by another channel."))
    return 0


def run_create(args: argparse.Namespace) -> int:
    from app.provisioning.bundle import create_organisation_bundle, load_signing_key

    try:
        out = create_organisation_bundle(
            Path(args.source), load_signing_key(Path(args.key)), args.version, Path(args.out)
        )
    except FaroError as exc:
        return _fail(exc)
    print(_("Bundle written to {path}.").format(path=out))
    return 0


def run_enrol(args: argparse.Namespace) -> int:
    from app.provisioning.bundle import create_enrolment, load_signing_key

    try:
        out = create_enrolment(
            Path(args.pki),
            args.laptop or args.counselor_id,
            args.counselor_id,
            args.organisation,
            load_signing_key(Path(args.key)),
            Path(args.out),
            days=args.days,
        )
    except FaroError as exc:
        return _fail(exc)
    print(_("Enrolment written to {path} (it holds private keys: mode 0600).").format(path=out))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from app.provisioning.bundle import BundleError, _members, load_public, read_bundle

    try:
        members, _digest = _members(Path(args.file))
        pem = members.get("signer.pub")
        if pem is None:
            raise BundleError(
                _("The bundle {path} does not carry its signer's key.").format(path=args.file)
            )
        key = load_public(pem)
        manifest = json.loads(members["manifest.json"])
        b = read_bundle(Path(args.file), key, str(manifest.get("kind", "")))
    except (FaroError, KeyError, ValueError) as exc:
        if isinstance(exc, FaroError):
            return _fail(exc)
        print(_("faro: {path} is not a Faro bundle.").format(path=args.file), file=sys.stderr)
        return 2
    shown = {k: v for k, v in b.manifest.items() if k != "files"}
    shown["files"] = sorted(b.files)
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0
