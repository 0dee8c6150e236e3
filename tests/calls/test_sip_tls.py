"""What the engine's TLS (its bundled OpenSSL) actually negotiates and checks, measured.

A TLS server of Python's ``ssl`` module stands where the registrar is. Faro's ``sip``
backend connects to it to register; the server records the protocol version and cipher
the handshake settled on, and whether the client went on to send SIP inside. Each case
that must fail (unrelated CA, expired certificate, another host's certificate, a server
that only speaks TLS 1.0/1.1) must get no REGISTER through. docs/telephony.md quotes the
figures this test prints (``-s``).
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest

from calls.backends.sip import SipBackend
from calls.machine import CallMachine
from calls.sip.settings import SipCredentials, SipSettings
from core.clock import SystemClock
from core.config import Config
from core.events import EventBus
from tests.support.sip_certs import (
    CertFiles,
    make_certs,
    make_expired_cert,
    make_other_certs,
    make_wrong_name_cert,
)
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(60)


class TlsProbeServer:
    def __init__(
        self, certs: CertFiles, *, max_version: ssl.TLSVersion | None = None, min_version=None
    ) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.cert, certs.key)
        if max_version is not None:
            self.ctx.minimum_version = min_version or ssl.TLSVersion.MINIMUM_SUPPORTED
            self.ctx.maximum_version = max_version
            self.ctx.set_ciphers("ALL:@SECLEVEL=0")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            raw.settimeout(3)
            try:
                conn = self.ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                raw.close()
                continue
            info: dict[str, Any] = {"version": conn.version(), "cipher": conn.cipher()}
            try:
                info["first_bytes"] = conn.recv(64)
            except (ssl.SSLError, OSError) as exc:
                info["first_bytes"] = b""
                info["read_error"] = str(exc)
            self.handshakes.append(info)
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _register_against(
    server: TlsProbeServer, ca: Path, wait_s: float = 6.0, host: str = "localhost"
) -> SipBackend:
    settings = SipSettings(
        user="counselor",
        domain=f"{host}:{server.port}",
        ca_file=str(ca),
        listen="127.0.0.1",
        retry_s=1.0,
        system_resolver=True,
    )
    backend = SipBackend(settings, credentials=SipCredentials("pw"))
    machine = CallMachine(EventBus(), SystemClock(), Config.defaults(), backend)
    machine.start()
    try:
        wait_until(
            lambda: server.handshakes or len(server.failures) >= 1,
            wait_s,
            "a TLS connection attempt",
        )
    finally:
        machine.stop()
    return backend


def test_a_verified_server_negotiates_tls13_with_an_aead_cipher(tmp_path, capsys):
    certs = make_certs(tmp_path / "good")
    server = TlsProbeServer(certs)
    try:
        _register_against(server, certs.ca)
    finally:
        server.close()
    assert server.handshakes, server.failures
    hs = server.handshakes[0]
    with capsys.disabled():
        print(f"\nengine TLS: {hs['version']} {hs['cipher'][0]}")
    assert hs["version"] == "TLSv1.3"
    assert hs["cipher"][0] in (
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
    )
    assert hs["first_bytes"].startswith(b"REGISTER sip:")  # SIP travels inside the tunnel


def test_tls12_only_server_still_gets_a_forward_secret_aead_cipher(tmp_path, capsys):
    certs = make_certs(tmp_path / "good")
    server = TlsProbeServer(
        certs, max_version=ssl.TLSVersion.TLSv1_2, min_version=ssl.TLSVersion.TLSv1_2
    )
    try:
        _register_against(server, certs.ca)
    finally:
        server.close()
    assert server.handshakes, server.failures
    cipher = server.handshakes[0]["cipher"][0]
    with capsys.disabled():
        print(f"\nengine TLS 1.2: {cipher}")
    assert "ECDHE" in cipher and ("GCM" in cipher or "CHACHA20" in cipher)


@pytest.mark.parametrize("case", ["unrelated_ca", "expired", "wrong_host"])
def test_certificates_that_must_not_verify_get_no_sip_through(tmp_path, case, capsys):
    good = make_certs(tmp_path / "good")
    if case == "unrelated_ca":
        served = make_other_certs(tmp_path / "other")
    elif case == "expired":
        served = make_expired_cert(tmp_path / "expired", good)
    else:
        served = make_wrong_name_cert(tmp_path / "wrong", good)
    server = TlsProbeServer(served)
    try:
        backend = _register_against(server, good.ca)
    finally:
        server.close()
    sent = [h for h in server.handshakes if h.get("first_bytes")]
    with capsys.disabled():
        print(
            f"\n{case}: handshakes={len(server.handshakes)} sip_sent={len(sent)} "
            f"failures={server.failures[:1]}"
        )
    assert not sent, f"{case}: the engine sent SIP to a server it should not trust"
    assert backend.line_state != "registered"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_versions_are_refused(tmp_path, version, capsys):
    certs = make_certs(tmp_path / "good")
    try:
        server = TlsProbeServer(certs, max_version=version, min_version=version)
    except ssl.SSLError:
        pytest.skip("this Python's OpenSSL cannot even serve that version")
    try:
        _register_against(server, certs.ca)
    except AssertionError:
        pass
    finally:
        server.close()
    sent = [h for h in server.handshakes if h.get("first_bytes")]
    with capsys.disabled():
        print(
            f"\n{version.name}: handshakes={[h['version'] for h in server.handshakes]} "
            f"failures={server.failures[:1]}"
        )
    assert not sent, f"the engine accepted {version.name}"
