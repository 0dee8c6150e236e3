"""The chat line in the counselor's window (console/chat_panel.py), offscreen, driven by the
chat service's events through the bridge: an offer rings like a call (banner, F5 accepts, F8
declines, gone when withdrawn); the conversation in the contact area with the notes
following the chat; plain text only; sides in words; delivery, writing…, the composer (Enter,
Shift+Enter, the counter, refusals in words); several chats with unread counts; the safety
check, the quick-exit reminder and canned responses in the chat's language; the chat's
wrap-up. Both languages fit 1024x600, with screenshots in test-artifacts/."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from chat import events as cev
from chat import options as _chat_options  # noqa: F401 (declares chat.*)
from chat.canned import builtin_canned
from storage.transcripts import contact_id
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import PASSPHRASE
from tests.console.test_supervisor_window import themed as _themed
from tests.support.chat_console import RecordingChatService

themed = _themed  # the light theme, as the app applies it (a fixture)
MARKUP = '<b>ayuda</b> <a href="https://example.org">aquí</a> javascript:alert(1)'


def _window(qtbot, paths, fake_clock, **extra):
    """The demo's counselor window with the chat line on (the recording chat service)."""
    from app.session import SERVICE_MODULES, Session
    from console.commands.demo import demo_overrides
    from console.main_window import MainWindow
    from core.config import Config
    from core.i18n import current_language

    overrides = dict(
        demo_overrides("demo"),
        **{"storage.unlock_target_ms": 1, "ui.language": current_language(), "chat.enabled": True},
    )
    quiet = paths.config_file.parent / "quiet.toml"  # no scripted call rings by itself
    quiet.write_text('[scenario]\nname = "quiet"\n[[calls]]\nafter_s = 86400\n', "utf-8")
    overrides["calls.scenario"] = str(quiet)
    overrides.update(extra)
    services = tuple(m for m in SERVICE_MODULES if m != "chat.service")
    session = Session(Config(overrides), paths=paths, clock=fake_clock, services=services)
    chat = RecordingChatService(session.bus, fake_clock)
    session.add_service("chat", chat)
    session.service("store").init(PASSPHRASE)
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    session.start()
    return session, window, chat


@pytest.fixture
def counselor(qtbot, paths, fake_clock):
    session, window, chat = _window(qtbot, paths, fake_clock)
    yield session, window, chat
    session.stop()


def _press(qtbot, window, key: str) -> None:
    window.shortcut_actions[key].trigger()
    qtbot.wait(1)


def _accepted(qtbot, window, chat, name="chatAAAA0001", lang="es"):
    chat.offer(name, 42.0, lang)
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    _press(qtbot, window, "F5")
    qtbot.waitUntil(lambda: window.chat.current is not None and window.chat.current.chat == name)


def _rows(window) -> list[str]:
    view = window.chat.current.view
    return [view.item(i).text() for i in range(view.count())]


def test_an_offer_rings_like_a_call_and_f5_accepts_it(qtbot, counselor, fake_clock):
    session, window, chat = counselor
    chat.offer("chatAAAA0001", 42.0, "es", 30.0)
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    text = window.chat.banner.label.text()
    assert "F5" in text and "00:42" in text and "00:30" in text
    assert window.chat.banner.label.property("role") == "ring"
    assert session.wiring.chat.offers() == ["chatAAAA0001"]  # it rings (tests/app/…chat_flow)
    fake_clock.advance(10)
    window._tick()
    assert "00:52" in window.chat.banner.label.text()  # the waiting time goes on
    _press(qtbot, window, "F5")
    qtbot.waitUntil(lambda: window.chat.current is not None)
    assert ("accept", "chatAAAA0001") in chat.calls
    assert not window.chat.banner.isVisible()
    assert window.contact_tabs.currentWidget() is window.chat
    # the notes and forms follow the chat's contact
    assert window.store_panel.editor.contact_id == contact_id("chatAAAA0001")


def test_f8_declines_and_a_withdrawn_offer_goes(qtbot, counselor):
    session, window, chat = counselor
    chat.offer("chatBBBB0002")
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    _press(qtbot, window, "F8")
    assert ("decline", "chatBBBB0002") in chat.calls and not window.chat.banner.isVisible()
    chat.offer("chatCCCC0003")
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    session.bus.publish(cev.ChatWithdrawn("chatCCCC0003", "expired"))
    qtbot.waitUntil(lambda: not window.chat.banner.isVisible())


def test_no_chat_is_accepted_during_a_call(qtbot, counselor):
    session, window, chat = counselor
    session.calls.on_incoming("+5215550001111")
    chat.offer("chatDDDD0004")  # the router would not offer it; if it does, it cannot be taken
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    assert not window.chat.banner.accept_button.isEnabled()
    assert "Finish the call first" in window.chat.banner.label.text()
    window.chat.accept_offer()
    assert ("accept", "chatDDDD0004") not in chat.calls


def test_plain_text_only_sides_in_words_and_delivery(qtbot, counselor):
    session, window, chat = counselor
    _accepted(qtbot, window, chat)
    chat.person_writes("chatAAAA0001", MARKUP)
    qtbot.waitUntil(lambda: len(_rows(window)) == 1)
    row = _rows(window)[0]
    assert row.startswith("The person writing · ") and MARKUP in row  # characters, as written
    # nowhere is the text rich: no label shows it, no link can be opened
    for label in window.findChildren(QLabel):
        assert "example.org" not in label.text()
    assert chat.calls[-1] == ("read", "chatAAAA0001", "g1")  # in view: read at once
    window.chat.composer.setFocus()
    qtbot.keyClicks(window.chat.composer, "Hola")
    qtbot.keyClick(window.chat.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.chat.composer, "aqui estoy")
    assert window.chat.composer.toPlainText() == "Hola\naqui estoy"
    assert ("typing", "chatAAAA0001", True) in chat.calls
    qtbot.keyClick(window.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(_rows(window)) == 2)
    assert chat.texts == ["Hola\naqui estoy"] and window.chat.composer.toPlainText() == ""
    mine = window.chat.current.view.item(1)
    assert mine.text().startswith("You · ") and "✓ sent" in mine.text()
    assert mine.textAlignment() & Qt.AlignmentFlag.AlignRight
    assert "sent" in mine.data(Qt.ItemDataRole.AccessibleTextRole)
    mid = chat.calls[-2][2] if chat.calls[-1][0] == "typing" else chat.calls[-1][2]
    session.bus.publish(cev.ChatDelivery("chatAAAA0001", mid, "read"))
    qtbot.waitUntil(lambda: "✓✓ read" in window.chat.current.view.item(1).text())
    session.bus.publish(cev.ChatDelivery("chatAAAA0001", mid, "received"))  # late: no step back
    qtbot.wait(5)
    assert "✓✓ read" in window.chat.current.view.item(1).text()
    session.bus.publish(cev.ChatTyping("chatAAAA0001", True))
    qtbot.waitUntil(lambda: window.chat.typing_label.text() == "The person is writing…")
    chat.person_writes("chatAAAA0001", "gracias")
    qtbot.waitUntil(lambda: window.chat.typing_label.text() == "")


def test_the_composer_counts_near_the_limit_and_says_refusals(qtbot, counselor):
    session, window, chat = counselor
    _accepted(qtbot, window, chat)
    window.chat.composer.setPlainText("x" * 1700)
    assert window.chat.counter.isVisible() and window.chat.counter.text() == "300 characters left"
    window.chat.composer.setPlainText("x" * 2010)
    assert "10 characters too many" in window.chat.counter.text()
    window.chat.send_composer()
    assert window.chat.refusal.isVisible() and "too long" in window.chat.refusal.text()
    assert window.chat.composer.toPlainText() == "x" * 2010  # nothing lost
    assert chat.texts == []


def test_safety_check_exit_hint_and_canned_in_the_chats_language(qtbot, counselor):
    session, window, chat = counselor
    _accepted(qtbot, window, chat, "chatEEEE0005", lang="en")
    canned = builtin_canned()
    _press(qtbot, window, "Ctrl+Shift+S")
    window.chat.exit_button.click()
    assert chat.texts == [canned.safety_check.text["en"], canned.exit_hint.text["en"]]
    box = window.chat.canned_box
    i = box.findData("still_there")
    box.activated.emit(i)
    assert window.chat.composer.toPlainText() == canned.get("still_there").text["en"]
    assert box.currentIndex() == 0


def test_two_chats_tabs_and_unread_counts(qtbot, counselor):
    session, window, chat = counselor
    _accepted(qtbot, window, chat, "chatAAAA0001")
    chat.offer("chatBBBB0002")
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    _press(qtbot, window, "F5")
    qtbot.waitUntil(lambda: window.chat.tabs.count() == 2)
    assert window.chat.tabs.isVisible() and window.chat.current.chat == "chatAAAA0001"
    chat.person_writes("chatBBBB0002", "hola")
    chat.person_writes("chatBBBB0002", "¿hay alguien?")
    qtbot.waitUntil(lambda: window.chat.tabs.tabText(1) == "Chat 2 · 2 new")
    window.chat.select("chatBBBB0002")
    assert window.chat.tabs.tabText(1) == "Chat 2"
    assert chat.calls[-1] == ("read", "chatBBBB0002", "g2")
    assert window.store_panel.editor.contact_id == contact_id("chatBBBB0002")


def test_a_chats_wrap_up_with_its_disposition(qtbot, counselor):
    session, window, chat = counselor
    _accepted(qtbot, window, chat)
    chat.person_writes("chatAAAA0001", "adiós")
    session.bus.publish(cev.ChatEnded("chatAAAA0001", "quick_exit"))
    qtbot.waitUntil(lambda: window.chat.wrap.isVisible())
    assert "pressed Quick exit" in window.chat.ended.text()
    assert not window.chat.composer.isEnabled()
    _press(qtbot, window, "F9")  # no disposition yet: said, nothing finished
    assert "Choose how the chat ended" in window.message.text()
    codes = [window.chat.disposition.itemData(i) for i in range(window.chat.disposition.count())]
    assert "wrong_number" not in codes  # only a call has a wrong number
    words = [window.chat.disposition.itemText(i) for i in range(window.chat.disposition.count())]
    assert "Chat cut off" in words and "Call disconnected" not in words
    window.chat.disposition.setCurrentIndex(1)
    _press(qtbot, window, "F9")
    qtbot.waitUntil(lambda: window.chat.current is None)
    store = session.service("store")
    assert store.contact(contact_id("chatAAAA0001"))["disposition"]
    assert [x.text for x in store.chat_transcript(contact_id("chatAAAA0001"))] == ["adiós"]


@pytest.mark.parametrize("state", ["offer", "conversation", "two_chats", "wrap_up"])
def test_fits_a_small_laptop_in_both_languages(
    qtbot, paths, fake_clock, language, themed, artifacts_dir, state
):
    session, window, chat = _window(qtbot, paths, fake_clock)
    try:
        if state == "offer":
            chat.offer("chatAAAA0001", 95.0, "es", 30.0)
            qtbot.waitUntil(lambda: window.chat.banner.isVisible())
        else:
            _accepted(qtbot, window, chat)
            chat.person_writes("chatAAAA0001", "hola, no sé por dónde empezar " + MARKUP)
            chat.person_writes("chatAAAA0001", "mi pareja está en la otra habitación")
            qtbot.waitUntil(lambda: len(_rows(window)) == 2)
            window.chat.send_text("Gracias por escribir. Estoy aquí contigo.")
            session.bus.publish(cev.ChatTyping("chatAAAA0001", True))
            window.chat.composer.setPlainText("¿Puedes contarme")
        if state == "two_chats":
            chat.offer("chatBBBB0002")
            qtbot.waitUntil(lambda: window.chat.banner.isVisible())
            window.chat.accept_offer()
            qtbot.waitUntil(lambda: window.chat.tabs.count() == 2)
            chat.person_writes("chatBBBB0002", "hola")
        if state == "wrap_up":
            session.bus.publish(cev.ChatEnded("chatAAAA0001", "by_person"))
            qtbot.waitUntil(lambda: window.chat.wrap.isVisible())
        qtbot.wait(20)
        _check_fits(window, (1024, 600))
        name = f"chat-{state}-{language}-1024x600.png"
        assert window.grab().save(str(artifacts_dir / name))
    finally:
        session.stop()


def test_my_figures_show_a_chats_figures_beside_the_calls(qtbot, counselor, fake_clock):
    from console.my_figures import MyFiguresDialog

    session, window, chat = counselor
    _accepted(qtbot, window, chat)
    fake_clock.advance(8)
    window.chat.send_text("Hola, aquí estoy.")
    fake_clock.advance(5)
    chat.person_writes("chatAAAA0001", "gracias por responder")
    fake_clock.advance(20)
    window.chat.send_text("Te leo.")
    session.bus.publish(cev.ChatEnded("chatAAAA0001", "by_person"))
    qtbot.waitUntil(lambda: window.chat.wrap.isVisible())
    window.chat.disposition.setCurrentIndex(1)
    window.chat.finish_wrap_up()
    session.service("store").flush()
    dialog = MyFiguresDialog(window)
    qtbot.addWidget(dialog)
    row = [dialog.calls.item(0, j).text() for j in range(dialog.calls.columnCount())]
    assert row[0].endswith("(chat)") and row[3] == "reply 14 s (median)"
    assert row[4] == "waited 42 s at most"  # the queue before the offer was accepted
    assert "1 chat: median reply 14 s, the longest wait 42 s." in dialog.summary.text()


def test_the_button_box_answer_takes_a_chat_offer_when_no_call_rings(qtbot, counselor):
    from calls.model import Action, Command, Source

    session, window, chat = counselor
    chat.offer("chatDDDD0004")
    qtbot.waitUntil(lambda: window.chat.banner.isVisible())
    session.calls.handle(Command(Action.ANSWER, Source.BUTTON_BOX))
    qtbot.waitUntil(lambda: ("accept", "chatDDDD0004") in chat.calls)
    assert not window.chat.banner.isVisible()
    # with nothing offered, the press is refused in words as before
    session.calls.handle(Command(Action.ANSWER, Source.HEADSET))
    qtbot.waitUntil(lambda: bool(window.message.text()))
