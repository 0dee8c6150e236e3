"""The web widget (packaging/chat/widget/) in Debian's headless Chromium, driven by Playwright
(its own browsers are never downloaded: ``executable_path=/usr/bin/chromium``), against a real
Prosody serving the page itself (mod_http_files at /chat) and the WebSocket.

Chromium trusts only the test server's key (tests/support/widget_site.py).

On the router's address is tests/support/widget_router_probe.py: a real component connection
that records what the page sends and sends what the test scripts, so each wire detail and
each state is checked exactly; tests/chat/test_widget_router.py runs the same page against the
real router (chat/router.py) and a CounselorPeer.
Screenshots go to test-artifacts/<test>/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# imported before Playwright's greenlets run: hypothesis' pytest plugin imports it at the end of
# the run, and CPython 3.11.7's AST recursion counter can be off by then ("AST constructor
# recursion depth mismatch")
import hypothesis  # noqa: F401
import pytest

from chat.protocol import MAX_BODY
from tests.support import prosody
from tests.support.widget_router_probe import RouterProbe, Seen
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
pytestmark = [
    pytest.mark.skipif(not prosody.available(), reason="prosody is not installed"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prosody.Prosody]:
    root = tmp_path_factory.mktemp("widget")
    srv = prosody.Prosody(root / "prosody", widget_dir=root / "site")
    make_site(root / "site", srv.domain, srv.https_port)
    with srv:
        yield srv


@pytest.fixture(scope="module")
def browser(server: prosody.Prosody) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=chromium_args(server),
        )
        yield b
        b.close()


@pytest.fixture
def probe(server: prosody.Prosody) -> Iterator[RouterProbe]:
    p = RouterProbe(server).start()
    yield p
    p.stop()


def start_chat(page: Any, server: prosody.Prosody, probe: RouterProbe, query: str = "") -> Seen:
    n = len(probe.seen)
    page.goto(url(server, query))
    page.get_by_role("button", name="Empezar a escribir").click()
    return probe.wait_for(lambda s: s.kind == "hello", after=n)


def test_page_connects_anonymously_and_says_hello(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page = new_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url(server))
    sync_api.expect(page.locator("#emergency")).to_contain_text("911")
    assert page.locator("html").get_attribute("lang") == "es-MX"
    page.get_by_role("button", name="Empezar a escribir").click()
    hello = probe.wait_for(lambda s: s.kind == "hello")
    assert hello.frm.split("@")[1].startswith(f"guest.{server.domain}/")
    assert hello.attrs["lang"] == "es" and hello.attrs["version"] == "1"
    token = hello.attrs["session"]
    assert len(token) >= 22 and all(c.isalnum() or c in "-_" for c in token)
    stored = page.evaluate("sessionStorage.getItem('faro.chat')")
    assert json.loads(stored)["token"] == token
    probe.state(hello.frm, "waiting", position=2, wait_s=150)
    status = page.locator("#status")
    sync_api.expect(status).to_contain_text("Estás en la fila; una persona te atenderá pronto")
    sync_api.expect(status).to_contain_text("Tu lugar en la fila: 2")
    assert errors == []
    page.context.close()


def connected_chat(
    browser: Any,
    server: prosody.Prosody,
    probe: RouterProbe,
    console: list[str] | None = None,
    **ctx: Any,
) -> tuple[Any, Seen]:
    page = new_page(browser, **ctx)
    if console is not None:
        page.on("console", lambda m: console.append(m.text))
    hello = start_chat(page, server, probe)
    probe.state(hello.frm, "connected")
    sync_api.expect(page.locator("#status")).to_contain_text("Ya estás hablando con una persona")
    return page, hello


def test_a_conversation_both_ways_with_receipts_read_markers_and_typing(
    browser: Any, server: prosody.Prosody, probe: RouterProbe, artifacts_dir: Path
) -> None:
    console: list[str] = []
    page, hello = connected_chat(browser, server, probe, console=console)
    me = hello.frm
    box = page.get_by_label("Tu mensaje")
    box.press_sequentially("Hola")
    probe.wait_for(lambda s: s.chat_state == "composing")
    box.fill("Hola, necesito hablar con alguien")
    page.get_by_role("button", name="Enviar").click()
    sent = probe.wait_for(lambda s: s.body is not None)
    assert sent.body == "Hola, necesito hablar con alguien"
    assert sent.type == "chat" and sent.receipt_request and sent.origin_id == sent.id
    assert sent.attrs.get("seq") == "1"
    mine = page.locator(f"#m-{sent.id}")
    sync_api.expect(mine.locator(".words")).to_have_text("enviado")
    sync_api.expect(box).to_have_value("")
    probe.received(me, sent.id)
    sync_api.expect(mine.locator(".words")).to_have_text("recibido")
    probe.displayed(me, sent.id)
    sync_api.expect(mine.locator(".words")).to_have_text("leído")

    probe.typing(me, "composing")
    sync_api.expect(page.locator("#typing")).to_have_text("Te están escribiendo…")
    probe.text(me, "c-1", "Hola, aquí estoy. ¿Estás a salvo para seguir escribiendo?")
    sync_api.expect(page.locator("#log > li.in .body")).to_have_text(
        "Hola, aquí estoy. ¿Estás a salvo para seguir escribiendo?"
    )
    sync_api.expect(page.locator("#typing")).to_have_text("")
    # the page confirms delivery and, being in view, reading
    probe.wait_for(lambda s: s.received == "c-1")
    probe.wait_for(lambda s: s.displayed == "c-1")
    write(page, "Sí, estoy a salvo")  # just text
    second = probe.wait_for(lambda s: s.body == "Sí, estoy a salvo")
    assert second.attrs.get("seq") == "2" and second.id != sent.id
    assert log_texts(page) == [
        ("out", "Hola, necesito hablar con alguien"),
        ("in", "Hola, aquí estoy. ¿Estás a salvo para seguir escribiendo?"),
        ("out", "Sí, estoy a salvo"),
    ]
    assert console == [], console  # nothing about the conversation in the browser's console
    page.screenshot(path=str(artifacts_dir / "conversation.png"), full_page=False)
    page.context.close()


def test_markup_and_links_arrive_and_leave_as_text(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page, hello = connected_chat(browser, server, probe)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    evil = '<b>negrita</b> <img src=x onerror="alert(1)"> <script>alert(2)</script> https://ejemplo.invalid/x?a=1&b=2'
    probe.text(hello.frm, "c-m", evil)
    body = page.locator("#log > li.in .body")
    sync_api.expect(body).to_have_text(evil)
    assert page.locator("#log img, #log b, #log script, #log a").count() == 0
    write(page, "<i>mío</i> www.ejemplo.invalid")
    out = probe.wait_for(lambda s: s.body is not None and "mío" in s.body)
    assert out.body == "<i>mío</i> www.ejemplo.invalid"
    assert page.locator("#log i, #log a").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    page.context.close()


def test_oversized_and_binary_input_is_refused_in_words_and_kept(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page, hello = connected_chat(browser, server, probe)
    box = page.get_by_label("Tu mensaje")
    box.fill("a" * 1900)
    sync_api.expect(page.locator("#counter")).to_have_text(f"1900 de {MAX_BODY} caracteres")
    long = "ñ" * (MAX_BODY + 1)
    box.fill(long)
    sync_api.expect(page.locator("#counter")).to_have_text(
        f"{MAX_BODY + 1} de {MAX_BODY} caracteres"
    )
    page.get_by_role("button", name="Enviar").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text("demasiado largo")
    assert box.input_value() == long  # nothing lost: the person can split it
    box.fill("hola\x00\x01")
    page.get_by_role("button", name="Enviar").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text("solo se admite texto")
    # exactly MAX_BODY goes
    box.fill("é" * MAX_BODY)
    page.get_by_role("button", name="Enviar").click()
    ok = probe.wait_for(lambda s: s.body is not None)
    assert ok.body is not None and len(ok.body) == MAX_BODY
    assert len(probe.texts()) == 1
    # a refusal by the router, in words, on the message it concerns
    probe.refused(hello.frm, ok.id, "too_fast")
    words = page.locator(f"#m-{ok.id} .words")
    sync_api.expect(words).to_contain_text("no enviado")
    sync_api.expect(words).to_contain_text("Estás enviando muy rápido")
    page.context.close()


def test_reload_keeps_the_conversation_and_the_session(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page, hello = connected_chat(browser, server, probe)
    write(page, "antes de recargar")
    probe.wait_for(lambda s: s.body == "antes de recargar")
    n = len(probe.seen)
    page.reload()
    again = probe.wait_for(lambda s: s.kind == "hello", after=n)
    assert again.attrs["session"] == hello.attrs["session"]
    assert again.frm != hello.frm  # a new connection, the same conversation
    assert log_texts(page) == [("out", "antes de recargar")]
    page.context.close()


def test_server_restart_mid_conversation_loses_and_duplicates_nothing(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page, hello = connected_chat(browser, server, probe)
    write(page, "uno")
    one = probe.wait_for(lambda s: s.body == "uno")
    probe.received(hello.frm, one.id)
    sync_api.expect(page.locator(f"#m-{one.id} .words")).to_have_text("recibido")
    probe.text(hello.frm, "c-1", "primera respuesta")
    sync_api.expect(page.locator("#log > li.in")).to_have_count(1)
    write(page, "dos")  # reaches the router, but no receipt comes before the restart
    two = probe.wait_for(lambda s: s.body == "dos")

    probe.stop()
    server.restart()
    sync_api.expect(page.locator("#status")).to_contain_text("Reconectando")
    write(page, "tres")  # written while the server was away
    fresh = RouterProbe(server).start()
    try:
        back = fresh.wait_for(lambda s: s.kind == "hello", timeout=25)
        assert back.attrs["session"] == hello.attrs["session"]
        fresh.state(back.frm, "connected")
        three = fresh.wait_for(lambda s: s.body == "tres")
        again_two = fresh.wait_for(lambda s: s.body == "dos")
        assert again_two.id == two.id  # resent with the same id: the router can drop the copy
        assert all(s.body != "uno" for s in fresh.texts())  # receipted: not resent
        # the counselor's side resends what it had not seen receipted: shown once
        fresh.text(back.frm, "c-1", "primera respuesta")
        fresh.text(back.frm, "c-2", "segunda respuesta", seq=2)
        sync_api.expect(page.locator("#log > li.in")).to_have_count(2)
        page.wait_for_timeout(500)
        assert log_texts(page) == [
            ("out", "uno"),
            ("in", "primera respuesta"),
            ("out", "dos"),
            ("out", "tres"),
            ("in", "segunda respuesta"),
        ]
        order = [s.body for s in fresh.texts()]
        assert order.index("dos") < order.index("tres")
        fresh.received(back.frm, three.id)
        sync_api.expect(page.locator(f"#m-{three.id} .words")).to_have_text("recibido")
    finally:
        fresh.stop()
        page.context.close()


def test_a_second_tab_takes_the_conversation_and_the_first_says_elsewhere(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    first, hello = connected_chat(browser, server, probe)
    write(first, "desde la primera pestaña")
    probe.wait_for(lambda s: s.body == "desde la primera pestaña")
    n = len(probe.seen)
    second = first.context.new_page()
    second.goto(url(server))
    hello2 = probe.wait_for(lambda s: s.kind == "hello", after=n)
    assert hello2.attrs["session"] == hello.attrs["session"] and hello2.frm != hello.frm
    sync_api.expect(second.locator("#log > li")).to_have_count(1)
    assert stored(second)["token"] == hello.attrs["session"]
    # the router gives the newer tab the chat and tells the older one
    probe.state(hello.frm, "elsewhere")
    probe.state(hello2.frm, "connected")
    sync_api.expect(first.locator("#status")).to_have_text(
        "Esta conversación sigue en otra pestaña."
    )
    sync_api.expect(first.get_by_label("Tu mensaje")).to_be_disabled()
    sync_api.expect(first.get_by_role("button", name="Seguir en esta pestaña")).to_be_visible()
    write(second, "desde la segunda")
    later = probe.wait_for(lambda s: s.body == "desde la segunda")
    assert later.frm == hello2.frm and later.attrs.get("seq") == "2"
    first.context.close()


def test_a_new_browser_window_elsewhere_is_a_new_conversation(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    a, hello = connected_chat(browser, server, probe)
    b = new_page(browser)  # another profile: no shared tabs, no shared token
    hello_b = start_chat(b, server, probe)
    assert hello_b.frm != hello.frm
    assert hello_b.attrs["session"] != hello.attrs["session"]
    a.context.close()
    b.context.close()


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_clears_everything_and_replaces_the_location(
    browser: Any, server: prosody.Prosody, probe: RouterProbe, how: str
) -> None:
    page, hello = connected_chat(browser, server, probe)
    write(page, "algo privado")
    probe.wait_for(lambda s: s.body == "algo privado")
    history = page.evaluate("history.length")
    if how == "button":
        page.get_by_role("button", name="Salida rápida").click()
    else:
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    page.wait_for_url("**/chat/neutral.html")
    bye = probe.wait_for(lambda s: s.kind == "bye")
    assert bye.attrs["reason"] == "quick_exit" and bye.attrs["session"] == hello.attrs["session"]
    assert page.evaluate("sessionStorage.length") == 0
    assert "algo privado" not in page.content()
    assert page.evaluate("history.length") == history  # replaced, not added
    page.go_back()
    assert "index.html" not in page.url
    page.context.close()


def test_quick_exit_from_an_iframe_leaves_the_whole_tab(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page = new_page(browser)
    page.goto(url(server).replace("index.html", "host.html"))
    frame = page.frame_locator("iframe")
    frame.get_by_role("button", name="Empezar a escribir").click()
    hello = probe.wait_for(lambda s: s.kind == "hello")
    probe.state(hello.frm, "connected")
    sync_api.expect(frame.locator("#status")).to_contain_text("Ya estás hablando")
    frame.get_by_role("button", name="Salida rápida").click()
    page.wait_for_url("**/chat/neutral.html")  # the top page, not only the frame
    assert probe.wait_for(lambda s: s.kind == "bye").attrs["reason"] == "quick_exit"
    assert page.locator("iframe").count() == 0
    page.context.close()


def test_one_escape_does_not_leave(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page, _hello = connected_chat(browser, server, probe)
    page.keyboard.press("Escape")
    page.wait_for_timeout(1700)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url.endswith("/chat/index.html")
    page.context.close()


def test_english_when_asked_or_when_the_browser_speaks_it(
    browser: Any, server: prosody.Prosody, probe: RouterProbe
) -> None:
    page = new_page(browser, locale="en-US")
    page.goto(url(server))
    sync_api.expect(page.get_by_role("button", name="Quick exit")).to_be_visible()
    page.get_by_role("button", name="Start writing").click()
    hello = probe.wait_for(lambda s: s.kind == "hello")
    assert hello.attrs["lang"] == "en"
    probe.state(hello.frm, "reassigning")
    sync_api.expect(page.locator("#status")).to_contain_text("passing you to someone else")
    page.context.close()
    page = new_page(browser, locale="es-MX")
    page.goto(url(server, "?lang=en"))
    sync_api.expect(page.get_by_role("button", name="Start writing")).to_be_visible()
    page.context.close()


def test_states_in_words(browser: Any, server: prosody.Prosody, probe: RouterProbe) -> None:
    page = new_page(browser)
    hello = start_chat(page, server, probe)
    status = page.locator("#status")
    probe.state(hello.frm, "waiting", position=1, wait_s=20)
    sync_api.expect(status).to_have_text(
        "Estás en la fila; una persona te atenderá pronto. Tu lugar en la fila: 1."
    )
    probe.state(hello.frm, "waiting", position=1, wait_s=130)
    sync_api.expect(status).to_contain_text("Llevas 2 min en la fila; no cierres esta página.")
    probe.state(hello.frm, "reassigning")
    sync_api.expect(status).to_have_text(
        "Se perdió la conexión con quien te atendía; te estamos pasando con otra persona."
    )
    probe.state(hello.frm, "closed", reason="by_counselor")
    sync_api.expect(status).to_contain_text("quien te atendía la cerró")
    sync_api.expect(page.get_by_label("Tu mensaje")).to_be_disabled()
    sync_api.expect(
        page.get_by_role("button", name="Empezar una conversación nueva")
    ).to_be_visible()
    page.context.close()


def test_keyboard_only(browser: Any, server: prosody.Prosody, probe: RouterProbe) -> None:
    page = new_page(browser)
    page.goto(url(server))
    sync_api.expect(page.locator("#emergency")).to_contain_text("911")
    focused = []
    for _ in range(6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if focused[-1] == "begin":
            break
    assert focused[0] == "exit" and focused[-1] == "begin", focused
    page.keyboard.press("Enter")
    hello = probe.wait_for(lambda s: s.kind == "hello")
    assert page.evaluate("document.activeElement.id") == "input"
    page.keyboard.type("escrito con el teclado")
    page.keyboard.press("Enter")
    sent = probe.wait_for(lambda s: s.body is not None)
    assert sent.body == "escrito con el teclado" and sent.frm == hello.frm
    page.context.close()


CONTRAST = """() => {
  const lum = c => { const [r, g, b] = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
      if (!/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  const out = [];
  for (const el of document.querySelectorAll('h1, p, label, button, .body, .words, a, textarea')) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const a = lum(getComputedStyle(el).color), b = lum(bg(el));
    out.push([el.id || el.className || el.tagName, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
  }
  return out;
}"""

TARGETS = """() => Array.from(document.querySelectorAll('button, textarea')).filter(e => e.offsetParent)
  .map(e => { const r = e.getBoundingClientRect(); return [e.id, r.width, r.height]; })"""


@pytest.mark.parametrize("size", [(360, 640), (1280, 800)])
def test_layout_on_a_phone_and_a_desktop(
    browser: Any,
    server: prosody.Prosody,
    probe: RouterProbe,
    artifacts_dir: Path,
    size: tuple[int, int],
) -> None:
    w, h = size
    ctx: dict[str, Any] = {"viewport": {"width": w, "height": h}}
    if w < 500:
        ctx.update(device_scale_factor=2, is_mobile=True, has_touch=True)
    page = new_page(browser, **ctx)
    page.goto(url(server))
    sync_api.expect(page.locator("#emergency")).to_contain_text("911")
    page.screenshot(path=str(artifacts_dir / f"start-{w}x{h}.png"))
    page.get_by_role("button", name="Empezar a escribir").click()
    hello = probe.wait_for(lambda s: s.kind == "hello")
    probe.state(hello.frm, "connected")
    write(
        page, "Hola. No sé bien cómo empezar, pero necesito contarle a alguien lo que pasa en casa."
    )
    sent = probe.wait_for(lambda s: s.body is not None)
    probe.received(hello.frm, sent.id)
    probe.text(
        hello.frm,
        "c-1",
        "Hola, gracias por escribir. Aquí estoy contigo. ¿Estás a salvo para seguir escribiendo?",
    )
    probe.typing(hello.frm, "composing")
    sync_api.expect(page.locator("#log > li")).to_have_count(2)
    page.get_by_label("Tu mensaje").fill("Sí, por ahora")
    page.screenshot(path=str(artifacts_dir / f"chat-{w}x{h}.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= w  # no sideways scrolling
    exit_box = page.get_by_role("button", name="Salida rápida").bounding_box()
    assert exit_box is not None and exit_box["y"] >= 0 and exit_box["y"] + exit_box["height"] <= h
    for ident, bw, bh in page.evaluate(TARGETS):
        assert bw >= 44 and bh >= 44, (ident, bw, bh)  # WCAG 2.5.5 touch targets
    low = [(el, round(r, 2)) for el, r in page.evaluate(CONTRAST) if r < 4.5]
    assert low == [], low  # WCAG AA for normal text
    # the quick exit stays in view when the conversation is long
    for i in range(12):
        probe.text(hello.frm, f"c-x{i}", f"mensaje {i} " + "texto largo " * 8)
    sync_api.expect(page.locator("#log > li")).to_have_count(14)
    page.wait_for_timeout(300)
    exit_box = page.get_by_role("button", name="Salida rápida").bounding_box()
    assert exit_box is not None and exit_box["y"] >= 0 and exit_box["y"] + exit_box["height"] <= h
    page.screenshot(path=str(artifacts_dir / f"long-{w}x{h}.png"))
    page.context.close()
