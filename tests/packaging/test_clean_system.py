"""Faro's Debian package on a clean Debian 12, end to end: packaging/test-clean-system builds
the .deb (or reuses dist/deb when it was built from this tree), installs it with apt into a
fresh debootstrapped bookworm root, provisions it, runs ``faro doctor --json`` and the console
headless as a counselor, purges it and checks that nothing of it is left while the
counselor's store is (docs/packaging.md).

Root and a Debian mirror are needed: the test skips without either (CI has both, and runs
it); ``-m 'not clean_system'`` leaves it out of a local run. Its log and step times are saved
in test-artifacts/clean_system/.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "packaging" / "test-clean-system"
ARTIFACTS = ROOT / "test-artifacts" / "clean_system"
MIRROR = os.environ.get("FARO_TEST_MIRROR", "http://deb.debian.org/debian")
# what the build and the test need (scripts/apt-packages.txt)
TOOLS = ("debootstrap", "zstd", "dpkg-buildpackage", "dh_virtualenv", "argparse-manpage", "lintian")
# a cold run (no cached root, no cached .debs, a build from scratch) measured ~4.5 min here
TIMEOUT_S = 900
# how long the script's own clean-up (unmount, remove the root) may take after SIGTERM
CLEANUP_S = 120

pytestmark = [pytest.mark.clean_system, pytest.mark.timeout(TIMEOUT_S)]


def _why_not() -> str | None:
    """Why this machine cannot run the test (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, apt inside the root); CI runs as root"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        text = f"missing {', '.join(missing)} (scripts/setup installs scripts/apt-packages.txt)"
        if os.environ.get("CI"):
            pytest.fail(text)  # in CI a missing tool is a broken set-up, not a reason to skip
        return text
    try:
        urllib.request.urlopen(f"{MIRROR}/dists/bookworm/Release", timeout=15).close()
    except OSError as exc:
        return f"the Debian mirror {MIRROR} is unreachable ({type(exc).__name__}): debootstrap needs it"
    return None


def _die_with_parent() -> None:  # in the child, before exec
    # SIGTERM, not SIGKILL: the script's trap must still unmount and remove its root
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def _stop(proc: subprocess.Popen[bytes], root: Path) -> None:
    """The script and everything it started, then any mount it could not remove itself."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(CLEANUP_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    for point in sorted(_mounts_under(root), reverse=True):
        subprocess.run(["umount", "-l", point], check=False)
    if root.exists() and not _mounts_under(root):
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def test_the_deb_installs_runs_and_purges_on_a_clean_debian_12(tmp_path: Path) -> None:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    artifacts_dir = ARTIFACTS
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    work = tmp_path / "work"
    log = artifacts_dir / "test-clean-system.log"
    env = dict(os.environ, FARO_TEST_WORK=str(work))
    for name in ("FARO_HOME", "QT_QPA_PLATFORM", "FARO_ORGANISATION_FILE", "LANGUAGE"):
        env.pop(name, None)  # the suite's settings are not the clean system's
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SCRIPT)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            rc = proc.wait(TIMEOUT_S - CLEANUP_S - 30)
        finally:
            _stop(proc, work / "root")
    text = log.read_text(encoding="utf-8", errors="replace")
    timings = work / "timings"
    if timings.exists():
        shutil.copy(timings, artifacts_dir / "timings.txt")
    tail = "\n".join(text.splitlines()[-60:])
    assert rc == 0, f"packaging/test-clean-system exited {rc}; the end of {log}:\n{tail}"
    assert "test-clean-system: PASSED" in text
    assert not _mounts_under(work / "root"), "mounts left behind"
    print(tail)
