"""Faro button box firmware for a Raspberry Pi Pico (RP2040) running MicroPython.

The only file that touches hardware: four buttons to ground on GP2..GP5 (internal pull-ups),
four LEDs on GP10..GP13 driven by PWM, and the USB serial port (the MicroPython REPL
port, taken over by this program). Everything about the protocol is in boxlogic.py.
Copy both files to the board (``mpremote cp boxlogic.py main.py :``); see WIRING.md.
"""
import select
import sys
import time

import machine
import micropython

from boxlogic import BoxLogic

BUTTON_PINS = (2, 3, 4, 5)          # answer, hangup, mute, help
LED_PINS = (10, 11, 12, 13)         # same order
BUTTONS = ("answer", "hangup", "mute", "help")


def unique_serial():
    return "".join("%02x" % b for b in machine.unique_id())


def main():
    micropython.kbd_intr(-1)        # 0x03 in a frame must not stop the program
    buttons = [machine.Pin(p, machine.Pin.IN, machine.Pin.PULL_UP) for p in BUTTON_PINS]
    leds = []
    for p in LED_PINS:
        pwm = machine.PWM(machine.Pin(p))
        pwm.freq(1000)
        leds.append(pwm)
    box = BoxLogic(model="Faro Box 4", serial=unique_serial(), buttons=BUTTONS,
                   leds=tuple((name, 0) for name in BUTTONS))
    usb_in = sys.stdin.buffer
    usb_out = sys.stdout.buffer
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    start = time.ticks_ms()
    elapsed = 0
    last = start
    while True:
        t = time.ticks_ms()
        elapsed += time.ticks_diff(t, last)   # a monotonic ms count that never wraps
        last = t
        now = elapsed
        for _ in range(64):                   # read what is there, a byte at a time
            if not poll.poll(0):
                break
            data = usb_in.read(1)
            if data:
                box.feed(data, now)
        for i, pin in enumerate(buttons):
            box.sample(i, pin.value() == 0, now)
        box.tick(now)
        out = box.take_output()
        if out:
            usb_out.write(out)
        for i, pwm in enumerate(leds):
            level = box.led_level(i, now)
            pwm.duty_u16(level * 257)
        time.sleep_ms(2)


main()
