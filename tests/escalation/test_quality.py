"""Quality records, review marks and break requests on a real broker with real encrypted
stores: consent off → nothing leaves; consent on → one record at the supervisor even across a
supervisor offline and a broker restart; a laptop whose clock is hours off still puts its
calls in the right week and shift, in their order; a debrief mark reaches the counselor once;
a break request reaches supervisors only; the messages carry codes and numbers only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from calls.events import WrapUpFinished
from calls.model import Call
from core.clock import SystemClock
from core.config import Config
from core.privacy import Personal
from escalation import events as ev
from escalation import messages as m
from escalation import quality, quality_stats, topics
from storage import figures
from tests.support.escalation_apps import start_connected
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(180)

PASS = "una frase larga de prueba"
NUMBER = "5512345678"
T = dt.datetime(2026, 11, 21, 3, 12, tzinfo=dt.UTC)
HEALTH = {
    "duration_s": 600.0,
    "audio_s": 590.0,
    "talk_ratio": 0.42,
    "interruptions_by_counselor": 2,
    "interruptions_by_caller": 1,
    "longest_caller_silence_s": 31.5,
    "muted_speech_warnings": 1,
    "timeline": {
        "bucket_s": 10.0,
        "counselor_s": [4.0, 5.0],
        "caller_s": [5.0, 4.0],
        "both_s": [1.0, 0.5],
        "muted": [False, False],
        "on_hold": [False, False],
    },
}


class SkewedClock(SystemClock):
    """A laptop whose wall clock is ``offset`` off (its monotonic clock is fine)."""

    def __init__(self, offset: dt.timedelta) -> None:
        super().__init__()
        self.offset = offset

    def now(self) -> dt.datetime:
        return super().now() + self.offset


def _record(**kw):
    base = dict(
        id="c0ffee",
        counselor="c-alba",
        seq=1,
        ended_at=T,
        duration_s=600.0,
        audio=True,
        talk_share=0.42,
        interruptions=2,
        caller_interruptions=1,
        longest_caller_silence_s=31.5,
        muted_speech=1,
        overlap_s=1.5,
        disposition="referral",
        assessed=True,
        risk="high",
        follow_up=True,
        breaks=1,
        break_s=600.0,
        at=T,
    )
    base.update(kw)
    return m.QualityRecord(**base)


# -- the messages ---------------------------------------------------------------------------
def test_quality_messages_round_trip_with_numbers_and_codes_only():
    rec = _record()
    assert m.decode(m.encode(rec)) == rec
    silent = _record(audio=False, talk_share=None, interruptions=None, overlap_s=None)
    assert m.decode(m.encode(silent)) == silent
    d = json.loads(m.encode(rec))
    assert all(isinstance(v, int | float | bool | str) or v is None for v in d.values())
    for field, bad in (
        ("disposition", "llamó su hermana Lucía"),  # no free text fits a code
        ("talk_share", 1.5),
        ("interruptions", -1),
        ("risk", "very"),
        ("id", "55 1234 5678"),
    ):
        with pytest.raises(m.MessageError):
            m.decode(json.dumps({**d, field: bad}).encode())
    d["later_field"] = {"x": 1}  # a newer console's field is ignored
    assert m.decode(json.dumps(d).encode()) == rec
    mark = m.DebriefMark("k1", "c0ffee", "c-alba", "sup-ana", T, T)
    assert m.decode(m.encode(mark)) == mark
    care = m.CareRequest("q1", "c-alba", "break", T)
    assert m.decode(m.encode(care)) == care
    with pytest.raises(m.MessageError):
        m.decode(m.encode(dataclasses.replace(care, kind="lunch")))


def test_an_older_console_drops_quality_types_and_topics(monkeypatch):
    data = m.encode(_record())
    monkeypatch.setattr(m, "_TYPES", {k: v for k, v in m._TYPES.items() if "quality" not in k})
    with pytest.raises(m.MessageError):
        m.decode(data)
    with pytest.raises(ValueError):  # and the topic is not one an older console parses
        topics.parse(quality.counselor_topic("c-alba", "c0ffee", "record"))


def test_call_figures_are_derived_from_health_and_wrap_up_only():
    f = figures.call_figures(
        HEALTH, duration_s=600.0, disposition="referral", risk_level="high", follow_up=True
    )
    assert f == {
        "duration_s": 600.0,
        "audio": True,
        "talk_share": 0.42,
        "interruptions": 2,
        "caller_interruptions": 1,
        "longest_caller_silence_s": 31.5,
        "muted_speech": 1,
        "overlap_s": 1.5,
        "disposition": "referral",
        "assessed": True,
        "risk": "high",
        "follow_up": True,
    }
    none = figures.call_figures(
        None, duration_s=None, disposition=None, risk_level=None, follow_up=False
    )
    assert none["audio"] is False and none["talk_share"] is None and none["risk"] == "unknown"


# -- on a real broker -------------------------------------------------------------------------
def _laptop(tmp_path, broker, cn, role, clock=None, init=True, **more):
    from app.session import Session
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {
            **broker.overrides(cn, role),
            "storage.unlock_target_ms": 1,
            "escalation.resend_s": 1.0,
            **more,
        }
    )
    s = Session(
        cfg,
        paths=Paths.under(tmp_path / cn),
        clock=clock,
        services=("storage.service", "escalation.service"),
    )
    if init:
        s.service("store").init(PASS)
    return s


def _listen(sup):
    heard: list[tuple[str, bytes]] = []
    agent = sup.service("escalation").supervisor
    real = agent.link._on_message

    def on_message(topic, payload, retained):
        heard.append((topic, bytes(payload)))
        real(topic, payload, retained)

    agent.link._on_message = on_message
    return heard


def _wrap_up(session, call_id, minutes=10, health=HEALTH, disposition="referral"):
    """A call of ``minutes`` that just ended on this laptop's clock, recorded in its store
    with its call-health figures, then its wrap-up finished."""
    store = session.service("store")
    now = session.clock.now()
    call = Call(call_id, "phone", Personal(NUMBER), now - dt.timedelta(minutes=minutes + 1), 0.0)
    call = dataclasses.replace(
        call,
        answered_at=now - dt.timedelta(minutes=minutes),
        ended_at=now,
        disposition=disposition,
    )
    cs = store.vault.require()
    cs.writer.call(lambda db: cs.record_call_in(db, call, {}))
    store.set_contact_health(call_id, health)
    store.add_follow_up(call_id, now + dt.timedelta(hours=24))
    session.bus.publish(WrapUpFinished(call, disposition))
    return call


def _kept(sup):
    return figures.quality_records(sup.service("store").vault.require())


def _pending(session, kind):
    return [p for p in session.service("escalation").outbox.pending() if p.kind == kind]


def test_without_consent_nothing_leaves_the_laptop(tmp_path, tls_broker):
    sup = _laptop(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _laptop(tmp_path, tls_broker, "c-alba", "counselor")  # quality.share_figures off
    heard = _listen(sup)
    try:
        start_connected(sup, cou)
        _wrap_up(cou, "call-1")
        cou.service("escalation").counselor.quality.republish()
        probe = cou.service("escalation").counselor.ring("unanswered", 3.0)  # noqa: F841
        wait_until(lambda: any("/ring" in t for t, _p in heard), 10, what="the link works")
        assert not [t for t, _p in heard if "/quality/" in t]
        assert _pending(cou, quality.RECORD) == []
        assert _kept(sup) == []
    finally:
        cou.stop()
        sup.stop()


def test_with_consent_a_record_arrives_once_through_an_offline_supervisor_and_a_broker_restart(
    tmp_path, tls_broker
):
    sup = _laptop(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _laptop(tmp_path, tls_broker, "c-alba", "counselor", **{"quality.share_figures": True})
    heard_all: list[tuple[str, bytes]] = []
    try:
        start_connected(sup, cou)  # the supervisor's persistent session exists on the broker
        sup.stop()
        _wrap_up(cou, "call-1")
        assert len(_pending(cou, quality.RECORD)) == 1  # waiting for a supervisor
        tls_broker.mosquitto.restart()
        sup2 = _laptop(tmp_path, tls_broker, "sup-ana", "supervisor", init=False)
        sup2.service("store").unlock(PASS)
        heard_all = _listen(sup2)
        start_connected(sup2)
        wait_until(lambda: len(_kept(sup2)) == 1, 30, what="record kept")
        wait_until(lambda: not _pending(cou, quality.RECORD), 15, what="receipt")
        # the counselor republishes every resend_s until the receipt, the broker delivered
        # what it queued: several copies may have come, one is kept
        cou.service("escalation").counselor.quality.republish()
        rec = _kept(sup2)[0]
        assert (rec["id"], rec["counselor"], rec["seq"], rec["risk"]) == (
            "call-1",
            "c-alba",
            1,
            "unknown",
        )
        assert rec["talk_share"] == 0.42 and rec["interruptions"] == 2
        assert rec["assessed"] is False  # no assessment saved in this test
        assert rec["follow_up"] is True and rec["disposition"] == "referral"
        # nothing personal on the broker: no number, no note, no caller words
        for _topic, payload in heard_all:
            assert NUMBER.encode() not in payload
        assert len(_kept(sup2)) == 1
        sup2.stop()
    finally:
        cou.stop()
        sup.stop()


def test_a_skewed_laptop_keeps_its_calls_in_the_right_week_shift_and_order(
    tmp_path, tls_broker, monkeypatch
):
    monkeypatch.setattr(quality, "BURST_S", 0.5)
    skew = dt.timedelta(hours=-7)  # this laptop thinks it is last week (a Monday morning)
    sup = _laptop(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _laptop(
        tmp_path,
        tls_broker,
        "c-alba",
        "counselor",
        clock=SkewedClock(skew),
        **{"quality.share_figures": True},
    )
    try:
        start_connected(sup, cou)
        agent = sup.service("escalation").supervisor
        wait_until(
            lambda: (
                agent.link.connected
                and (sup.clock.monotonic() - agent.quality.clocks._connected_mono) > 0.6
            ),
            5,
        )
        cou.service("escalation").counselor.set_presence("available")  # a live message
        wait_until(lambda: agent.quality.clocks.offset("c-alba") is not None, 10, what="clock")
        _wrap_up(cou, "call-b")
        cou.clock.offset -= dt.timedelta(hours=3)  # and then NTP-less drift backwards
        _wrap_up(cou, "call-a")
        wait_until(lambda: len(_kept(sup)) == 2, 20, what="both kept")
        records = _kept(sup)
        now = sup.clock.now()
        for r in records:
            assert abs((quality_stats.placed(r) - now).total_seconds()) < 60
            assert quality_stats.week_start(quality_stats.placed(r)) == quality_stats.week_start(
                now
            )
        # the laptop's own order: call-b first, though its clock says call-a ended 3 h before
        assert [r["id"] for r in quality_stats.ordered(records)] == ["call-b", "call-a"]
        shift = quality_stats.shift_of(quality_stats.ordered(records), now)
        assert [r["id"] for r in shift] == ["call-b", "call-a"]  # one shift, not two
        (w,) = quality_stats.wellbeing(records, now, cap_h=20.0, break_after=2)
        assert (w.shift_calls, w.high_risk_shift) == (2, 0)
    finally:
        cou.stop()
        sup.stop()


def test_a_debrief_mark_reaches_the_counselor_once_and_a_break_request_the_supervisors(
    tmp_path, tls_broker
):
    sup = _laptop(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _laptop(tmp_path, tls_broker, "c-alba", "counselor", **{"quality.share_figures": True})
    other = _laptop(tmp_path, tls_broker, "c-beto", "counselor")
    cev = Recorder(cou.bus)
    oev = Recorder(other.bus)
    sev = Recorder(sup.bus)
    try:
        start_connected(sup, cou, other)
        call = _wrap_up(cou, "call-1")
        wait_until(lambda: len(_kept(sup)) == 1, 20, what="record kept")
        squal = sup.service("escalation").supervisor.quality
        squal.mark(_kept(sup)[0])
        cev.wait_event(ev.DebriefMarked, lambda e: e.record == "call-1", 15)
        wait_until(lambda: bool(_kept(sup)[0].get("marked_at")), 10, what="mark kept")
        squal.connected()  # the mark is published again (as at a reconnection)
        cqual = cou.service("escalation").counselor.quality
        (mark,) = cqual.unseen_marks()
        # "the call at 03:12" in the counselor's own clock (messages keep milliseconds)
        assert abs((mark.ended_at - call.ended_at).total_seconds()) < 0.001
        assert len(cev.of(ev.DebriefMarked)) == 1
        cqual.seen(mark.id)
        assert cqual.unseen_marks() == []
        # a break, asked privately
        request = cqual.ask_break()
        cev.wait_event(ev.CareRequestDelivered, lambda e: e.request == request, 15)
        assert [r.counselor for r in squal.care_requests()] == ["c-alba"]
        sev.wait_event(ev.QualityChanged, lambda e: e.what == "care", 5)
        squal.care_answered("c-alba")
        assert squal.care_requests() == []
        # the other counselor heard nothing of it
        assert not oev.of(ev.DebriefMarked) and not oev.of(ev.CareRequestDelivered)
    finally:
        other.stop()
        cou.stop()
        sup.stop()


def test_withdrawn_consent_drops_what_still_waits(tmp_path, tls_broker):
    cou = _laptop(tmp_path, tls_broker, "c-alba", "counselor", **{"quality.share_figures": True})
    try:
        cou.start()  # no supervisor: nobody gives a receipt
        _wrap_up(cou, "call-1")
        assert len(_pending(cou, quality.RECORD)) == 1
        cou.config.set("quality.share_figures", False)
        cou.service("escalation").counselor.quality.republish()
        assert _pending(cou, quality.RECORD) == []
    finally:
        cou.stop()
