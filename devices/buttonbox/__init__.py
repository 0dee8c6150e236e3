"""The call-button box: protocol codec, driver, LEDs, gestures, and a simulator.

The driver (``driver.ButtonBoxDriver``) is the face; behind it, one owner thread per box
(``owner``) finds the port (``discovery``), opens it (``link``), greets the box
(``handshake``), serves it (``box_session``), sends its LEDs (``led_output``) and counts
what went wrong (``counters``).
"""

from devices.buttonbox.driver import ButtonBoxDriver, DriverSettings
from devices.buttonbox.leds import LedController
from devices.buttonbox.simulator import ButtonBoxSimulator

__all__ = ["ButtonBoxDriver", "DriverSettings", "LedController", "ButtonBoxSimulator"]
