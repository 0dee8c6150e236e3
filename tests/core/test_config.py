from __future__ import annotations

import pytest

from core.config import UPGRADES, Config, all_options, declare
from core.errors import ConfigError


def test_every_option_has_type_default_and_description():
    opts = all_options()
    assert "calls.ring_timeout_s" in opts and "devices.keyboard_map" in opts
    for key, opt in opts.items():
        assert opt.description.strip(), key
        assert opt.coerce(opt.default) == opt.default


def test_declaring_twice_is_refused():
    with pytest.raises(ValueError):
        declare("calls.ring_timeout_s", float, 10.0, "again")


def test_toml_tables_map_to_dotted_keys(tmp_path):
    path = tmp_path / "faro.toml"
    path.write_text('config_version = 1\n[calls]\nring_timeout_s = 45\nbackend = "simulated"\n')
    cfg = Config.load(path)
    assert cfg.get("calls.ring_timeout_s") == 45.0  # int widened to float
    assert cfg.get("calls.backend") == "simulated"
    assert cfg.get("keys.lock") == "Ctrl+L"  # default


def test_missing_file_means_defaults(tmp_path):
    cfg = Config.load(tmp_path / "absent.toml")
    assert cfg.get("calls.backend") == "companion"


@pytest.mark.parametrize(
    "text, words",
    [
        ('[calls]\nring_timeout_s = "soon"\n', "must be of type float"),
        ("[calls]\nring_timeout_s = 1\n", "at least"),
        ('[calls]\nbackend = "carrier-pigeon"\n', "must be one of"),
        ("[calls]\nno_such = 1\n", "Unknown option calls.no_such"),
        ("[calls\n", "not valid TOML"),
        ("config_version = 99\n", "Unsupported config_version"),
        ("[calls]\nallow_decline = 1\n", "must be of type bool"),
    ],
)
def test_bad_config_gives_a_clear_error(tmp_path, text, words):
    path = tmp_path / "faro.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        Config.load(path)
    assert words in err.value.message


def test_upgrades_run_in_order(monkeypatch):
    import core.config as cc

    monkeypatch.setattr(cc, "CONFIG_VERSION", 2)
    monkeypatch.setitem(
        UPGRADES,
        1,
        lambda flat: {
            ("calls.ring_timeout_s" if k == "calls.ring_s" else k): v for k, v in flat.items()
        },
    )
    cfg = Config.from_toml_text("config_version = 1\n[calls]\nring_s = 20\n")
    assert cfg.get("calls.ring_timeout_s") == 20.0


def test_set_validates():
    cfg = Config.defaults()
    cfg.set("calls.ring_timeout_s", 12)
    assert cfg.get("calls.ring_timeout_s") == 12.0
    with pytest.raises(ConfigError):
        cfg.set("calls.ring_timeout_s", "x")


@pytest.mark.parametrize(
    "value, english",
    [
        ("soon", "Option calls.ring_timeout_s must be of type float, not str."),
        (1, "Option calls.ring_timeout_s must be at least 5.0."),
        (9999, "Option calls.ring_timeout_s must be at most 600.0."),
    ],
)
def test_validation_errors_speak_the_language_and_keep_the_key(value, english):
    from core import i18n

    before = i18n.current_language()
    try:
        i18n.set_language("es_MX")
        with pytest.raises(ConfigError) as err:
            Config.defaults().set("calls.ring_timeout_s", value)
        spanish = err.value.message
        assert spanish != english and "calls.ring_timeout_s" in spanish
        i18n.set_language("en")
        with pytest.raises(ConfigError) as err:
            Config.defaults().set("calls.ring_timeout_s", value)
        assert err.value.message == english
    finally:
        i18n.set_language(before)


def test_choices_error_in_spanish_lists_the_values_as_written():
    from core import i18n

    before = i18n.current_language()
    try:
        i18n.set_language("es_MX")
        with pytest.raises(ConfigError) as err:
            Config.defaults().set("calls.backend", "carrier-pigeon")
        assert "calls.backend" in err.value.message and "sip, companion, simulated" in (
            err.value.message
        )
        assert "must be one of" not in err.value.message
    finally:
        i18n.set_language(before)
