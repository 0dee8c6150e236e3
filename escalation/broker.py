"""Broker side: the Mosquitto configuration and ACL Faro expects, and an embedded broker.

:func:`mosquitto_config` and :func:`acl_text` render what packaging/broker/ ships (TLS with
the organisation's CA, ``require_certificate``, ``use_identity_as_username`` and
``use_username_as_clientid`` — the certificate's name is the user *and* the client id, so no
certificate holder can take over another's session —, persistence, the ACL).
:func:`start_embedded_broker` is for ``faro demo``: Mosquitto on 127.0.0.1 with a
throwaway CA when the binary is installed, else the pure-Python amqtt broker (plain MQTT
3.1.1 on loopback only). It returns the address, the option overrides for each side, and a
stop function; the broker process is stopped by its own PID.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import children
from core.paths import make_private_dir

log = logging.getLogger(__name__)

MOSQUITTO = "/usr/sbin/mosquitto"


def acl_text(
    supervisors: list[str] | tuple[str, ...] = (), it: list[str] | tuple[str, ...] = ()
) -> str:
    """The ACL: counselors write (and read back) only their own subtree and read only their
    replies; each listed supervisor reads everything and writes replies and its own presence;
    each listed IT identity may clear stale retained alerts and acknowledgements ('faro
    supervisor stale --clear') but reads no whisper. Every name gets a second block for its
    command-line identity (NAME.cli)."""
    from escalation.transport import CLI_SUFFIX

    lines = [
        "# Faro escalation ACL (mosquitto acl_file). %u is the certificate's common name",
        "# (use_identity_as_username), which is also the client id (use_username_as_clientid).",
        "# Regenerate with 'faro certs acl'.",
        "",
        "# every authenticated laptop (counselors): its own subtree, read back to reconcile",
        "# retained alerts, and the replies addressed to it",
        "pattern readwrite faro/v1/c/%u/#",
        "pattern read faro/v1/s/%u/#",
        "",
    ]
    for sup in supervisors:
        for name in (sup, sup + CLI_SUFFIX):
            lines += [
                f"user {name}",
                "topic read faro/v1/c/#",
                "topic readwrite faro/v1/s/#",
                "topic read faro/v1/sup/#",
                f"topic write faro/v1/sup/{name}/#",
                "",
            ]
    for desk in it:
        for name in (desk, desk + CLI_SUFFIX):
            lines += [
                f"user {name}",
                "topic read faro/v1/c/+/presence",
                "topic readwrite faro/v1/c/+/esc/+/alert",
                "topic readwrite faro/v1/c/+/esc/+/realert",
                "topic readwrite faro/v1/s/+/esc/+/ack",
                "topic write faro/v1/s/+/esc/+/event",
                f"topic readwrite faro/v1/sup/{name}/#",
                "",
            ]
    return "\n".join(lines)


def mosquitto_config(
    *,
    ca_file: Path,
    cert_file: Path,
    key_file: Path,
    acl_file: Path,
    persistence_dir: Path | None = None,
    port: int | None = None,
    bind: str | None = None,
    log_file: Path | None = None,
) -> str:
    """The TLS listener lines (and, with ``port``, a full standalone file)."""
    lines = []
    if port is not None:
        lines.append(f"listener {port} {bind or '127.0.0.1'}")
    lines += [
        f"cafile {ca_file}",
        f"certfile {cert_file}",
        f"keyfile {key_file}",
        "tls_version tlsv1.2",
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
        "allow_anonymous false",
        f"acl_file {acl_file}",
        "max_queued_messages 10000",
        "persistent_client_expiration 14d",
        "set_tcp_nodelay true",
    ]
    if persistence_dir is not None:
        lines += [
            "persistence true",
            f"persistence_location {persistence_dir}/",
            "autosave_interval 1",
        ]
    if log_file is not None:
        lines += [
            f"log_dest file {log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
    if port is not None and os.geteuid() == 0:
        lines.append("user root")
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the embedded broker exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the embedded broker did not start listening")


@dataclass
class EmbeddedBroker:
    host: str
    port: int
    kind: str  # "mosquitto" or "amqtt"
    tls: bool
    directory: Path
    _stop: Callable[[], None] = field(repr=False, default=lambda: None)
    pid: int | None = None

    def client_overrides(self, identity: str, role: str = "counselor") -> dict[str, Any]:
        """Options for a session of ``identity`` talking to this broker."""
        o: dict[str, Any] = {
            "escalation.broker_host": self.host,
            "escalation.broker_port": self.port,
            "escalation.role": role,
            "escalation.tls": self.tls,
            "escalation.reconnect_max_s": 2.0,
            "identity.counselor_id": identity,
        }
        if self.tls:
            from escalation.pki import Authority

            pki = self.directory / "pki"
            cert, key = pki / f"{identity}.crt", pki / f"{identity}.key"
            if not cert.exists():
                Authority.load(pki).issue_to(pki, identity)
            o.update(
                {
                    "escalation.ca_file": str(pki / "ca.crt"),
                    "escalation.cert_file": str(cert),
                    "escalation.key_file": str(key),
                }
            )
        else:
            o["escalation.mqtt_protocol"] = "3.1.1"
        return o

    def stop(self) -> None:
        self._stop()


def start_embedded_broker(
    directory: Path,
    *,
    supervisors: tuple[str, ...] = ("demo-supervisor",),
    prefer: tuple[str, ...] = ("mosquitto", "amqtt"),
) -> EmbeddedBroker:
    """Start a broker on 127.0.0.1 and a free port. Raises RuntimeError if none can run."""
    directory = Path(directory)
    make_private_dir(directory)
    errors = []
    for kind in prefer:
        try:
            if kind == "mosquitto":
                binary = shutil.which("mosquitto") or MOSQUITTO
                if not os.path.exists(binary):
                    raise RuntimeError("mosquitto is not installed")
                return _start_mosquitto(binary, directory, supervisors)
            if kind == "amqtt":
                return _start_amqtt(directory)
        except Exception as exc:  # try the next kind
            errors.append(f"{kind}: {exc}")
    raise RuntimeError("no embedded broker could start (" + "; ".join(errors) + ")")


def _start_mosquitto(binary: str, directory: Path, supervisors: tuple[str, ...]) -> EmbeddedBroker:
    from escalation.pki import Authority, write_private

    pki = directory / "pki"
    if not (pki / "ca.key").exists():
        ca = Authority.create("Faro demo")
        ca.save(pki)
        ca.issue_to(pki, "broker", server_names=["127.0.0.1", "localhost"])
    acl = directory / "acl"
    write_private(acl, acl_text(supervisors).encode())
    port = _free_port()
    conf = directory / "mosquitto.conf"
    write_private(
        conf,
        mosquitto_config(
            ca_file=pki / "ca.crt",
            cert_file=pki / "broker.crt",
            key_file=pki / "broker.key",
            acl_file=acl,
            persistence_dir=directory,
            port=port,
            log_file=directory / "mosquitto.log",
        ).encode(),
    )
    proc = children.spawn(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )  # dies with the demo, even on SIGKILL

    def stop() -> None:
        children.stop(proc)

    try:
        _wait_listening(port, 10, lambda: proc.poll() is None)
    except RuntimeError:
        stop()
        raise
    log.info("embedded mosquitto on 127.0.0.1:%d (pid %d)", port, proc.pid)
    return EmbeddedBroker("127.0.0.1", port, "mosquitto", True, directory, stop, proc.pid)


def _start_amqtt(directory: Path) -> EmbeddedBroker:
    from amqtt.broker import Broker  # optional dependency of the demo only

    port = _free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        broker = Broker(config, loop=loop)
        await broker.start()
        state["broker"] = broker
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except Exception as exc:
            state["error"] = exc
            ready.set()
            return
        loop.run_forever()

    thread = threading.Thread(target=run, name="faro-embedded-broker", daemon=True)
    thread.start()
    ready.wait(10)
    if "error" in state or "broker" not in state:
        raise RuntimeError(f"amqtt did not start: {state.get('error')}")

    def stop() -> None:
        if not loop.is_running():
            return
        fut = asyncio.run_coroutine_threadsafe(state["broker"].shutdown(), loop)
        try:
            fut.result(5)
        except Exception:
            log.exception("stopping the embedded broker failed")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    log.info("embedded amqtt broker on 127.0.0.1:%d", port)
    return EmbeddedBroker("127.0.0.1", port, "amqtt", False, directory, stop)
