"""argparse's own texts ("usage:", "options", "show this help message and exit" and its
error messages) in the language :mod:`core.i18n` speaks.

argparse asks gettext for its words through two module globals, ``argparse._`` and
``argparse.ngettext`` (gettext's default ``messages`` domain, for which no system ships a
catalogue). :func:`apply_language` points them at Faro's catalogue, so the ``faro``
command's help and usage errors read like the rest of it, in whatever language is set.

:data:`TEXTS` lists argparse's msgids exactly as argparse says them (Python 3.11 to 3.14),
marked so that extraction puts them in Faro's catalogue: the ones a person can meet when
typing a ``faro`` command. A parser author's mistakes ("dest= is required for options like
%r") stay English, like logs. A msgid that the running Python does not use is harmless.
"""

from __future__ import annotations

import argparse

from core.i18n import N_, _, ngettext

TEXTS = (
    # Translators: argparse, the first line of `faro --help` and of a usage error
    # ("usage: faro [-h] ..."); keep the space at the end.
    N_("usage: "),
    # Translators: argparse, the heading above the list of a command's --options.
    N_("options"),
    # Translators: argparse, the heading above a command's arguments without a dash.
    N_("positional arguments"),
    # Translators: argparse, the heading above a list of subcommands.
    N_("subcommands"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    # Translators: argparse, appended to an option's help (Python 3.13+).
    N_(" (default: %(default)s)"),
    # Translators: argparse, a usage error: "faro: error: ...". Keep the newline at the end.
    N_("%(prog)s: error: %(message)s\n"),
    # Translators: argparse, a warning: "faro: warning: ...". Keep the newline at the end.
    N_("%(prog)s: warning: %(message)s\n"),
    # Translators: argparse: "argument --home: expected one argument".
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("unrecognized arguments: %s"),
    # Translators: argparse, a mistyped value or command: "invalid choice: 'confg' (choose
    # from 'demo', 'counselor', ...)".
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid choice: %(value)r, maybe you meant %(closest)r? (choose from %(choices)s)"),
    # Translators: argparse: %(type)s is a Python type or function name ("int").
    N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("not allowed with argument %s"),
    # Translators: argparse: a value given to an option that takes none ("--json=yes").
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("command '%(parser_name)s' is deprecated"),
    N_("option '%(option)s' is deprecated"),
    N_("argument '%(argument_name)s' is deprecated"),
)


def _plural_texts() -> None:  # pragma: no cover - never called: marks the plurals for extraction
    ngettext("expected %s argument", "expected %s arguments", 2)


def _gettext(message: str) -> str:
    # argparse also asks for the translation of an absent description (None)
    return _(message) if message else message


def _ngettext(singular: str, plural: str, n: int) -> str:
    # argparse passes nargs, which may be a string ('A...'): gettext's plural rule wants a
    # number, and for any string argparse's own answer is the plural
    return ngettext(singular, plural, n if isinstance(n, int) else 2)


def apply_language() -> None:
    """Route argparse's texts through Faro's catalogue, from now on (idempotent). Call it
    before a parser is built: argparse translates its headings and ``--help`` then."""
    # argparse's gettext hooks are module globals that its stubs do not declare
    argparse._ = _gettext  # type: ignore[attr-defined]
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]
