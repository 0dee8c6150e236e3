"""Run ``faro db`` in-process with only the db command registered (as console.cli.main does)."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from dataclasses import dataclass

from core.errors import FaroError


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_db(*argv: str, passphrase: str | None = None, fd_text: str | None = None) -> Result:
    from console.commands import db

    parser = argparse.ArgumentParser(prog="faro")
    db.register(parser.add_subparsers(dest="command"))
    extra: list[str] = []
    r = None
    if fd_text is not None:
        r, w = os.pipe()
        os.write(w, fd_text.encode())
        os.close(w)
        extra = ["--passphrase-fd", str(r)]
    env_before = os.environ.get("FARO_PASSPHRASE")
    if passphrase is not None:
        os.environ["FARO_PASSPHRASE"] = passphrase
    out, err = io.StringIO(), io.StringIO()
    try:
        args = parser.parse_args(["db", *extra, *argv])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = int(args.func(args) or 0)
            except FaroError as exc:
                print(f"faro: {exc.user_text()}", file=err)
                code = exc.exit_code
    finally:
        if r is not None:
            os.close(r)
        os.environ.pop("FARO_PASSPHRASE", None)
        if env_before is not None:
            os.environ["FARO_PASSPHRASE"] = env_before
    return Result(code, out.getvalue(), err.getvalue())


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST_CONFIG = "[storage]\nunlock_target_ms = 1\nauto_purge = false\n"


def run_faro(
    home,
    *argv: str,
    passphrase: str | None = None,
    fd_text: str | None = None,
    timeout: float = 60,
    umask: int | None = None,
) -> Result:
    """Run the real ``python -m console.cli`` in a child process with FARO_HOME=home."""
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if k not in ("FARO_PASSPHRASE", "FARO_NEW_PASSPHRASE")
    }
    env.update(FARO_HOME=str(home), PYTHONPATH=ROOT)
    if passphrase is not None:
        env["FARO_PASSPHRASE"] = passphrase
    extra: list[str] = []
    fds: tuple[int, ...] = ()
    r = None
    if fd_text is not None:
        r, w = os.pipe()
        os.write(w, fd_text.encode())
        os.close(w)
        extra, fds = ["--passphrase-fd", str(r)], (r,)
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    try:
        out = subprocess.run(
            [sys.executable, "-m", "console.cli", "db", *extra, *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            preexec_fn=preexec,
        )
    finally:
        if r is not None:
            os.close(r)
    return Result(out.returncode, out.stdout, out.stderr)


def fast_profile(home) -> None:
    """A profile whose Argon2 tuning aims at 1 ms (the floor applies), no purge at unlock."""
    from pathlib import Path

    config = Path(home) / "config"
    config.mkdir(parents=True, exist_ok=True, mode=0o700)
    (config / "faro.toml").write_text(FAST_CONFIG)
