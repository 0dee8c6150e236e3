"""Call audio: capture, voice activity and live call health.

The service (:mod:`audio.service`) is what a session runs; :mod:`audio.vad` holds the
engines and Faro's pipeline; :mod:`audio.metrics` the call-health state machine;
:mod:`audio.analyze` the offline analysis of recordings. No Qt here.
"""
