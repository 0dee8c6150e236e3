"""``faro chat``: the chat line's server side (for IT staff; docs/chat.md).

  faro chat router --config FILE       run the router component (chat/router.py) until stopped
  faro chat server-config --domain D --cert F --key F --secret-file F [--data-dir DIR]
                          [--widget-dir DIR] [--out FILE]
                                       write Prosody's configuration as Faro ships it
  faro chat canned check FILE          check the organisation's canned responses
  faro chat account set|show|clear     this laptop's chat token in the case store
The component secret is read from a file only its owner may read, never from the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chat", help=_("run the chat router or write the chat server's configuration")
    )
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    inner = p.add_subparsers(dest="chat_command", metavar="")
    router = inner.add_parser("router", help=_("run the chat router (an XMPP component)"))
    router.add_argument(
        "--config", required=True, metavar="FILE", help=_("the router's TOML settings file")
    )
    router.set_defaults(func=run_router)
    conf = inner.add_parser(
        "server-config", help=_("write the chat server's Prosody configuration")
    )
    conf.add_argument("--domain", required=True, help=_("the chat domain, e.g. chat.example.org"))
    conf.add_argument(
        "--cert", required=True, metavar="FILE", help=_("the server's TLS certificate")
    )
    conf.add_argument("--key", required=True, metavar="FILE", help=_("the server's TLS key"))
    conf.add_argument(
        "--secret-file",
        required=True,
        metavar="FILE",
        help=_("file with the router component's secret (mode 0600)"),
    )
    conf.add_argument("--data-dir", default="/var/lib/prosody", metavar="DIR")
    conf.add_argument(
        "--widget-dir", default=None, metavar="DIR", help=_("serve the web widget from here")
    )
    conf.add_argument(
        "--out", default=None, metavar="FILE", help=_("write here (default: standard output)")
    )
    conf.set_defaults(func=run_server_config)
    from console.commands import chat_account, chat_canned  # the counselor's laptop

    chat_canned.register(inner)
    chat_account.register(inner)


def _read_secret(path: Path) -> str:
    from chat.router import read_secret

    return read_secret(path)


def run_server_config(args: argparse.Namespace) -> int:
    from chat.server import ServerSettings, prosody_config

    text = prosody_config(
        ServerSettings(
            domain=args.domain,
            cert_file=Path(args.cert).resolve(),
            key_file=Path(args.key).resolve(),
            data_dir=Path(args.data_dir),
            component_secret=_read_secret(Path(args.secret_file)),
            widget_dir=Path(args.widget_dir).resolve() if args.widget_dir else None,
            foreground=False,
        )
    )
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".tmp")
        tmp.touch(mode=0o640)
        tmp.chmod(0o640)  # it holds the component secret
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
        print(_("Prosody configuration written to {path}").format(path=out))
    else:
        sys.stdout.write(text)
    return 0


def run_router(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from app.chat_router import router_hooks
    from chat.router import Router, load_settings

    settings = load_settings(Path(args.config))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not settings.state_file:
        print(
            _(
                "Warning: the router's settings have no state_file: a restart of the router "
                "will lose the chats in progress (docs/chat.md)."
            ),
            file=sys.stderr,
        )
    hooks, link = router_hooks()  # supervisors see the queue on the escalation link
    try:
        asyncio.run(Router(settings, hooks=hooks).run_forever())
    except KeyboardInterrupt:
        return 130
    finally:
        if link is not None:
            link.stop()
    return 0
