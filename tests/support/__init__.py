"""Test harness: real parts (pty, Mosquitto, PulseAudio) started on this machine."""
