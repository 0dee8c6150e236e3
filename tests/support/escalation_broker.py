"""A real Mosquitto with Faro's TLS configuration and ACL, and the PKI around it.

Built on tests.support.mosquitto.Mosquitto (which writes ``listener PORT 127.0.0.1`` and
persistence first); the TLS lines come from escalation.broker.mosquitto_config, the same
renderer the packaging files are checked against.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from escalation.broker import acl_text, mosquitto_config
from escalation.pki import Authority, write_private
from tests.support.mosquitto import Mosquitto


class TlsBroker:
    def __init__(
        self,
        workdir: Path,
        supervisors: tuple[str, ...] = ("sup-ana", "sup-ben", "sup-probe"),
        port: int | None = None,
        it: tuple[str, ...] = ("it-desk",),
        autosave_interval: int = 1,
    ) -> None:
        self.workdir = Path(workdir)
        self.pki = self.workdir / "pki"
        self.ca = Authority.create("Test Helpline")
        self.ca.save(self.pki)
        self.ca.issue_to(self.pki, "broker", server_names=["127.0.0.1", "localhost"])
        self.acl = self.workdir / "acl"
        write_private(self.acl, acl_text(supervisors, it=it).encode())
        extra = mosquitto_config(
            ca_file=self.pki / "ca.crt",
            cert_file=self.pki / "broker.crt",
            key_file=self.pki / "broker.key",
            acl_file=self.acl,
        )
        self.mosquitto = Mosquitto(
            self.workdir / "broker",
            extra_config=extra,
            port=port,
            autosave_interval=autosave_interval,
        )

    @property
    def port(self) -> int:
        return self.mosquitto.port

    def start(self) -> TlsBroker:
        self.mosquitto.start()
        return self

    def stop(self) -> None:
        self.mosquitto.stop()

    def kill(self) -> None:
        self.mosquitto.kill()

    def issue(self, cn: str, **kw: Any) -> tuple[Path, Path]:
        cert, key = self.pki / f"{cn}.crt", self.pki / f"{cn}.key"
        if kw or not cert.exists():
            cert_pem, key_pem = self.ca.issue(cn, **kw)
            tag = "-x" if kw else ""
            cert, key = self.pki / f"{cn}{tag}.crt", self.pki / f"{cn}{tag}.key"
            write_private(cert, cert_pem)
            write_private(key, key_pem)
        return cert, key

    def expired(self, cn: str) -> tuple[Path, Path]:
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        return self.issue(cn, not_before=start, days=1)

    def overrides(self, cn: str, role: str = "counselor", **more: Any) -> dict[str, Any]:
        """A laptop's options; its command-line certificate (``cn.cli``) is issued with it."""
        cert, key = self.issue(cn)
        self.issue(cn + ".cli")
        o: dict[str, Any] = {
            "escalation.broker_host": "127.0.0.1",
            "escalation.broker_port": self.port,
            "escalation.role": role,
            "escalation.ca_file": str(self.pki / "ca.crt"),
            "escalation.cert_file": str(cert),
            "escalation.key_file": str(key),
            "escalation.reconnect_max_s": 0.5,
            "identity.counselor_id": cn,
            "calls.backend": "companion",
        }
        o.update(more)
        return o

    def toml(self, cn: str, role: str = "counselor", **more: Any) -> str:
        """The same options as a faro.toml text (for subprocess tests)."""
        lines = []
        for k, v in self.overrides(cn, role, **more).items():
            sect, key = k.rsplit(".", 1)
            lines.append((sect, key, v))
        out: dict[str, list[str]] = {}
        for sect, key, v in lines:
            out.setdefault(sect, []).append(f"{key} = {_toml(v)}")
        return "\n".join(f"[{s}]\n" + "\n".join(kv) for s, kv in out.items()) + "\n"


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + "}"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
