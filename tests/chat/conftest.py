"""A real Prosody (Faro's shipped configuration) with two counselor accounts, the router on its
own thread, and one loop for the peers (tests/support/chat_peers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import prosody
from tests.support.chat_peers import PeerLoop, RouterThread

pytestmark = pytest.mark.skipif(not prosody.available(), reason="prosody is not installed")

USERS = {"c-alba": "pw-alba", "c-beto": "pw-beto", "c-cruz": "pw-cruz"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[prosody.Prosody]:
    if not prosody.available():
        pytest.skip("prosody is not installed")
    with prosody.Prosody(tmp_path / "prosody", USERS) as s:
        yield s


@pytest.fixture
def peers() -> Iterator[PeerLoop]:
    with PeerLoop() as loop:
        yield loop


class Hooks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []

    def alert(self, chat_id: str, waited_s: float) -> None:
        self.calls.append(("alert", chat_id, waited_s))

    def abandoned(self, chat_id: str, waited_s: float) -> None:
        self.calls.append(("abandoned", chat_id, waited_s))

    def answered(self, chat_id: str, waited_s: float) -> None:
        self.calls.append(("answered", chat_id, waited_s))

    def of(self, kind: str) -> list[str]:
        return [c for k, c, _ in self.calls if k == kind]


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def router(server: prosody.Prosody, hooks: Hooks) -> Iterator[RouterThread]:
    with RouterThread(server, hooks) as r:  # type: ignore[arg-type]
        yield r
