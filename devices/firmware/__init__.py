"""Reference firmware for the Faro button box (MicroPython on a Raspberry Pi Pico).

``pico/boxlogic.py`` is the protocol side, plain Python that runs under MicroPython and
CPython alike (the simulator and the tests use it); ``pico/main.py`` is the only file that
touches hardware.
"""
