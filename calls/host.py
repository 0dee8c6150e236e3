"""The host every capability service is attached to: the application's services plus the
call machine, which every capability follows."""

from __future__ import annotations

from typing import Protocol

from calls.machine import CallMachine
from core.host import ServiceHost


class Host(ServiceHost, Protocol):
    calls: CallMachine
