"""A private network namespace, for tests and benchmarks that cut or degrade the network.

:func:`run_inside` runs ``python -m MODULE ARGS`` in a fresh namespace (``unshare --net``)
whose loopback is up and which has one veth pair with an address and a default route: the SIP
engine picks its local address from the default route, and with loopback alone it finds none
("Cannot assign requested address"). Everything the module starts (Kamailio, far parties,
Faro's engine) lives in that namespace and talks over 127.0.0.1, so :class:`Nft` rules there
touch nothing else on the machine, and the namespace disappears with its last process.

The child is started with ``PR_SET_PDEATHSIG`` (:func:`core.children.spawn`): ``unshare`` execs
the shell, which execs Python, all in the same process, so it dies with the caller even on
SIGKILL. There is no netem on this kernel: loss is nftables' ``numgen random``; delay and
jitter cannot be injected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from core import children

ROOT = Path(__file__).resolve().parents[2]

_PRELUDE = (
    "set -e; ip link set lo up; ip link add faro0 type veth peer name faro1; "
    "ip addr add 10.213.0.1/24 dev faro0; ip link set faro0 up; ip link set faro1 up; "
    "ip route add default via 10.213.0.2 dev faro0 onlink; "
    'exec "$0" "$@"'
)
TABLE = "faro_netcut"


def _unshare() -> list[str]:
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]


def unavailable() -> str | None:
    """Why a namespace with nftables cannot be made here, or None."""
    for tool in ("unshare", "ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(
        [*_unshare(), "sh", "-c", _PRELUDE, "nft", "list", "tables"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    if probe.returncode != 0:
        return f"no private network namespace here: {probe.stderr.strip()[-300:]}"
    return None


def run_inside(module: str, args: list[str], timeout: float, log: Path | None = None) -> Any:
    """Run ``python -m module args`` in a fresh namespace; the JSON of its last stdout line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    stderr = open(log, "w") if log else subprocess.PIPE  # noqa: SIM115
    proc = children.spawn(
        [*_unshare(), "sh", "-c", _PRELUDE, sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"{module} did not finish within {timeout} s: {_tail(err, log)}"
        ) from exc
    finally:
        if log:
            stderr.close()
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"{module} failed ({proc.returncode}): {_tail(err, log)}")
    return json.loads(lines[-1])


def _tail(err: str | None, log: Path | None) -> str:
    text = err or (log.read_text(errors="replace") if log and log.exists() else "")
    return text[-3000:]


class Nft:
    """nftables rules in the current (private) namespace, in one table of their own."""

    @staticmethod
    def _apply(body: str) -> None:
        Nft.clear()
        subprocess.run(
            ["nft", "-f", "-"], input=f"table inet {TABLE} {{\n{body}\n}}\n", text=True, check=True
        )

    @staticmethod
    def cut() -> None:
        """Every packet, both ways, every protocol: the cable is pulled."""
        Nft._apply(
            "chain in { type filter hook input priority -10; policy drop; }\n"
            "chain out { type filter hook output priority -10; policy drop; }"
        )

    @staticmethod
    def loss(percent: int) -> None:
        """Drop ``percent`` % of UDP packets at random on the way out (media; SIP is TLS)."""
        Nft._apply(
            "chain out { type filter hook output priority -10; policy accept;\n"
            f"  meta l4proto udp numgen random mod 100 < {int(percent)} drop\n}}"
        )

    @staticmethod
    def clear() -> None:
        subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True)
