"""The counselor side: raise escalations, follow their lifecycle, keep presence, whisper.

:class:`CounselorAgent` owns one :class:`escalation.transport.MqttLink`. Order of an
escalation: record and outbox (encrypted store) → publish the retained alert (QoS 1) →
"sent" on the broker's PUBACK → "delivered" on a supervisor console's receipt (the outbox
item is done) → "acknowledged" → "resolved". Until a receipt arrives the alert is published
again at every reconnection and every ``escalation.resend_s``; supervisors drop repeats by id.
Resolving queues the clearing of the retained alert and re-alert (escalation/reconcile.py)
like any other outbox item, and the agent reads its own retained alerts back at every
connection: one it knows is over is cleared again, one it has open but that someone cleared
is published again. Presence is a retained message; the Last Will marks an unexpected
disconnect. The command-line agent (``presence=False``) has neither: it is not a counselor at
work, only a drill; with ``strays="resolve"`` it also ends any escalation of its own that it
finds retained and does not know (left by a run that was killed).

One module per seam, each layer built on the one before:

| module | holds |
|---|---|
| `presence.py` | what the presence message says (status, call time, call health) |
| `lifecycle.py` | escalations, their state steps and events, the T1/T2 ladders |
| `resend.py` | publishing through the outbox, resending until confirmed, restoring after a restart |
| `retained.py` | reconciling our own retained alerts with what we know |
| `agent.py` | `CounselorAgent`: what the counselor does, the messages it receives, whispers |
"""

from escalation.counselor.agent import CounselorAgent

__all__ = ["CounselorAgent"]
