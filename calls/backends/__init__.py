"""Telephony backends. :func:`make_backend` picks one from the configuration."""

from __future__ import annotations

from calls.backends.base import TelephonyBackend
from calls.options import BACKEND, SCENARIO, TRAINING, TRAINING_SCENARIO
from core.clock import Clock
from core.config import Config


def make_backend(config: Config, clock: Clock) -> TelephonyBackend:
    name = config.get(BACKEND)
    if name == "sip":
        from calls.backends.sip import SipBackend
        from calls.sip.settings import SipSettings

        return SipBackend(SipSettings.from_config(config))
    if name == "simulated":
        from calls.backends.simulated import Scenario, SimulatedBackend

        if config.get(TRAINING) and config.get(TRAINING_SCENARIO):  # one practice call
            from calls.training import load_training

            scenario = load_training(config.get(TRAINING_SCENARIO)).scenario()
            return SimulatedBackend(scenario, clock)
        return SimulatedBackend(Scenario.load(config.get(SCENARIO)), clock)
    from calls.backends.companion import CompanionBackend

    return CompanionBackend()


__all__ = ["TelephonyBackend", "make_backend"]
