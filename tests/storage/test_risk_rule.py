"""The risk level rule (storage/risk.py): every level with its reason, the organisation's two
options changing it, RiskAssessment.imminent agreeing with it, and the store keeping the
level and the rule's id with each version (old rows graded when read, and flagged)."""

from __future__ import annotations

import json
import random

import pytest

from core import i18n
from core.config import Config
from core.errors import ConfigError
from storage import events as sev
from storage.records import FEW_BUFFERS, RISK_FACTORS, RiskAssessment
from storage.risk import (
    DEFAULT_RULE,
    HIGH,
    IMMINENT,
    LOW,
    MODERATE,
    RiskRule,
    risk_item_label,
    rule_from_config,
)
from tests.support.toolkit import Recorder


@pytest.fixture(autouse=True)
def english():
    before = i18n.current_language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def A(*codes: str, comment: str = "") -> RiskAssessment:
    """An assessment with these item codes, each put in its own area."""

    def area(name: str) -> frozenset[str]:
        return frozenset(c for c in codes if c in RISK_FACTORS[name])

    return RiskAssessment(
        area("desire"), area("capability"), area("intent"), area("buffers"), comment=comment
    )


D, C, IN, B1, B2 = (
    "hopelessness",
    "lethal_means",
    "plan_with_known_method",
    "ambivalence",
    "social_supports",
)
TABLE = [
    # items, level, why
    ((), LOW, "No desire, intent or capability recorded"),
    ((B1, B2), LOW, "No desire, intent or capability recorded"),
    ((D,), LOW, "desire, without intent or capability"),
    ((C, "no_sleep"), LOW, "capability, without desire or intent"),
    ((D, C), MODERATE, "desire + capability, without intent"),
    ((IN,), MODERATE, "intent, without desire or capability"),
    ((D, IN), HIGH, "desire + intent, without capability"),
    ((IN, C, B1), HIGH, "intent + capability, without desire"),
    ((D, IN, C, B1, B2), HIGH, "desire + intent + capability with 2 buffers (2 or more)"),
    ((D, IN, C, B1), IMMINENT, "desire + intent + capability with 1 buffer (fewer than 2)"),
    ((D, IN, C), IMMINENT, "desire + intent + capability with 0 buffers (fewer than 2)"),
    (("attempt_in_progress",), IMMINENT, "Attempt in progress: imminent whatever else is present"),
    (
        ("attempt_in_progress", B1, B2, "sense_of_purpose"),
        IMMINENT,
        "Attempt in progress: imminent whatever else is present",
    ),
]


@pytest.mark.parametrize(("items", "level", "why"), TABLE, ids=[t[2][:40] for t in TABLE])
def test_each_level_and_its_reason(items, level, why):
    result = DEFAULT_RULE.grade(A(*items))
    assert (result.level, result.why()) == (level, why)
    assert A(*items).imminent is (level == IMMINENT)


def test_every_item_has_a_label():
    for items in RISK_FACTORS.values():
        for code in items:
            assert risk_item_label(code) and risk_item_label(code) != code


def test_imminent_agrees_with_the_default_rule_and_the_lifeline_triad():
    rng = random.Random(8)
    every = [c for items in RISK_FACTORS.values() for c in items]
    for _ in range(2000):
        a = A(*rng.sample(every, rng.randint(0, 12)))
        triad = bool(a.desire and a.intent and a.capability and len(a.buffers) < FEW_BUFFERS)
        assert a.imminent == (DEFAULT_RULE.grade(a).level == IMMINENT)
        assert a.imminent == (triad or "attempt_in_progress" in a.intent)
        graded = DEFAULT_RULE.assess(a)
        assert graded.imminent == a.imminent and graded.rule == DEFAULT_RULE.id


def test_the_organisation_configures_few_buffers_and_the_items_alone_sufficient():
    assert DEFAULT_RULE.id == "lifeline-1;few_buffers=2;alone=attempt_in_progress"
    assert rule_from_config(Config.defaults()) == DEFAULT_RULE
    three = rule_from_config(Config({"clinical.risk_few_buffers": 3}))
    grade = three.grade(A(D, IN, C, B1, B2))
    assert (grade.level, grade.why()) == (
        IMMINENT,
        "desire + intent + capability with 2 buffers (fewer than 3)",
    )
    assert three.id == "lifeline-1;few_buffers=3;alone=attempt_in_progress"
    assert three.grade(A(D, IN, C, B1, B2, "sense_of_purpose")).level == HIGH

    none_alone = rule_from_config(Config({"clinical.risk_imminent_alone": []}))
    assert none_alone.grade(A("attempt_in_progress")).level == MODERATE
    assert none_alone.id.endswith("alone=-")
    means = rule_from_config(
        Config({"clinical.risk_imminent_alone": ["attempt_in_progress", "lethal_means"]})
    )
    grade = means.grade(A(C, B1, B2))
    assert (grade.level, grade.why()) == (
        IMMINENT,
        "Lethal means at hand: imminent whatever else is present",
    )
    assert means.id.endswith("alone=attempt_in_progress,lethal_means")


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"clinical.risk_few_buffers": 0}, "at least"),
        ({"clinical.risk_few_buffers": 9}, "at most"),
        ({"clinical.risk_few_buffers": "2"}, "type"),
        ({"clinical.risk_imminent_alone": ["attempt"]}, "attempt"),
        ({"clinical.risk_imminent_alone": ["ambivalence"]}, "ambivalence"),  # a buffer
    ],
)
def test_a_wrong_rule_option_is_a_config_error_naming_it(values, match):
    with pytest.raises(ConfigError, match=match):
        rule_from_config(Config(values))


def test_an_unknown_level_is_refused():
    from storage.records import RecordError

    with pytest.raises(RecordError, match="risk level"):
        RiskAssessment(level="severe")


# -- the store ------------------------------------------------------------------------------
def _audit(store, action: str) -> list[tuple[str, dict]]:
    rows = store.vault.store._read(
        "SELECT subject, detail FROM audit WHERE action=? ORDER BY id", (action,)
    )
    return [(subject, json.loads(detail)) for subject, detail in rows]


def test_each_save_is_a_version_with_its_level_and_rule(store):
    saved = Recorder(store.bus, sev.RiskAssessmentSaved)
    three = RiskRule(few_buffers=3)
    store.add_risk_assessment("c1", DEFAULT_RULE.assess(A(D, IN, C, B1, B2)))  # high
    store.add_risk_assessment("c1", three.assess(A(D, IN, C, B1, B2)))  # imminent by 3
    store.add_risk_assessment("c1", A(D))  # not graded: the store grades it (default rule)
    rows = store.risk_assessments("c1")
    assert [(r.level, r.rule, r.level_recomputed) for r in rows] == [
        (HIGH, DEFAULT_RULE.id, False),
        (IMMINENT, three.id, False),
        (LOW, DEFAULT_RULE.id, False),
    ]
    assert [r.imminent for r in rows] == [False, True, False]
    assert [e.imminent for e in saved.events] == [False, True, False]
    assert [d for _s, d in _audit(store, "risk.assess")] == [
        {"imminent": False, "level": HIGH},
        {"imminent": True, "level": IMMINENT},
        {"imminent": False, "level": LOW},
    ]
    raw = store.vault.store._read("SELECT level, rule, imminent FROM risk_assessments")
    assert raw[1] == (IMMINENT, three.id, 1)


def test_a_row_saved_before_levels_were_kept_is_graded_when_read_and_flagged(store):
    cs = store.vault.store
    cs.writer.call(
        lambda db: (
            cs._ensure_contact(db, "old"),
            db.execute(
                "INSERT INTO risk_assessments(contact_id, assessed_at, counselor_id, desire, "
                "capability, intent, buffers, imminent, comment) VALUES "
                "('old', '2026-01-06T10:00:00.000+00:00', 'k', ?, ?, ?, ?, 1, '')",
                tuple(json.dumps([x]) for x in (D, C, IN, B1)),
            ),
        )
    )
    [row] = store.risk_assessments("old")
    assert (row.level, row.rule, row.level_recomputed, row.imminent) == (
        IMMINENT,
        DEFAULT_RULE.id,
        True,
        True,
    )
    [again] = cs.risk_assessments("old", rule=RiskRule(imminent_alone=frozenset(), few_buffers=1))
    assert (again.level, again.level_recomputed) == (HIGH, True)  # 1 buffer is not fewer than 1
    # nothing was written back: the row still has no level
    assert cs._read("SELECT level FROM risk_assessments") == [("",)]
