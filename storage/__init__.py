"""The encrypted case store: SQLCipher notes, contacts, assessments and the audit log.

Imports no Qt. The face of the package:

- :class:`storage.service.StoreService` (``session.service("store")``) — lock/unlock,
  autosaved notes, search, records, outbox and audit for the other services (its parts:
  ``vault``, ``key_changes``, ``maintenance``, ``autosave``, ``call_rows``, ``records_api``);
- :mod:`storage.events` — what the store publishes on the bus;
- :mod:`storage.errors` — the errors a counselor or IT admin is shown.

See docs/storage.md for the design.
"""
