"""VAD benchmark: raw webrtcvad modes, Silero and Faro's pipeline side by side.

Run: ``/tmp/venv/bin/python -m bench.vad`` (writes bench/results/vad.md).
"""
