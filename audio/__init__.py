"""Call audio: capture, voice activity and live call health.

The service (:mod:`audio.service`) is what a session runs; :mod:`audio.vad` holds the
engines and Faro's pipeline (:mod:`audio.vad.pipeline`, engine ``faro``);
:mod:`audio.metrics` the call-health state machine, made of the per-signal detectors of
:mod:`audio.detectors`; :mod:`audio.devices` lists the audio devices and picks the headset;
:mod:`audio.analyze` the offline analysis of recordings. No Qt here.
"""
