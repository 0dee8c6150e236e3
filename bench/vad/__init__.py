"""VAD benchmark: raw webrtcvad modes, Silero and Faro's pipeline side by side, on real
recorded voices split by speaker (tune on some, report on voices never used for tuning).

Run: ``.venv/bin/python -m bench.vad`` (writes bench/results/vad.md);
``--split tune --quick`` while tuning.
"""
