"""The chat line's flows in app/wiring.py: the password from the store at unlock, and busy
(no offers) on a phone call, on a break and while the store is locked."""

from __future__ import annotations

from app.session import Session
from app.wiring import CHAT_PASSWORD
from calls.events import CallStateChanged
from calls.model import CallState, Source
from core.config import Config

PASS = "correct horse battery staple 9"


class FakeChat:
    enabled = True
    max_chats = 3

    def __init__(self, with_call: bool = False) -> None:
        self.chats_with_call = with_call
        self.passwords: list[str] = []
        self.capacity: list[tuple[int, bool]] = []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def set_password(self, password: str) -> None:
        self.passwords.append(password)

    def set_capacity(self, n: int, busy: bool) -> None:
        self.capacity.append((n, busy))


def _state(session: Session, state: CallState) -> None:
    session.bus.publish(
        CallStateChanged(CallState.AVAILABLE, state, None, False, Source.SYSTEM, False)
    )


def _session(paths, chat: FakeChat) -> tuple[Session, object]:
    config = Config.defaults().with_overrides({"storage.unlock_target_ms": 1})
    session = Session(config, paths=paths, services=("storage.service",))
    session.add_service("chat", chat)  # type: ignore[arg-type]
    store = session.service("store")
    store.init(PASS)
    store.set_secret(CHAT_PASSWORD, "tok-123")
    store.lock("user")
    return session, store


def test_the_password_is_handed_over_at_unlock_and_busy_follows_calls_and_lock(paths):
    chat = FakeChat()
    session, store = _session(paths, chat)
    with session:
        assert chat.passwords == []  # locked: no password, and busy
        assert chat.capacity[-1] == (3, True)
        store.unlock(PASS)
        assert chat.passwords == ["tok-123"]
        assert chat.capacity[-1] == (3, False)
        _state(session, CallState.ON_CALL)
        assert chat.capacity[-1] == (3, True)
        _state(session, CallState.AVAILABLE)
        assert chat.capacity[-1] == (3, False)
        _state(session, CallState.BREAK)
        assert chat.capacity[-1] == (3, True)
        _state(session, CallState.AVAILABLE)
        store.lock("idle")
        assert chat.capacity[-1] == (3, True)


def test_chats_with_a_call_when_the_organisation_allows_it(paths):
    chat = FakeChat(with_call=True)
    session, store = _session(paths, chat)
    with session:
        store.unlock(PASS)
        _state(session, CallState.ON_CALL)
        assert chat.capacity[-1] == (3, False)
