"""Envelope encryption: the data key only ever reaches disk wrapped."""

from __future__ import annotations

import json
import os
import stat

import pytest

from core.sealing import SealError
from storage import recovery
from storage.errors import StoreDamaged, WeakPassphrase, WrongPassphrase
from storage.keys import MIN_TIME_COST, KdfParams, KeyFile, check_strength, new_data_key


def test_wrap_round_trip_and_wrong_passphrase(tmp_path):
    kdf = KdfParams.tuned(65536, 1, 0.001)
    assert kdf.memory_kib >= 65536 and kdf.time_cost >= 1 and len(kdf.salt) == 16
    key = new_data_key()
    kf = KeyFile.create(kdf.derive("right passphrase"), kdf, key)
    kf.save(tmp_path / "k")
    loaded = KeyFile.load(tmp_path / "k")
    assert loaded.open(loaded.kdf.derive("right passphrase")) == key
    with pytest.raises(WrongPassphrase):
        loaded.open(loaded.kdf.derive("wrong passphrase"))
    assert key.hex() not in (tmp_path / "k").read_text()


def test_kdf_parameters_are_recorded_and_bound_to_the_wrap(tmp_path):
    kdf = KdfParams.tuned(65536, 1, 0.001)
    kf = KeyFile.create(kdf.derive("pass phrase 1"), kdf, new_data_key())
    kf.save(tmp_path / "k")
    d = json.loads((tmp_path / "k").read_text())
    w = d["passphrase_wrap"]
    assert (w["kdf"], w["memory_kib"], w["time_cost"]) == ("argon2id", 65536, kdf.time_cost)
    # an attacker lowering the recorded cost (and dropping the checksum, which only tells
    # damage from a wrong passphrase) makes the wrap fail rather than weaken it
    w["time_cost"] += 1
    d.pop("checksum")
    (tmp_path / "k").write_text(json.dumps(d))
    tampered = KeyFile.load(tmp_path / "k")
    with pytest.raises(WrongPassphrase):
        tampered.open(KdfParams(kdf.salt, kdf.time_cost, 65536, 1).derive("pass phrase 1"))


def test_time_cost_is_tuned_to_the_target():
    def machine(t: int) -> float:  # an injected timer: 20 ms a pass, never a real clock
        return 0.02 * t

    slow = KdfParams.tuned(65536, 1, 0.5, measure=machine)
    fast = KdfParams.tuned(65536, 1, 0.001, measure=machine)
    assert fast.time_cost == MIN_TIME_COST  # the floor, however fast the target
    assert slow.time_cost > fast.time_cost


def test_key_file_is_0600_and_written_atomically(tmp_path):
    kdf = KdfParams.tuned(65536, 1, 0.001)
    kf = KeyFile.create(kdf.derive("pass phrase 1"), kdf, new_data_key())
    os.umask(0o022)
    kf.save(tmp_path / "k")
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k"]  # no temp file left behind


def test_damaged_key_file_is_named(tmp_path):
    (tmp_path / "k").write_text("{not json")
    with pytest.raises(StoreDamaged, match="key file k is damaged"):
        KeyFile.load(tmp_path / "k")


def test_short_passphrase_refused():
    with pytest.raises(WeakPassphrase):
        check_strength("short")
    check_strength(bytearray(b"long enough"))


def test_recovery_seal_opens_only_with_the_private_key(tmp_path):
    priv_pem, pub_pem = recovery.generate_pem_pair()
    (tmp_path / "pub.pem").write_bytes(pub_pem)
    (tmp_path / "priv.pem").write_bytes(priv_pem)
    key = new_data_key()
    wrap = KeyFile.seal_recovery(key, str(tmp_path / "pub.pem"))
    import base64

    blob = base64.b64decode(wrap["blob"])
    assert recovery.unseal(recovery.load_private_key(tmp_path / "priv.pem"), blob) == key
    other, _ = recovery.generate_pem_pair()
    (tmp_path / "other.pem").write_bytes(other)
    with pytest.raises(SealError):  # core/sealing.py: wrong key or damaged, one error
        recovery.unseal(recovery.load_private_key(tmp_path / "other.pem"), blob)
