"""A chat's quality figures travel as optional fields of the quality record
(escalation/messages.py): a newer console's record decodes on an older one (the extra keys
are ignored) and an older one's on a newer (the chat fields are None), and the call record's
own fields and bytes are unchanged when a record has no chat figures."""

from __future__ import annotations

import dataclasses
import json

import pytest

from escalation import messages as m
from tests.escalation.test_quality import _record

CHAT = dict(
    channel="chat",
    messages_in=14,
    messages_out=11,
    response_median_s=22.5,
    response_longest_s=95.0,
    longest_wait_s=140.0,
    message_share=0.46,
)
_CHAT_KEYS = set(CHAT)


def _older_decode(data: bytes) -> dict:
    """What a console from before the chat line kept of a record: the fields it knew."""
    d = json.loads(data)
    return {k: v for k, v in d.items() if k not in _CHAT_KEYS}


def test_a_chat_record_round_trips_with_its_figures():
    rec = _record(id="chat:abc123XYZ", audio=False, talk_share=None, **CHAT)
    back = m.decode(m.encode(rec))
    assert back == rec and back.channel == "chat" and back.message_share == 0.46


def test_a_call_record_is_byte_for_byte_an_old_record_plus_empty_chat_fields():
    rec = _record()
    d = json.loads(m.encode(rec))
    assert all(d[k] is None for k in _CHAT_KEYS)
    assert m.decode(m.encode(rec)) == rec


def test_an_older_consoles_record_decodes_here_with_no_chat_figures():
    old = _older_decode(m.encode(_record()))
    back = m.decode(json.dumps(old).encode())
    assert isinstance(back, m.QualityRecord)
    assert back.channel is None and back.messages_in is None and back.message_share is None


def test_a_newer_record_decodes_on_an_older_console():
    """An older decoder reads the keys it knows and ignores the rest: the same record
    without the chat fields decodes to the same call figures."""
    rec = _record(id="chat:abc123XYZ", **CHAT)
    newer = json.loads(m.encode(rec))
    newer["some_future_figure"] = 3  # and what a still newer one might add
    back = m.decode(json.dumps(newer).encode())
    assert dataclasses.replace(back, **dict.fromkeys(CHAT)) == dataclasses.replace(
        rec, **dict.fromkeys(CHAT)
    )


@pytest.mark.parametrize(
    "field,bad", [("message_share", 1.5), ("messages_in", -1), ("channel", "Chat!")]
)
def test_malformed_chat_figures_are_refused(field, bad):
    d = json.loads(m.encode(_record(**CHAT)))
    d[field] = bad
    with pytest.raises(m.MessageError):
        m.decode(json.dumps(d).encode())


def _decoder_before_the_chat_line():
    """escalation/messages.py as it was before the chat fields (from git), loaded apart."""
    import importlib.util
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    try:
        text = subprocess.run(
            ["git", "show", "27e6797:escalation/messages.py"],
            cwd=root,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no git history here to load the older decoder from")
    spec = importlib.util.spec_from_loader("faro_old_messages", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["faro_old_messages"] = module  # dataclasses look their module up
    try:
        exec(compile(text, "old_messages.py", "exec"), module.__dict__)  # noqa: S102 (our own file)
    finally:
        sys.modules.pop("faro_old_messages", None)
    return module


def test_the_older_decoder_itself_reads_a_newer_chat_record():
    old = _decoder_before_the_chat_line()
    rec = _record(id="chat:abc123XYZ", audio=False, talk_share=None, **CHAT)
    back = old.decode(m.encode(rec))
    assert back.id == rec.id and back.duration_s == rec.duration_s and back.risk == rec.risk
    assert not hasattr(back, "message_share")
    # and what the older console sends, this one reads
    older = old.encode(
        old.QualityRecord(
            **{f.name: getattr(rec, f.name) for f in dataclasses.fields(old.QualityRecord)}
        )
    )
    assert m.decode(older).channel is None
