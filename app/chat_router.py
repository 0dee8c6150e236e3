"""The chat router's hooks on the escalation link: what supervisors see of the chat line.

The router (chat/router.py) calls its hooks on its own loop; :class:`EscalationHooks` hands
each to a :class:`escalation.chat_queue.RouterLink`, the router's identity on the escalation
link (a certificate like a laptop's, from the router machine's Faro profile): the queue every
second (published when it changes), a chat nobody accepted in time, each chat answered or
abandoned. Without an escalation set-up the router runs with the default hooks (logged codes)
and says so once. Codes, counts and seconds only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chat.router import RouterHooks

if TYPE_CHECKING:
    from escalation.chat_queue import RouterLink

log = logging.getLogger(__name__)


class EscalationHooks(RouterHooks):
    def __init__(self, link: RouterLink) -> None:
        self.link = link

    def alert(self, chat_id: str, waited_s: float) -> None:
        super().alert(chat_id, waited_s)
        self.link.alert(chat_id, waited_s)

    def abandoned(self, chat_id: str, waited_s: float) -> None:
        super().abandoned(chat_id, waited_s)
        self.link.abandoned(chat_id, waited_s)

    def answered(self, chat_id: str, waited_s: float) -> None:
        super().answered(chat_id, waited_s)
        self.link.answered(chat_id, waited_s)

    def queue(self, waiting: int, open_chats: int, oldest_s: float) -> None:
        self.link.queue(waiting, open_chats, oldest_s)


def router_hooks() -> tuple[RouterHooks, RouterLink | None]:
    """The hooks for ``faro chat router``: on the escalation link when the profile sets it up
    (``escalation.*``, the router's own certificate), else the default ones."""
    from core.clock import SystemClock
    from core.config import Config
    from core.events import EventBus
    from core.paths import Paths
    from escalation.chat_queue import RouterLink
    from escalation.transport import LinkSettings

    paths = Paths.default().ensure()
    config = Config.load(paths.config_file)
    settings = LinkSettings.from_config(config, "counselor")  # its own certificate
    if settings is None:
        log.warning(
            "the escalation link is not set up for the chat router: supervisors will not see "
            "the chat queue (escalation.broker_host in the router's Faro profile)"
        )
        return RouterHooks(), None
    link = RouterLink(config, SystemClock(), EventBus(), settings)
    link.start()
    return EscalationHooks(link), link
