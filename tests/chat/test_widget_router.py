"""The web widget against the real router (chat/router.py) and a counselor (CounselorPeer,
tests/support/chat_peers.py), all through a real Prosody that also serves the page, in
Debian's headless Chromium (tests/support/widget_site.py): the person's whole path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (see tests/chat/test_widget.py)
import pytest

from tests.support import prosody
from tests.support.chat_peers import CounselorPeer, PeerLoop, RouterThread
from tests.support.widget_site import (
    CHROMIUM,
    chromium_args,
    log_texts,
    make_site,
    new_page,
    stored,
    url,
    write,
)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
pytestmark = [
    pytest.mark.skipif(not prosody.available(), reason="prosody is not installed"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

USERS = {"c-alba": "pw-alba"}


@pytest.fixture(scope="module")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prosody.Prosody]:
    root = tmp_path_factory.mktemp("widget-router")
    srv = prosody.Prosody(root / "prosody", USERS, widget_dir=root / "site")
    make_site(root / "site", srv.domain, srv.https_port)
    with srv:
        yield srv


@pytest.fixture(scope="module")
def browser(site_server: prosody.Prosody) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=chromium_args(site_server))
        yield b
        b.close()


@pytest.fixture
def line(site_server: prosody.Prosody) -> Iterator[tuple[RouterThread, CounselorPeer]]:
    """A fresh router and counselor Alba for each test (the Prosody and browser are shared)."""
    with (
        PeerLoop() as loop,
        # the shipped grace for a tab (30 s): longer than the widget's reconnection backoff
        # (at most 15 s ± 25 %), which a loaded machine reaches during a server restart
        RouterThread(site_server, burst=4, rate_per_min=6, guest_grace_s=30.0) as router,
    ):
        alba = CounselorPeer(loop, site_server, "c-alba", "pw-alba").connect()
        try:
            yield router, alba
        finally:
            alba.close()


def answered(
    browser: Any, server: prosody.Prosody, alba: CounselorPeer, **ctx: Any
) -> tuple[Any, str]:
    """A person opens the page and waits; Alba becomes ready, accepts; both are connected."""
    page = new_page(browser, **ctx)
    page.goto(url(server))
    page.get_by_role("button", name="Empezar a escribir").click()
    expect(page.locator("#status")).to_contain_text("Estás en la fila")
    expect(page.locator("#status")).to_contain_text("Tu lugar en la fila: 1")
    alba.ready(capacity=2)
    offer = alba.expect("offer")
    assert offer["lang"] == "es"
    alba.accept(offer["chat"])
    alba.expect("assigned", chat=offer["chat"])
    expect(page.locator("#status")).to_have_text("Ya estás hablando con una persona del equipo.")
    return page, offer["chat"]


def test_a_conversation_through_the_router(
    browser: Any, site_server: prosody.Prosody, line: tuple[RouterThread, CounselorPeer]
) -> None:
    _router, alba = line
    page, chat = answered(browser, site_server, alba)
    write(page, "Hola, necesito hablar")
    got = alba.expect("msg", chat=chat)
    assert got.body == "Hola, necesito hablar" and got["seq"] == "1"
    mine = page.locator(f"#m-{got['mid']}")
    expect(mine.locator(".words")).to_have_text("recibido")  # Alba's console receipted it
    alba.read(chat, got["mid"])
    expect(mine.locator(".words")).to_have_text("leído")
    alba.typing(chat, True)
    expect(page.locator("#typing")).to_have_text("Te están escribiendo…")
    evil = '<b>hola</b> <img src=x onerror="alert(1)"> https://ejemplo.invalid/?a=1&b=2'
    mid = alba.say(chat, evil)
    expect(page.locator("#log > li.in .body")).to_have_text(evil)
    assert page.locator("#log img, #log b, #log a").count() == 0
    expect(page.locator("#typing")).to_have_text("")
    alba.expect("received", chat=chat, mid=mid)  # the page receipted it
    alba.expect("read", chat=chat, mid=mid)  # and, in view, read it
    page.get_by_label("Tu mensaje").press_sequentially("Sí")
    alba.expect("typing", chat=chat, state="composing")
    page.get_by_role("button", name="Enviar").click()
    assert alba.expect("msg", chat=chat).body == "Sí"
    assert log_texts(page) == [("out", "Hola, necesito hablar"), ("in", evil), ("out", "Sí")]
    page.context.close()


def test_too_fast_is_refused_in_words(
    browser: Any, site_server: prosody.Prosody, line: tuple[RouterThread, CounselorPeer]
) -> None:
    _router, alba = line
    page, chat = answered(browser, site_server, alba)
    for i in range(5):  # the router lets 4 through at once (burst=4 in this test)
        write(page, f"mensaje {i}")
    for i in range(4):
        assert alba.expect("msg", chat=chat).body == f"mensaje {i}"
    last = page.locator("#log > li.out").nth(4)
    expect(last.locator(".words")).to_contain_text("no enviado: Estás enviando muy rápido")
    expect(page.get_by_role("alert")).to_contain_text("Estás enviando muy rápido")
    assert alba.none("msg", wait=0.5)
    page.context.close()


def test_server_restart_mid_conversation(
    browser: Any, site_server: prosody.Prosody, line: tuple[RouterThread, CounselorPeer]
) -> None:
    router, alba = line
    page, chat = answered(browser, site_server, alba)
    write(page, "uno")
    one = alba.expect("msg", chat=chat)
    expect(page.locator(f"#m-{one['mid']} .words")).to_have_text("recibido")
    alba.say(chat, "respuesta uno")
    expect(page.locator("#log > li.in")).to_have_count(1)

    site_server.restart()
    expect(page.locator("#status")).to_contain_text("Reconectando")
    write(page, "dos")  # while the server is away
    alba.say(chat, "respuesta dos")  # likewise, on the counselor's side
    router.wait_online(timeout=25)
    alba.wait_online(timeout=25)
    two = alba.expect("msg", chat=chat, timeout=25)
    assert two.body == "dos"
    expect(page.locator("#status")).to_have_text("Ya estás hablando con una persona del equipo.")
    expect(page.locator("#log > li.in")).to_have_count(2, timeout=25)
    expect(page.locator(f"#m-{two['mid']} .words")).to_have_text("recibido")
    write(page, "tres")
    assert alba.expect("msg", chat=chat).body == "tres"
    page.wait_for_timeout(500)
    assert alba.none("msg", wait=0.5)  # nothing twice
    assert log_texts(page) == [
        ("out", "uno"),
        ("in", "respuesta uno"),
        ("out", "dos"),
        ("in", "respuesta dos"),
        ("out", "tres"),
    ]
    page.context.close()


def test_two_tabs_the_newer_has_the_chat(
    browser: Any, site_server: prosody.Prosody, line: tuple[RouterThread, CounselorPeer]
) -> None:
    _router, alba = line
    first, chat = answered(browser, site_server, alba)
    write(first, "desde la primera")
    alba.expect("msg", chat=chat)
    second = first.context.new_page()
    second.goto(url(site_server))
    expect(first.locator("#status")).to_have_text("Esta conversación sigue en otra pestaña.")
    expect(second.locator("#status")).to_have_text("Ya estás hablando con una persona del equipo.")
    expect(second.locator("#log > li")).to_have_count(1)
    assert stored(second)["token"] == stored(first)["token"]
    write(second, "desde la segunda")
    assert alba.expect("msg", chat=chat).body == "desde la segunda"  # the same chat
    mid = alba.say(chat, "te leo")
    expect(second.locator("#log > li.in .body")).to_have_text("te leo")
    alba.expect("received", chat=chat, mid=mid)
    assert first.locator("#log > li.in").count() == 0
    # the first tab can take it back
    first.get_by_role("button", name="Seguir en esta pestaña").click()
    expect(second.locator("#status")).to_have_text("Esta conversación sigue en otra pestaña.")
    expect(first.locator("#status")).to_have_text("Ya estás hablando con una persona del equipo.")
    first.context.close()


def test_quick_exit_ends_the_chat_for_the_counselor(
    browser: Any, site_server: prosody.Prosody, line: tuple[RouterThread, CounselorPeer]
) -> None:
    _router, alba = line
    page, chat = answered(browser, site_server, alba)
    write(page, "algo privado")
    alba.expect("msg", chat=chat)
    page.get_by_role("button", name="Salida rápida").click()
    page.wait_for_url("**/chat/neutral.html")
    ended = alba.expect("ended", chat=chat)
    assert ended["reason"] == "quick_exit"
    assert page.evaluate("sessionStorage.length") == 0
    page.context.close()


def test_the_counselor_lost(
    browser: Any,
    site_server: prosody.Prosody,
    line: tuple[RouterThread, CounselorPeer],
    artifacts_dir: Path,
) -> None:
    _router, alba = line
    page, chat = answered(browser, site_server, alba)
    alba.auto_reconnect = False
    alba.kill()  # the counselor's laptop dies
    status = page.locator("#status")
    expect(status).to_contain_text(
        "Se perdió la conexión con quien te atendía; te estamos pasando con otra persona.",
        timeout=20000,
    )
    expect(status).to_contain_text("Tu lugar en la fila: 1")  # the router's next position update
    page.wait_for_timeout(600)
    expect(status).to_contain_text("te estamos pasando con otra persona")
    page.screenshot(path=str(artifacts_dir / "reassigning-desktop.png"))
    page.context.close()


def test_the_counselor_ends_the_chat(
    browser: Any, site_server: prosody.Prosody, line: tuple[RouterThread, CounselorPeer]
) -> None:
    _router, alba = line
    page, chat = answered(browser, site_server, alba)
    alba.end(chat)
    expect(page.locator("#status")).to_contain_text("quien te atendía la cerró")
    expect(page.get_by_label("Tu mensaje")).to_be_disabled()
    expect(page.get_by_role("button", name="Empezar una conversación nueva")).to_be_visible()
    old_token = stored(page)["token"]
    page.reload()  # a closed chat stays closed on reload
    expect(page.locator("#status")).to_have_text("La conversación terminó.")
    page.get_by_role("button", name="Empezar una conversación nueva").click()
    expect(page.locator("#status")).to_contain_text("Estás en la fila")
    offer = alba.expect("offer")  # a new chat, offered again
    assert offer["chat"] != chat and stored(page)["token"] != old_token
    assert page.locator("#log > li").count() == 0
    page.context.close()


def test_the_router_dies_and_comes_back_the_page_goes_on(
    browser: Any, site_server: prosody.Prosody, tmp_path: Path
) -> None:
    """A restart of the router process (its state file kept): the page is told nothing is
    wrong, what it wrote meanwhile arrives once, and the counselor's reply reaches it."""
    state = str(tmp_path / "router-state.json")
    with PeerLoop() as loop:
        router = RouterThread(site_server, guest_grace_s=30.0, state_file=state).start()
        alba = CounselorPeer(loop, site_server, "c-alba", "pw-alba").connect()
        try:
            page, chat = answered(browser, site_server, alba)
            write(page, "uno")
            one = alba.expect("msg", chat=chat)
            expect(page.locator(f"#m-{one['mid']} .words")).to_have_text("recibido")
            page.wait_for_timeout(400)  # the state is written
            router.kill()
            write(page, "dos")  # no router: it waits on the page
            router = RouterThread(site_server, guest_grace_s=30.0, state_file=state).start()
            two = alba.expect("msg", chat=chat, timeout=20)
            assert two.body == "dos"
            expect(page.locator(f"#m-{two['mid']} .words")).to_have_text("recibido")
            alba.say(chat, "sigo aquí")
            expect(page.locator("#log > li.in")).to_have_count(1, timeout=20)
            expect(page.locator("#status")).to_have_text(
                "Ya estás hablando con una persona del equipo."
            )
            assert alba.none("msg", wait=0.5)
            assert log_texts(page) == [("out", "uno"), ("out", "dos"), ("in", "sigo aquí")]
            page.context.close()
        finally:
            alba.close()
            router.stop()
