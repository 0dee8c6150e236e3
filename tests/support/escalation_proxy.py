"""A TCP relay on 127.0.0.1 between a client and the broker that a test can cut on cue.

The bytes are TLS, so the relay cannot read MQTT; it cuts by size instead:
:meth:`Relay.cut_after_next_message` forwards the next broker→client chunk larger than
``min_bytes`` (a PUBLISH such as an acknowledgement; a PUBACK is ~30 bytes of TLS), then
closes both sides at the client's next byte (its PUBACK or its next publish) without
forwarding it, and refuses connections until :meth:`restore`. That is "the network went
away just after the acknowledgement arrived", every time. ``refuse_first`` closes the first
connections at once instead of relaying them (a server that accepts and drops a stream
before its handshake).
"""

from __future__ import annotations

import socket
import threading

from tests.support.ports import free_port


class Relay:
    def __init__(self, upstream_port: int, refuse_first: int = 0) -> None:
        self.upstream = upstream_port
        self._refuse_first = refuse_first
        self.refused = 0  # connections closed without being relayed
        self.port = free_port()
        self._lock = threading.Lock()
        self._armed: int | None = None  # min_bytes of the message to let through
        self._cut = False  # True once that message went down
        self.refusing = False
        self.connections = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    def cut_after_next_message(self, min_bytes: int = 100) -> None:
        with self._lock:
            self._armed, self._cut = min_bytes, False

    @property
    def cut(self) -> bool:
        return self._cut

    def restore(self) -> None:
        with self._lock:
            self._armed, self._cut, self.refusing = None, False, False

    def close(self) -> None:
        self._stopped = True
        self._server.close()
        self._drop_all()

    # -- internals ---------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.refusing or self.refused < self._refuse_first:
                self.refused += 1
                client.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            up.settimeout(None)
            with self._lock:
                self.connections += 1
                self._pairs.append((client, up))
            threading.Thread(target=self._pump, args=(client, up, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                if not downstream and self._cut:
                    self.refusing = True
                    drop = True
                else:
                    drop = False
                    if downstream and self._armed is not None and len(data) >= self._armed:
                        self._armed, self._cut = None, True
            if drop:
                self._drop_all()
                return
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def _drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
