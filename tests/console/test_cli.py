"""The ``faro`` command as an installed user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def faro(*args: str, home: Path, env: dict | None = None, timeout: float = 60):
    e = dict(os.environ, FARO_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        cwd=ROOT,
        env=e,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version(tmp_path):
    out = faro("--version", home=tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith("faro ")


def test_no_command_prints_help_and_exits_2(tmp_path):
    out = faro(home=tmp_path)
    assert out.returncode == 2
    assert "demo" in out.stderr and "counselor" in out.stderr


def test_config_lists_every_option_as_json(tmp_path):
    out = faro("config", "--json", home=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    keys = {r["key"] for r in rows}
    assert {"calls.backend", "devices.keyboard_map", "keys.lock", "logging.level"} <= keys
    assert all(r["description"] for r in rows)


def test_bad_config_is_one_clear_line(tmp_path):
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / "config" / "faro.toml").write_text("[calls]\nbackend = 3\n")
    out = faro("config", home=tmp_path)
    assert out.returncode == 78
    assert out.stderr.strip().splitlines() == [
        "faro: Option calls.backend must be of type str, not int."
    ]


def test_demo_runs_offscreen_and_leaves_no_profile_behind(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=str(tmp_path))
    env.pop("FARO_HOME", None)
    out = subprocess.run(
        [sys.executable, "-m", "console.cli", "demo", "--quit-after", "4"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "a simulated call rings" in out.stdout
    assert not list(tmp_path.glob("faro-demo-*"))


def test_counselor_without_display_says_so(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["FARO_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "console.cli", "counselor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "no display" in out.stderr


# -- the command's language: option descriptions and argparse's own words ------------------
def _speaking(home: Path, language: str) -> Path:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "faro.toml").write_text(f'[ui]\nlanguage = "{language}"\n')
    return home


def _spanish():
    from core.i18n import load

    return load("es_MX").gettext


def test_config_describes_every_option_in_spanish(tmp_path):
    from core.config import all_options

    es = _spanish()
    out = faro("config", home=_speaking(tmp_path, "es_MX"))
    assert out.returncode == 0, out.stderr
    for key in ("calls.ring_timeout_s", "security.lock_idle_minutes", "ui.language"):
        english = all_options()[key].description
        assert es(english) != english, f"{key}: no Spanish description in the catalogue"
        assert es(english) in out.stdout and english not in out.stdout
    for opt in all_options().values():
        assert es(opt.description) in out.stdout, opt.key

    rows = [
        json.loads(line)
        for line in faro("config", "--json", home=tmp_path).stdout.splitlines()
        if line.startswith("{")
    ]
    by_key = {r["key"]: r for r in rows}
    english = all_options()["calls.ring_timeout_s"].description
    assert by_key["calls.ring_timeout_s"]["description"] == es(english)


def test_help_and_usage_errors_speak_spanish(tmp_path):
    es = _spanish()
    home = _speaking(tmp_path, "es_MX")
    for msgid in ("usage: ", "options", "show this help message and exit"):
        assert es(msgid) != msgid, f"{msgid!r} has no Spanish in the catalogue"

    out = faro("--help", home=home)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(es("usage: ") + "faro ")
    assert es("options") + ":" in out.stdout
    assert es("show this help message and exit") in out.stdout
    assert es("show program's version number and exit") in out.stdout
    assert "usage:" not in out.stdout and "show this help" not in out.stdout

    out = faro("config", "--help", home=home)
    assert out.returncode == 0 and out.stdout.startswith(es("usage: ") + "faro config")

    wrong = faro("confg", home=home)  # a mistyped command
    assert wrong.returncode == 2
    assert wrong.stderr.startswith(es("usage: ") + "faro ")
    choice = es("invalid choice: %(value)r (choose from %(choices)s)").split(" (")[0]
    message = es("argument %(argument_name)s: %(message)s") % {
        "argument_name": "COMMAND",
        "message": choice % {"value": "confg"},
    }
    error = es("%(prog)s: error: %(message)s\n") % {"prog": "faro", "message": message}
    assert error.strip() in wrong.stderr and "invalid choice" not in wrong.stderr

    extra = faro("config", "--bogus", home=home)
    assert extra.returncode == 2
    assert es("unrecognized arguments: %s") % "--bogus" in extra.stderr

    missing = faro("db", home=home)
    assert missing.returncode == 2
    assert es("the following arguments are required: %s") % "ACTION" in missing.stderr

    no_value = faro("--home", home=home)
    assert no_value.returncode == 2 and es("expected one argument") in no_value.stderr


def test_help_and_usage_errors_stay_english_in_english(tmp_path):
    home = _speaking(tmp_path, "en")
    out = faro("--help", home=home)
    assert out.returncode == 0
    assert out.stdout.startswith("usage: faro ")
    assert "options:" in out.stdout and "show this help message and exit" in out.stdout
    wrong = faro("confg", home=home)
    assert "faro: error: argument COMMAND: invalid choice: 'confg' (choose from" in wrong.stderr
    assert "unrecognized arguments: --bogus" in faro("config", "--bogus", home=home).stderr
    config = faro("config", home=home).stdout
    assert "Seconds a call rings before it is recorded as missed" in config


def test_a_bad_option_is_reported_in_the_language_the_file_asks_for(tmp_path):
    es = _spanish()
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / "config" / "faro.toml").write_text(
        '[ui]\nlanguage = "es_MX"\n[calls]\nbackend = 3\n'
    )
    out = faro("config", home=tmp_path)
    assert out.returncode == 78
    error = es("Option {key} must be of type {type}, not {actual}.").format(
        key="calls.backend", type="str", actual="int"
    )
    assert error != "Option calls.backend must be of type str, not int."
    assert out.stderr.strip().splitlines() == [es("faro: {message}").format(message=error)]
