"""The support bundle: what IT needs to diagnose a laptop remotely, and no personal data.

A ``.tar.gz`` (mode 0600) holding the doctor's report, the system's description (OS, kernel,
Python, Faro's and its libraries' versions), the options that differ from the defaults,
the devices the system sees, and Faro's log files. It never holds the case store, its key,
private keys or the store's secrets: the store is not even opened. Every text in it goes
through the privacy scrubber once more (phone numbers and e-mail addresses masked), on top
of the logs' own filter, so a line written to a log by something other than Faro's logger
is masked too. ``tests/app/test_doctor_bundle.py`` checks it with canaries.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from app.doctor import Context, Report
from core.privacy import scrub

#: the most of each log file the bundle keeps (its end: the newest lines)
LOG_TAIL_BYTES = 2_000_000
#: option keys whose values never go into a bundle, whatever they hold
WITHHELD = ("storage.recovery_public_key",)


def _system() -> dict[str, Any]:
    try:
        faro = metadata.version("faro")
    except metadata.PackageNotFoundError:
        faro = "source"
    libs: dict[str, str | None] = {}
    for dist in ("PySide6-Essentials", "sqlcipher3", "paho-mqtt", "baresip-python", "numpy"):
        try:
            libs[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            libs[dist] = None
    try:
        os_release = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        os_release = ""
    return {
        "faro": faro,
        "python": sys.version.split()[0],
        "os": os_release,
        "kernel": platform.release(),
        "machine": platform.machine(),
        "libraries": libs,
    }


def _options(ctx: Context) -> str:
    lines = []
    for option, value, is_default in ctx.config.describe():
        if is_default or option.secret or option.key in WITHHELD:
            continue
        lines.append(f"{option.key} = {json.dumps(value, ensure_ascii=False, default=str)}")
    return "\n".join(lines) + "\n"


def _devices() -> dict[str, Any]:
    from devices.ports import serial_ports

    out: dict[str, Any] = {
        "serial": [{"device": p.device, "usb_id": p.usb_id} for p in serial_ports()]
    }
    try:
        from audio.devices import list_devices

        out["audio"] = [
            {"name": a.name, "in": a.inputs, "out": a.outputs, "usb_id": a.usb_id}
            for a in list_devices()
        ]
    except Exception as exc:  # no PortAudio
        out["audio_error"] = type(exc).__name__
    return out


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - LOG_TAIL_BYTES))
        data = f.read()
    return data.decode("utf-8", "replace")


def _add(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = scrub(text).encode()
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(data))


def write_bundle(ctx: Context, report: Report, target: Path) -> list[str]:
    """Write the bundle to ``target`` (atomically, 0600); the names inside it."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    names: list[str] = []
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            parts = {
                "doctor.json": json.dumps(report.as_dict(), indent=2, ensure_ascii=False),
                "system.json": json.dumps(_system(), indent=2),
                "options.txt": _options(ctx),
                "devices.json": json.dumps(_devices(), indent=2, ensure_ascii=False),
            }
            log_dir = ctx.paths.log_dir
            if log_dir.is_dir():
                for p in sorted(log_dir.glob("faro.log*")):
                    if p.is_file():
                        parts[f"logs/{p.name}"] = _tail(p)
            for name, text in parts.items():
                _add(tar, name, text)
                names.append(name)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return names
