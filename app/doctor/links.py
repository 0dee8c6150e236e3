"""What the laptop talks to: its certificates, the supervisors' broker, the SIP server, the
chat server.

The broker is tried as the laptop's command-line identity (``NAME.cli``), never as the
console's: a second client with the console's id would push the running console off the
broker. The SIP server is reached with TLS and its certificate verified; registering needs
the SIP password, which lives in the locked store, so it is the console's own status (and
``faro call test``) that says whether the registration works. The chat server is reached as
the chat client does (XMPP over STARTTLS, its certificate verified against ``chat.ca_file``
for ``chat.domain``); signing in needs the token in the locked store, so the console's chat
line says whether the account works.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

from app.doctor import Check, Context, Status
from calls import options as call_opt
from chat import options as chat_opt
from core.errors import ConfigError
from core.i18n import _, ngettext
from escalation import options as esc_opt

CERT_WARN_DAYS = 30


def _load_cert(path: str) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def _issued_by(cert: Any, ca: Any) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # noqa: BLE001 - any failure means "not issued by this CA"
        return False
    return True


def check_certificate(ctx: Context) -> Check:
    title = _("Laptop certificate")
    cert_file, key_file = ctx.config.get(esc_opt.CERT_FILE), ctx.config.get(esc_opt.KEY_FILE)
    ca_file = ctx.config.get(esc_opt.CA_FILE)
    if not ctx.config.get(esc_opt.BROKER_HOST) or not ctx.config.get(esc_opt.TLS):
        return Check("certificate", title, Status.SKIP, _("Escalation with TLS is not set up."))
    try:
        cert = _load_cert(cert_file)
    except (OSError, ValueError) as exc:
        return Check(
            "certificate",
            title,
            Status.FAIL,
            _("The certificate {path} cannot be read ({error}).").format(
                path=cert_file, error=type(exc).__name__
            ),
            _("Provision the laptop again with its enrolment ('faro provision')."),
        )
    now = ctx.clock.now().astimezone(dt.UTC)
    days = (cert.not_valid_after_utc - now).total_seconds() / 86400
    from cryptography.x509.oid import NameOID

    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    data: dict[str, Any] = {
        "name": str(cn[0].value) if cn else "",
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": int(days),
    }
    problems: list[str] = []
    try:
        ca = _load_cert(ca_file)
        if not _issued_by(cert, ca):
            problems.append(
                _("it is not signed by the organisation's CA ({path})").format(path=ca_file)
            )
    except (OSError, ValueError):
        problems.append(_("the organisation's CA {path} cannot be read").format(path=ca_file))
    try:
        mode = stat.S_IMODE(os.stat(key_file).st_mode)
        if mode & 0o077:
            problems.append(
                _("its private key can be read by others (mode {mode})").format(mode=oct(mode))
            )
    except OSError:
        problems.append(_("its private key {path} is missing").format(path=key_file))
    if cert.not_valid_before_utc > now:
        problems.append(_("it is not valid yet (is the clock right?)"))
    if days < 0:
        problems.append(_("it expired on {date}").format(date=cert.not_valid_after_utc.date()))
    if problems:
        return Check(
            "certificate",
            title,
            Status.FAIL,
            _("The certificate of {name}: {problems}.").format(
                name=data["name"], problems="; ".join(problems)
            ),
            _("Issue a new enrolment for this laptop ('faro certs issue') and provision it."),
            data,
        )
    left = ngettext("{n} day left", "{n} days left", int(days)).format(n=int(days))
    if days < CERT_WARN_DAYS:
        return Check(
            "certificate",
            title,
            Status.WARN,
            _("{name}: expires on {date} ({left}).").format(
                name=data["name"], date=cert.not_valid_after_utc.date(), left=left
            ),
            _("Renew it before it expires: without it the laptop cannot reach supervisors."),
            data,
        )
    return Check(
        "certificate",
        title,
        Status.OK,
        _("{name}: valid until {date} ({left}).").format(
            name=data["name"], date=cert.not_valid_after_utc.date(), left=left
        ),
        data=data,
    )


def _mqtt_connect(ctx: Context, settings: Any) -> tuple[bool, str]:
    """CONNECT/CONNACK as the command-line identity; (ok, reason code or error)."""
    import paho.mqtt.client as mqtt

    from escalation.transport import tls_context

    done = threading.Event()
    result: dict[str, Any] = {}

    def on_connect(client, userdata, flags, reason, properties=None):  # noqa: ANN001
        result["ok"] = not reason.is_failure
        result["reason"] = str(reason)
        done.set()

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        protocol=mqtt.MQTTv5 if settings.mqtt5 else mqtt.MQTTv311,
    )
    client.on_connect = on_connect
    if settings.tls:
        client.tls_set_context(tls_context(settings.ca_file, settings.cert_file, settings.key_file))
    try:
        client.connect(settings.host, settings.port, keepalive=10)
    except ssl.SSLCertVerificationError as exc:
        return False, _("the broker's certificate is not trusted ({reason})").format(
            reason=exc.verify_message
        )
    except ssl.SSLError as exc:
        return False, _("TLS failed ({reason})").format(reason=exc.reason or type(exc).__name__)
    except socket.gaierror:
        return False, _("the name {host} cannot be resolved").format(host=settings.host)
    except OSError as exc:
        return False, exc.strerror or type(exc).__name__
    client.loop_start()
    try:
        if not done.wait(ctx.network_timeout_s):
            return False, _("no answer within {s:.0f} s").format(s=ctx.network_timeout_s)
        return bool(result.get("ok")), str(result.get("reason", ""))
    finally:
        client.disconnect()
        client.loop_stop()


def check_broker(ctx: Context) -> Check:
    from escalation.transport import LinkSettings

    title = _("Supervisors' broker")
    try:
        settings = LinkSettings.from_config(ctx.config, process="cli")
    except ConfigError as exc:
        return Check("broker", title, Status.FAIL, exc.message, exc.hint or "")
    if settings is None:
        return Check("broker", title, Status.SKIP, _("Escalation is not set up on this laptop."))
    where = f"{settings.host}:{settings.port}"
    ok, reason = _mqtt_connect(ctx, settings)
    data = {"broker": where, "tls": settings.tls, "identity": settings.identity}
    if ok:
        return Check(
            "broker",
            title,
            Status.OK,
            _("{where} answers ({tls}), as {identity}.").format(
                where=where, tls="TLS" if settings.tls else _("no TLS"), identity=settings.identity
            ),
            data=data,
        )
    return Check(
        "broker",
        title,
        Status.FAIL,
        _("{where} cannot be used: {reason}.").format(where=where, reason=reason),
        _(
            "Alerts wait on this laptop until it reaches the broker. Check the network, the "
            "broker's address in the bundle and the certificates."
        ),
        data,
    )


def _host_port(value: str, default_port: int) -> tuple[str, int]:
    value = value.removeprefix("sips:").removeprefix("sip:").split(";")[0]
    if value.startswith("["):  # [v6]:port
        host, _sep, rest = value[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    host, _sep, port = value.partition(":")
    return host, int(port or default_port)


def _tls_failure(
    check: str,
    title: str,
    data: dict[str, str],
    exc: OSError,
    untrusted: str,
    untrusted_advice: str,
    unreachable: str,
    unreachable_advice: str,
) -> Check:
    """A server that could not be reached over TLS: its certificate not trusted (the CA
    file), or no connection at all (the network, the address). ``untrusted`` and
    ``unreachable`` are formatted with ``data`` and the ``reason``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        summary = untrusted.format(**data, reason=exc.verify_message)
        return Check(check, title, Status.FAIL, summary, untrusted_advice, data)
    reason = exc.strerror or type(exc).__name__
    summary = unreachable.format(**data, reason=reason)
    return Check(check, title, Status.FAIL, summary, unreachable_advice, data)


def check_sip_server(ctx: Context) -> Check:
    title = _("SIP server")
    if ctx.config.get(call_opt.BACKEND) != "sip":
        return Check("sip", title, Status.SKIP, _("Calls do not use SIP on this laptop."))
    target = ctx.config.get(call_opt.SIP_PROXY) or ctx.config.get(call_opt.SIP_DOMAIN)
    if not target:
        return Check(
            "sip",
            title,
            Status.FAIL,
            _("calls.backend is sip but sip.domain is empty."),
            _("Set the helpline's SIP domain in the bundle."),
        )
    host, port = _host_port(target, 5061)
    ca = ctx.config.get(call_opt.SIP_CA_FILE)
    tls = ssl.create_default_context(cafile=ca or None)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    data = {"server": f"{host}:{port}"}
    try:
        with socket.create_connection((host, port), timeout=ctx.network_timeout_s) as raw:
            with tls.wrap_socket(raw, server_hostname=host) as s:
                data["tls"] = s.version() or ""
    except OSError as exc:  # ssl's errors too
        return _tls_failure(
            "sip",
            title,
            data,
            exc,
            _("{server}: its certificate is not trusted ({reason})."),
            _("Check sip.ca_file: it must be the CA that signs the SIP server."),
            _("{server} cannot be reached over TLS ({reason})."),
            _("Calls cannot ring here. Check the network and the SIP address in the bundle."),
        )
    return Check(
        "sip",
        title,
        Status.OK,
        _("{server} answers over {tls}; the console shows whether it is registered.").format(
            server=data["server"], tls=data["tls"]
        ),
        data=data,
    )


_STARTTLS = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"


def _read_until(sock: socket.socket, marks: tuple[bytes, ...], limit: int = 65536) -> bytes:
    """Bytes from ``sock`` until one of ``marks`` arrived (or the peer closed, or ``limit``)."""
    data = b""
    while not any(m in data for m in marks) and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _xmpp_starttls(raw: socket.socket, domain: str) -> str:
    """Open an XMPP client stream and ask for TLS; "" when the server agreed, else why not."""
    raw.sendall(
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='"
        + domain.encode()
        + b"'>"
    )
    features = _read_until(raw, (b"</stream:features>", b"</stream:stream>"))
    if b"host-unknown" in features:
        return "host_unknown"
    if b"urn:ietf:params:xml:ns:xmpp-tls" not in features:
        return "no_starttls" if b"<stream:features" in features else "not_xmpp"
    raw.sendall(_STARTTLS)
    answer = _read_until(raw, (b"<proceed", b"<failure", b"</stream:stream>"))
    return "" if b"<proceed" in answer else "starttls_refused"


def check_chat_server(ctx: Context) -> Check:
    title = _("Chat server")
    if not ctx.config.get(chat_opt.ENABLED):
        return Check("chat", title, Status.SKIP, _("The chat line is off on this laptop."))
    domain = ctx.config.get(chat_opt.DOMAIN)
    if not domain:
        return Check(
            "chat",
            title,
            Status.FAIL,
            _("chat.enabled is on but chat.domain is empty."),
            _("Set the chat server's domain in the bundle."),
        )
    host = ctx.config.get(chat_opt.HOST) or domain
    port = ctx.config.get(chat_opt.PORT)
    ca = ctx.config.get(chat_opt.CA_FILE)
    tls = ssl.create_default_context(cafile=ca or None)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    data = {"server": f"{host}:{port}", "domain": domain}
    reasons = {
        "not_xmpp": _("it does not speak XMPP"),
        "host_unknown": _("it does not serve {domain}").format(domain=domain),
        "no_starttls": _("it does not offer TLS"),
        "starttls_refused": _("it refused to start TLS"),
    }
    try:
        with socket.create_connection((host, port), timeout=ctx.network_timeout_s) as raw:
            refused = _xmpp_starttls(raw, domain)
            if refused:
                return Check(
                    "chat",
                    title,
                    Status.FAIL,
                    _("{server} answers, but {reason}.").format(
                        server=data["server"], reason=reasons[refused]
                    ),
                    _("Check chat.host and chat.port: they must lead to the chat server."),
                    data,
                )
            with tls.wrap_socket(raw, server_hostname=domain) as s:
                data["tls"] = s.version() or ""
    except OSError as exc:  # ssl's errors too
        return _tls_failure(
            "chat",
            title,
            data,
            exc,
            _("{server}: its certificate is not trusted for {domain} ({reason})."),
            _("Check chat.ca_file: it must be the CA that signs the chat server."),
            _("{server} cannot be reached ({reason})."),
            _("Chats cannot be offered here. Check the network and the chat server's address."),
        )
    return Check(
        "chat",
        title,
        Status.OK,
        _(
            "{server} answers over {tls} for {domain}; the console shows whether the account "
            "signs in."
        ).format(server=data["server"], tls=data["tls"], domain=domain),
        data=data,
    )


CHECKS = [check_certificate, check_broker, check_sip_server, check_chat_server]
