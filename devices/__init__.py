"""The hardware a counselor uses besides the headset: the call-button box and keyboard-type
foot pedals and button pads (docs/devices.md). No Qt here.

Where to look:

- ``service.py`` — ``attach(host)`` adds the ``buttonbox`` service: presses become call
  commands, the LEDs follow the console; ``options.py`` declares its options, ``events.py``
  the events it publishes.
- ``buttonbox/`` — the box: the wire (``codec``, ``protocol``, docs/buttonbox-protocol.md),
  the driver and its one owner thread (``driver``, with ``discovery``, ``handshake``,
  ``box_session``, ``led_output``, ``counters``, ``link``, ``owner``), gestures
  (``keymap``), LED layers (``leds``) and a simulator on a real pty (``simulator``).
- ``firmware/`` — the box's MicroPython firmware (the simulator runs its logic).
- ``keyboard.py`` — key sequences of pedals and pads → call actions.
- ``ports.py`` — serial ports and their USB ids (audio devices: ``audio.devices``).
"""
