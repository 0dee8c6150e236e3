"""What the headless escalation commands (``faro escalate``, ``faro supervisor watch|stale``)
share: the profile's configuration, logging, and the link settings of a role — always the
laptop's command-line identity (NAME.cli), never the console's, so a command run next to a
running console does not take its connection over."""

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


def open_headless(role: str) -> tuple[Config, LinkSettings, SystemClock, EventBus, Paths]:
    """Config, link settings, a real clock, a fresh bus and the profile's paths for a
    command-line agent of ``role``."""
    paths = Paths.default().ensure()
    config = Config.load(paths.config_file)
    logs.configure(paths.log_dir, config.get(LOG_LEVEL))
    settings = LinkSettings.from_config(config, role, process="cli")
    if settings is None:
        raise ConfigError(_("Escalation is not set up on this laptop (escalation.broker_host)."))
    return config, settings, SystemClock(), EventBus(), paths
