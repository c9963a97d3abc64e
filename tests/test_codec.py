"""The one place personal data is sealed: round trips, tampering, wrong keys, bad keys."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.store.codec import Codec


def test_round_trip_and_fresh_nonce_each_time():
    codec = Codec(Codec.new_key())
    a, b = codec.seal("Gezin Noor"), codec.seal("Gezin Noor")
    assert a != b and "Noor" not in a
    assert codec.open(a) == codec.open(b.encode()) == "Gezin Noor"
    assert codec.open_json(codec.seal_json({"t": "ë ✓"})) == {"t": "ë ✓"}


def test_tampering_and_wrong_key_are_refused_loudly():
    codec = Codec(Codec.new_key())
    token = bytearray(codec.seal("geheim").encode())
    token[-3] = ord("A") if token[-3] != ord("A") else ord("B")
    with pytest.raises(ConfigError):
        codec.open(bytes(token))
    with pytest.raises(ConfigError, match="wrong NAAST_DATA_KEY"):
        Codec(Codec.new_key()).open(codec.seal("geheim"))


@pytest.mark.parametrize("key", ["", "kort", "x" * 44])
def test_a_bad_key_is_a_configuration_error(key):
    with pytest.raises(ConfigError, match="NAAST_DATA_KEY"):
        Codec(key)


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path):
    first = Codec.from_key_file(tmp_path)
    again = Codec.from_key_file(tmp_path)
    assert again.open(first.seal("Sanne")) == "Sanne"
    assert (tmp_path / "naast.key").stat().st_mode & 0o777 == 0o600
