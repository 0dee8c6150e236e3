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
