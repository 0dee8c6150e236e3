"""The application layer: the Session that builds every service, and the flows between them.

Layers, bottom to top (tests/test_boundaries.py enforces them): ``core`` → ``calls`` →
the capabilities (``devices``, ``audio``, ``storage``, ``escalation``, which never import
each other) → ``app`` → ``console``.
"""
