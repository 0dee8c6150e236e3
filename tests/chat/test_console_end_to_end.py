"""End to end: a real Prosody (Faro's configuration), the real router, the real ChatService in
a real Session with a real encrypted store, and the counselor's real window (offscreen Qt),
with the person writing as a real slixmpp GuestPeer. The offer rings in the window, F5
accepts it, the person's markup arrives as characters, the counselor's answer reaches the
person and comes back read, the quick-exit reminder goes in one press, the person leaves,
the chat's wrap-up is finished with F9, and the transcript is in the store in order."""

from __future__ import annotations

import pytest

from app.session import Session
from app.wiring import CHAT_PASSWORD
from chat.canned import builtin_canned
from core.config import Config
from storage.transcripts import contact_id
from tests.support.chat_peers import GuestPeer

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
PASS = "correct horse battery staple 9"
MARKUP = "<b>hola</b> <a href='https://example.org'>mira</a>"


def _press(qtbot, window, key: str) -> None:
    window.shortcut_actions[key].trigger()
    qtbot.wait(1)


def test_a_chat_from_the_person_to_the_counselors_console_and_back(
    qtbot, server, router, peers, paths
):
    from console.main_window import MainWindow

    config = Config.defaults().with_overrides(
        {
            "chat.enabled": True,
            "chat.domain": server.domain,
            "chat.host": "127.0.0.1",
            "chat.port": server.c2s_port,
            "chat.ca_file": str(server.ca),
            "identity.counselor_id": "c-alba",
            "storage.unlock_target_ms": 1,
            "calls.backend": "companion",
            "ui.language": "en",
        }
    )
    session = Session(config, paths=paths, services=("storage.service", "chat.service"))
    store = session.service("store")
    store.init(PASS)
    store.set_secret(CHAT_PASSWORD, "pw-alba")
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    session.start()
    panel = window.chat
    try:
        assert panel is not None
        qtbot.waitUntil(
            lambda: "taking new chats" in (window.status_area.chip_text("chat") or ""),
            timeout=20000,
        )
        guest = GuestPeer(peers, server, lang="es").connect().hello()
        qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=20000)
        assert "F5" in panel.banner.label.text()
        _press(qtbot, window, "F5")
        qtbot.waitUntil(lambda: panel.current is not None, timeout=15000)
        chat = panel.current.chat
        guest.expect("state", state="connected")
        assert window.contact_tabs.currentWidget() is panel
        mid = guest.say(MARKUP)
        qtbot.waitUntil(lambda: panel.current.view.count() == 1, timeout=15000)
        assert MARKUP in panel.current.view.item(0).text()  # characters, never markup
        guest.expect("receipt", mid=mid)
        guest.expect("displayed", mid=mid)  # in view: read at once
        panel.composer.setPlainText("Te leo. Estoy aquí contigo.")
        panel.send_composer()
        got = guest.expect("msg")
        assert got.body == "Te leo. Estoy aquí contigo."
        guest.read(got["mid"])
        view = panel.current.view
        qtbot.waitUntil(
            lambda: view.count() > 1 and "✓✓ read" in view.item(1).text(), timeout=15000
        )
        panel.exit_button.click()  # one press: the quick-exit reminder, in Spanish
        hint = guest.expect("msg", timeout=15)
        assert hint.body == builtin_canned().exit_hint.text["es"]
        guest.bye()
        qtbot.waitUntil(lambda: panel.wrap.isVisible(), timeout=15000)
        panel.disposition.setCurrentIndex(1)
        _press(qtbot, window, "F9")
        qtbot.waitUntil(lambda: panel.current is None, timeout=15000)
        store.flush()
        lines = store.chat_transcript(contact_id(chat))
        assert [(x.direction, x.text) for x in lines][:2] == [
            ("in", MARKUP),
            ("out", "Te leo. Estoy aquí contigo."),
        ]
        assert lines[1].delivery == "read"
        row = store.contact(contact_id(chat))
        assert row["channel"] == "chat" and row["disposition"] and row["ended_by"] == "caller"
    finally:
        session.stop()
