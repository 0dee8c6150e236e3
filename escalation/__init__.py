"""Supervisor escalation: one deliberate press reaches a supervisor, or the fallback number.

A counselor's escalation is written to an outbox before it is sent over MQTT (TLS, client
certificates); a supervisor console confirms and acknowledges it; unacknowledged, it climbs
a ladder (T1 re-alert, T2 fallback number). Nothing is lost when the network, the broker or
the app dies. Start with ``service.py`` (the service a Session attaches),
``counselor/`` and ``supervisor.py`` (the two sides), ``outbox.py`` (what survives), and
docs/escalation.md. No Qt here, and no other capability: the store and audio reach
escalation through app/wiring.py.
"""
