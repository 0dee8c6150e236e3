"""A real Kamailio SIP registrar and proxy on loopback, over UDP and TLS, stopped by PID.

The config is generated into ``workdir``: a registrar (usrloc in memory) with digest auth
against the given users, and a stateful proxy between registered users with record-routing,
so in-dialog requests (ACK, BYE, re-INVITE, REFER, NOTIFY …) pass through it as well.

Clients behind TLS are handled with the usual NAT idioms: a REGISTER's source address is
saved as ``received`` (``fix_nated_register``), the Contact of other requests and replies gets
an ``;alias=`` of the source (``set_contact_alias``) that ``handle_ruri_alias`` turns back into
the destination, and requests to clients never open a new TCP/TLS connection
(``set_forward_no_connect``): they reuse the connection the client opened, as a client with no
listening socket needs.

Kamailio's workers are forked by its main process and do not die with it: ``children.spawn``
ties only the main process to the test run, and a SIGKILLed main leaves its workers holding
the ports. So each rig also starts a reaper, a small Python process reading a pipe from the
test process; when the pipe closes (``stop()``, or the test process dying, however) it
SIGKILLs Kamailio's whole process group.

Passwords never appear in the config: it holds HA1 hashes (MD5 of ``user:realm:password``).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType

from core import children
from tests.support.ports import free_port
from tests.support.sip_certs import CertFiles

_USER = re.compile(r"[A-Za-z0-9._~+-]+")
_MODULES = (
    "kex",
    "corex",
    "tm",
    "tmx",
    "sl",
    "rr",
    "pv",
    "maxfwd",
    "usrloc",
    "registrar",
    "textops",
    "siputils",
    "xlog",
    "sanity",
    "auth",
    "nathelper",
    "ctl",
    "tls",
)


# Reads stdin until EOF (the test process closed the pipe or died), then kills the group.
_REAPER = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pgid = int(sys.argv[1])
sys.stdin.buffer.read()
try:
    os.killpg(pgid, signal.SIGKILL)
except OSError:
    pass
"""


# A SIP URI in the rig's domain without a port ("sip:bob@127.0.0.1"), for the config.
_OURS = r"^sips?:([^@]+@)?(127\\.0\\.0\\.1|localhost(:[0-9]+)?)(;.*)?$"


def ha1(user: str, realm: str, password: str) -> str:
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()


class Kamailio:
    """``Kamailio(workdir, {"alice": "pw"}, certs).start()``; ``stop()`` or use ``with``.

    ``domain`` is the SIP domain to register to (``sip:alice@127.0.0.1``); ``localhost`` is an
    alias, and the server certificate names both. ``auth_calls`` makes out-of-dialog requests
    from local users (INVITE, MESSAGE, …) answer 407 first, like a production proxy.
    ``refuse_register`` answers every REGISTER with 403.
    """

    domain = "127.0.0.1"
    realm = "faro-test"

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str],
        certs: CertFiles,
        *,
        refuse_register: bool = False,
        auth_calls: bool = False,
        udp_port: int | None = None,
        tls_port: int | None = None,
        debug: int = 2,
    ) -> None:
        for user in users:
            if not _USER.fullmatch(user):
                raise ValueError(f"user name not usable in the rig: {user!r}")
        self.binary = "/usr/sbin/kamailio"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users)
        self.certs = certs
        self.refuse_register = refuse_register
        self.auth_calls = auth_calls
        self.debug = debug
        self.udp_port = udp_port or _free_udp_port()
        self.tls_port = tls_port or free_port()
        while self.tls_port == self.udp_port:
            self.tls_port = free_port()
        self.conf = self.workdir / "kamailio.cfg"
        self.tls_conf = self.workdir / "tls.cfg"
        self.log = self.workdir / "kamailio.log"
        self.pidfile = self.workdir / "kamailio.pid"
        self.rundir = self.workdir / "run"
        self.ctl_socket = self.rundir / "kamailio_ctl"
        self.proc: subprocess.Popen[bytes] | None = None
        self._reaper: subprocess.Popen[bytes] | None = None

    # --- addresses -------------------------------------------------------------------------

    def uri(self, user: str | None = None, transport: str = "tls") -> str:
        """``sip:[user@]127.0.0.1:<port>;transport=tls|udp`` — the proxy, for that transport."""
        port = self.tls_port if transport == "tls" else self.udp_port
        who = f"{user}@" if user else ""
        return f"sip:{who}{self.domain}:{port};transport={transport}"

    def aor(self, user: str) -> str:
        return f"sip:{user}@{self.domain}"

    # --- config ----------------------------------------------------------------------------

    def write_config(self) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.tls_conf.write_text(
            "[server:default]\n"
            "method = TLSv1.2+\n"
            "verify_certificate = no\n"
            "require_certificate = no\n"
            f"private_key = {self.certs.key}\n"
            f"certificate = {self.certs.cert}\n"
            "\n"
            "[client:default]\n"
            "method = TLSv1.2+\n"
            "verify_certificate = no\n"
            "require_certificate = no\n"
        )
        self.conf.write_text(self._config())

    def _password_lines(self) -> str:
        lines = []
        for user, password in self.users.items():
            lines.append(
                f'\tif ($au == "{user}") {{ $var(ha1) = "{ha1(user, self.realm, password)}"; }}'
            )
        return "\n".join(lines)

    def _config(self) -> str:
        realm = self.realm
        loads = "\n".join(f'loadmodule "{m}.so"' for m in _MODULES)
        refuse = (
            '\tsl_send_reply("403", "Registration refused by test rig");\n\texit;\n'
            if self.refuse_register
            else ""
        )
        call_auth = (
            '\tif (!is_method("ACK|CANCEL|PRACK")\n'
            f'\t\t\t&& (from_uri == myself || $fu =~ "{_OURS}")) {{\n'
            "\t\troute(AUTH_PROXY);\n"
            "\t}\n"
            if self.auth_calls
            else ""
        )
        return f"""#!KAMAILIO
# generated by tests/support/kamailio.py
debug={self.debug}
log_stderror=yes
log_prefix="{{$mt $hdr(CSeq) $ci}} "
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
dns_try_ipv6=no
use_dns_cache=no
listen=udp:127.0.0.1:{self.udp_port}
listen=tls:127.0.0.1:{self.tls_port}
alias="127.0.0.1:{self.udp_port}"
alias="127.0.0.1:{self.tls_port}"
alias="localhost:{self.udp_port}"
alias="localhost:{self.tls_port}"
enable_tls=yes
tcp_connection_lifetime=3605
tcp_accept_no_cl=yes
tcp_rd_buf_size=16384
server_header="Server: faro-test-kamailio"
user_agent_header="User-Agent: faro-test-kamailio"

loadpath "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
{loads}

modparam("tls", "config", "{self.tls_conf}")
modparam("ctl", "binrpc", "unix:{self.ctl_socket}")
modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 30000)
modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 10)
modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")
modparam("nathelper", "natping_interval", 0)
modparam("auth", "nonce_expire", 300)
modparam("sanity", "autodrop", 0)

request_route {{
	if (!mf_process_maxfwd_header("10")) {{
		sl_send_reply("483", "Too Many Hops");
		exit;
	}}
	if (!sanity_check("17895", "7")) {{
		xlog("L_WARN", "malformed request from $si:$sp\\n");
		exit;
	}}
	xlog("L_INFO", "request $rm $ru from $proto:$si:$sp\\n");
	route(NATDETECT);

	if (is_method("CANCEL")) {{
		if (t_check_trans()) {{
			route(RELAY);
		}}
		exit;
	}}
	if (!is_method("ACK")) {{
		if (t_precheck_trans()) {{
			t_check_trans();
			exit;
		}}
		t_check_trans();
	}}

	route(WITHINDLG);

	remove_hf("Route");
	if (!is_method("REGISTER")) {{
		record_route();
	}}

	if (is_method("REGISTER")) {{
		route(REGISTRAR);
	}}
	if (is_method("OPTIONS") && $rU == $null) {{
		sl_send_reply("200", "OK");
		exit;
	}}
	# "sip:bob@127.0.0.1" (no port) is ours too; no port-less alias for that, or every
	# loopback UA's contact would count as "myself" and loose_route would strict-route
	if (uri != myself && !($ru =~ "{_OURS}")) {{
		sl_send_reply("403", "Not relaying");
		exit;
	}}
{call_auth}	if ($rU == $null) {{
		sl_send_reply("484", "Address Incomplete");
		exit;
	}}
	route(LOCATION);
}}

route[NATDETECT] {{
	force_rport();
	if (is_method("REGISTER")) {{
		fix_nated_register();
	}} else if (is_first_hop() && is_present_hf("Contact")) {{
		set_contact_alias();
	}}
}}

route[WITHINDLG] {{
	if (!has_totag()) {{
		return;
	}}
	if (loose_route()) {{
		if (!isdsturiset()) {{
			handle_ruri_alias();
		}}
		if (is_method("NOTIFY")) {{
			record_route();
		}}
		route(RELAY);
		exit;
	}}
	if (is_method("ACK")) {{
		if (t_check_trans()) {{
			route(RELAY);
		}}
		exit;
	}}
	sl_send_reply("404", "Not here");
	exit;
}}

route[PASSWORD] {{
	$var(ha1) = "";
{self._password_lines()}
}}

route[REGISTRAR] {{
{refuse}	if (!is_present_hf("Authorization")) {{
		www_challenge("{realm}", "0");
		exit;
	}}
	route(PASSWORD);
	if ($var(ha1) == "" || $au != $tU) {{
		sl_send_reply("403", "Forbidden");
		exit;
	}}
	if (!pv_www_authenticate("{realm}", "$var(ha1)", "1")) {{
		$var(rc) = $rc;
		xlog("L_INFO", "REGISTER auth for $au failed: $var(rc)\\n");
		if ($var(rc) == -2) {{
			sl_send_reply("403", "Wrong password");
		}} else {{
			www_challenge("{realm}", "0");
		}}
		exit;
	}}
	consume_credentials();
	if (!save("location")) {{
		sl_reply_error();
	}}
	exit;
}}

route[AUTH_PROXY] {{
	if (!is_present_hf("Proxy-Authorization")) {{
		proxy_challenge("{realm}", "0");
		exit;
	}}
	route(PASSWORD);
	if ($var(ha1) == "" || $au != $fU) {{
		sl_send_reply("403", "Forbidden");
		exit;
	}}
	if (!pv_proxy_authenticate("{realm}", "$var(ha1)", "1")) {{
		$var(rc) = $rc;
		if ($var(rc) == -2) {{
			sl_send_reply("403", "Wrong password");
		}} else {{
			proxy_challenge("{realm}", "0");
		}}
		exit;
	}}
	consume_credentials();
}}

route[LOCATION] {{
	if (!lookup("location")) {{
		$var(rc) = $rc;
		t_newtran();
		switch ($var(rc)) {{
			case -2:
				send_reply("405", "Method Not Allowed");
				exit;
			default:
				send_reply("404", "Not Found");
				exit;
		}}
	}}
	route(RELAY);
}}

route[RELAY] {{
	# every destination is a user agent: reuse the connection it opened, never dial it
	set_forward_no_connect();
	xlog("L_INFO", "relay $rm to $ru via $du\\n");
	if (is_method("INVITE|SUBSCRIBE|UPDATE|REFER")) {{
		t_on_reply("MANAGE_REPLY");
	}}
	if (!t_relay()) {{
		sl_reply_error();
	}}
	exit;
}}

onreply_route[MANAGE_REPLY] {{
	if (is_first_hop() && is_present_hf("Contact")) {{
		set_contact_alias();
	}}
}}
"""

    # --- process ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        return [
            self.binary,
            "-f",
            str(self.conf),
            "-DD",
            "-E",
            "-m",
            "64",
            "-M",
            "8",
            "-P",
            str(self.pidfile),
            "-Y",
            str(self.rundir),
            "-w",
            str(self.workdir),
        ]

    def check_config(self) -> str:
        """``kamailio -c`` on the generated config; raises with its output when it fails."""
        self.write_config()
        res = subprocess.run(
            [self.binary, "-c", "-f", str(self.conf), "-Y", str(self.rundir), "-E"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if res.returncode != 0:
            raise RuntimeError(f"kamailio config does not check:\n{res.stderr}")
        return res.stderr

    def start(self, timeout: float = 10.0) -> Kamailio:
        if not os.path.exists(self.binary):
            raise RuntimeError(
                "kamailio is not installed (apt-get install kamailio kamailio-tls-modules)"
            )
        self.write_config()
        with open(self.log, "ab") as log:
            self.proc = children.spawn(  # dies with the test run, even on SIGKILL
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self._reaper = subprocess.Popen(  # not spawn(): it must outlive us to do its job
            [sys.executable, "-c", _REAPER, str(self.proc.pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        try:  # not ports.wait_listening: a bare connect-and-close upsets Kamailio's TCP main
            self._wait_answering(timeout)
        except (TimeoutError, OSError):
            code = self.proc.poll()
            self.stop()
            raise RuntimeError(
                f"kamailio did not start (exit status {code}):\n{self.log_text()}"
            ) from None
        return self

    def options(self, transport: str = "tls", timeout: float = 2.0) -> int:
        """Send OPTIONS to the proxy itself over ``transport``; return the status code."""
        port = self.tls_port if transport == "tls" else self.udp_port
        sock: socket.socket
        if transport == "tls":
            ctx = ssl.create_default_context(cafile=str(self.certs.ca))
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # a probe: the certificate is tested elsewhere
            sock = ctx.wrap_socket(
                socket.create_connection(("127.0.0.1", port), timeout=timeout),
                server_hostname=self.domain,
            )
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.connect(("127.0.0.1", port))
        with sock:
            sock.settimeout(timeout)
            host, local = sock.getsockname()[:2]
            proto = "TLS" if transport == "tls" else "UDP"
            sock.sendall(
                (
                    f"OPTIONS sip:{self.domain}:{port};transport={transport} SIP/2.0\r\n"
                    f"Via: SIP/2.0/{proto} {host}:{local};rport"
                    f";branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                    "Max-Forwards: 70\r\n"
                    f"From: <sip:probe@{self.domain}>;tag={uuid.uuid4().hex[:8]}\r\n"
                    f"To: <sip:{self.domain}>\r\n"
                    f"Call-ID: {uuid.uuid4().hex}\r\n"
                    "CSeq: 1 OPTIONS\r\n"
                    "Content-Length: 0\r\n\r\n"
                ).encode()
            )
            reply = sock.recv(65535).decode(errors="replace")
        return int(reply.split()[1])

    def _wait_answering(self, timeout: float) -> None:
        """Until OPTIONS gets 200 over TLS and UDP: every process is up, not just the socket."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        pending = ["tls", "udp"]
        while pending:
            if self.proc.poll() is not None:
                raise TimeoutError("kamailio exited")
            try:
                if self.options(pending[0], timeout=0.5) == 200:
                    pending.pop(0)
                    continue
            except (OSError, ValueError, IndexError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"kamailio does not answer OPTIONS over {pending[0]}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def rpc(self, *args: str) -> str:
        """A kamcmd RPC over the rig's own control socket, e.g. ``rpc("ul.dump")``."""
        res = subprocess.run(
            ["/usr/sbin/kamcmd", "-s", f"unix:{self.ctl_socket}", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if res.returncode != 0:
            raise RuntimeError(f"kamcmd {' '.join(args)} failed: {res.stdout}{res.stderr}")
        return res.stdout

    def contacts(self, user: str) -> list[str]:
        """The contacts registered for ``user`` (empty when none)."""
        try:
            out = self.rpc("ul.lookup", "location", user)
        except RuntimeError:
            return []
        return re.findall(r"Address:\s*(\S+)", out)

    def alive(self) -> bool:
        """Whether any process of the rig (main or worker) still runs."""
        if self.proc is None:
            return False
        return self.proc.poll() is None or _group_has_live_members(self.proc.pid)

    def kill(self) -> None:
        """SIGKILL the whole rig at once (tests of a proxy that vanishes)."""
        if self.proc:
            _killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._stop_reaper()

    def stop(self, timeout: float = 2.0) -> None:
        """SIGTERM to the main process (it stops its workers), then SIGKILL for stragglers.

        Kamailio's TCP main process now and then misses the shutdown (it is busy passing a
        connection to a worker that already exited), and the main process then waits for it:
        hence the short ``timeout`` before the whole group gets SIGKILL.
        """
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
            _killpg(self.proc.pid, signal.SIGKILL)
        self._stop_reaper()

    def _stop_reaper(self) -> None:
        if self._reaper:
            if self._reaper.stdin:
                self._reaper.stdin.close()
            try:
                self._reaper.wait(5)
            except subprocess.TimeoutExpired:
                self._reaper.kill()
                self._reaper.wait(5)
            self._reaper = None

    def __enter__(self) -> Kamailio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_udp_port() -> int:
    """A port free for both TCP (``free_port`` checks that) and UDP on 127.0.0.1."""
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _group_has_live_members(pgid: int) -> bool:
    """A process group can outlive its leader; zombies of it do not count."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
