"""Turning what a counselor types in the search box into a safe FTS5 query."""

from __future__ import annotations

import re

from storage.records import HL_END, HL_START

_WORD = re.compile(r"\w+", re.UNICODE)

SEARCH_SQL = (
    "SELECT n.contact_id, c.rung_at, "
    f"snippet(notes_fts, 0, '{HL_START}', '{HL_END}', '…', 12) "
    "FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid "
    "JOIN contacts c ON c.id = n.contact_id "
    "WHERE notes_fts MATCH ? ORDER BY rank LIMIT ?"
)


def fts_query(text: str) -> str | None:
    """Every word must appear; the last one may be a prefix (search while typing).
    Quoting each word means no user input is ever FTS5 syntax."""
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)
