"""Retained messages that must go away once an escalation is over, durably.

A retained alert, re-alert or acknowledgement left on the broker after its escalation was
resolved shows up as an open alert on every supervisor console that starts later. So a
resolution is as durable as the alert itself: the topics to empty are an outbox item
(``esc.clear``, payload ``{"clear": [topic, ...]}``) written before anything is published,
published again at every reconnection until the broker has acknowledged (PUBACK) every
topic, and — because a broker killed within a second of it may lose even an acknowledged
clear — reconciled whenever the retained copies come back at subscription: each side clears
what it knows is over (the counselor its own alerts, every supervisor the acknowledgements).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from escalation.outbox import CLEAR, Outbox

log = logging.getLogger(__name__)


def clear_payload(topics: list[str]) -> bytes:
    return json.dumps({"clear": list(topics)}, separators=(",", ":")).encode()


def cleared_topics(payload: bytes) -> list[str]:
    try:
        d = json.loads(payload)
        topics = d["clear"]
    except (ValueError, KeyError, TypeError):
        return []
    return [t for t in topics if isinstance(t, str)] if isinstance(topics, list) else []


def clear_retained(link: Any, outbox: Outbox, item_id: str, topics: list[str]) -> None:
    """Queue (durably) and publish the clearing of ``topics``."""
    payload = clear_payload(topics)
    try:
        outbox.add(CLEAR, item_id, payload)
    except Exception:
        log.exception("could not queue the clearing of escalation topics; sending it anyway")
    publish_clear(link, outbox, item_id, payload)


def publish_clear(link: Any, outbox: Outbox, item_id: str, payload: bytes) -> None:
    """Publish empty retained messages; the item is done when the broker took every one."""
    topics = cleared_topics(payload)
    if not topics:
        outbox.mark_sent(item_id)
        return
    if link is None:
        return
    left = set(topics)
    lock = threading.Lock()

    def sent(topic: str, ok: bool) -> None:
        if not ok:
            log.error("the broker refused to clear a retained escalation topic (check the ACL)")
            return
        with lock:
            left.discard(topic)
            finished = not left
        if finished:
            outbox.mark_sent(item_id)

    for t in topics:
        link.publish(t, b"", qos=1, retain=True, on_sent=lambda ok, t=t: sent(t, ok))


def republish_clears(link: Any, outbox: Outbox) -> None:
    for p in outbox.pending(CLEAR):
        publish_clear(link, outbox, p.message_id, p.payload)
