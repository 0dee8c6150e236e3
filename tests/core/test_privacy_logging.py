from __future__ import annotations

import logging
import os
import stat

from core import logs
from core.privacy import PLACEHOLDER, Personal, scrub

NUMBER = "+52 55 5555 0101"


def test_personal_never_prints_its_value():
    p = Personal(NUMBER)
    assert NUMBER not in f"{p} {p!r} {p:>20} {[p]} {dict(x=p)} %s" % p
    assert p.reveal() == NUMBER
    assert p == Personal(NUMBER) and bool(p) and not Personal("")


def test_scrub_masks_numbers_and_emails_but_not_ordinary_figures():
    text = f"call from {NUMBER} or (55) 5555-0199, mail ana.perez@example.org; took 12 s, id 4711"
    out = scrub(text)
    assert "5555" not in out and "example.org" not in out
    assert "12 s" in out and "4711" in out
    assert out.count(PLACEHOLDER) == 3


def test_log_file_is_private_and_scrubbed(tmp_path):
    path = logs.configure(tmp_path / "log")
    log = logging.getLogger("faro.test")
    try:
        raise ValueError(f"bad caller {NUMBER}")
    except ValueError:
        log.exception("handling %s for %s", "call", NUMBER)
    log.info("caller %s", Personal("Ana Pérez"))
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text()
    assert "5555" not in text and "Ana" not in text
    assert "handling call for" in text and "ValueError" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
