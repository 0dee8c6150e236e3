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
from pathlib import Path

from console.argparse_language import apply_language
from core.errors import FaroError
from core.i18n import _
from core.modules import optional_module

log = logging.getLogger(__name__)

COMMAND_MODULES = (
    "console.commands.demo",
    "console.commands.training",
    "console.commands.counselor",
    "console.commands.supervisor",
    "console.commands.config",
    "console.commands.forms",
    "console.commands.db",
    "console.commands.devices",
    "console.commands.vad",
    "console.commands.escalate",
    "console.commands.certs",
    "console.commands.call",
    "console.commands.doctor",
    "console.commands.provision",
    "console.commands.kiosk",
    "console.commands.chat",
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
    """The ``faro`` parser, in the language set (argparse's own words too)."""
    apply_language()
    parser = argparse.ArgumentParser(
        prog="faro", description=_("Faro: the crisis-helpline counselor console.")
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"faro {faro_version()}",
        help=_("show program's version number and exit"),
    )
    parser.add_argument(
        "--home",
        metavar="DIR",
        help=_("keep config, data and logs under DIR (same as FARO_HOME)"),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = optional_module(name)
        if module is not None:
            module.register(sub)
    return parser


def choose_language(argv: Sequence[str]) -> str:
    """Set the language before any text is built (the parser's help is text): ``ui.language``
    from the configuration file of ``--home``/``FARO_HOME``, else the system's. A file that
    does not validate still gives its ``ui.language`` when that one is valid, so the command
    reports the file's problem in the language the file asks for."""
    from core.config import Config
    from core.i18n import set_language
    from core.options import LANGUAGE
    from core.paths import Paths

    home = None
    for i, arg in enumerate(argv):
        if arg == "--home" and i + 1 < len(argv):
            home = argv[i + 1]
        elif arg.startswith("--home="):
            home = arg.split("=", 1)[1]
    path = (Paths.under(Path(home).resolve()) if home else Paths.default()).config_file
    try:
        language = Config.load(path).get(LANGUAGE) if path.exists() else "system"
    except Exception:  # reported by the command that reads the file
        language = _language_of_invalid_file(path)
    return set_language(language)


def _language_of_invalid_file(path: Path) -> str:
    """``ui.language`` of a configuration file that does not validate (another option is
    wrong), or ``system`` when the file cannot say."""
    import tomllib

    from core.config import Config
    from core.options import LANGUAGE

    try:
        ui = tomllib.loads(path.read_text(encoding="utf-8")).get("ui", {})
        return Config({LANGUAGE.key: ui.get("language", "system")}).get(LANGUAGE)
    except Exception:  # not TOML, unreadable, or the language itself is wrong
        return "system"


def main(argv: Sequence[str] | None = None) -> int:
    choose_language(list(sys.argv[1:] if argv is None else argv))
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
        print(_("faro: {message}").format(message=exc.user_text()), file=sys.stderr)
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
        print(
            _("faro: internal error in '{command}'; details are in the log file ({path}).").format(
                command=args.command, path=log_file
            )
            if log_file
            else _("faro: internal error in '{command}'; details are in the log file.").format(
                command=args.command
            ),
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
