"""Companion mode: the helpline's own phone carries the audio.

Faro cannot hear the phone ring, so a call starts when the counselor presses answer (on the
button box, the keyboard or the screen) and ends when they press hang up. Faro still keeps
the contact record, the timer, notes, call health and escalation.
"""

from __future__ import annotations

import logging

from calls.backends.base import TelephonyBackend

log = logging.getLogger(__name__)


class CompanionBackend(TelephonyBackend):
    name = "companion"
    follows_counselor = True
