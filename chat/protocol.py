"""The chat line's protocol on XMPP (docs/chat.md "Protocol"): one extension element,
``<faro xmlns="urn:faro:chat:1" kind="…" …/>``, on ordinary ``<message>`` and ``<presence>``
stanzas, beside the standard XEPs for what they already do well: delivery receipts
(XEP-0184), read markers (XEP-0333 ``displayed``), typing (XEP-0085 chat states) and stable
ids (XEP-0359 ``origin-id``).

Parties: the person writing (a guest JID on ``guest.<domain>``, the web widget), the router
(the component ``router.<domain>``, chat/router.py) and each counselor's console
(``<counselor>@<domain>``, chat/client.py). Nobody talks to anybody but the router: the person
never learns a counselor's address, a counselor never learns the person's.

Forward compatible by rule: a receiver ignores attributes, child elements and ``kind`` values
it does not know (tests check both sides).

Person ↔ router (kinds): ``hello`` (session, lang, version) → ``state`` (state, position,
wait_s, reason); text is a plain ``<body>`` message with an id, ``seq`` and a receipt request;
``bye`` (the person left, or pressed the quick exit).

Counselor ↔ router (kinds): directed presence with ``ready`` (capacity, busy, chats);
``offer`` (chat, waited_s, lang, expires_s) → ``accept`` | ``decline`` → ``assigned`` |
``withdrawn``; ``msg`` (chat, mid, seq, at) with the text as ``<body>``; ``received`` and
``read`` (chat, mid); ``typing`` (chat, state composing|paused); ``end`` → ``ended`` (chat,
reason); ``refused`` (mid, reason) for a message the router will not carry.

The stanzas exactly (as chat/router.py and tests/support/chat_peers.py speak them):

- hello: ``<presence to="router.D"><faro kind="hello" session="…" lang="es" version="1"/>``
  (directed presence, so the server tells the router when the tab goes away; a ``<message>``
  with the same element is accepted too). Said again after every reconnection, with the same
  session (the new anonymous JID is mapped back to the chat); an error presence back means the
  router is not there yet: say it again shortly.
- the person's text: ``<message id="MID"><body>…</body><request xmlns="urn:xmpp:receipts"/>
  <origin-id xmlns="urn:xmpp:sid:0" id="MID"/><faro kind="msg" seq="N"/></message>``; the
  receipt ``<received xmlns="urn:xmpp:receipts" id="MID"/>`` comes only when the counselor's
  console has it. Unreceipted messages are resent with the same MID after a reconnection.
- to the person: ``<message id="MID">`` with ``<body>``, a receipt request, ``markable``,
  ``origin-id`` and ``<faro kind="msg" mid seq at/>``; the person answers ``<received/>`` and,
  once shown, ``<displayed xmlns="urn:xmpp:chat-markers:0" id="MID"/>``; typing both ways is
  ``<composing/>``/``<paused/>`` (chat states). Refusals: ``<faro kind="refused" mid reason/>``.
- counselor: ``<presence to="router.D"><faro kind="ready" capacity="N" busy="0|1"
  chats="ID ID"/>``, sent at every session start, whenever it changes, and again when the
  router's own presence arrives (the router is back after a restart) or after an error
  presence. A chat the router had given this console and that is not in ``chats`` is taken
  as lost (reassigned); a listed chat the router does not know gets ``ended unknown_chat``.
- ``at`` is the router's arrival time, ISO 8601 UTC with milliseconds (``…Z``).
"""

from __future__ import annotations

import re
import unicodedata

from slixmpp.xmlstream import ElementBase

NS = "urn:faro:chat:1"
VERSION = 1

# -- kinds ---------------------------------------------------------------------------------------
HELLO, STATE, BYE = "hello", "state", "bye"
READY, OFFER, ACCEPT, DECLINE, ASSIGNED, WITHDRAWN = (
    "ready",
    "offer",
    "accept",
    "decline",
    "assigned",
    "withdrawn",
)
MSG, RECEIVED, READ, TYPING, END, ENDED, REFUSED = (
    "msg",
    "received",
    "read",
    "typing",
    "end",
    "ended",
    "refused",
)
KINDS = (
    HELLO,
    STATE,
    BYE,
    READY,
    OFFER,
    ACCEPT,
    DECLINE,
    ASSIGNED,
    WITHDRAWN,
    MSG,
    RECEIVED,
    READ,
    TYPING,
    END,
    ENDED,
    REFUSED,
)

# -- what the person's widget is told (``state``) ------------------------------------------------
WAITING = "waiting"  # in the queue: position, wait_s
CONNECTED = "connected"  # a counselor has the chat
REASSIGNING = "reassigning"  # the counselor's console was lost: back at the head of the queue
CLOSED = "closed"  # the chat ended (reason: by_counselor, by_person, idle, server)
ELSEWHERE = "elsewhere"  # this tab was replaced by another tab of the same session
STATES = (WAITING, CONNECTED, REASSIGNING, CLOSED, ELSEWHERE)

#: why a chat ended or a message was refused (codes only; each side has words for them)
REASONS = (
    "by_counselor",
    "by_person",
    "quick_exit",
    "idle",
    "server",
    "counselor_lost",
    "too_long",
    "too_fast",
    "not_text",
    "unknown_chat",
    "queue_full",
    # added with the router (chat/router.py)
    "person_lost",  # the person's tab went away without a goodbye and did not come back
    "expired",  # withdrawn: an offer not accepted in time (offered to the next counselor)
    "taken",  # withdrawn: accepted too late, another counselor has it
    "busy",  # withdrawn: the counselor became busy (a call, a break, the notes locked)
)

#: the longest message either side may send, in characters (a longer one is refused whole,
#: never cut: a cut message could change its meaning)
MAX_BODY = 2000
_SESSION = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_CHAT = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_MID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


class FaroChat(ElementBase):
    """``<faro xmlns="urn:faro:chat:1" …/>`` (attributes only; unknown ones are ignored)."""

    name = "faro"
    namespace = NS
    plugin_attrib = "faro"
    interfaces = {
        "kind",
        "version",
        "session",
        "lang",
        "state",
        "position",
        "wait_s",
        "reason",
        "capacity",
        "busy",
        "chats",
        "chat",
        "mid",
        "seq",
        "at",
        "waited_s",
        "expires_s",
    }


def register(xmpp_stanza_classes: tuple[type, ...] | None = None) -> None:
    """Register :class:`FaroChat` on Message and Presence (idempotent)."""
    from slixmpp import Message, Presence
    from slixmpp.xmlstream import register_stanza_plugin

    for cls in xmpp_stanza_classes or (Message, Presence):
        register_stanza_plugin(cls, FaroChat)


def valid_session(token: str) -> bool:
    return bool(_SESSION.match(token or ""))


def valid_chat(chat_id: str) -> bool:
    return bool(_CHAT.match(chat_id or ""))


def valid_mid(mid: str) -> bool:
    return bool(_MID.match(mid or ""))


def clean_text(text: str) -> tuple[str | None, str]:
    """A message's text as it may travel, or (None, reason): control characters other than
    newline and tab are refused (``not_text``, a binary payload), longer than
    :data:`MAX_BODY` is refused (``too_long``), empty is refused (``not_text``). Markup is
    kept as the characters it is: every view renders plain text only."""
    if not isinstance(text, str):
        return None, "not_text"
    text = unicodedata.normalize("NFC", text)
    # controls and lone surrogates only: a newer emoji than this Python knows is still text
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in text):
        return None, "not_text"
    if not text.strip():
        return None, "not_text"
    if len(text) > MAX_BODY:
        return None, "too_long"
    return text, ""
