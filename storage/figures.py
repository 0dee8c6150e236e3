"""Per-call quality figures, derived from the case store's records (docs/quality.md).

One definition, used on both ends:

- :func:`call_figures` turns one contact's call-health figures (audio/metrics.py, kept with
  the contact) and its wrap-up (disposition, risk assessment, follow-ups) into the numbers,
  codes and booleans of a quality record. No note text, no comment, no caller number: there
  is no field for them.
- :func:`chat_figures`: a chat's figures instead of the voice ones (docs/chat.md "Quality
  figures"): response time per message, the person's longest wait, the message balance.
  They are derived from the times, directions and lengths of its messages, never the text;
  a call's figures and record are unchanged (the chat keys are extra).
- :func:`contact_figures` / :func:`my_calls`: the counselor's own calls with their figures,
  from their own store ("My figures": works offline, nothing is sent).
- :func:`next_seq`: the counselor laptop's own count of the records it made, so a
  counselor's calls keep their order whatever its wall clock says.
- :func:`keep_quality_record`, :func:`mark_for_debrief`, :func:`quality_records`: a
  supervisor's copy of the records it received (idempotent by id) and its review marks.
  They live in the ``settings`` table under ``quality.rec.<id>`` (no schema change: a later
  migration may give them a table; the keys say what they are).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from typing import Any

import sqlcipher3

from storage.records import iso, parse_iso
from storage.reports import LEVELS, _health, _seconds, risk_levels
from storage.store import CaseStore

#: risk levels that make a call "high-risk" for the wellbeing figures
HIGH_RISK = ("high", "imminent")
_SEQ_KEY = "quality.seq"
_REC_PREFIX = "quality.rec."
#: the figures of a record, with their types (numbers may be None without audio)
FIGURE_KEYS = (
    "duration_s",
    "audio",
    "talk_share",
    "interruptions",
    "caller_interruptions",
    "longest_caller_silence_s",
    "muted_speech",
    "overlap_s",
    "disposition",
    "assessed",
    "risk",
    "follow_up",
)


#: the figures a chat adds to its record (None, or absent, for a call)
CHAT_FIGURE_KEYS = (
    "messages_in",
    "messages_out",
    "response_median_s",
    "response_longest_s",
    "longest_wait_s",
    "message_share",
    "unanswered",
)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def call_figures(
    health: dict[str, Any] | None,
    *,
    duration_s: float | None,
    disposition: str | None,
    risk_level: str | None,
    follow_up: bool,
) -> dict[str, Any]:
    """The quality figures of one call (docs/quality.md has each one's definition)."""
    h = health or {}
    overlap: float | None = None
    timeline = h.get("timeline")
    if isinstance(timeline, dict) and isinstance(timeline.get("both_s"), list):
        overlap = round(sum(float(x) for x in timeline["both_s"] if _num(x) is not None), 2)
    share = _num(h.get("talk_ratio"))
    # audio: frames were measured (a record without ``audio_s`` has audio if it has talk)
    audio_s = _num(h.get("audio_s"))
    audio = bool(health) and (audio_s > 0 if audio_s is not None else share is not None)
    silence = _num(h.get("longest_caller_silence_s"))
    return {
        "duration_s": round(duration_s, 1) if duration_s is not None else 0.0,
        "audio": audio,
        "talk_share": round(share, 3) if audio and share is not None else None,
        "interruptions": _count(h.get("interruptions_by_counselor")) if audio else None,
        "caller_interruptions": _count(h.get("interruptions_by_caller")) if audio else None,
        "longest_caller_silence_s": round(silence, 1) if audio and silence is not None else None,
        "muted_speech": _count(h.get("muted_speech_warnings")) if audio else None,
        "overlap_s": overlap if audio else None,
        "disposition": disposition or None,
        "assessed": risk_level is not None,
        "risk": risk_level if risk_level in LEVELS else "unknown",
        "follow_up": bool(follow_up),
    }


def chat_figures(
    messages: list[tuple[str, dt.datetime, int]],
    *,
    arrived_at: dt.datetime | None,
    answered_at: dt.datetime | None,
    ended_at: dt.datetime | None,
) -> dict[str, Any]:
    """A chat's figures from its messages ``(direction, at, length)`` in order:

    - a *response time* runs from the first message of the person that is not answered yet
      (or from the counselor's accepting the chat, for the greeting) to the counselor's next
      message; ``response_median_s`` and ``response_longest_s`` are over the chat's ones;
    - ``longest_wait_s``: the longest the person waited for a word: in the queue (arrival
      to acceptance), for a response, or at the end for an answer that never came
      (``unanswered`` then);
    - ``message_share``: the counselor's share of the characters written (0..1), the chat's
      talk share.
    """
    pending: dt.datetime | None = answered_at
    responses: list[float] = []
    chars = {"in": 0, "out": 0}
    count = {"in": 0, "out": 0}
    for direction, at, length in messages:
        if direction not in chars:
            continue
        chars[direction] += max(0, length)
        count[direction] += 1
        if direction == "in" and pending is None:
            pending = at
        elif direction == "out" and pending is not None:
            responses.append(max(0.0, (at - pending).total_seconds()))
            pending = None
    waits = list(responses)
    if arrived_at is not None and answered_at is not None:
        waits.append(max(0.0, (answered_at - arrived_at).total_seconds()))
    unanswered = pending is not None and count["in"] > 0
    if pending is not None and unanswered and ended_at is not None:
        waits.append(max(0.0, (ended_at - pending).total_seconds()))
    total = chars["in"] + chars["out"]
    return {
        "messages_in": count["in"],
        "messages_out": count["out"],
        "response_median_s": round(statistics.median(responses), 1) if responses else None,
        "response_longest_s": round(max(responses), 1) if responses else None,
        "longest_wait_s": round(max(waits), 1) if waits else None,
        "message_share": round(chars["out"] / total, 3) if total else None,
        "unanswered": bool(unanswered),
    }


def chat_contact_figures(store: CaseStore, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
    """:func:`chat_figures` of each chat contact in ``contact_ids``, from the store."""
    from storage import transcripts

    if not contact_ids:
        return {}
    marks = ",".join("?" * len(contact_ids))
    rows = store._read(  # noqa: SLF001 (see _calls)
        f"SELECT id, rung_at, answered_at, ended_at FROM contacts WHERE id IN ({marks})",
        contact_ids,
    )
    times = transcripts.message_times(store, contact_ids)
    out: dict[str, dict[str, Any]] = {}
    for cid, rung, answered, ended in rows:
        out[cid] = chat_figures(
            [(d, parse_iso(at), n) for d, at, n in times.get(cid, [])],
            arrived_at=parse_iso(rung) if rung else None,
            answered_at=parse_iso(answered) if answered else None,
            ended_at=parse_iso(ended) if ended else None,
        )
    return out


def contact_figures(store: CaseStore, contact_id: str) -> dict[str, Any] | None:
    """The figures of one contact of the store (None: no such contact)."""
    calls = _calls(store, "id=?", (contact_id,))
    return calls[0] if calls else None


def my_calls(store: CaseStore, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """This store's counselor's answered contacts that ended in ``[since, until)``, in the
    order the laptop recorded them (not by wall clock), each with its figures and
    ``contact_id``, ``ended_at`` (ISO UTC)."""
    return _calls(
        store,
        "counselor_id=? AND answered_at IS NOT NULL AND ended_at>=? AND ended_at<?",
        (store.counselor_id, iso(since), iso(until)),
    )


def _calls(store: CaseStore, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    rows = store._read(  # a reader of the store's own package  # noqa: SLF001
        f"SELECT id, answered_at, ended_at, disposition, health, channel FROM contacts "
        f"WHERE {where} "
        "ORDER BY rowid",
        args,
    )
    ids = [r[0] for r in rows]
    levels = risk_levels(store, ids)
    with_follow_up = set(_follow_up_contacts(store, ids))
    chats = chat_contact_figures(store, [r[0] for r in rows if r[5] == "chat"])
    out = []
    for cid, answered, ended, disposition, health, channel in rows:
        figures = call_figures(
            _health(health),
            duration_s=_seconds(answered, ended),
            disposition=disposition,
            risk_level=(levels[cid][0] or None) if cid in levels else None,
            follow_up=cid in with_follow_up,
        )
        out.append(
            {
                "contact_id": cid,
                "ended_at": ended,
                "channel": channel,
                **figures,
                **chats.get(cid, {}),
            }
        )
    return out


def _follow_up_contacts(store: CaseStore, ids: list[str]) -> list[str]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = store._read(  # noqa: SLF001 (see _calls)
        f"SELECT DISTINCT contact_id FROM follow_ups WHERE contact_id IN ({marks})", ids
    )
    return [r[0] for r in rows]


# -- the counselor's order of records -------------------------------------------------------------
def next_seq(store: CaseStore) -> int:
    """1, 2, 3…: the number of quality records this laptop's store has made (kept in it)."""

    def write(db: sqlcipher3.Connection) -> int:
        row = db.execute("SELECT value FROM settings WHERE key=?", (_SEQ_KEY,)).fetchone()
        n = int(json.loads(row[0])) + 1 if row else 1
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (_SEQ_KEY, json.dumps(n)),
        )
        return n

    n: int = store._write(write, "quality sequence")  # noqa: SLF001 (see _calls)
    return n


# -- a supervisor's copy ------------------------------------------------------------------------
def keep_quality_record(store: CaseStore, record: dict[str, Any]) -> bool:
    """Keep a received record (the message's fields, plus ``received_at`` and
    ``offset_s``); False when its id is kept already (a repeat: nothing changes)."""
    key = _REC_PREFIX + str(record["id"])
    text = json.dumps(record, sort_keys=True)

    def write(db: sqlcipher3.Connection) -> bool:
        cur = db.execute("INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)", (key, text))
        if cur.rowcount == 1:
            store._audit(  # noqa: SLF001 (see _calls)
                db, "quality.record", str(record["id"]), {"counselor": record.get("counselor")}
            )
        return cur.rowcount == 1

    kept: bool = store._write(write, "quality record")  # noqa: SLF001 (see _calls)
    return kept


def mark_for_debrief(store: CaseStore, record_id: str, by: str, at: dt.datetime) -> bool:
    """Mark a kept record for a debrief (the first mark stays); False if there is no such
    record or it was marked already."""
    key = _REC_PREFIX + record_id

    def write(db: sqlcipher3.Connection) -> bool:
        row = db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        if row is None:
            return False
        record = json.loads(row[0])
        if record.get("marked_at"):
            return False
        record["marked_at"], record["marked_by"] = iso(at), by
        db.execute(
            "UPDATE settings SET value=? WHERE key=?", (json.dumps(record, sort_keys=True), key)
        )
        store._audit(db, "quality.debrief_mark", record_id, {"by": by})  # noqa: SLF001
        return True

    marked: bool = store._write(write, "quality mark")  # noqa: SLF001 (see _calls)
    return marked


def quality_records(store: CaseStore) -> list[dict[str, Any]]:
    """Every kept record (dicts as kept), in no particular order."""
    rows = store._read(  # noqa: SLF001 (see _calls)
        "SELECT value FROM settings WHERE key >= ? AND key < ?", (_REC_PREFIX, _REC_PREFIX + "\x7f")
    )
    out = []
    for (text,) in rows:
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out
