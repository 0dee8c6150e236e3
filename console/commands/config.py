"""``faro config``: show every option with its type, default, value and description."""

from __future__ import annotations

import argparse
import json

from core.config import Config, organisation_file
from core.i18n import _
from core.paths import Paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help=_("show the configuration and every option"))
    p.add_argument("--json", action="store_true", help=_("one JSON object per option"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = Paths.default()
    config = Config.load(paths.config_file)
    org = organisation_file()
    if not args.json:
        print(
            (
                _("# configuration file: {path}")
                if paths.config_file.exists()
                else _("# configuration file: {path} (absent: all defaults)")
            ).format(path=paths.config_file)
        )
        if org.exists():
            print(
                _(
                    "# organisation's file: {path} (options marked 'locked' cannot be changed "
                    "on this laptop)"
                ).format(path=org)
            )
    for opt, value, is_default in config.describe():
        shown = "********" if opt.secret and value else value
        locked_by = config.locked_by(opt)
        if args.json:
            print(
                json.dumps(
                    {
                        "key": opt.key,
                        "type": opt.type.__name__,
                        "value": shown,
                        "default": opt.default,
                        "is_default": is_default,
                        "locked_by": locked_by,
                        "description": _(opt.description),
                    },
                    default=str,
                )
            )
        else:
            if locked_by:
                mark = "  " + _("(locked by {organisation})").format(organisation=locked_by)
            else:
                mark = "" if is_default else "  " + _("(set)")
            print(f"{opt.key} = {json.dumps(shown, default=str)}{mark}\n    {_(opt.description)}")
    return 0
