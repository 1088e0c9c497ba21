"""What the session can hold: whatever Flask's cookie session round-trips."""

from __future__ import annotations

import typing as t
import uuid
import zlib
from datetime import datetime, timezone

import pytest
from markupsafe import Markup

from flask_dynamodb_session import serialization
from flask_dynamodb_session.serialization import DecodeError, decode, encode

VALUES: dict[str, t.Any] = {
    "dict": {"a": 1, "nested": {"b": [1, 2]}},
    "list": [1, "two", 3.5, None, True],
    "tuple": (1, (2, 3), "x"),
    "str": "héllo ✓ 日本",
    "bytes": b"\x00\xff binary",
    "int": 2**62,
    "float": 0.1,
    "bool": False,
    "none": None,
    "markup": Markup("<b>bold</b>"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "datetime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    "tag-like keys": {" t": [1, 2], " di": {"x": 1}, " b": "not bytes"},
    "empty": {},
}


@pytest.mark.parametrize("name", list(VALUES))
def test_round_trip(name: str) -> None:
    data = {name: VALUES[name]}
    restored = decode(encode(data))
    assert restored == data
    assert type(restored[name]) is type(VALUES[name])


def test_everything_at_once() -> None:
    assert decode(encode(VALUES)) == VALUES


def test_small_payload_is_plain_json() -> None:
    payload = encode({"user": "alice"})
    assert payload == b'\x00{"user":"alice"}'


def test_large_compressible_payload_is_compressed() -> None:
    data = {"cart": ["the same item"] * 1000}
    payload = encode(data)
    assert payload[:1] == serialization.ZLIB
    assert len(payload) < 200
    assert decode(payload) == data


def test_compression_is_kept_only_when_smaller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = {"cart": ["the same item"] * 100}
    monkeypatch.setattr(zlib, "compress", lambda raw, level: raw + b"longer")
    payload = encode(data)
    assert payload[:1] == serialization.PLAIN
    assert decode(payload) == data


def test_short_payload_is_not_compressed() -> None:
    data = {"a": "x" * 200}
    assert encode(data)[:1] == serialization.PLAIN


def test_pickle_is_never_used() -> None:
    class Thing:
        pass

    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"thing": Thing()})


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x09{}",
        b"\x00not json",
        b"\x00[1, 2]",
        b"\x01" + b"not zlib",
        b"\x01" + zlib.compress(b"\xff\xfe"),
        b"\x00\xff",
    ],
)
def test_corrupt_payloads_raise_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(payload)
