"""The call-button box: protocol codec, driver, LEDs, gestures, and a simulator."""
from devices.buttonbox.driver import ButtonBoxDriver, DriverSettings
from devices.buttonbox.leds import LedController
from devices.buttonbox.simulator import ButtonBoxSimulator

__all__ = ["ButtonBoxDriver", "DriverSettings", "LedController", "ButtonBoxSimulator"]
