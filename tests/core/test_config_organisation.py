"""The organisation's options file: defaults for every laptop, and locked values that the
laptop's faro.toml, the counselor's preferences and the console cannot change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import preferences
from core.config import Config, ConfigError, load_organisation

ORG = """\
config_version = 1
[organisation]
name = "Línea de la Vida CDMX"
locked = ["security.lock_idle_minutes", "escalation.*", "ui.language"]

[storage]
idle_lock_minutes = 5

[calls]
ring_timeout_s = 45

[escalation]
broker_host = "broker.linea.example"

[ui]
language = "es_MX"
"""

USER = """\
[security]
lock_idle_minutes = 60
[calls]
ring_timeout_s = 20
[escalation]
broker_host = "evil.example"
"""


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    org, user = tmp_path / "organisation.toml", tmp_path / "faro.toml"
    org.write_text(ORG)
    user.write_text(USER)
    return org, user


def test_locked_values_win_and_unlocked_ones_are_defaults(files, caplog):
    org, user = files
    c = Config.load(user, organisation=org)
    assert c.get("security.lock_idle_minutes") == 5  # locked: the laptop's 60 is ignored
    assert c.get("escalation.broker_host") == "broker.linea.example"
    assert c.get("calls.ring_timeout_s") == 20  # the organisation's default, overridden
    # a locked option the organisation does not set is locked at the built-in default
    assert c.get("escalation.t1_s") == Config.defaults().get("escalation.t1_s")
    assert c.locked_by("escalation.t1_s") == "Línea de la Vida CDMX"
    assert c.locked_by("calls.ring_timeout_s") is None
    assert "evil.example" not in caplog.text  # the ignored value is not logged
    assert "escalation.broker_host is locked" in caplog.text
    with pytest.raises(ConfigError, match="cannot be changed"):
        c.set("security.lock_idle_minutes", 0)
    assert (
        c.with_overrides({"security.lock_idle_minutes": 0}).get("security.lock_idle_minutes") == 5
    )


def test_the_counselors_preferences_cannot_change_a_locked_option(files):
    org, user = files
    preferences.save(preferences.preferences_file(user), {"ui.language": "en", "ui.theme": "night"})
    c = Config.load(user, organisation=org)
    assert c.get("ui.language") == "es_MX" and c.get("ui.theme") == "night"


def test_without_an_organisation_file_nothing_changes(tmp_path):
    user = tmp_path / "faro.toml"
    user.write_text(USER)
    c = Config.load(user, organisation=tmp_path / "absent.toml")
    assert c.get("security.lock_idle_minutes") == 60 and c.locked == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[organisation\nname = 1", "not valid TOML"),
        ("[organisation]\nlocked = []\n", "no \\[organisation\\] name"),
        ('[organisation]\nname = "X"\nlocked = "storage.*"\n', "must be a list"),
        ('[organisation]\nname = "X"\nlocked = ["storage.nope"]\n', "names no option"),
        ('[organisation]\nname = "X"\n[security]\nlock_idle_minutes = -3\n', "at least 0"),
        ('[organisation]\nname = "X"\n[storage]\nnope = 1\n', "Unknown option storage.nope"),
    ],
)
def test_a_wrong_organisation_file_is_an_error_not_silent_defaults(tmp_path, text, message):
    org = tmp_path / "organisation.toml"
    org.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_organisation(org)
    with pytest.raises(ConfigError):
        Config.load(tmp_path / "faro.toml", organisation=org)


def test_faro_config_says_what_is_locked_and_by_whom(files, tmp_path):
    org, user = files
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "faro.toml").write_text(USER)
    env = dict(os.environ, FARO_HOME=str(home), FARO_ORGANISATION_FILE=str(org), LANGUAGE="en")
    p = subprocess.run(
        [sys.executable, "-m", "console.cli", "config", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    rows = {r["key"]: r for r in map(json.loads, p.stdout.splitlines())}
    assert rows["security.lock_idle_minutes"]["value"] == 5
    assert rows["security.lock_idle_minutes"]["locked_by"] == "Línea de la Vida CDMX"
    assert rows["calls.ring_timeout_s"]["locked_by"] is None
    human = subprocess.run(
        [sys.executable, "-m", "console.cli", "config"], capture_output=True, text=True, env=env
    )
    # the organisation locked the language to Spanish: faro config speaks it too
    assert "bloqueada por Línea de la Vida CDMX" in human.stdout, human.stdout[:500]
    assert str(org) in human.stdout
