"""``faro chat canned check FILE``: check an organisation's canned responses file for the chat
line (chat/canned.py), and say what it holds.

For IT, before the file is named in ``chat.canned_file``: every mistake is reported with the
file and the line; nothing is written anywhere. Exit codes as ``faro forms check``: 0 valid
(its counts are printed), 2 not (the reason on stderr, one line), 66 it cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from console.commands.file_check import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, read_text, say_valid
from core.i18n import _


def register(inner: argparse._SubParsersAction) -> None:
    """``canned check`` under ``faro chat`` (console/commands/chat.py)."""
    canned = inner.add_parser("canned", help=_("check the organisation's canned responses"))
    actions = canned.add_subparsers(dest="canned_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help=_("check a canned responses file and say what it holds (0 valid, 2 not)")
    )
    check.add_argument("file", metavar="FILE", help=_("the canned responses file (TOML)"))
    check.add_argument("--json", action="store_true", help=_("the counts as one JSON object"))
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from chat.canned import EXIT_HINT, SAFETY_CHECK, CannedError, parse_canned

    read = read_text(args.file)
    if read is None:
        return EXIT_UNREADABLE
    path, text = read
    try:
        canned = parse_canned(text, path.name, source=str(path))
    except CannedError as exc:
        print("faro: " + exc.user_text(), file=sys.stderr)
        return EXIT_INVALID
    own = {r.code for r in canned.responses}
    declared = text.count("[[response]]")  # the built-in buttons added are not the file's
    builtin = [c for c in (SAFETY_CHECK, EXIT_HINT) if c in own and f'"{c}"' not in text]
    english = sum(1 for r in canned.responses if "en" in r.text and r.code not in builtin)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "version": canned.version,
                    "name": canned.name,
                    "responses": declared,
                    "english": english,
                    "builtin": builtin,
                }
            )
        )
        return EXIT_OK
    say_valid(path, canned.version, canned.name)
    print(_("  responses: {n}").format(n=declared))
    print(_("  with English text: {n}").format(n=english))
    if builtin:
        print(_("  built-in texts used for: {codes}").format(codes=", ".join(builtin)))
    return EXIT_OK
