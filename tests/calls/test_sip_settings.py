"""The SIP policy in one place: options to engine configuration, refusals, caller ids."""

from __future__ import annotations

import pytest

from calls.backends.sip import caller_number
from calls.sip.settings import MEDIA_ENCRYPTION, SipCredentials, SipSettings
from core.config import Config
from core.errors import ConfigError


def _settings(**kw):
    base = dict(user="ana", domain="sip.helpline.example", ca_file="", listen="")
    base.update(kw)
    return SipSettings(**base)


def test_engine_configuration_is_tls_verified_srtp_mandatory_manual_answer():
    s = _settings(ca_file="/etc/faro/org-ca.pem")
    text = s.engine_config().extra_config_text
    assert "sip_verify_server yes" in text
    assert "sip_cafile /etc/faro/org-ca.pem" in text
    aor = s.account(SipCredentials("s3cret")).aor()
    assert aor.startswith("<sip:ana@sip.helpline.example;transport=tls>")
    assert f"mediaenc={MEDIA_ENCRYPTION}" in aor and MEDIA_ENCRYPTION == "srtp-mand"
    assert "answermode=manual" in aor


def test_the_password_never_shows_in_reprs():
    creds = SipCredentials("s3cret")
    assert "s3cret" not in repr(creds)
    assert "s3cret" not in repr(_settings().account(creds))


def test_an_outbound_proxy_is_reached_over_tls():
    aor = _settings(proxy="sbc.helpline.example:5061").account(SipCredentials("x")).aor()
    assert 'outbound="sip:sbc.helpline.example:5061;transport=tls"' in aor


@pytest.mark.parametrize("domain", ["10.0.0.5", "10.0.0.5:5061", "[2001:db8::1]:5061"])
def test_an_ip_address_as_domain_is_refused(domain, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    problems = _settings(domain=domain, ca_file=str(ca)).problems()
    assert any("host name" in p for p in problems), problems


def test_missing_pieces_are_named(tmp_path):
    problems = SipSettings(user="", domain="", ca_file=str(tmp_path / "nope.pem")).problems()
    assert any("sip.user" in p for p in problems)
    assert any("sip.domain" in p for p in problems)
    assert any("nope.pem" in p for p in problems)


def test_from_config_and_transfer_targets():
    config = Config.defaults().with_overrides(
        {
            "sip.user": "ana",
            "sip.domain": "sip.helpline.example",
            "sip.transfer_targets": ["Supervisor=sip:guardia@sip.helpline.example", "CAI=911"],
        }
    )
    s = SipSettings.from_config(config)
    assert s.transfer_targets[0] == ("Supervisor", "sip:guardia@sip.helpline.example")
    assert s.uri("911") == "sip:911@sip.helpline.example;transport=tls"
    bad = Config.defaults().with_overrides({"sip.transfer_targets": ["no equals sign"]})
    with pytest.raises(ConfigError):
        SipSettings.from_config(bad)


@pytest.mark.parametrize(
    "peer, number",
    [
        ("sip:+525555550101@sip.example;user=phone", "+525555550101"),
        ('"Ana" <sip:%2B5255@sip.example>', "+5255"),
        ("sips:caller@localhost:5061", "caller"),
        (None, ""),
    ],
)
def test_caller_numbers_are_read_as_personal_data(peer, number):
    got = caller_number(peer)
    assert got.reveal() == number
    assert number == "" or number not in str(got)


def test_close_reasons_that_mean_the_network_ended_the_call():
    """The far end vanished: the RTP timeout, or an in-dialog request it never answered
    (408, seen on a loaded machine before the RTP timeout); a BYE is not the network."""
    from calls.backends.sip import _NETWORK_REASONS

    for reason in ("rtp stream error", "session closed: 408 Request Timeout", "timed out"):
        assert _NETWORK_REASONS.search(reason), reason
    assert not _NETWORK_REASONS.search("Connection reset by peer")
