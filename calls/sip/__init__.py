"""Faro's own softphone: settings, the media pump and the engine's thread (baresip).

Only :mod:`calls.backends.sip` uses this package; see docs/telephony.md."""
