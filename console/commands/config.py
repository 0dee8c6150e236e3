"""``faro config``: show every option with its type, default, value and description."""

from __future__ import annotations

import argparse
import json

from core.config import Config
from core.paths import Paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show the configuration and every option")
    p.add_argument("--json", action="store_true", help="one JSON object per option")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = Paths.default()
    config = Config.load(paths.config_file)
    print(
        f"# configuration file: {paths.config_file}"
        f"{'' if paths.config_file.exists() else ' (absent: all defaults)'}"
    )
    for opt, value, is_default in config.describe():
        shown = "********" if opt.secret and value else value
        if args.json:
            print(
                json.dumps(
                    {
                        "key": opt.key,
                        "type": opt.type.__name__,
                        "value": shown,
                        "default": opt.default,
                        "is_default": is_default,
                        "description": opt.description,
                    },
                    default=str,
                )
            )
        else:
            mark = "" if is_default else "  (set)"
            print(f"{opt.key} = {json.dumps(shown, default=str)}{mark}\n    {opt.description}")
    return 0
