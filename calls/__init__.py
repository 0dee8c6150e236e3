"""Calls: the call state machine and the telephony backends that feed it."""

from calls.machine import CallMachine
from calls.model import Action, Call, CallState, Command, EndedBy, MissReason, Source

__all__ = [
    "CallMachine",
    "Action",
    "Call",
    "CallState",
    "Command",
    "EndedBy",
    "MissReason",
    "Source",
]
