"""The imminent-risk rescue steps in a real SQLCipher store: timestamped, audited, in order,
the location kept in the encrypted file only; and the dispatch-confirmation rule."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from storage import events as sev
from storage.errors import StoreIsLocked
from storage.records import (
    RESCUE_STEPS,
    RecordError,
    dispatch_wait,
    rescue_step_label,
)
from tests.support.storage_helpers import PASS, raw_connect
from tests.support.toolkit import Recorder

LOCATION = "Calle Lerma 112, depto 4, frente a la farmacia"


def test_steps_are_kept_in_order_with_their_times_and_audited(store, bus, fake_clock, data_dir):
    rec = Recorder(bus, sev.RescueStepRecorded)
    t0 = fake_clock.now()
    first = store.add_rescue_step("c1", "engaged", t0)
    fake_clock.advance(90)
    located = store.add_rescue_step("c1", "location", detail=LOCATION)  # now, on the clock
    fake_clock.advance(30)
    store.add_rescue_step("c1", "dispatched", fake_clock.now())
    steps = store.rescue_steps("c1")
    assert [s.step for s in steps] == ["engaged", "location", "dispatched"]
    assert steps[0].time == t0 and steps[1].time == t0 + dt.timedelta(seconds=90)
    assert steps[1].detail == LOCATION and first.id and located.id
    assert all(s.counselor_id for s in steps)
    # the bus hears the code and the time, never the location
    assert [(e.contact_id, e.step) for e in rec.events] == [
        ("c1", "engaged"),
        ("c1", "location"),
        ("c1", "dispatched"),
    ]
    assert rec.events[1].at == t0 + dt.timedelta(seconds=90)
    assert all(LOCATION not in repr(e) for e in rec.events)
    assert LOCATION not in repr(steps[1])  # a forgotten log line leaks nothing
    db = raw_connect(data_dir)
    audit = db.execute("SELECT action, detail FROM audit ORDER BY id").fetchall()
    db.close()
    assert [d for a, d in audit if a == "rescue.step"] and any(a == "rescue.view" for a, _ in audit)
    assert all("Lerma" not in d for _a, d in audit)  # the audit says which step, not what


def test_the_location_is_in_the_encrypted_file_only(store, data_dir):
    store.add_rescue_step("c1", "location", detail=LOCATION)
    assert store.flush()
    store.lock()
    for f in data_dir.rglob("*"):
        if f.is_file():
            assert b"Lerma" not in f.read_bytes(), f.name
    store.unlock(PASS)
    assert store.rescue_steps("c1")[0].detail == LOCATION


def test_unknown_steps_and_stray_text_are_refused(store):
    with pytest.raises(RecordError):
        store.add_rescue_step("c1", "teleported")
    with pytest.raises(RecordError):
        store.add_rescue_step("c1", "dispatched", detail="Calle Lerma")  # text: location only
    assert store.rescue_steps("c1") == []


def test_a_locked_store_refuses_a_step_without_naming_it(store, caplog):
    store.lock()
    with caplog.at_level(logging.DEBUG), pytest.raises(StoreIsLocked):
        store.add_rescue_step("c1", "location", detail=LOCATION)
    assert "Lerma" not in caplog.text


def test_every_step_has_words_in_both_languages():
    from core import i18n

    before = i18n.current_language()
    try:
        for code in RESCUE_STEPS:
            assert rescue_step_label(code) and rescue_step_label(code) != code
        assert rescue_step_label("from_the_future") == "Other step (from_the_future)"
    finally:
        i18n.set_language(before)


T = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([], (None, False)),
        ([("services_called", at(0))], (None, False)),
        ([("dispatched", at(1))], (at(16), False)),
        ([("dispatched", at(1)), ("arrival_overdue", at(16))], (at(16), True)),
        # calling again answers the reminder and starts the wait afresh
        (
            [("dispatched", at(1)), ("arrival_overdue", at(16)), ("services_recalled", at(18))],
            (at(33), False),
        ),
        ([("dispatched", at(1)), ("arrival_confirmed", at(9))], (None, False)),
        (
            [("dispatched", at(1)), ("arrival_overdue", at(16)), ("outcome_care", at(20))],
            (None, False),
        ),
        # "called again" with nothing dispatched starts nothing
        ([("services_recalled", at(2))], (None, False)),
    ],
)
def test_dispatch_wait(steps, expected):
    assert dispatch_wait(steps, 15.0) == expected
