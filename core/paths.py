"""Where Faro keeps its files.

By default the platform directories (XDG on Linux). ``FARO_HOME`` puts everything under one
folder instead: tests, the demo and kiosk profiles use it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "faro"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "faro.toml"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    def ensure(self) -> "Paths":
        for d in (self.config_dir, self.data_dir, self.state_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    @classmethod
    def under(cls, home: Path) -> "Paths":
        home = Path(home)
        return cls(home / "config", home / "data", home / "state")

    @classmethod
    def default(cls) -> "Paths":
        home = os.environ.get("FARO_HOME")
        if home:
            return cls.under(Path(home))
        return cls(
            Path(platformdirs.user_config_dir(APP)),
            Path(platformdirs.user_data_dir(APP)),
            Path(platformdirs.user_state_dir(APP)),
        )
