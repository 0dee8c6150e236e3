"""The Kamailio test rig: it starts and stops, speaks TLS with the rig's CA, registers users.

A minimal SIP user agent, stdlib only, drives it: REGISTER with MD5 digest over UDP or TLS,
and an INVITE from a UDP user to a user registered over TLS (which the proxy must deliver on
the TLS connection that user opened, since it listens nowhere).
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kamailio import Kamailio
from tests.support.sip_certs import CertFiles, make_certs, make_expired_cert, make_other_certs

USERS = {"alice": "alice-s3cret", "bob": 'b0b:pa$$ "word"'}


@pytest.fixture
def certs(tmp_path: Path) -> CertFiles:
    return make_certs(tmp_path / "certs")


@pytest.fixture
def rig(tmp_path: Path, certs: CertFiles) -> Iterator[Kamailio]:
    with Kamailio(tmp_path / "kamailio", USERS, certs) as k:
        yield k


# --- a minimal SIP user agent ---------------------------------------------------------------


def _parse(data: bytes) -> tuple[int | str, dict[str, list[str]], str]:
    """(status code, or request line for requests; headers lower-cased; body)."""
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    first = lines[0]
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if first.startswith("SIP/2.0 "):
        return int(first.split()[1]), headers, body
    return first, headers, body


def _digest(challenge: str, user: str, password: str, method: str, uri: str) -> str:
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = params["realm"], params["nonce"]
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    fields = f'username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
    if "auth" in params.get("qop", "").split(","):
        nc, cnonce = "00000001", uuid.uuid4().hex[:16]
        response = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        fields += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    if "opaque" in params:
        fields += f', opaque="{params["opaque"]}"'
    return f'Digest {fields}, response="{response}"'


class UA:
    """One SIP user agent on one socket: UDP, or a TLS connection to the rig."""

    def __init__(self, rig: Kamailio, user: str, transport: str, ca: Path | None = None) -> None:
        self.rig, self.user, self.transport = rig, user, transport
        self.tag = uuid.uuid4().hex[:8]
        self.call_id = uuid.uuid4().hex
        self.cseq = 0
        self._buf = b""
        if transport == "udp":
            self.sock: socket.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.sock.connect(("127.0.0.1", rig.udp_port))
        else:
            ctx = ssl.create_default_context(cafile=str(ca or rig.certs.ca))
            raw = socket.create_connection(("127.0.0.1", rig.tls_port), timeout=5)
            self.sock = ctx.wrap_socket(raw, server_hostname=rig.domain)
        self.sock.settimeout(5)
        self.host, self.port = self.sock.getsockname()[:2]
        self.contact_port = self.port  # what the UA advertises; TLS UAs often lie

    def close(self) -> None:
        self.sock.close()

    def via(self) -> str:
        proto = "UDP" if self.transport == "udp" else "TLS"
        return f"SIP/2.0/{proto} {self.host}:{self.port};rport;branch=z9hG4bK{uuid.uuid4().hex}"

    def contact(self) -> str:
        return f"<sip:{self.user}@{self.host}:{self.contact_port};transport={self.transport}>"

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def receive(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        if self.transport == "udp":
            return self.sock.recv(65535)
        while True:  # a stream: split on the blank line and Content-Length
            head_end = self._buf.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", self._buf[:head_end])
                total = head_end + 4 + (int(m.group(1)) if m else 0)
                if len(self._buf) >= total:
                    msg, self._buf = self._buf[:total], self._buf[total:]
                    if msg.strip():
                        return msg
                    continue
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("connection closed by the proxy")
            self._buf += chunk

    def response(self, timeout: float = 5.0) -> tuple[int, dict[str, list[str]]]:
        """The next final response (provisional ones are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            code, headers, _ = _parse(self.receive(max(0.1, deadline - time.monotonic())))
            if isinstance(code, int) and code >= 200:
                return code, headers

    def register(self, password: str, user: str | None = None, expires: int = 60) -> int:
        """REGISTER, answer one 401 with a digest, return the final status code."""
        user = user or self.user
        uri = f"sip:{self.rig.domain}"
        auth = ""
        for _ in range(2):
            self.cseq += 1
            self.send(
                f"REGISTER {uri} SIP/2.0\r\n"
                f"Via: {self.via()}\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:{user}@{self.rig.domain}>;tag={self.tag}\r\n"
                f"To: <sip:{user}@{self.rig.domain}>\r\n"
                f"Call-ID: {self.call_id}\r\n"
                f"CSeq: {self.cseq} REGISTER\r\n"
                f"Contact: {self.contact()}\r\n"
                f"Expires: {expires}\r\n"
                f"{auth}"
                "Content-Length: 0\r\n\r\n"
            )
            code, headers = self.response()
            if code != 401:
                return code
            challenge = headers["www-authenticate"][0]
            auth = f"Authorization: {_digest(challenge, user, password, 'REGISTER', uri)}\r\n"
        return code


def _tls_handshake(port: int, ca: Path, server_name: str) -> str:
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.version() or ""


# --- tests ----------------------------------------------------------------------------------


def test_starts_and_stops_and_leaves_no_process(tmp_path: Path, certs: CertFiles) -> None:
    k = Kamailio(tmp_path / "k", USERS, certs)
    k.start()
    try:
        assert k.alive()
        assert k.udp_port != k.tls_port
        assert "kamailio" in k.rpc("core.version")
        assert k.pidfile.read_text().strip() == str(k.pid)
    finally:
        k.stop()
    assert k.proc is not None and k.proc.poll() is not None
    assert not k.alive()  # the workers went too
    with pytest.raises(OSError):  # and the TLS port is free
        socket.create_connection(("127.0.0.1", k.tls_port), timeout=0.5).close()
    assert "Thank you for flying kamailio" in k.log.read_text()


def test_dies_with_the_test_process_even_on_sigkill(tmp_path: Path, certs: CertFiles) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tests.support.kamailio import Kamailio\n"
        "from tests.support.sip_certs import CertFiles\n"
        "d = Path(sys.argv[1])\n"
        "c = CertFiles(d / 'ca.pem', d / 'server.pem', d / 'server.key', d / 'ca.key')\n"
        "k = Kamailio(d / 'orphan', {'alice': 'x'}, c).start()\n"
        "print(k.pid, k.tls_port, flush=True)\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(certs.ca.parent)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid, tls_port = (int(x) for x in parent.stdout.readline().split())
    finally:
        parent.kill()
        parent.wait(5)
    from tests.support.kamailio import _group_has_live_members

    deadline = time.monotonic() + 5
    while _group_has_live_members(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_has_live_members(pid)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", tls_port), timeout=0.5).close()


def test_kill_takes_the_workers_too(tmp_path: Path, certs: CertFiles) -> None:
    k = Kamailio(tmp_path / "k", USERS, certs).start()
    k.kill()
    assert not k.alive()
    k.stop()  # harmless afterwards


def test_tls_verifies_against_the_rig_ca_for_both_names(rig: Kamailio, certs: CertFiles) -> None:
    assert _tls_handshake(rig.tls_port, certs.ca, rig.domain) in ("TLSv1.2", "TLSv1.3")
    assert _tls_handshake(rig.tls_port, certs.ca, "localhost") in ("TLSv1.2", "TLSv1.3")


def test_tls_fails_against_an_unrelated_ca(rig: Kamailio, tmp_path: Path) -> None:
    other = make_other_certs(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(rig.tls_port, other.ca, rig.domain)


def test_tls_refuses_a_wrong_server_name(rig: Kamailio, certs: CertFiles) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(rig.tls_port, certs.ca, "sip.example.org")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_below_1_2_is_refused_by_the_server(rig: Kamailio, certs: CertFiles) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(certs.ca))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", rig.tls_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError) as refused:
            ctx.wrap_socket(raw, server_hostname=rig.domain).close()
    if "NO_PROTOCOLS_AVAILABLE" in str(refused.value):
        pytest.fail(f"the client could not offer TLS 1.1, nothing was tested: {refused.value}")
    assert "PROTOCOL_VERSION" in str(refused.value)


def test_expired_certificate_does_not_verify(tmp_path: Path, certs: CertFiles) -> None:
    expired = make_expired_cert(tmp_path / "expired", certs)
    with Kamailio(tmp_path / "k", USERS, expired) as k:
        with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
            _tls_handshake(k.tls_port, certs.ca, k.domain)


def test_register_over_udp_with_digest(rig: Kamailio) -> None:
    ua = UA(rig, "alice", "udp")
    try:
        assert ua.register(USERS["alice"]) == 200
    finally:
        ua.close()
    assert any(f":{ua.port}" in c for c in rig.contacts("alice"))


def test_register_with_a_password_full_of_specials(rig: Kamailio) -> None:
    ua = UA(rig, "bob", "udp")
    try:
        assert ua.register(USERS["bob"]) == 200
    finally:
        ua.close()


def test_register_with_a_wrong_password_is_refused(rig: Kamailio) -> None:
    ua = UA(rig, "alice", "udp")
    try:
        assert ua.register("not-the-password") in (401, 403)
    finally:
        ua.close()
    assert rig.contacts("alice") == []


def test_register_of_an_unknown_user_is_refused(rig: Kamailio) -> None:
    ua = UA(rig, "mallory", "udp")
    try:
        assert ua.register("whatever") == 403
    finally:
        ua.close()


def test_register_over_tls(rig: Kamailio) -> None:
    ua = UA(rig, "alice", "tls")
    try:
        assert ua.register(USERS["alice"]) == 200
        assert any("transport=tls" in c.lower() for c in rig.contacts("alice"))
    finally:
        ua.close()


def test_refuse_register_answers_403(tmp_path: Path, certs: CertFiles) -> None:
    with Kamailio(tmp_path / "k", USERS, certs, refuse_register=True) as k:
        ua = UA(k, "alice", "udp")
        try:
            assert ua.register(USERS["alice"]) == 403
        finally:
            ua.close()


def _reply(ua: UA, code: str, request: dict[str, list[str]], contact: bool = False) -> None:
    vias = "".join(f"Via: {v}\r\n" for v in request["via"])
    rr = "".join(f"Record-Route: {r}\r\n" for r in request.get("record-route", []))
    to = request["to"][0] if ";tag=" in request["to"][0] else f"{request['to'][0]};tag={ua.tag}"
    ua.send(
        f"SIP/2.0 {code}\r\n"
        f"{vias}{rr}"
        f"From: {request['from'][0]}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {request['call-id'][0]}\r\n"
        f"CSeq: {request['cseq'][0]}\r\n"
        + (f"Contact: {ua.contact()}\r\n" if contact else "")
        + "Content-Length: 0\r\n\r\n"
    )


def _next_request(ua: UA, method: str) -> tuple[str, dict[str, list[str]]]:
    while True:
        first, headers, _ = _parse(ua.receive())
        if isinstance(first, str) and first.startswith(method + " "):
            return first, headers


@pytest.mark.parametrize(("caller", "callee"), [("udp", "tls"), ("tls", "tls"), ("tls", "udp")])
def test_call_through_the_proxy_uses_the_connections_uas_opened(
    rig: Kamailio, caller: str, callee: str
) -> None:
    """Both advertise a Contact port nobody listens on, as TLS clients do; alice calls bob.

    The proxy must deliver the INVITE, and later the in-dialog ACK and BYE, on the connection
    (or UDP address) each UA used (received / alias), and never dial the advertised port.
    """
    bob = UA(rig, "bob", callee)
    alice = UA(rig, "alice", caller)
    if callee == "tls":
        bob.contact_port = 9  # discard: nothing listens there
    if caller == "tls":
        alice.contact_port = 9
    try:
        assert bob.register(USERS["bob"]) == 200
        assert alice.register(USERS["alice"]) == 200
        call_id = uuid.uuid4().hex
        alice.send(
            f"INVITE sip:bob@{rig.domain} SIP/2.0\r\n"
            f"Via: {alice.via()}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:alice@{rig.domain}>;tag={alice.tag}\r\n"
            f"To: <sip:bob@{rig.domain}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: {alice.contact()}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        first, invite = _next_request(bob, "INVITE")
        assert first.startswith("INVITE sip:bob@"), first
        assert invite["call-id"] == [call_id]
        assert invite.get("record-route"), invite  # in-dialog requests come back this way
        _reply(bob, "200 OK", invite, contact=True)

        code, ok = alice.response()
        assert code == 200
        # alice routes ACK and BYE by the Record-Route set (reversed for the caller)
        route = ", ".join(reversed(", ".join(ok["record-route"]).split(", ")))
        target = re.search(r"<([^>]+)>", ok["contact"][0])
        assert target is not None and "alias=" in target.group(1)  # the proxy's NAT idiom
        to = ok["to"][0]
        for cseq, method in ((1, "ACK"), (2, "BYE")):  # one at a time: UDP may reorder
            alice.send(
                f"{method} {target.group(1)} SIP/2.0\r\n"
                f"Via: {alice.via()}\r\n"
                "Max-Forwards: 70\r\n"
                f"Route: {route}\r\n"
                f"From: <sip:alice@{rig.domain}>;tag={alice.tag}\r\n"
                f"To: {to}\r\n"
                f"Call-ID: {call_id}\r\n"
                f"CSeq: {cseq} {method}\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            _, received = _next_request(bob, method)
            assert received["call-id"] == [call_id]
        bye = received
        _reply(bob, "200 OK", bye)
        code, _ = alice.response()
        assert code == 200
    finally:
        alice.close()
        bob.close()


def test_call_to_an_unregistered_user_is_404(rig: Kamailio) -> None:
    alice = UA(rig, "alice", "udp")
    try:
        alice.send(
            f"INVITE sip:nobody@{rig.domain} SIP/2.0\r\n"
            f"Via: {alice.via()}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:alice@{rig.domain}>;tag={alice.tag}\r\n"
            f"To: <sip:nobody@{rig.domain}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: {alice.contact()}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        code, _ = alice.response()
        assert code == 404
    finally:
        alice.close()


def test_auth_calls_challenges_an_invite_with_407(tmp_path: Path, certs: CertFiles) -> None:
    with Kamailio(tmp_path / "k", USERS, certs, auth_calls=True) as k:
        alice = UA(k, "alice", "udp")
        try:
            alice.send(
                f"INVITE sip:bob@{k.domain} SIP/2.0\r\n"
                f"Via: {alice.via()}\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:alice@{k.domain}>;tag={alice.tag}\r\n"
                f"To: <sip:bob@{k.domain}>\r\n"
                f"Call-ID: {uuid.uuid4().hex}\r\n"
                "CSeq: 1 INVITE\r\n"
                f"Contact: {alice.contact()}\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            code, headers = alice.response()
            assert code == 407
            assert k.realm in headers["proxy-authenticate"][0]
        finally:
            alice.close()


def test_options_answers_on_both_transports(rig: Kamailio) -> None:
    assert rig.options("tls") == 200
    assert rig.options("udp") == 200
