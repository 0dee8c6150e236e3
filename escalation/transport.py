"""The broker link: paho-mqtt 2.2, MQTT v5, TLS with client certificates.

One :class:`MqttLink` per process. Its MQTT client id is its identity, the certificate's
common name — the broker enforces that (``use_identity_as_username`` +
``use_username_as_clientid``), so nobody can take over another's session, and each Faro
process of one laptop has its own certificate: the console ``NAME``, the command-line tools
``NAME.cli`` (:data:`CLI_SUFFIX`). paho's network thread ("MQTT network loop") owns the
socket; every callback below runs on it. The link reconnects by itself (paho's loop retries
with a capped back-off), re-subscribes on every connection and reports link changes through
``on_state``. :meth:`MqttLink.publish` refuses while disconnected (returns False): the
callers keep unsent messages in their outbox and publish them again on the next connection,
so nothing depends on paho's in-memory queue.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from core.config import Config
from core.errors import ConfigError
from core.i18n import _
from core.options import COUNSELOR_ID
from escalation import options as o
from escalation.messages import IDENTITY

log = logging.getLogger(__name__)

Sent = Callable[[bool], None]

#: the identity of a laptop's command-line tools is its console's identity plus this
CLI_SUFFIX = ".cli"
PROCESSES = ("console", "cli")


def cli_path(path: str) -> str:
    """``…/c-alba.crt`` → ``…/c-alba.cli.crt``: where the command-line certificate sits."""
    if not path:
        return path
    p = Path(path)
    return str(p.with_name(p.stem + CLI_SUFFIX + p.suffix)) if p.suffix else path + CLI_SUFFIX


def _ignore(ok: bool) -> None:
    pass


@dataclass(frozen=True)
class LinkSettings:
    host: str
    port: int
    identity: str
    role: str = "counselor"
    tls: bool = True
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    keepalive: int = 10
    reconnect_max: float = 5.0
    session_expiry: int = 86400
    mqtt5: bool = True
    will_delay: int = 5

    @property
    def client_id(self) -> str:
        """The identity itself: the broker replaces any other id by the certificate's name."""
        return self.identity

    @classmethod
    def from_config(
        cls, config: Config, role: str | None = None, process: str = "console"
    ) -> LinkSettings | None:
        """The link this laptop's ``process`` ("console", or "cli" for the command-line tools,
        identity NAME.cli) is configured for; None when no broker is set up.
        Raises :class:`ConfigError` for a configuration that cannot work."""
        assert process in PROCESSES, process
        host = config.get(o.BROKER_HOST)
        if not host:
            return None
        tls = config.get(o.TLS)
        cert, key = config.get(o.CERT_FILE), config.get(o.KEY_FILE)
        configured = config.get(COUNSELOR_ID)
        suffix = CLI_SUFFIX if process == "cli" else ""
        if configured and suffix:
            configured += suffix
        if tls:
            missing = [
                k
                for k, v in (
                    ("escalation.ca_file", config.get(o.CA_FILE)),
                    ("escalation.cert_file", cert),
                    ("escalation.key_file", key),
                )
                if not v
            ]
            if missing:
                raise ConfigError(
                    _("The broker needs TLS files that are not configured: {names}.").format(
                        names=", ".join(missing)
                    ),
                    hint=_("Create them with 'faro certs'."),
                )
            if process == "cli":
                cert = config.get(o.CLI_CERT_FILE) or cli_path(cert)
                key = config.get(o.CLI_KEY_FILE) or cli_path(key)
                if not Path(cert).exists():
                    raise ConfigError(
                        _("The command-line certificate {path} does not exist.").format(path=cert),
                        hint=_(
                            "'faro certs issue NAME' writes it next to the console's: each "
                            "Faro process of a laptop has its own identity on the broker."
                        ),
                    )
            from escalation.pki import common_name

            identity = common_name(cert)
            if configured and configured != identity:
                raise ConfigError(
                    _(
                        "identity.counselor_id ({configured}) does not match the "
                        "certificate's name ({identity})."
                    ).format(configured=configured, identity=identity)
                )
        else:
            if not _is_loopback(host):
                raise ConfigError(
                    _(
                        "Plain MQTT without TLS is only allowed to a broker on this "
                        "computer (127.0.0.1)."
                    )
                )
            identity = configured
        if not identity or not IDENTITY.match(identity):
            raise ConfigError(
                _(
                    "This laptop has no valid identity for escalation "
                    "(identity.counselor_id or the certificate's name)."
                )
            )
        return cls(
            host,
            config.get(o.BROKER_PORT),
            identity,
            role or config.get(o.ROLE),
            tls,
            config.get(o.CA_FILE),
            cert,
            key,
            config.get(o.KEEPALIVE_S),
            config.get(o.RECONNECT_MAX_S),
            config.get(o.SESSION_EXPIRY_S),
            config.get(o.PROTOCOL) == "5",
            config.get(o.WILL_DELAY_S),
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(ca_file: str, cert_file: str | None, key_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file or None)
    return ctx


class MqttLink:
    """``subscriptions``: (topic, qos) or (topic, qos, no_local) — with no_local (MQTT v5) the
    broker does not send this client its own live publications back (retained copies still
    come at subscription)."""

    def __init__(
        self,
        settings: LinkSettings,
        *,
        subscriptions: Sequence[tuple[str, int] | tuple[str, int, bool]],
        on_message: Callable[[str, bytes, bool], None],
        on_state: Callable[[bool, str], None],
        will: tuple[str, bytes] | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._subs: list[tuple[str, int, bool]] = []
        for topic, qos, *no_local in subscriptions:
            self._subs.append((topic, qos, bool(no_local and no_local[0])))
        self._on_message = on_message
        self._on_state = on_state
        self._on_connected = on_connected
        self._lock = threading.Lock()
        self._waiting: dict[int, Sent] = {}
        self._early: dict[int, bool] = {}
        self.connected = False
        self._started = False
        self._stopped = False
        if settings.mqtt5:
            c = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=mqtt.MQTTv5
            )
        else:
            c = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=settings.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=False,
            )
        if settings.tls:
            c.tls_set_context(tls_context(settings.ca_file, settings.cert_file, settings.key_file))
        if will is not None:
            wprops = None
            if settings.mqtt5 and settings.will_delay > 0:
                wprops = Properties(PacketTypes.WILLMESSAGE)
                wprops.WillDelayInterval = settings.will_delay
            c.will_set(will[0], will[1], qos=1, retain=True, properties=wprops)
        # paho's hints say int, but it takes float seconds (tests cap the back-off at 0.5 s)
        c.reconnect_delay_set(
            min_delay=0.5,  # type: ignore[arg-type]  # float seconds
            max_delay=max(0.5, settings.reconnect_max),  # type: ignore[arg-type]  # float seconds
        )
        c.on_connect = self._connected
        c.on_connect_fail = self._connect_failed
        c.on_disconnect = self._disconnected
        c.on_message = self._message
        c.on_publish = self._published
        c.max_inflight_messages_set(100)
        self.client = c

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started or self._stopped:
                return
            self._started = True
        kw: dict[str, Any] = {}
        if self.settings.mqtt5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.settings.session_expiry
            kw = {"clean_start": False, "properties": props}
        try:
            self.client.connect_async(
                self.settings.host, self.settings.port, self.settings.keepalive, **kw
            )
        except (OSError, ValueError) as exc:
            log.warning("broker address unusable: %s", type(exc).__name__)
        self.client.loop_start()

    def stop(
        self, farewell: list[tuple[str, bytes, bool]] | None = None, timeout: float = 2.0
    ) -> None:
        """Publish ``farewell`` messages (waiting for the broker), disconnect cleanly (no
        Last Will), and end the network thread. Thread-safe and idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            started = self._started
        if not started:
            return
        if self.connected:
            infos = [self.client.publish(t, p, qos=1, retain=r) for t, p, r in farewell or []]
            for info in infos:
                try:
                    info.wait_for_publish(timeout)
                except (RuntimeError, ValueError):
                    pass
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing -----------------------------------------------------------------------
    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        on_sent: Sent | None = None,
    ) -> bool:
        """Send now if connected; ``on_sent(ok)`` runs when the broker acknowledged it."""
        if not self.connected or self._stopped:
            return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        cb = on_sent or _ignore
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = cb
        if early is not None:
            cb(early)
        return True

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _connected(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any = None
    ) -> None:
        if reason.is_failure:
            self.connected = False
            log.warning("broker refused the connection: %s", reason)
            self._on_state(False, str(reason))
            return
        self.connected = True
        sock = client.socket()
        if isinstance(
            sock, socket.socket
        ):  # an alert must not wait behind Nagle for an earlier ACK
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self._subs:
            if self.settings.mqtt5:
                client.subscribe(
                    [
                        (topic, SubscribeOptions(qos=qos, noLocal=no_local))
                        for topic, qos, no_local in self._subs
                    ]
                )
            else:
                client.subscribe([(topic, qos) for topic, qos, _no_local in self._subs])
        log.info("connected to the broker as %s", self.settings.identity)
        self._on_state(True, "")
        if self._on_connected:
            self._on_connected()

    def _connect_failed(self, client: mqtt.Client, userdata: Any) -> None:
        self.connected = False
        self._on_state(False, "unreachable")

    def _disconnected(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any = None
    ) -> None:
        was = self.connected
        self.connected = False
        with self._lock:
            self._waiting.clear()  # unacknowledged messages are republished by their owners
            self._early.clear()
        if self._stopped:
            return
        if was:
            log.warning("disconnected from the broker: %s", reason)
        self._on_state(False, str(reason))

    def _published(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any = None
    ) -> None:
        ok = not getattr(reason, "is_failure", False)
        with self._lock:
            cb = self._waiting.pop(mid, None)
            if cb is None:
                self._early[mid] = ok
                if len(self._early) > 10000:
                    self._early.clear()
        if cb is not None:
            cb(ok)

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._on_message(msg.topic, bytes(msg.payload), bool(msg.retain))
        except Exception:
            log.exception("handling a broker message failed")
