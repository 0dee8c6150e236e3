"""Chat transcripts in the case store (docs/chat.md "Transcripts").

A chat is a contact like a call: its row in ``contacts`` has the channel ``chat`` (written
from a ``calls.model.Call`` snapshot by :meth:`CaseStore.record_call_in`, the same code as a
call's), so notes, risk assessments, escalations, the wrap-up and retention attach to it
unchanged. Its messages are rows of ``chat_messages`` (schema v10): each message once
(``chat``, ``mid``, ``direction``; a repeat changes nothing), the router's order (``seq``),
and the furthest delivery state the console was told (sent → received → read; refused).

Everything here runs on the store's writer thread (writes) or its reader (the transcript,
an audited view). The text never reaches a log: exceptions and audit details carry ids and
counts only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlcipher3

from storage.store import CaseStore

#: the channel of a chat's contact row
CHANNEL = "chat"
DIRECTIONS = ("in", "out")
#: delivery states in the order a message goes through them (refused: the router would not
#: carry it, final)
DELIVERY_ORDER = ("", "sent", "received", "read")
REFUSED = "refused"


def contact_id(chat: str) -> str:
    """The contact id of the chat ``chat`` (the router's id, prefixed: never a call's)."""
    return f"chat:{chat}"


def chat_of(contact: str) -> str | None:
    """The router's chat id of a chat contact's id (None for any other contact)."""
    return contact[5:] if contact.startswith("chat:") else None


@dataclasses.dataclass(frozen=True, slots=True)
class ChatLine:
    """One message of a transcript as it is kept (``text`` is the plain text, personal data:
    it is shown to the counselor and sealed in the store, never logged)."""

    contact_id: str
    chat: str
    mid: str
    direction: str
    text: str
    at: str  # ISO UTC (storage.records.iso)
    seq: int | None = None
    delivery: str = ""
    reason: str = ""

    def __repr__(self) -> str:  # the text stays out of tracebacks and logs
        return (
            f"ChatLine({self.contact_id!r}, mid={self.mid!r}, {self.direction}, "
            f"seq={self.seq}, delivery={self.delivery!r})"
        )


def _advance(old: str, new: str) -> bool:
    """Whether ``new`` moves a message's delivery state on from ``old`` (never back)."""
    if old == REFUSED:
        return False
    if new == REFUSED:
        return old in ("", "sent")
    if new not in DELIVERY_ORDER:
        return False
    return DELIVERY_ORDER.index(new) > DELIVERY_ORDER.index(old)


def add_messages_in(store: CaseStore, db: sqlcipher3.Connection, lines: list[ChatLine]) -> int:
    """Insert ``lines`` (writer thread, one transaction); returns how many were new. The
    contact row of each chat is made if missing (a message before the offer was written)."""
    added = 0
    for line in lines:
        if line.direction not in DIRECTIONS:
            raise ValueError(f"direction {line.direction!r}")
        store._ensure_contact(db, line.contact_id)  # noqa: SLF001 (the store's own package)
        cur = db.execute(
            "INSERT OR IGNORE INTO chat_messages(contact_id, chat, mid, direction, text, at, "
            "seq, delivery, reason) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                line.contact_id,
                line.chat,
                line.mid,
                line.direction,
                line.text,
                line.at,
                line.seq,
                line.delivery,
                line.reason,
            ),
        )
        if cur.rowcount == 1:
            added += 1
        elif line.seq is not None:  # a repeat that now knows the router's order
            db.execute(
                "UPDATE chat_messages SET seq=? WHERE chat=? AND mid=? AND direction=? "
                "AND seq IS NULL",
                (line.seq, line.chat, line.mid, line.direction),
            )
    return added


def set_delivery_in(
    db: sqlcipher3.Connection, chat: str, mid: str, state: str, at: str, reason: str = ""
) -> bool:
    """Move the counselor's message ``mid`` of ``chat`` on to ``state`` (never back: a late
    "received" after "read" changes nothing). False when nothing changed or the message is
    not kept (yet)."""
    row = db.execute(
        "SELECT delivery FROM chat_messages WHERE chat=? AND mid=? AND direction='out'",
        (chat, mid),
    ).fetchone()
    if row is None or not _advance(row[0], state):
        return False
    db.execute(
        "UPDATE chat_messages SET delivery=?, delivery_at=?, reason=? "
        "WHERE chat=? AND mid=? AND direction='out'",
        (state, at, reason, chat, mid),
    )
    return True


_COLUMNS = "contact_id, chat, mid, direction, text, at, seq, delivery, reason"


def transcript(store: CaseStore, contact: str) -> list[ChatLine]:
    """The messages of a chat contact in the router's order (a message without a ``seq``
    where it was written). Audited as a view (``chat.view``), like a note."""
    rows = store._read(  # noqa: SLF001 (the store's own package)
        f"SELECT {_COLUMNS} FROM chat_messages WHERE contact_id=? ORDER BY COALESCE(seq, 1e18), id",
        (contact,),
    )
    store.audit("chat.view", contact, {"messages": len(rows)}, wait=False)
    return [ChatLine(*r) for r in rows]


def message_times(store: CaseStore, contacts: list[str]) -> dict[str, list[tuple[str, str, int]]]:
    """For the figures: per contact its messages' (direction, at, length), in order; no text."""
    if not contacts:
        return {}
    marks = ",".join("?" * len(contacts))
    rows = store._read(  # noqa: SLF001 (the store's own package)
        f"SELECT contact_id, direction, at, length(text) FROM chat_messages "
        f"WHERE contact_id IN ({marks}) ORDER BY contact_id, COALESCE(seq, 1e18), id",
        contacts,
    )
    out: dict[str, list[tuple[str, str, int]]] = {}
    for cid, direction, at, length in rows:
        out.setdefault(cid, []).append((direction, at, int(length or 0)))
    return out


def summary(lines: list[ChatLine]) -> dict[str, Any]:
    """Counts only (for audit details and logs): never the text."""
    return {
        "in": sum(1 for x in lines if x.direction == "in"),
        "out": sum(1 for x in lines if x.direction == "out"),
    }
