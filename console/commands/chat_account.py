"""``faro chat account set|show|clear``: this laptop's chat-line token in the case store.

The chat server's account of a counselor (``<identity.counselor_id>@<chat.domain>``) signs in
with a token IT issues on the server (``prosodyctl register``, docs/chat.md "Counselors'
accounts"); this command keeps it in the encrypted case store (secret ``chat.password``),
where app/wiring.py reads it at unlock, like ``faro call account`` does for the SIP password.
The case store's passphrase and the token come from a terminal, or lines 1 and 2 of
``--passphrase-fd N``, or ``FARO_CHAT_TOKEN``; never from the command line. Exit codes: 0
done, 2 missing input or no case store.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from core.errors import FaroError
from core.i18n import _


class ChatAccountError(FaroError):
    exit_code = 2


def register(inner: argparse._SubParsersAction) -> None:
    acc = inner.add_parser("account", help=_("set, show or clear this laptop's chat token"))
    acc.add_argument("what", choices=("set", "show", "clear"))
    acc.add_argument(
        "--passphrase-fd", type=int, metavar="N", help=_("passphrase (and the chat token)")
    )
    acc.set_defaults(func=run)


def _token(pw: object) -> str:
    fd = getattr(pw, "_fd", None)
    if fd is not None:
        lines = pw._from_fd()  # type: ignore[attr-defined]
        if len(lines) > 1 and lines[1]:
            return bytes(lines[1]).decode("utf-8")
    value = os.environ.pop("FARO_CHAT_TOKEN", None)
    if value:
        return value
    if sys.stdin.isatty():
        first = getpass.getpass(_("Chat token: "))
        if getpass.getpass(_("Repeat it: ")) != first:
            raise ChatAccountError(_("The two tokens differ; nothing was changed."))
        return first
    raise ChatAccountError(
        _(
            "No chat token: run this in a terminal, or give line 2 of --passphrase-fd or FARO_CHAT_TOKEN."
        )
    )


def run(args: argparse.Namespace) -> int:
    from app.wiring import CHAT_PASSWORD
    from chat import options as copt
    from console.commands.call import CallCommandError, _open_store
    from console.commands.db import Passphrases
    from core.config import Config
    from core.options import COUNSELOR_ID
    from core.paths import Paths

    config = Config.load(Paths.default().config_file)
    pw = Passphrases(args.passphrase_fd)
    if args.what == "show":
        user = config.get(COUNSELOR_ID) or _("(identity.counselor_id not set)")
        domain = config.get(copt.DOMAIN) or _("(chat.domain not set)")
        print(f"{_('account'):<14} {user}@{domain}")
        print(f"{_('chat line'):<14} {_('on') if config.get(copt.ENABLED) else _('off')}")
    try:
        svc = _open_store(pw)
    except CallCommandError as exc:
        raise ChatAccountError(exc.message) from None
    try:
        if args.what == "set":
            token = _token(pw)
            if not token.strip():
                raise ChatAccountError(_("An empty chat token was not stored."))
            svc.set_secret(CHAT_PASSWORD, token)
            print(_("Chat token stored in the case store (encrypted)."))
        elif args.what == "clear":
            gone = svc.delete_secret(CHAT_PASSWORD)
            print(_("Chat token removed.") if gone else _("No chat token was stored."))
        else:
            stored = svc.secret(CHAT_PASSWORD) is not None
            print(f"{_('token'):<14} {_('stored (encrypted)') if stored else _('not stored')}")
    finally:
        svc.lock("shutdown")
        svc.clock.stop()
    return 0
