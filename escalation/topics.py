"""The topic layout. Counselors write only under ``faro/v1/c/<their id>/`` and read only
``faro/v1/s/<their id>/``; supervisors read everything and write replies under ``faro/v1/s/``
(the broker's ACL enforces it: packaging/broker/acl). docs/escalation.md has the table.
"""

from __future__ import annotations

ROOT = "faro/v1"


def presence(counselor: str) -> str:
    return f"{ROOT}/c/{counselor}/presence"


def ring(counselor: str) -> str:
    return f"{ROOT}/c/{counselor}/ring"


def alert(counselor: str, escalation: str) -> str:
    return f"{ROOT}/c/{counselor}/esc/{escalation}/alert"


def realert(counselor: str, escalation: str) -> str:
    return f"{ROOT}/c/{counselor}/esc/{escalation}/realert"


def counselor_event(counselor: str, escalation: str) -> str:
    """Whispers and resolutions from the counselor."""
    return f"{ROOT}/c/{counselor}/esc/{escalation}/event"


def receipt(counselor: str, escalation: str) -> str:
    return f"{ROOT}/s/{counselor}/esc/{escalation}/receipt"


def ack(counselor: str, escalation: str) -> str:
    return f"{ROOT}/s/{counselor}/esc/{escalation}/ack"


def supervisor_event(counselor: str, escalation: str) -> str:
    """Whispers and resolutions from supervisors."""
    return f"{ROOT}/s/{counselor}/esc/{escalation}/event"


def supervisor_presence(supervisor: str) -> str:
    return f"{ROOT}/sup/{supervisor}/presence"


def counselor_transfer(counselor: str, transfer: str, leaf: str) -> str:
    """A counselor's transfer step (``request``, ``package``, ``accepted``): under its own
    subtree, read by supervisors only."""
    return f"{ROOT}/c/{counselor}/xfer/{transfer}/{leaf}"


def supervisor_transfer(counselor: str, transfer: str, leaf: str) -> str:
    """A supervisor's transfer step for ``counselor`` (``decision``, or a relayed
    ``package`` / ``accepted``): in that counselor's inbox (a persistent session)."""
    return f"{ROOT}/s/{counselor}/xfer/{transfer}/{leaf}"


def counselor_callback(counselor: str, callback: str, leaf: str) -> str:
    """A counselor's callback step (``package``, ``outcome``), read by supervisors only."""
    return f"{ROOT}/c/{counselor}/cb/{callback}/{leaf}"


def supervisor_callback(counselor: str, callback: str, leaf: str) -> str:
    """``state`` (retained: the queue's state of a callback of ``counselor``'s laptop),
    ``notice`` (that state, for an assignee) or a relayed ``package``."""
    return f"{ROOT}/s/{counselor}/cb/{callback}/{leaf}"


# subscriptions
def counselor_inbox(counselor: str) -> str:
    return f"{ROOT}/s/{counselor}/#"


def own_alerts(counselor: str) -> str:
    """A counselor reads its own retained alerts back, to reconcile them (escalation/reconcile.py)."""
    return f"{ROOT}/c/{counselor}/esc/+/alert"


def own_realerts(counselor: str) -> str:
    return f"{ROOT}/c/{counselor}/esc/+/realert"


ALL_PRESENCE = f"{ROOT}/c/+/presence"
ALL_RINGS = f"{ROOT}/c/+/ring"
ALL_ALERTS = f"{ROOT}/c/+/esc/+/alert"
ALL_REALERTS = f"{ROOT}/c/+/esc/+/realert"
ALL_COUNSELOR_EVENTS = f"{ROOT}/c/+/esc/+/event"
ALL_REPLIES = f"{ROOT}/s/#"
ALL_SUPERVISORS = f"{ROOT}/sup/+/presence"
ALL_COUNSELOR_TRANSFERS = f"{ROOT}/c/+/xfer/#"
ALL_COUNSELOR_CALLBACKS = f"{ROOT}/c/+/cb/#"


def parse(topic: str) -> tuple[str, str, str | None, str]:
    """(side 'c'|'s'|'sup', identity, escalation id or None, leaf). ValueError if foreign."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "faro" or parts[1] != "v1":
        raise ValueError("not a Faro topic")
    side, who = parts[2], parts[3]
    if len(parts) == 5:
        return side, who, None, parts[4]
    if len(parts) == 7 and parts[4] == "esc":
        return side, who, parts[5], parts[6]
    raise ValueError("not a Faro topic")


def parse_transfer(topic: str) -> tuple[str, str, str, str] | None:
    """(side 'c'|'s', identity, transfer id, leaf) of a transfer topic; None for any other."""
    parts = topic.split("/")
    if len(parts) == 7 and parts[:2] == ["faro", "v1"] and parts[4] == "xfer":
        if parts[2] in ("c", "s"):
            return parts[2], parts[3], parts[5], parts[6]
    return None


def parse_callback(topic: str) -> tuple[str, str, str, str] | None:
    """(side 'c'|'s', identity, callback id, leaf) of a callback topic; None for any other."""
    parts = topic.split("/")
    if len(parts) == 7 and parts[:2] == ["faro", "v1"] and parts[4] == "cb":
        if parts[2] in ("c", "s"):
            return parts[2], parts[3], parts[5], parts[6]
    return None
