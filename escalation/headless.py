"""What the headless escalation commands (``faro escalate``, ``faro supervisor watch``) share:
the profile's configuration, logging, and the link settings of a role."""
from __future__ import annotations

from core import logs
from core.clock import SystemClock
from core.config import Config
from core.errors import ConfigError
from core.events import EventBus
from core.i18n import _
from core.options import LOG_LEVEL
from core.paths import Paths
from escalation.transport import LinkSettings


def open_headless(role: str) -> tuple[Config, LinkSettings, SystemClock, EventBus]:
    """Config, link settings, a real clock and a fresh bus for a command-line agent of ``role``."""
    paths = Paths.default().ensure()
    config = Config.load(paths.config_file)
    logs.configure(paths.log_dir, config.get(LOG_LEVEL))
    settings = LinkSettings.from_config(config, role)
    if settings is None:
        raise ConfigError(_("Escalation is not set up on this laptop (escalation.broker_host)."))
    return config, settings, SystemClock(), EventBus()
