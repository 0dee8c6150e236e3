"""The ``faro`` command.

Subcommands live in ``console/commands/<name>.py``; each module has
``register(subparsers)`` that adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code. Errors meant for people
(:class:`core.errors.FaroError`) print as one line on stderr with their exit code;
anything else is a bug, logged with its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from core.errors import FaroError
from core.modules import optional_module

log = logging.getLogger(__name__)

COMMAND_MODULES = (
    "console.commands.demo",
    "console.commands.counselor",
    "console.commands.supervisor",
    "console.commands.config",
    "console.commands.db",
    "console.commands.devices",
    "console.commands.vad",
    "console.commands.escalate",
    "console.commands.certs",
    "console.commands.call",
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BUG = 70  # EX_SOFTWARE
EXIT_INTERRUPTED = 130


def faro_version() -> str:
    try:
        return version("faro")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faro", description="Faro: the crisis-helpline counselor console."
    )
    parser.add_argument("--version", action="version", version=f"faro {faro_version()}")
    parser.add_argument(
        "--home", metavar="DIR", help="keep config, data and logs under DIR (same as FARO_HOME)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = optional_module(name)
        if module is not None:
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["FARO_HOME"] = os.path.abspath(args.home)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(func(args) or 0)
    except FaroError as exc:
        print(f"faro: {exc.user_text()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `faro ... | head`: the reader left, not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception:
        from core import logs
        from core.paths import Paths

        log_file = (
            logs.configure(Paths.default().log_dir) if not logging.getLogger().handlers else None
        )
        log.exception("faro %s failed", args.command)
        where = f" ({log_file})" if log_file else ""
        print(
            f"faro: internal error in '{args.command}'; details are in the log file{where}.",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
