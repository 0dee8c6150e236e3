"""The chat server's configuration: Prosody 0.12 (Debian's ``prosody``), as Faro runs it.

One function, :func:`prosody_config`, writes the whole ``prosody.cfg.lua`` from a
:class:`ServerSettings`; IT gets it from ``faro chat server-config`` and the tests start a
real Prosody with the very same text (tests/support/prosody.py), so what is tested is what
ships. The choices (docs/chat.md):

- three hosts: ``domain`` (counselors' and supervisors' accounts, c2s over STARTTLS with
  encryption required), ``guest.<domain>`` (the person writing: SASL ANONYMOUS, reached only
  through the web widget's WebSocket on HTTPS), and the router component
  ``router.<domain>`` (XEP-0114, a shared secret, loopback only);
- **nothing kept on the server after delivery**: no ``mam`` (archive), no ``offline``
  (messages to someone offline are bounced, never stored), no s2s, no registration, no
  vCards or PEP storage; the only stored data are the counselors' account hashes;
- ``limits``: a byte rate per connection (a flood is slowed at the socket; the router refuses
  a person's flood of messages itself, ``too_fast``), and stanza-size limits;
- logs at ``info`` without message bodies (Prosody never logs stanza contents at info);
- Nagle's algorithm off (``network_settings``): with it, a stanza written right behind
  another waited for the peer's delayed ACK, ~30 ms on every hop through the router
  (bench/results/chat.md).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    domain: str
    cert_file: Path
    key_file: Path
    data_dir: Path
    log_file: Path | None = None  # None: Prosody's stderr
    pid_file: Path | None = None
    interface: str = "0.0.0.0"
    c2s_port: int = 5222
    https_port: int = 5281
    component_port: int = 5347
    component_secret: str = ""
    #: a connection may send at most this many bytes a second (a flood waits at the socket).
    #: Prosody's epoll backend enforces it by pausing the socket for bytes/rate after every
    #: read: at 10 kB/s a 300-byte stanza held the next one ~29 ms (bench/results/chat.md)
    rate: str = "64kb/s"
    burst: str = "2s"
    #: the largest stanza Prosody accepts from a client (a bigger one closes the stream)
    max_stanza: int = 256 * 1024
    run_as_root: bool = False  # tests and containers; a real server runs as user prosody
    foreground: bool = True
    #: where the widget's static files are served from (None: not served by Prosody)
    widget_dir: Path | None = None

    @property
    def guest_domain(self) -> str:
        return f"guest.{self.domain}"

    @property
    def router_domain(self) -> str:
        return f"router.{self.domain}"


def _lua(s: object) -> str:
    text = str(s)
    if any(c in text for c in '"\\\n\r'):
        raise ValueError("a value with a quote, backslash or newline cannot go in the config")
    return f'"{text}"'


def prosody_config(s: ServerSettings) -> str:
    if not s.component_secret:
        raise ValueError("the router component needs a secret")
    lines = [
        "-- Faro's chat server (written by 'faro chat server-config'; docs/chat.md)",
        f"pidfile = {_lua(s.pid_file or s.data_dir / 'prosody.pid')}",
        f"data_path = {_lua(s.data_dir)}",
        f"daemonize = {str(not s.foreground).lower()}",
    ]
    if s.run_as_root:
        lines.append("run_as_root = true")
    if s.log_file is not None:
        lines.append(
            f'log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = {_lua(s.log_file)} }} }}'
        )
    else:
        lines.append('log = { { levels = { min = "info" }, to = "console" } }')
    http_files = '; "http_files"' if s.widget_dir is not None else ""
    lines += [
        "modules_enabled = {",
        '  "roster"; "saslauth"; "tls"; "disco"; "ping"; "limits"; "time";',
        f'  "http"; "websocket"{http_files};',
        "}",
        "-- nothing kept after delivery: no archive, no offline storage, no federation",
        'modules_disabled = { "offline"; "mam"; "s2s"; "register"; "vcard"; "pep"; "carbons" }',
        "allow_registration = false",
        f"interfaces = {{ {_lua(s.interface)} }}",
        f"c2s_ports = {{ {s.c2s_port} }}",
        "c2s_direct_tls_ports = { }",
        "s2s_ports = { }",
        f"component_ports = {{ {s.component_port} }}",
        'component_interfaces = { "127.0.0.1" }',
        "http_ports = { }",
        f"https_ports = {{ {s.https_port} }}",
        f"https_interfaces = {{ {_lua(s.interface)} }}",
        "-- a chat message crosses two sockets through the router: small stanzas go out at once",
        "network_settings = { nagle = false }",
        "c2s_require_encryption = true",
        "consider_websocket_secure = false",
        "http_cors_override = { websocket = { enabled = true } }",
        'authentication = "internal_hashed"',
        'storage = "internal"',
        f"c2s_stanza_size_limit = {s.max_stanza}",
        "limits = {",
        f"  c2s = {{ rate = {_lua(s.rate)}; burst = {_lua(s.burst)} }};",
        "}",
        f"ssl = {{ certificate = {_lua(s.cert_file)}; key = {_lua(s.key_file)} }}",
        f"https_ssl = {{ certificate = {_lua(s.cert_file)}; key = {_lua(s.key_file)} }}",
        "",
        f"VirtualHost {_lua(s.domain)}",
        "",
        f"VirtualHost {_lua(s.guest_domain)}",
        '  authentication = "anonymous"',
        "  allow_anonymous_s2s = false",
        "  anonymous_login_rate = 60",
    ]
    if s.widget_dir is not None:
        lines += [f"  http_files_dir = {_lua(s.widget_dir)}", '  http_paths = { files = "/chat" }']
    lines += [
        "",
        f"Component {_lua(s.router_domain)}",
        f"  component_secret = {_lua(s.component_secret)}",
        "",
    ]
    return "\n".join(lines)
