"""The web widget (packaging/chat/widget/) served by a test Prosody, and Debian's headless
Chromium to open it, for tests/chat/test_widget*.py.

Chromium trusts only the test server's key: ``--ignore-certificate-errors-spki-list`` with the
SHA-256 of the server certificate's SubjectPublicKeyInfo (no certificate error is waved through
in general), and ``--host-resolver-rules`` maps the test domains to 127.0.0.1. Playwright drives
``/usr/bin/chromium`` (``executable_path``); its own browsers are never downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = Path("/usr/bin/chromium")
WIDGET = Path(__file__).resolve().parents[2] / "packaging" / "chat" / "widget"


def spki_hash(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_site(site: Path, domain: str, https_port: int) -> Path:
    """A copy of the widget with a config.json for this server and a neutral exit page."""
    shutil.copytree(WIDGET, site)
    (site / "config.json").write_text(
        json.dumps(
            {
                "organisation": "Línea de prueba",
                "domain": domain,
                "websocket": "",  # the page's own origin: wss://guest.<domain>:<port>/xmpp-websocket
                "emergency_number": "911",
                "exit_url": f"https://guest.{domain}:{https_port}/chat/neutral.html",
            }
        )
    )
    (site / "neutral.html").write_text(
        "<!doctype html><html lang=es><title>Clima</title><p>El clima de hoy</p></html>"
    )
    # a helpline's page with the widget in an iframe, as docs/chat.md shows
    (site / "host.html").write_text(
        "<!doctype html><html lang=es><title>Línea</title><h1>Nuestra línea</h1>"
        '<iframe src="index.html" title="Chat de apoyo" width="400" height="640" '
        'sandbox="allow-scripts allow-same-origin allow-top-navigation-by-user-activation">'
        "</iframe></html>"
    )
    return site


def chromium_args(server: Any) -> list[str]:
    return [
        f"--ignore-certificate-errors-spki-list={spki_hash(server.certs.cert)}",
        f"--host-resolver-rules=MAP {server.domain} 127.0.0.1, MAP guest.{server.domain} 127.0.0.1",
    ]


def url(server: Any, query: str = "") -> str:
    # Prosody serves the page on the guest host (chat/server.py: http_files on guest.<domain>)
    return f"https://guest.{server.domain}:{server.https_port}/chat/index.html{query}"


def new_page(browser: Any, **context: Any) -> Any:
    ctx = browser.new_context(locale=context.pop("locale", "es-MX"), **context)
    page = ctx.new_page()
    page.set_default_timeout(15000)
    return page


def write(page: Any, text: str) -> None:
    page.get_by_label("Tu mensaje").fill(text)
    page.get_by_role("button", name="Enviar").click()


def log_texts(page: Any) -> list[tuple[str, str]]:
    """The conversation as shown: (out|in, text) in page order."""
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('#log > li')).map(li =>
            [li.classList.contains('out') ? 'out' : 'in', li.querySelector('.body').textContent])"""
    )
    return [(d, t) for d, t in rows]


def stored(page: Any) -> Any:
    raw = page.evaluate("sessionStorage.getItem('faro.chat')")
    return json.loads(raw) if raw else None
