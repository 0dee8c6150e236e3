"""Options of the core services."""

from core.config import declare
from core.i18n import N_

LANGUAGE = declare(
    "ui.language",
    str,
    "system",
    N_(
        "Language of the console and of the faro command: es_MX (Spanish, Mexico), en, or system "
        "(the laptop's locale: any Spanish gives es_MX, anything else English)."
    ),
    choices=("system", "es_MX", "en"),
)
LOG_LEVEL = declare(
    "logging.level",
    str,
    "INFO",
    N_("Lowest level written to the log file."),
    choices=("DEBUG", "INFO", "WARNING", "ERROR"),
)
LOG_MAX_BYTES = declare(
    "logging.max_bytes",
    int,
    2_000_000,
    N_("Size at which the log file is rotated."),
    minimum=10_000,
)
LOG_BACKUPS = declare(
    "logging.backups", int, 5, N_("How many rotated log files are kept."), minimum=0, maximum=50
)
COUNSELOR_ID = declare(
    "identity.counselor_id",
    str,
    "",
    N_(
        "This laptop's counselor identity (set by provisioning; the certificate name in production)."
    ),
)
