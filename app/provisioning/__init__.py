"""Provisioning a laptop: the organisation's signed bundle and the laptop's enrolment
(``bundle.py``), installed all or nothing by ``faro provision`` (``install.py``).
docs/provisioning.md."""
