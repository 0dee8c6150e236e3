"""The unlocked case store: every read and write on an open database.

:class:`CaseStore` exists only while the store is unlocked (``StoreService`` creates it at
unlock and closes it at lock). Writes run on the :class:`~storage.writer.Writer` thread;
reads use a second connection (WAL lets it read while the writer commits) behind a lock.

An autosave commit writes only the note row (one upsert, its own transaction) and marks it
``indexed = 0``; :meth:`index_in` copies such notes into the search index later, on the
writer thread (when typing pauses, at save/wrap-up, before a search, at lock, at open).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlcipher3

from core.clock import Clock
from core.i18n import _
from core.privacy import Personal
from storage import audit as audit_log
from storage import caller_key as caller_keys
from storage import database
from storage import secrets as secret_rows
from storage.errors import StoreIsLocked
from storage.options import FOLLOW_UP_RETRY_H
from storage.records import (
    FOLLOW_UP_CLOSES,
    RESCUE_LOCATION,
    RESCUE_STEPS,
    RISK_FACTORS,
    FollowUp,
    Note,
    NoteVersion,
    OutboxItem,
    PurgeResult,
    RecordError,
    RescueStep,
    RiskAssessment,
    SafetyPlan,
    SearchHit,
    dispatch_wait,
    iso,
    unknown_factors,
)
from storage.search import SEARCH_SQL, fts_query
from storage.writer import DraftResult, Writer

log = logging.getLogger(__name__)

#: the next attempt of an unreached follow-up, unless told (the service passes its option)
FOLLOW_UP_RETRY = dt.timedelta(hours=FOLLOW_UP_RETRY_H.default)
#: how long a search waits for the writer to index what was committed before it
SEARCH_INDEX_WAIT_S = 2.0

_UPSERT_NOTE = (
    "INSERT INTO notes(contact_id, text, dirty, updated_at) VALUES (?,?,1,?) "
    "ON CONFLICT(contact_id) DO UPDATE SET text=excluded.text, dirty=1, indexed=0, "
    "updated_at=excluded.updated_at WHERE notes.text != excluded.text"
)

#: the plan's metadata (version, based_on) is kept in its JSON under this key
_PLAN_META = "_meta"
_PLAN_SQL = "SELECT plan, updated_at, form_version FROM safety_plans WHERE contact_id=?"


def _plan_row(row: tuple[Any, ...] | None) -> SafetyPlan | None:
    """A ``safety_plans`` row (plan JSON, updated_at[, form_version]) as a SafetyPlan with
    its metadata."""
    if row is None:
        return None
    data = json.loads(row[0])
    meta = data.get(_PLAN_META) or {}
    return dataclasses.replace(
        SafetyPlan.from_json(data),
        version=int(meta.get("version", 1)),  # plans saved before versions: 1
        updated_at=row[1],
        based_on=str(meta.get("based_on") or ""),
        form_version=row[2] if len(row) > 2 else None,
    )


class CaseStore:
    def __init__(
        self,
        path: Path,
        key: bytearray,
        clock: Clock,
        *,
        counselor_id: str = "",
        interval_s: float = 0.2,
        index_pause_s: float = 1.0,
        on_drafts: DraftResult | None = None,
        create: bool = False,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.counselor_id = counselor_id
        #: the version of the organisation's form new records are saved under (use_form)
        self.form_version: int | None = None
        #: area → the item codes an assessment may hold: the form in use and every version
        #: the store has seen (an old draft keeps a dropped item); the built-in form's first
        self._risk_items: dict[str, set[str]] = {a: set(c) for a, c in RISK_FACTORS.items()}
        wdb = database.connect(self.path, key, create=create)
        #: what the WAL held before this open (a damaged one was copied aside: wal_copy)
        self.wal, self.wal_copy = wdb.wal, wdb.wal_copy
        try:  # the writer connection has replayed the WAL: nothing left to scan
            self._rdb = database.connect(self.path, key, migrate=False, scan_wal=False)
        except BaseException:
            wdb.close()
            raise
        self.last_head: dict[str, Any] | None = None  # audit head when closed
        self._closed = False
        self._rlock = threading.Lock()
        self._on_drafts = on_drafts or (lambda ids, exc: None)
        self._known_contacts: set[str] = set()  # writer thread only: rows known to exist
        self.writer = Writer(
            wdb,
            self._write_drafts,
            self._drafts_done,
            interval_s,
            index=self.index_in,
            index_pause_s=index_pause_s,
        )
        self.writer.schedule_index(0.0)  # notes committed but not indexed before a crash

    # -- plumbing -------------------------------------------------------------------------
    def now(self) -> str:
        return iso(self.clock.now())

    @property
    def actor(self) -> str:
        return self.counselor_id or "local"

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._rlock:
            return self._rdb.execute(sql, tuple(args)).fetchall()

    def _write(
        self, fn: Callable[[sqlcipher3.Connection], Any], operation: str, transaction: bool = True
    ) -> Any:
        try:
            return self.writer.call(fn, transaction)
        except sqlcipher3.OperationalError as exc:
            if database.is_write_failure(exc):
                raise database.write_failed(operation, exc, self.path.parent) from None
            raise

    def _audit(
        self,
        db: sqlcipher3.Connection,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        audit_log.append(db, self.now(), self.actor, action, subject, detail)

    def _ensure_contact(self, db: sqlcipher3.Connection, contact_id: str) -> None:
        now = self.now()
        db.execute(
            "INSERT OR IGNORE INTO contacts(id, channel, counselor_id, rung_at, updated_at) "
            "VALUES (?, 'manual', ?, ?, ?)",
            (contact_id, self.counselor_id, now, now),
        )

    def close(self, flush_timeout: float = 10.0) -> bool:
        """Save pending drafts, close both connections. Returns False if drafts were lost."""
        self._closed = True
        saved = self.writer.stop(flush_timeout)
        try:
            self.last_head = audit_log.head(self.writer.db)
        except sqlcipher3.Error:
            log.warning("could not read the audit head at close")
        for db in (self.writer.db, self._rdb):
            try:
                db.close()
            except sqlcipher3.Error:
                log.exception("closing the case store failed")
        return saved

    # -- audit -------------------------------------------------------------------------------
    def audit_head(self) -> dict[str, Any]:
        """{"seq", "mac"} of the newest committed audit row."""
        with self._rlock:
            return audit_log.head(self._rdb)

    def anchor_problem(self, anchored: dict[str, Any] | None) -> str | None:
        """Whether the head anchored in the key file is still in the log (None: it is)."""
        with self._rlock:
            return audit_log.anchor_problem(self._rdb, anchored, _("the key file"))

    def audit(
        self, action: str, subject: str, detail: dict[str, Any] | None = None, wait: bool = True
    ) -> None:
        """Append to the hash-chained audit log (no note text or caller data in ``detail``)."""
        fn = lambda db: self._audit(db, action, subject, detail)  # noqa: E731
        if wait:
            self._write(fn, "audit")
        else:
            self.writer.submit(fn)

    # -- contacts --------------------------------------------------------------------------
    def record_call_in(self, db: sqlcipher3.Connection, call: Any, fields: dict[str, Any]) -> None:
        """Insert or update the contact row of a calls.model.Call snapshot (writer thread).
        The caller's salted key (storage/caller_key.py) is written with the number."""
        number = call.caller_id.reveal() if call.caller_id else None
        row = {
            "channel": call.channel,
            "caller": number,
            "caller_key": caller_keys.caller_key(caller_keys.secret_in(db), number)
            if number
            else None,
            "rung_at": iso(call.rung_at),
            "answered_at": iso(call.answered_at),
            "ended_at": iso(call.ended_at),
            "ended_by": call.ended_by.value if call.ended_by else None,
            "disposition": call.disposition,
            "form_version": self.form_version if call.disposition else None,
            **fields,
        }
        now = self.now()
        exists = db.execute("SELECT 1 FROM contacts WHERE id=?", (call.id,)).fetchone()
        if not exists:
            db.execute(
                "INSERT INTO contacts(id, channel, counselor_id, rung_at, updated_at) "
                "VALUES (?,?,?,?,?)",
                (call.id, row["channel"], self.counselor_id, row["rung_at"], now),
            )
            self._audit(db, "contact.open", call.id, {"channel": row["channel"]})
        sets = {k: v for k, v in row.items() if v is not None}
        cols = ", ".join(f"{k}=?" for k in sets)
        db.execute(
            f"UPDATE contacts SET {cols}, updated_at=? WHERE id=?", (*sets.values(), now, call.id)
        )

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        with self._rlock:
            cur = self._rdb.execute("SELECT * FROM contacts WHERE id=?", (contact_id,))
            row = cur.fetchone()
            if row is None:
                return None
            d = dict(zip([c[0] for c in cur.description], row, strict=True))
        d["health"] = json.loads(d["health"]) if d.get("health") else None
        return d

    def contacts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, without the caller number."""
        rows = self._read(
            "SELECT id, channel, rung_at, answered_at, ended_at, disposition, "
            "missed_reason, legal_hold FROM contacts ORDER BY rung_at DESC LIMIT ?",
            (limit,),
        )
        keys = (
            "id",
            "channel",
            "rung_at",
            "answered_at",
            "ended_at",
            "disposition",
            "missed_reason",
            "legal_hold",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def set_contact_health(self, contact_id: str, figures: dict[str, Any]) -> None:
        text = json.dumps(figures, sort_keys=True)

        def write(db: sqlcipher3.Connection) -> None:
            self._ensure_contact(db, contact_id)
            db.execute(
                "UPDATE contacts SET health=?, updated_at=? WHERE id=?",
                (text, self.now(), contact_id),
            )

        self._write(write, "health")

    def set_legal_hold(self, contact_id: str, on: bool, reason: str = "") -> None:
        def write(db: sqlcipher3.Connection) -> None:
            self._ensure_contact(db, contact_id)
            db.execute(
                "UPDATE contacts SET legal_hold=?, legal_hold_reason=?, updated_at=? WHERE id=?",
                (int(on), reason or None, self.now(), contact_id),
            )
            self._audit(db, "legal_hold.set" if on else "legal_hold.clear", contact_id)

        self._write(write, "legal hold")

    # -- notes -------------------------------------------------------------------------------
    def draft(self, contact_id: str, text: str) -> None:
        self.writer.draft(contact_id, text)

    def _write_drafts(self, db: sqlcipher3.Connection, drafts: dict[str, str]) -> None:
        """The autosave commit (writer thread). The usual case — one contact whose row is
        known to exist — is a single upsert, its own transaction; otherwise one transaction
        (or the caller's, when already in one)."""
        now = self.now()
        known = self._known_contacts
        own = not db.in_transaction and (len(drafts) > 1 or not known.issuperset(drafts))
        if own:
            db.execute("BEGIN IMMEDIATE")
        try:
            for contact_id, text in drafts.items():
                if contact_id not in known:
                    self._ensure_contact(db, contact_id)
                db.execute(_UPSERT_NOTE, (contact_id, text, now))
            if own:
                db.execute("COMMIT")
        except BaseException:
            if own and db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _drafts_done(self, ids: list[str], exc: BaseException | None) -> None:
        if exc is None:
            self._known_contacts.update(ids)  # committed: their contact rows exist
        self._on_drafts(ids, exc)

    def index_in(self, db: sqlcipher3.Connection) -> int:
        """Copy every note changed since it was last indexed into the search index (writer
        thread, inside a transaction). Returns how many notes were indexed."""
        db.execute("DELETE FROM notes_fts WHERE rowid IN (SELECT id FROM notes WHERE indexed=0)")
        db.execute("INSERT INTO notes_fts(rowid, text) SELECT id, text FROM notes WHERE indexed=0")
        return db.execute("UPDATE notes SET indexed=1 WHERE indexed=0").rowcount

    def notes(self, contact_id: str) -> Note | None:
        """The current text of a contact's note (an unsaved draft included). Audited as a view."""
        rows = self._read(
            "SELECT text, version, dirty, updated_at FROM notes WHERE contact_id=?", (contact_id,)
        )
        pending = self.writer.pending_text(contact_id)
        self.audit("note.view", contact_id, wait=False)
        if not rows:
            return None if pending is None else Note(contact_id, pending, 0, True, self.now())
        text, version, dirty, updated = rows[0]
        if pending is not None and pending != text:
            return Note(contact_id, pending, version, True, self.now())
        return Note(contact_id, text, version, bool(dirty), updated)

    def save_note(self, contact_id: str, text: str | None = None) -> int:
        """Make the current text (or ``text``) a new version. Returns the version number."""
        if text is not None:
            self.writer.draft(contact_id, text)
        return self._write(lambda db: self.save_note_in(db, contact_id), "note")

    def save_note_in(self, db: sqlcipher3.Connection, contact_id: str) -> int:
        pending = self.writer.take_draft(contact_id)
        if pending is not None:
            self._write_drafts(db, {contact_id: pending})
        row = db.execute(
            "SELECT text, version, dirty FROM notes WHERE contact_id=?", (contact_id,)
        ).fetchone()
        if row is None:
            return 0
        current, version, dirty = row
        if not dirty:
            return version
        version += 1
        db.execute(
            "INSERT INTO note_versions(contact_id, version, text, saved_at, counselor_id) "
            "VALUES (?,?,?,?,?)",
            (contact_id, version, current, self.now(), self.actor),
        )
        db.execute("UPDATE notes SET version=?, dirty=0 WHERE contact_id=?", (version, contact_id))
        self._audit(db, "note.edit", contact_id, {"version": version})
        self.index_in(db)  # a saved note is searchable as soon as it is saved
        return version

    def note_history(self, contact_id: str) -> list[NoteVersion]:
        rows = self._read(
            "SELECT contact_id, version, text, saved_at, counselor_id "
            "FROM note_versions WHERE contact_id=? ORDER BY version",
            (contact_id,),
        )
        self.audit("note.history", contact_id, wait=False)
        return [NoteVersion(*r) for r in rows]

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        q = fts_query(query)
        if q is None:
            return []
        if self.writer.index_pending() and not self.writer.refresh_index(SEARCH_INDEX_WAIT_S):
            log.warning("search ran before the index caught up with the last autosave")
        rows = self._read(SEARCH_SQL, (q, limit))
        self.audit("note.search", "*", {"hits": len(rows)}, wait=False)
        return [SearchHit(*r) for r in rows]

    # -- the organisation's forms (core/forms.py) -----------------------------------------
    def use_form(self, form: Any) -> str | None:
        """Save new records under ``form`` (a core.forms.Form), keeping its version in
        ``form_versions`` the first time it is seen (audited ``forms.version``, with counts).
        A version the store keeps with other content is refused (FormError: the file was
        changed without a new version number); nothing is written and records go on being
        saved under the version used before. A version lower than one already seen is
        accepted, and the warning returned (old records keep their own version's words)."""
        from core.forms import FormError

        def write(db: sqlcipher3.Connection) -> str | None:
            row = db.execute(
                "SELECT form FROM form_versions WHERE version=?", (form.version,)
            ).fetchone()
            if row is not None:
                if row[0] != form.to_json():
                    raise FormError(
                        _(
                            "The forms file says version {version}, but this store already "
                            "keeps a different version {version}: give the changed form a new "
                            "version number."
                        ).format(version=form.version)
                    )
                return None
            newest = db.execute("SELECT max(version) FROM form_versions").fetchone()[0]
            db.execute(
                "INSERT INTO form_versions(version, form, first_seen_at) VALUES (?,?,?)",
                (form.version, form.to_json(), self.now()),
            )
            self._audit(db, "forms.version", str(form.version), form.counts())
            if newest is not None and form.version < newest:
                return _(
                    "The forms file is version {version}, older than version {newest} this "
                    "store has seen; records keep the words of the version they were saved "
                    "under."
                ).format(version=form.version, newest=newest)
            return None

        warning: str | None = self._write(write, "forms")
        self.form_version = form.version
        self._learn_items(form)
        return warning

    def _learn_items(self, form: Any) -> None:
        from core.forms import Form, FormError

        for area, codes in form.risk_factors.items():
            self._risk_items.setdefault(area, set()).update(codes)
        for text in self.form_versions().values():
            try:
                seen = Form.from_json(text)
            except FormError:  # a version this Faro cannot read: its items are not needed
                continue
            for area, codes in seen.risk_factors.items():
                self._risk_items.setdefault(area, set()).update(codes)

    def _check_items(self, assessment: RiskAssessment) -> None:
        """Every ticked item belongs to its area in a form this store knows."""
        for area, known in self._risk_items.items():
            unknown = set(getattr(assessment, area)) - known
            if unknown:
                raise unknown_factors(area, unknown)

    def form_versions(self) -> dict[int, str]:
        """Every form version the store has seen: version → canonical JSON."""
        return {int(v): text for v, text in self._read("SELECT version, form FROM form_versions")}

    # -- clinical records -------------------------------------------------------------------
    def add_risk_assessment(self, contact_id: str, assessment: RiskAssessment) -> int:
        """A new version (row) of the contact's assessment, with its level and the id of the
        rule that gave it; an ungraded one (``level`` "") is graded by the default rule."""
        from storage.risk import DEFAULT_RULE

        self._check_items(assessment)
        if not assessment.level:
            assessment = DEFAULT_RULE.assess(assessment)

        def write(db: sqlcipher3.Connection) -> int:
            self._ensure_contact(db, contact_id)
            cur = db.execute(
                "INSERT INTO risk_assessments(contact_id, assessed_at, counselor_id, desire, "
                "capability, intent, buffers, imminent, comment, level, rule, form_version) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    contact_id,
                    self.now(),
                    self.actor,
                    *(
                        json.dumps(sorted(getattr(assessment, a)))
                        for a in ("desire", "capability", "intent", "buffers")
                    ),
                    int(assessment.imminent),
                    assessment.comment,
                    assessment.level,
                    assessment.rule,
                    self.form_version,
                ),
            )
            self._audit(
                db,
                "risk.assess",
                contact_id,
                {"imminent": assessment.imminent, "level": assessment.level},
            )
            return cur.lastrowid

        return self._write(write, "risk assessment")

    def risk_assessments(self, contact_id: str, rule: Any = None) -> list[RiskAssessment]:
        """Every version, oldest first. A row saved before levels were kept (schema < 8) is
        graded now by ``rule`` (a storage.risk.RiskRule; the default rule when None) and
        comes back with ``level_recomputed=True``."""
        from storage.risk import DEFAULT_RULE

        grader = rule or DEFAULT_RULE
        rows = self._read(
            "SELECT id, assessed_at, desire, capability, intent, buffers, comment, level, rule, "
            "form_version FROM risk_assessments WHERE contact_id=? ORDER BY id",
            (contact_id,),
        )
        self.audit("risk.view", contact_id, wait=False)
        out = []
        for r in rows:
            desire, capability, intent, buffers = (frozenset(json.loads(x)) for x in r[2:6])
            a = RiskAssessment(
                desire,
                capability,
                intent,
                buffers,
                comment=r[6],
                contact_id=contact_id,
                assessed_at=r[1],
                id=r[0],
                level=r[7],
                rule=r[8],
                form_version=r[9],
            )
            out.append(a if a.level else grader.assess(a, recomputed=True))
        return out

    def set_safety_plan(self, contact_id: str, plan: SafetyPlan) -> int:
        """Save the contact's plan; returns its version (1 for the first save). A plan that
        says the same as the saved one is not written again (same version, no audit row)."""
        return int(self._write(lambda db: self._set_plan_in(db, contact_id, plan), "safety plan"))

    def _set_plan_in(
        self,
        db: sqlcipher3.Connection,
        contact_id: str,
        plan: SafetyPlan,
        based_on: str | None = None,
        action: str = "safety_plan.edit",
        detail: dict[str, Any] | None = None,
    ) -> int:
        saved = _plan_row(db.execute(_PLAN_SQL, (contact_id,)).fetchone())
        if saved is not None and saved.to_json() == plan.to_json() and based_on is None:
            return saved.version
        version = (saved.version if saved else 0) + 1
        if based_on is None:
            based_on = saved.based_on if saved else ""
        meta = {"version": version, "based_on": based_on}
        self._ensure_contact(db, contact_id)
        db.execute(
            "INSERT INTO safety_plans(contact_id, plan, updated_at, form_version) "
            "VALUES (?,?,?,?) ON CONFLICT(contact_id) DO UPDATE SET plan=excluded.plan, "
            "updated_at=excluded.updated_at, form_version=excluded.form_version",
            (
                contact_id,
                json.dumps({**plan.to_json(), _PLAN_META: meta}),
                self.now(),
                self.form_version,
            ),
        )
        self._audit(
            db, action, contact_id, {"version": version, "sections": plan.filled, **(detail or {})}
        )
        return version

    def safety_plan(self, contact_id: str) -> SafetyPlan | None:
        rows = self._read(_PLAN_SQL, (contact_id,))
        self.audit("safety_plan.view", contact_id, wait=False)
        return _plan_row(rows[0]) if rows else None

    def latest_safety_plan_for_caller(self, contact_id: str) -> dict[str, Any] | None:
        """The newest non-empty safety plan of an *earlier* contact of the same caller (same
        ``caller_key``) as ``contact_id``: ``{"contact_id", "rung_at", "updated_at",
        "version"}`` — never the number, nor the plan's text. None: no such plan, or the
        caller's number is withheld. Runs on the writer, after the call rows already queued,
        so a contact that has just rung is found."""

        def read(db: sqlcipher3.Connection) -> dict[str, Any] | None:
            rows = db.execute(
                "SELECT p.contact_id, c.rung_at, p.updated_at, p.plan FROM contacts AS me "
                "JOIN contacts AS c ON c.caller_key = me.caller_key AND c.id != me.id "
                "JOIN safety_plans AS p ON p.contact_id = c.id "
                "WHERE me.id = ? AND me.caller_key IS NOT NULL "
                "ORDER BY p.updated_at DESC, c.rung_at DESC",
                (contact_id,),
            ).fetchall()
            for earlier_id, rung_at, updated_at, text in rows:
                plan = _plan_row((text, updated_at))
                if plan is not None and not plan.is_empty:
                    return {
                        "contact_id": earlier_id,
                        "rung_at": rung_at,
                        "updated_at": updated_at,
                        "version": plan.version,
                    }
            return None

        found: dict[str, Any] | None = self._write(read, "safety plan", transaction=False)
        return found

    def copy_safety_plan(self, from_contact_id: str, to_contact_id: str) -> SafetyPlan:
        """Start ``to_contact_id``'s plan from an earlier contact's plan of the same caller
        (one transaction; the earlier plan is unchanged). Audited as ``safety_plan.copy``
        with both ids. Refused (RecordError) when the two contacts are not the same caller
        or the earlier one has no plan."""

        def write(db: sqlcipher3.Connection) -> SafetyPlan:
            keys = dict(
                db.execute(
                    "SELECT id, caller_key FROM contacts WHERE id IN (?, ?)",
                    (from_contact_id, to_contact_id),
                ).fetchall()
            )
            linked = keys.get(from_contact_id)
            if not linked or keys.get(to_contact_id) != linked or from_contact_id == to_contact_id:
                raise RecordError(_("That safety plan is not of the same caller."))
            source = _plan_row(db.execute(_PLAN_SQL, (from_contact_id,)).fetchone())
            if source is None:
                raise RecordError(_("That earlier contact has no safety plan."))
            version = self._set_plan_in(
                db,
                to_contact_id,
                source,
                based_on=from_contact_id,
                action="safety_plan.copy",
                detail={"from": from_contact_id},
            )
            return dataclasses.replace(
                source, version=version, updated_at=self.now(), based_on=from_contact_id
            )

        copied: SafetyPlan = self._write(write, "safety plan")
        return copied

    def safety_plan_exported(self, contact_id: str, detail: dict[str, Any]) -> None:
        """Audit an export of the contact's plan for the caller (``safety_plan.export``).
        ``detail`` says how (language, pages, sections filled), never what."""
        self.audit("safety_plan.export", contact_id, detail)

    def backfill_caller_keys(self) -> int:
        """Give every contact with a number but no caller key (rows from before schema v8)
        its key; returns how many. Idempotent."""

        def write(db: sqlcipher3.Connection) -> int:
            secret = caller_keys.secret_in(db)
            rows = db.execute(
                "SELECT id, caller FROM contacts WHERE caller_key IS NULL AND caller IS NOT NULL"
            ).fetchall()
            done = 0
            for contact_id, number in rows:
                key = caller_keys.caller_key(secret, number)
                if key is not None:
                    db.execute("UPDATE contacts SET caller_key=? WHERE id=?", (key, contact_id))
                    done += 1
            return done

        count: int = self._write(write, "contacts")
        return count

    # -- imminent-risk rescue steps -----------------------------------------------------------
    def add_rescue_step(
        self, contact_id: str, step: str, at: dt.datetime | None = None, detail: str = ""
    ) -> RescueStep:
        """Record one rescue step of the contact (a code of ``RESCUE_STEPS``) at ``at`` (the
        injected clock's now by default). ``detail`` is the caller's location, for the
        location step only: personal data, kept in this encrypted file and nowhere else (the
        audit row names the step, never the text)."""
        if step not in RESCUE_STEPS:
            raise RecordError(_("Unknown rescue step: {code}.").format(code=step))
        if detail and step != RESCUE_LOCATION:
            raise RecordError(_("Only the location step keeps a text."))
        when = iso(at or self.clock.now())

        def write(db: sqlcipher3.Connection) -> int:
            self._ensure_contact(db, contact_id)
            cur = db.execute(
                "INSERT INTO rescue_steps(contact_id, step, at, counselor_id, detail) "
                "VALUES (?,?,?,?,?)",
                (contact_id, step, when, self.actor, detail),
            )
            self._audit(db, "rescue.step", contact_id, {"step": step, "id": cur.lastrowid})
            return int(cur.lastrowid)

        step_id: int = self._write(write, "rescue step")
        return RescueStep(contact_id, step, when, self.actor, detail, step_id)

    def rescue_steps(self, contact_id: str) -> list[RescueStep]:
        """The contact's rescue steps in the order they were taken (an audited view)."""
        rows = self._read(
            "SELECT id, step, at, counselor_id, detail FROM rescue_steps WHERE contact_id=? "
            "ORDER BY id",
            (contact_id,),
        )
        self.audit("rescue.view", contact_id, wait=False)
        return [RescueStep(contact_id, r[1], r[2], r[3], r[4], r[0]) for r in rows]

    def waiting_rescues(self, since: dt.datetime) -> list[str]:
        """The contacts, newest first, whose rescue still waits for the emergency services'
        arrival (dispatched or called again, with no arrival confirmed and no outcome), among
        those with a step at or after ``since``: what a console restarted mid-rescue brings
        back. Codes and times only (the location is not read)."""
        rows = self._read(
            "SELECT contact_id, step, at FROM rescue_steps WHERE contact_id IN "
            "(SELECT contact_id FROM rescue_steps WHERE at >= ?) ORDER BY id",
            (iso(since),),
        )
        steps: dict[str, list[tuple[str, dt.datetime]]] = {}
        for contact_id, step, at in rows:
            steps.setdefault(contact_id, []).append((step, dt.datetime.fromisoformat(at)))
        waiting = [
            (seq[-1][1], cid)
            for cid, seq in steps.items()
            if dispatch_wait(seq, 1.0)[0] is not None
        ]
        return [cid for _at, cid in sorted(waiting, reverse=True)]

    def add_follow_up(self, contact_id: str, due_at: dt.datetime, max_attempts: int = 5) -> int:
        if not 1 <= max_attempts <= 20:
            raise RecordError(_("A follow-up needs between 1 and 20 attempts."))

        def write(db: sqlcipher3.Connection) -> int:
            self._ensure_contact(db, contact_id)
            cur = db.execute(
                "INSERT INTO follow_ups(contact_id, due_at, max_attempts, created_at) "
                "VALUES (?,?,?,?)",
                (contact_id, iso(due_at), max_attempts, self.now()),
            )
            self._audit(
                db,
                "follow_up.create",
                contact_id,
                {"id": cur.lastrowid, "due_at": iso(due_at), "max_attempts": max_attempts},
            )
            return cur.lastrowid

        return self._write(write, "follow-up")

    def record_follow_up_attempt(
        self,
        follow_up_id: int,
        outcome: str,
        reached: bool,
        *,
        retry_after: dt.timedelta = FOLLOW_UP_RETRY,
    ) -> FollowUp:
        """One attempt made, with its outcome (a ``FOLLOW_UP_OUTCOMES`` code). The follow-up
        is done when the person was reached, the outcome closes it (a wrong number) or the
        attempts ran out; otherwise the next attempt is due ``retry_after`` from now. Each
        attempt is an audit row with its outcome and the next due time."""
        if not outcome or len(outcome) > 40:
            raise RecordError(_("Choose what happened on this attempt."))

        def write(db: sqlcipher3.Connection) -> None:
            row = db.execute(
                "SELECT attempts, max_attempts, contact_id, done, due_at FROM follow_ups "
                "WHERE id=?",
                (follow_up_id,),
            ).fetchone()
            if row is None:
                raise RecordError(_("That follow-up does not exist."))
            if row[3]:
                raise RecordError(_("That follow-up is already closed."))
            attempts = row[0] + 1
            done = reached or outcome in FOLLOW_UP_CLOSES or attempts >= row[1]
            now = self.clock.now()
            due_at = row[4] if done else iso(now + retry_after)
            db.execute(
                "UPDATE follow_ups SET attempts=?, outcome=?, last_attempt_at=?, done=?, "
                "due_at=? WHERE id=?",
                (attempts, outcome, iso(now), int(done), due_at, follow_up_id),
            )
            detail = {"id": follow_up_id, "attempt": attempts, "outcome": outcome, "done": done}
            if not done:
                detail["due_at"] = due_at
            self._audit(db, "follow_up.attempt", row[2], detail)

        self._write(write, "follow-up")
        return self.follow_ups(follow_up_id=follow_up_id)[0]

    def follow_ups(
        self,
        *,
        contact_id: str | None = None,
        due_before: dt.datetime | None = None,
        open_only: bool = False,
        follow_up_id: int | None = None,
    ) -> list[FollowUp]:
        """Follow-ups, earliest due first (so the overdue lead)."""
        where: list[str] = []
        args: list[Any] = []
        if contact_id is not None:
            where.append("f.contact_id=?")
            args.append(contact_id)
        if due_before is not None:
            where.append("f.due_at<=?")
            args.append(iso(due_before))
        if open_only:
            where.append("f.done=0")
        if follow_up_id is not None:
            where.append("f.id=?")
            args.append(follow_up_id)
        sql = (
            "SELECT f.id, f.contact_id, f.due_at, f.attempts, f.max_attempts, f.outcome, "
            "f.done, f.last_attempt_at, c.rung_at, c.channel "
            "FROM follow_ups f LEFT JOIN contacts c ON c.id = f.contact_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY f.due_at, f.id"
        )
        return [
            FollowUp(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9])
            for r in self._read(sql, args)
        ]

    def due_follow_ups(self, now: dt.datetime) -> list[FollowUp]:
        """Every open follow-up due at ``now``, however long ago it fell due: one that came
        due while the laptop was off (or the store locked) is overdue now, not skipped."""
        return self.follow_ups(due_before=now, open_only=True)

    def follow_up_caller(self, follow_up_id: int) -> Personal | None:
        """The number to call back for a follow-up (audited as a view; for the screen only:
        a :class:`~core.privacy.Personal`, never logged). None if the call had no number."""
        rows = self._read(
            "SELECT f.contact_id, c.caller FROM follow_ups f "
            "LEFT JOIN contacts c ON c.id = f.contact_id WHERE f.id=?",
            (follow_up_id,),
        )
        if not rows:
            raise RecordError(_("That follow-up does not exist."))
        contact_id, caller = rows[0]
        self.audit("follow_up.view", contact_id, {"id": follow_up_id}, wait=False)
        return Personal(caller) if caller else None

    # -- a follow-up handed to another counselor (escalation/transfers.py, app/wiring.py) --------
    def follow_up_handover(self, follow_up_id: int) -> dict[str, Any]:
        """What a transfer carries (sealed) to the next counselor: the number to call back,
        when it is due, the attempts left and every attempt's time and outcome (from the
        audit rows). Personal data: only for sealing. Audited ``follow_up.handover``."""
        found = self.follow_ups(follow_up_id=follow_up_id)
        if not found:
            raise RecordError(_("That follow-up does not exist."))
        fu = found[0]
        if fu.done:
            raise RecordError(_("That follow-up is already closed."))
        caller = self._read("SELECT caller FROM contacts WHERE id=?", (fu.contact_id,))
        outcomes = []
        for at, detail in self._read(
            "SELECT at, detail FROM audit WHERE action='follow_up.attempt' AND subject=? "
            "ORDER BY id",
            (fu.contact_id,),
        ):
            d = json.loads(detail or "{}")
            if d.get("id") == follow_up_id:
                outcomes.append({"at": at, "outcome": str(d.get("outcome", ""))})
        self.audit("follow_up.handover", fu.contact_id, {"id": follow_up_id}, wait=False)
        return {
            "caller": caller[0][0] if caller and caller[0][0] else None,
            "due_at": fu.due_at,
            "attempts_left": max(1, fu.max_attempts - fu.attempts),
            "attempts": outcomes[-20:],
            "contact_at": fu.contact_at,
        }

    def import_transferred_follow_up(
        self,
        transfer_id: str,
        sender: str,
        caller: str | None,
        due_at: dt.datetime,
        attempts_left: int,
        note: str = "",
    ) -> int:
        """A follow-up handed over by counselor ``sender``: a contact row of channel
        ``transfer:<sender>`` (the number in it, with its caller key), a follow-up due at
        ``due_at`` with ``attempts_left`` attempts, and ``note`` (the handover note and the
        earlier attempts) as its note. One transaction; idempotent by ``transfer_id`` (the
        same transfer twice gives the same follow-up). Audited without personal data."""
        contact_id = "xfer-" + transfer_id
        attempts_left = max(1, min(20, attempts_left))

        def write(db: sqlcipher3.Connection) -> int:
            row = db.execute(
                "SELECT id FROM follow_ups WHERE contact_id=? ORDER BY id LIMIT 1", (contact_id,)
            ).fetchone()
            if row is not None:
                return int(row[0])
            now = self.now()
            key = caller_keys.caller_key(caller_keys.secret_in(db), caller) if caller else None
            db.execute(
                "INSERT OR IGNORE INTO contacts(id, channel, caller, caller_key, counselor_id, "
                "rung_at, updated_at) VALUES (?,?,?,?,?,?,?)",
                (contact_id, "transfer:" + sender, caller, key, self.counselor_id, now, now),
            )
            cur = db.execute(
                "INSERT INTO follow_ups(contact_id, due_at, max_attempts, created_at) "
                "VALUES (?,?,?,?)",
                (contact_id, iso(due_at), attempts_left, now),
            )
            self._audit(
                db,
                "follow_up.transfer_in",
                contact_id,
                {"id": cur.lastrowid, "transfer": transfer_id, "from": sender},
            )
            if note.strip():
                self._write_drafts(db, {contact_id: note})
                self.save_note_in(db, contact_id)
            return int(cur.lastrowid)

        imported: int = self._write(write, "follow-up")
        return imported

    def close_follow_up_transferred(
        self, follow_up_id: int, transfer_id: str, recipient: str
    ) -> bool:
        """Close a follow-up another counselor's console now holds (outcome
        ``transferred``). True if it was open; audited ``follow_up.transferred`` with the
        transfer id and the recipient's counselor id, nothing personal."""

        def write(db: sqlcipher3.Connection) -> bool:
            row = db.execute(
                "SELECT contact_id, done FROM follow_ups WHERE id=?", (follow_up_id,)
            ).fetchone()
            if row is None:
                raise RecordError(_("That follow-up does not exist."))
            if row[1]:
                return False  # closed meanwhile (or by an earlier run): nothing more to do
            db.execute(
                "UPDATE follow_ups SET done=1, outcome='transferred', last_attempt_at=? WHERE id=?",
                (self.now(), follow_up_id),
            )
            detail = {"id": follow_up_id, "transfer": transfer_id, "to": recipient}
            self._audit(db, "follow_up.transferred", row[0], detail)
            return True

        closed: bool = self._write(write, "follow-up")
        return closed

    # -- escalation mirror and outbox -------------------------------------------------------
    def record_escalation(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None:
        text = json.dumps(detail, sort_keys=True, default=str)

        def write(db: sqlcipher3.Connection) -> None:
            now = self.now()
            if contact_id:
                self._ensure_contact(db, contact_id)
            db.execute(
                "INSERT INTO escalations(id, contact_id, level, state, detail, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "level=excluded.level, state=excluded.state, detail=excluded.detail, "
                "updated_at=excluded.updated_at",
                (escalation_id, contact_id, level, state, text, now, now),
            )
            db.execute(
                "INSERT INTO escalation_events(escalation_id, state, detail, at) VALUES (?,?,?,?)",
                (escalation_id, state, text, now),
            )
            self._audit(
                db, "escalation." + state, escalation_id, {"level": level, "contact": contact_id}
            )

        self._write(write, "escalation")

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        rows = self._read(
            "SELECT contact_id, level, state, detail FROM escalations WHERE id=?", (escalation_id,)
        )
        if not rows:
            return None
        c, level, state, detail = rows[0]
        events = self._read(
            "SELECT state, at FROM escalation_events WHERE escalation_id=? ORDER BY id",
            (escalation_id,),
        )
        return {
            "contact_id": c,
            "level": level,
            "state": state,
            "detail": json.loads(detail),
            "history": [s for s, _ in events],
        }

    def add_whisper(self, escalation_id: str, direction: str, text: str) -> int:
        if direction not in ("in", "out"):
            raise RecordError(_("A whisper direction is 'in' or 'out'."))

        def write(db: sqlcipher3.Connection) -> int:
            if not db.execute("SELECT 1 FROM escalations WHERE id=?", (escalation_id,)).fetchone():
                raise RecordError(_("Record the escalation before its whispers."))
            cur = db.execute(
                "INSERT INTO whispers(escalation_id, direction, text, at) VALUES (?,?,?,?)",
                (escalation_id, direction, text, self.now()),
            )
            self._audit(db, "escalation.whisper", escalation_id, {"direction": direction})
            return cur.lastrowid

        return self._write(write, "whisper")

    def whispers(self, escalation_id: str) -> list[tuple[str, str, str]]:
        return self._read(
            "SELECT direction, text, at FROM whispers WHERE escalation_id=? ORDER BY id",
            (escalation_id,),
        )

    def outbox_add(self, kind: str, message_id: str, payload: bytes) -> bool:
        """Queue a message; True if new, False if ``message_id`` was already queued."""

        def write(db: sqlcipher3.Connection) -> bool:
            cur = db.execute(
                "INSERT OR IGNORE INTO outbox(kind, message_id, payload, created_at) "
                "VALUES (?,?,?,?)",
                (kind, message_id, bytes(payload), self.now()),
            )
            return cur.rowcount == 1

        return self._write(write, "outbox")

    def outbox_pending(self, kind: str | None = None) -> list[OutboxItem]:
        sql = (
            "SELECT id, kind, message_id, payload, attempts, created_at FROM outbox "
            "WHERE sent_at IS NULL" + (" AND kind=?" if kind else "") + " ORDER BY id"
        )
        return [
            OutboxItem(r[0], r[1], r[2], bytes(r[3]), r[4], r[5])
            for r in self._read(sql, (kind,) if kind else ())
        ]

    def outbox_attempted(self, message_id: str) -> None:
        self._write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts=attempts+1 WHERE message_id=?", (message_id,)
            ),
            "outbox",
        )

    def outbox_mark_sent(self, message_id: str) -> bool:
        def write(db: sqlcipher3.Connection) -> bool:
            cur = db.execute(
                "UPDATE outbox SET sent_at=? WHERE message_id=? AND sent_at IS NULL",
                (self.now(), message_id),
            )
            return cur.rowcount == 1

        return self._write(write, "outbox")

    # -- secrets (storage/secrets.py) ---------------------------------------------------------
    def _require_open(self) -> None:
        """A CaseStore kept past lock answers like the locked service does."""
        if self._closed:
            raise StoreIsLocked()

    def set_secret(self, name: str, value: str) -> None:
        """Store (or replace) a named secret. Audited by name, never by value."""
        secret_rows.check_name(name)
        secret_rows.check_value(value)
        self._require_open()
        replaced = self._write(
            lambda db: secret_rows.set_in(db, name, value, self.now(), self._audit), "secret"
        )
        log.info("secret %s %s", name, "replaced" if replaced else "stored")  # never the value

    def secret(self, name: str) -> str | None:
        """The value of a named secret, or None if there is none."""
        secret_rows.check_name(name)
        self._require_open()
        rows = self._read(secret_rows.GET_SQL, (name,))
        return rows[0][0] if rows else None

    def delete_secret(self, name: str) -> bool:
        """Delete a named secret; True if there was one."""
        secret_rows.check_name(name)
        self._require_open()
        gone: bool = self._write(lambda db: secret_rows.delete_in(db, name, self._audit), "secret")
        if gone:
            log.info("secret %s deleted", name)
        return gone

    def secret_names(self) -> list[str]:
        """The names of every stored secret, sorted."""
        self._require_open()
        return [r[0] for r in self._read(secret_rows.NAMES_SQL)]

    # -- retention ----------------------------------------------------------------------------
    def purge(self, retention_days: int, dry_run: bool = False) -> PurgeResult:
        """Shred contacts older than the retention period, except those under legal hold.
        Secrets are not records of a contact: purge never deletes them.

        Irrecoverable: secure_delete zeroes freed pages, the FTS index is rebuilt so no
        token of a purged note survives in it, and the WAL is checkpointed and truncated."""
        cutoff = iso(self.clock.now() - dt.timedelta(days=retention_days))
        if retention_days <= 0:
            return PurgeResult(0, 0, "", dry_run)

        def write(db: sqlcipher3.Connection) -> PurgeResult:
            n = db.execute(
                "SELECT count(*) FROM contacts WHERE rung_at < ? AND legal_hold=0", (cutoff,)
            ).fetchone()[0]
            held = db.execute(
                "SELECT count(*) FROM contacts WHERE rung_at < ? AND legal_hold=1", (cutoff,)
            ).fetchone()[0]
            if not dry_run and n:
                self._known_contacts.clear()
                db.execute("DELETE FROM contacts WHERE rung_at < ? AND legal_hold=0", (cutoff,))
                db.execute(
                    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (cutoff,)
                )
                self._audit(db, "purge", "*", {"contacts": n, "held": held, "cutoff": cutoff})
            return PurgeResult(n, held, cutoff, dry_run)

        result = self._write(write, "purge")
        if result.contacts and not dry_run:
            self._write(
                lambda db: db.execute("INSERT INTO notes_fts(notes_fts) VALUES ('rebuild')"),
                "purge",
            )
            self.checkpoint()
        return result

    def checkpoint(self) -> None:
        self._write(
            lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall(),
            "checkpoint",
            transaction=False,
        )

    # -- inspection ---------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        with self._rlock:
            tables = database.data_tables(self._rdb)
            return {
                t: self._rdb.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
            }

    def check(self, anchors: tuple[tuple[dict | None, str], ...] = ()) -> database.CheckReport:
        with self._rlock:
            return database.check(self._rdb, anchors)

    def manifest(self) -> dict[str, list]:
        with self._rlock:
            self._rdb.execute("BEGIN")
            try:
                return database.manifest(self._rdb)
            finally:
                self._rdb.execute("COMMIT")

    # -- contacts outside the system, caller flags (docs/clinical.md) ---------------------------
    #: how a contact logged from outside the system happened: its channel is "outside:<kind>"
    OUTSIDE_KINDS = ("phone", "in_person", "other")
    #: the flags a caller can carry (one at a time), kept per caller key in ``settings``
    CALLER_FLAGS = ("abusive", "frequent")
    #: the settings row of a caller's flag is this prefix + the caller key (JSON value)
    CALLER_FLAG_SETTING = "caller_flag."

    def log_outside_contact(
        self,
        at: dt.datetime,
        kind: str,
        duration_min: int,
        disposition: str,
        note: str = "",
    ) -> str:
        """Record a contact that happened outside Faro (another phone, in person…) as a
        contact row of channel ``outside:<kind>``: it began at ``at`` and lasted
        ``duration_min`` minutes, with its disposition; ``note`` becomes its note's first
        version (searchable at once). One transaction, audited ``contact.log_outside`` with
        the channel, disposition and minutes (never the note). Returns the new contact id."""
        import uuid  # only here: contact ids are otherwise the call machine's

        if kind not in self.OUTSIDE_KINDS:
            raise RecordError(_("Unknown kind of contact: {code}.").format(code=kind))
        if not 0 <= duration_min <= 24 * 60:
            raise RecordError(_("The length of a contact is between 0 and 1440 minutes."))
        if not disposition:
            raise RecordError(_("Choose how the contact ended."))
        if at > self.clock.now() + dt.timedelta(minutes=1):
            raise RecordError(_("A contact outside the system cannot be in the future."))
        contact_id = uuid.uuid4().hex
        channel = "outside:" + kind
        began, ended = iso(at), iso(at + dt.timedelta(minutes=duration_min))

        def write(db: sqlcipher3.Connection) -> None:
            db.execute(
                "INSERT INTO contacts(id, channel, counselor_id, rung_at, answered_at, "
                "ended_at, disposition, updated_at, form_version) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    contact_id,
                    channel,
                    self.counselor_id,
                    began,
                    began,
                    ended,
                    disposition,
                    self.now(),
                    self.form_version,
                ),
            )
            self._audit(
                db,
                "contact.log_outside",
                contact_id,
                {"channel": channel, "disposition": disposition, "minutes": duration_min},
            )
            if note.strip():
                self._write_drafts(db, {contact_id: note})
                self.save_note_in(db, contact_id)

        self._write(write, "contact")
        return contact_id

    def _caller_key_of(self, db: sqlcipher3.Connection, contact_id: str) -> str | None:
        row = db.execute("SELECT caller_key FROM contacts WHERE id=?", (contact_id,)).fetchone()
        return row[0] if row and row[0] else None

    def caller_flag(self, contact_id: str) -> str | None:
        """The flag (a code of :attr:`CALLER_FLAGS`) of the caller of ``contact_id``, found
        through its caller key; None: not flagged, or a withheld number. Never who set it or
        when. Runs on the writer, after the call rows already queued, so a contact that has
        just rung is found."""

        def read(db: sqlcipher3.Connection) -> str | None:
            key = self._caller_key_of(db, contact_id)
            if key is None:
                return None
            row = db.execute(
                "SELECT value FROM settings WHERE key=?", (self.CALLER_FLAG_SETTING + key,)
            ).fetchone()
            if row is None:
                return None
            flag = json.loads(row[0]).get("flag")
            return flag if flag in self.CALLER_FLAGS else None

        found: str | None = self._write(read, "caller flag", transaction=False)
        return found

    def set_caller_flag(self, contact_id: str, flag: str) -> None:
        """Flag the caller of ``contact_id`` (``abusive`` or ``frequent``), replacing any
        flag they had. Refused (RecordError) when the contact has no caller key (withheld
        number). Audited ``caller.flag`` with the flag and the flag it replaced."""
        if flag not in self.CALLER_FLAGS:
            raise RecordError(_("Unknown caller flag: {code}.").format(code=flag))

        def write(db: sqlcipher3.Connection) -> None:
            key = self._caller_key_of(db, contact_id)
            if key is None:
                raise RecordError(_("This caller's number is not known: they cannot be flagged."))
            setting = self.CALLER_FLAG_SETTING + key
            old = db.execute("SELECT value FROM settings WHERE key=?", (setting,)).fetchone()
            value = json.dumps({"flag": flag, "set_at": self.now(), "by": self.actor})
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (setting, value),
            )
            replaced = json.loads(old[0]).get("flag") if old else None
            self._audit(db, "caller.flag", contact_id, {"flag": flag, "replaced": replaced})

        self._write(write, "caller flag")

    def clear_caller_flag(self, contact_id: str) -> bool:
        """Remove the flag of the caller of ``contact_id``; True if there was one. Audited
        ``caller.unflag`` with the flag removed."""

        def write(db: sqlcipher3.Connection) -> bool:
            key = self._caller_key_of(db, contact_id)
            if key is None:
                return False
            setting = self.CALLER_FLAG_SETTING + key
            old = db.execute("SELECT value FROM settings WHERE key=?", (setting,)).fetchone()
            if old is None:
                return False
            db.execute("DELETE FROM settings WHERE key=?", (setting,))
            self._audit(db, "caller.unflag", contact_id, {"flag": json.loads(old[0]).get("flag")})
            return True

        gone: bool = self._write(write, "caller flag")
        return gone

    # -- weekly hours (docs/clinical.md, "Wrap-up care") ----------------------------------------
    def talk_seconds_since(
        self, since: dt.datetime, counselor_id: str | None = None
    ) -> dict[str, float]:
        """Per contact of ``counselor_id`` (default: this store's counselor) that ended after
        ``since``: its seconds from answer to end, counting only the part after ``since``.
        Contacts never answered or not yet ended are left out. Ids and seconds only."""
        who = self.counselor_id if counselor_id is None else counselor_id
        rows = self._read(
            "SELECT id, answered_at, ended_at FROM contacts WHERE counselor_id=? "
            "AND answered_at IS NOT NULL AND ended_at IS NOT NULL AND ended_at >= ?",
            (who, iso(since)),
        )
        out: dict[str, float] = {}
        for contact_id, answered, ended in rows:
            start = max(dt.datetime.fromisoformat(answered), since)
            seconds = (dt.datetime.fromisoformat(ended) - start).total_seconds()
            if seconds > 0:
                out[contact_id] = seconds
        return out
