"""What a supervisor console starting now would find on the broker: its retained messages.

:func:`retained` connects a raw paho client (its own certificate, ``sup-probe`` by default,
listed as a supervisor in the test ACL), subscribes to every alert, re-alert and
acknowledgement, then publishes a marker to its own topic: Mosquitto sends the retained
messages of a subscription before it handles the next packet, so once the marker is back,
everything retained has arrived. No sleeps, no guessing.
"""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from escalation.transport import tls_context

WATCHED = ("faro/v1/c/+/esc/+/alert", "faro/v1/c/+/esc/+/realert", "faro/v1/s/+/esc/+/ack")


def retained(broker, cn: str = "sup-probe", timeout: float = 10.0) -> dict[str, bytes]:
    """topic → payload of every retained alert, re-alert and ack on ``broker`` (a TlsBroker)."""
    cert, key = broker.issue(cn)
    marker = f"faro/v1/sup/{cn}/sync"
    got: dict[str, bytes] = {}
    done = threading.Event()
    subscribed = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cn, protocol=mqtt.MQTTv5)
    c.tls_set_context(tls_context(str(broker.pki / "ca.crt"), str(cert), str(key)))

    def on_connect(cl, u, f, rc, p=None):
        if not rc.is_failure:
            cl.subscribe([(t, 1) for t in WATCHED] + [(marker, 1)])

    def on_message(cl, u, msg):
        if msg.topic == marker:
            done.set()
        elif msg.retain and msg.payload:
            got[msg.topic] = bytes(msg.payload)

    c.on_connect = on_connect
    c.on_subscribe = lambda *a: subscribed.set()
    c.on_message = on_message
    c.connect("127.0.0.1", broker.port, 10)
    c.loop_start()
    try:
        if not subscribed.wait(timeout):
            raise AssertionError("the probe could not subscribe")
        c.publish(marker, b"sync", qos=1)
        if not done.wait(timeout):
            raise AssertionError("the probe's marker did not come back")
        return dict(got)
    finally:
        c.disconnect()
        c.loop_stop()


def raw_client(broker, cert=None, key=None, ca=None, client_id="probe", clean_start=True):
    """A bare paho client with the given certificate (attack probes): (client, got, state)."""
    got, state = [], {"rc": None, "downs": 0, "subacks": 0}
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.tls_set_context(
        tls_context(str(ca or broker.pki / "ca.crt"), cert and str(cert), key and str(key))
    )
    c.on_connect = lambda cl, u, f, rc, p=None: state.update(rc=rc)
    c.on_message = lambda cl, u, msg: got.append((msg.topic, msg.payload))
    c.on_subscribe = lambda *a: state.update(subacks=state["subacks"] + 1)

    def down(*a):
        state.update(closed=True, downs=state["downs"] + 1)

    c.on_disconnect = down
    try:
        c.connect("127.0.0.1", broker.port, 5, clean_start=clean_start)
    except OSError as exc:  # TLS refused during the handshake
        state["error"] = exc
        return c, got, state
    c.loop_start()
    end = time.monotonic() + 5
    while state["rc"] is None and time.monotonic() < end and not state.get("closed"):
        time.sleep(0.02)
    return c, got, state


def subscribed(c, state: dict, topic: str, timeout: float = 5.0) -> bool:
    """Subscribe and wait for the broker's SUBACK (False: the connection closed first)."""
    n = state["subacks"]
    c.subscribe(topic, 1)
    end = time.monotonic() + timeout
    while state["subacks"] <= n and not state.get("closed") and time.monotonic() < end:
        time.sleep(0.01)
    return state["subacks"] > n


def refused(broker, **kw) -> bool:
    """True unless the broker takes the connection and answers a subscription on it (a
    refused certificate can close a connection that looked accepted)."""
    c, _got, state = raw_client(broker, **kw)
    ok = (
        state.get("rc") is not None
        and not state["rc"].is_failure
        and subscribed(c, state, "faro/v1/probe")
        and c.is_connected()
    )
    c.loop_stop()
    c.disconnect()
    return not ok


def stale_free(broker, escalation_id: str, timeout: float = 15.0) -> dict[str, bytes]:
    """Wait until nothing retained mentions ``escalation_id``; returns the last probe."""
    end = time.monotonic() + timeout
    while True:
        found = {t: p for t, p in retained(broker).items() if f"/esc/{escalation_id}/" in t}
        if not found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"still retained on the broker: {sorted(found)}")
        time.sleep(0.1)


def mentioning(broker, escalation_id: str) -> list[str]:
    return sorted(t for t in retained(broker) if f"/esc/{escalation_id}/" in t)
