"""Chat transcripts in a real SQLCipher store (storage/transcripts.py, schema v10): a chat is a
contact with the channel ``chat`` written like a call's row; its messages are kept once each,
in the router's order, with the furthest delivery state; the text is encrypted with the rest,
purged with its contact and never in the audit log; the chat's quality figures."""

from __future__ import annotations

import dataclasses
import datetime as dt

from calls.model import Call, EndedBy
from core.privacy import Personal
from storage import figures, transcripts
from storage.transcripts import ChatLine, contact_id

SECRET = "me quiero morir <b>hoy</b> https://example.org"


def _chat_call(fake_clock, chat: str = "chat0001abc", **kw) -> Call:
    now = fake_clock.now()
    return Call(
        contact_id(chat),
        transcripts.CHANNEL,
        Personal(""),
        now - dt.timedelta(seconds=40),  # the person started waiting 40 s before the offer
        fake_clock.monotonic(),
        answered_at=now,
        **kw,
    )


def _line(fake_clock, mid: str, direction: str, text: str, seq: int | None, chat="chat0001abc"):
    return ChatLine(contact_id(chat), chat, mid, direction, text, fake_clock.now().isoformat(), seq)


def test_a_chat_is_a_contact_with_its_transcript_in_order(store, fake_clock):
    call = _chat_call(fake_clock)
    store.record_contact(call)
    row = store.contact(call.id)
    assert row["channel"] == "chat" and row["answered_at"] and row["caller"] in (None, "")
    fake_clock.advance(5)
    assert store.keep_chat_messages([_line(fake_clock, "g1", "in", SECRET, 2)]) == 1
    fake_clock.advance(5)
    # a message written before it knew the router's order, then the order
    store.keep_chat_messages([_line(fake_clock, "c1", "out", "Hola, aquí estoy.", None)])
    store.keep_chat_messages([_line(fake_clock, "c1", "out", "Hola, aquí estoy.", 3)])
    store.keep_chat_messages([_line(fake_clock, "g0", "in", "hola", 1)])
    # a repeat (a reconnection replays the message) changes nothing
    assert store.keep_chat_messages([_line(fake_clock, "g1", "in", SECRET, 2)]) == 0
    lines = store.chat_transcript(call.id)
    assert [(x.mid, x.direction, x.seq) for x in lines] == [
        ("g0", "in", 1),
        ("g1", "in", 2),
        ("c1", "out", 3),
    ]
    assert lines[1].text == SECRET  # markup and links kept as the characters they are
    assert SECRET not in repr(lines)  # never in a traceback or a log line


def test_delivery_only_moves_on(store, fake_clock):
    store.record_contact(_chat_call(fake_clock))
    store.keep_chat_messages([_line(fake_clock, "c1", "out", "¿Sigues ahí?", 1)])
    at = fake_clock.now()
    assert store.set_chat_delivery("chat0001abc", "c1", "sent", at)
    assert store.set_chat_delivery("chat0001abc", "c1", "read", at)
    assert not store.set_chat_delivery("chat0001abc", "c1", "received", at)  # late: ignored
    assert not store.set_chat_delivery("chat0001abc", "c1", "refused", at, "too_fast")
    assert not store.set_chat_delivery("chat0001abc", "nope", "read", at)  # not kept
    assert store.chat_transcript(contact_id("chat0001abc"))[0].delivery == "read"
    store.keep_chat_messages([_line(fake_clock, "c2", "out", "x" * 10, 2)])
    assert store.set_chat_delivery("chat0001abc", "c2", "refused", at, "too_long")
    (line,) = [x for x in store.chat_transcript(contact_id("chat0001abc")) if x.mid == "c2"]
    assert (line.delivery, line.reason) == ("refused", "too_long")


def test_the_text_is_encrypted_audited_as_a_view_and_purged_with_its_contact(
    store, fake_clock, data_dir
):
    call = _chat_call(fake_clock)
    store.record_contact(call)
    store.keep_chat_messages([_line(fake_clock, "g1", "in", SECRET, 1)])
    store.chat_transcript(call.id)
    store.flush()
    cs = store.vault.store
    audit = cs._read("SELECT action, subject, detail FROM audit")
    assert ("chat.view", call.id) in [(a, s) for a, s, _d in audit]
    assert not any(SECRET in d or "morir" in d for _a, _s, d in audit)
    store.lock("user")
    raw = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert b"morir" not in raw and b"example.org" not in raw
    store.unlock(_pass())
    cs = store.vault.store

    def delete(db):
        db.execute("DELETE FROM contacts WHERE id=?", (call.id,))

    cs._write(delete, "test")
    assert store.chat_transcript(call.id) == []


def _pass():
    from tests.support.storage_helpers import PASS

    return PASS


def test_chat_figures_response_times_longest_wait_and_balance(fake_clock):
    t0 = fake_clock.now()

    def at(s: float) -> dt.datetime:
        return t0 + dt.timedelta(seconds=s)

    f = figures.chat_figures(
        [
            ("out", at(10), 20),  # the greeting, 10 s after accepting
            ("in", at(20), 60),
            ("in", at(30), 20),  # still waiting since 20
            ("out", at(80), 40),  # 60 s after the first unanswered message
            ("in", at(90), 20),  # never answered: 30 s until the end
        ],
        arrived_at=at(-45),
        answered_at=at(0),
        ended_at=at(120),
    )
    assert f["messages_in"] == 3 and f["messages_out"] == 2
    assert f["response_median_s"] == 35.0 and f["response_longest_s"] == 60.0
    assert f["longest_wait_s"] == 60.0  # the queue was 45 s, the tail 30 s
    assert f["unanswered"] is True
    assert f["message_share"] == round(60 / 160, 3)
    quiet = figures.chat_figures([], arrived_at=at(0), answered_at=at(5), ended_at=at(9))
    assert quiet["response_median_s"] is None and quiet["longest_wait_s"] == 5.0
    assert quiet["message_share"] is None and quiet["unanswered"] is False


def test_my_calls_give_a_chat_its_figures_and_a_call_none(store, fake_clock):
    from tests.storage.test_reports import add_contact

    add_contact(store, fake_clock, "call1", 10, "support", 0.6)
    call = _chat_call(fake_clock)
    store.record_contact(call)
    fake_clock.advance(12)
    store.keep_chat_messages([_line(fake_clock, "c1", "out", "Hola", 1)])
    fake_clock.advance(30)
    ended = dataclasses.replace(
        call, ended_at=fake_clock.now(), ended_by=EndedBy.CALLER, disposition="support"
    )
    store.record_contact(ended, save_note=True)
    since = fake_clock.now() - dt.timedelta(days=1)
    rows = figures.my_calls(store.vault.store, since, fake_clock.now() + dt.timedelta(hours=1))
    by_id = {r["contact_id"]: r for r in rows}
    assert by_id[call.id]["channel"] == "chat" and by_id[call.id]["messages_out"] == 1
    assert by_id[call.id]["response_median_s"] == 12.0 and by_id[call.id]["audio"] is False
    assert by_id[call.id]["disposition"] == "support"
    assert "messages_out" not in by_id["call1"] and by_id["call1"]["talk_share"] == 0.6
