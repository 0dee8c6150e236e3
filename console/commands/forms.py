"""``faro forms check FILE``: check an organisation's forms file, and say what it declares.

For IT, before the file is named in ``clinical.forms_file``: every mistake is reported with
the file and the line (core/forms.py), nothing is written anywhere. Exit codes: 0 the file is
valid (its counts are printed), 2 it is not (the reason on stderr, one line), 66 it cannot
be read (missing, not UTF-8, no permission).
"""

from __future__ import annotations

import argparse
import json
import sys

from console.commands.file_check import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_text, say_valid
from core.forms import FormError, parse_form
from core.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forms", help=_("check the organisation's forms file"))
    actions = p.add_subparsers(dest="forms_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help=_("check a forms file and say what it declares (0 valid, 2 not)")
    )
    check.add_argument("file", metavar="FILE", help=_("the forms file (TOML)"))
    check.add_argument("--json", action="store_true", help=_("the counts as one JSON object"))
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    read = read_text(args.file)
    if read is None:
        return EXIT_UNREADABLE
    path, text = read
    try:
        form = parse_form(text, path.name, source=str(path))
    except FormError as exc:
        print("faro: " + exc.user_text(), file=sys.stderr)
        return EXIT_INVALID
    counts = form.counts()
    if args.json:
        print(json.dumps({"file": str(path), "version": form.version, "name": form.name, **counts}))
        return EXIT_OK
    say_valid(path, form.version, form.name)
    print(_("  dispositions: {n}").format(n=counts["dispositions"]))
    print(
        _(
            "  assessment items: {n} (desire {desire}, capability {capability}, intent "
            "{intent}, buffers {buffers})"
        ).format(
            n=counts["items"],
            desire=counts["items.desire"],
            capability=counts["items.capability"],
            intent=counts["items.intent"],
            buffers=counts["items.buffers"],
        )
    )
    print(
        _("  alone mean imminent risk: {codes}").format(codes=", ".join(form.imminent_alone) or "-")
    )
    print(_("  safety-plan sections: {n}").format(n=counts["sections"]))
    rule = form.follow_up
    print(
        _("  follow-up: after {after} h, {attempts} attempts, {retry} h apart").format(
            after=rule.after_h, attempts=rule.attempts, retry=rule.retry_h
        )
    )
    for level, r in form.follow_up_by_level:
        print(
            _(
                "  follow-up at {level} risk: after {after} h, {attempts} attempts, {retry} h apart"
            ).format(level=level, after=r.after_h, attempts=r.attempts, retry=r.retry_h)
        )
    return EXIT_OK
