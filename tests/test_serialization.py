"""What the session can hold: whatever Flask's cookie session round-trips."""

from __future__ import annotations

import collections
import contextlib
import json
import tracemalloc
import typing as t
import uuid
import zlib
from datetime import datetime, timezone

import pytest
from flask import session
from flask.json.tag import TaggedJSONSerializer
from markupsafe import Markup

from flask_dynamodb_session import serialization
from flask_dynamodb_session.exceptions import SessionTooLarge
from flask_dynamodb_session.serialization import (
    MAX_DECODED_SIZE,
    MAX_DEPTH,
    DecodeError,
    decode,
    encode,
)
from tests.support.apps import TABLE

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

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

    with pytest.raises(TypeError, match="is a Thing, which cannot be stored"):
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
        b"\x01" + zlib.compress(b'{"a": 1}')[:-6],
        b'\x00{" u": 5}',
        b'\x00{" u": "not a uuid"}',
        b'\x00{" d": 5}',
        b'\x00{" d": "Sun, 06 Nov 1994 08:49:37 +99999999999999999999"}',
        b'\x00{" di": {}}',
        b'\x00{" di": 5}',
        b'\x00{" t": 5}',
        b'\x00{" b": 5}',
        b'\x00{" b": "!"}',
        b'\x00{"cart": [{"id": {" u": []}}]}',
        b"\x00[" + b"[" * 50_000 + b"]" * 50_000 + b"]",
        b"\x00" + b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\x01" + zlib.compress(b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    ],
)
def test_corrupt_payloads_raise_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(payload)


WRONG_SHAPES: list[t.Any] = [
    5,
    1.5,
    True,
    None,
    "",
    "x",
    [],
    [1],
    ["ab"],
    {},
    {"a": 1},
    {" u": "12345678123456781234567812345678"},
    {" t": ["ab"]},
    {" d": "Sun, 06 Nov 1994 08:49:37 GMT"},
]


@pytest.mark.parametrize("tag", [" t", " b", " m", " u", " d", " di"])
@pytest.mark.parametrize("value", WRONG_SHAPES, ids=repr)
def test_a_tag_around_any_value_decodes_or_raises_decode_error(
    tag: str, value: t.Any
) -> None:
    payload = serialization.PLAIN + json.dumps({"a": {tag: value}}).encode()
    with contextlib.suppress(DecodeError):
        decode(payload)


def test_a_zlib_bomb_is_refused_without_inflating_it() -> None:
    inflated_size = 4 * MAX_DECODED_SIZE
    packer = zlib.compressobj()
    chunk = bytes(1024 * 1024)
    bomb = b"".join(packer.compress(chunk) for _ in range(inflated_size // len(chunk)))
    bomb += packer.flush()
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="inflates past"):
            decode(serialization.ZLIB + bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The capped output and one copy of it at most, never the whole bomb.
    assert peak < 2.5 * MAX_DECODED_SIZE


def test_a_session_at_the_size_limit_round_trips() -> None:
    data = {"blob": "x" * (MAX_DECODED_SIZE - len('{"blob":""}'))}
    payload = encode(data)
    assert payload[:1] == serialization.ZLIB
    assert decode(payload) == data


def test_a_compressible_session_past_the_size_limit_is_refused() -> None:
    data = {"blob": "x" * MAX_DECODED_SIZE}
    with pytest.raises(SessionTooLarge, match=str(MAX_DECODED_SIZE + 11)) as info:
        encode(data)
    assert info.value.size == MAX_DECODED_SIZE + 11
    assert info.value.limit == MAX_DECODED_SIZE


def _nested(levels: int, wrap: t.Callable[[t.Any], t.Any]) -> t.Any:
    """``levels`` containers, each holding the next, an empty list innermost."""
    value: t.Any = []
    for _ in range(levels - 1):
        value = wrap(value)
    return value


WRAPS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "list": lambda value: [value],
    "tuple": lambda value: (value, "x"),
    "dict": lambda value: {"k": value},
    "tag-like dict": lambda value: {" t": value},
}


@pytest.mark.parametrize("wrap", list(WRAPS.values()), ids=list(WRAPS))
def test_the_deepest_data_encode_accepts_round_trips(
    wrap: t.Callable[[t.Any], t.Any],
) -> None:
    data = {"deep": _nested(MAX_DEPTH - 1, wrap)}
    assert decode(encode(data)) == data


@pytest.mark.parametrize("wrap", list(WRAPS.values()), ids=list(WRAPS))
def test_data_nested_past_the_limit_is_refused(
    wrap: t.Callable[[t.Any], t.Any],
) -> None:
    with pytest.raises(ValueError, match=f"more than {MAX_DEPTH} levels"):
        encode({"deep": _nested(MAX_DEPTH, wrap)})


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[t.Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        encode({"loop": loop})


class _Dict(dict[str, t.Any]):
    pass


class _Str(str):
    pass


_Pair = collections.namedtuple("_Pair", "left right")


def test_tagging_is_flasks() -> None:
    data = {
        **VALUES,
        "subclasses": _Dict(a=[_Str("s"), _Pair(1, b"x")]),
        "only key": {" di": {" t": (1,)}},
    }
    flask_json = TaggedJSONSerializer().dumps(data)
    assert json.loads(zlib.decompress(encode(data)[1:])) == json.loads(flask_json)
    assert json.loads(encode({" t": 1})[1:]) == {" di": {" t__": 1}}


# -- what cannot be stored -------------------------------------------------------

#: What a refused value other than a set is told to be instead.
PLAIN_DATA = (
    "store plain data instead: str, int, float, bool, None, bytes, datetime,"
    " UUID, Markup, and dicts, lists and tuples of them"
)


class Cart:
    """An object of the app's own: not session data."""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"tags": {"a", "b"}},
            "the session value at session['tags'] is a set, which cannot be"
            " stored; use a list",
        ),
        (
            {"ok": 1, "cart": [1, "two", frozenset({3})]},
            "the session value at session['cart'][2] is a frozenset, which"
            " cannot be stored; use a list",
        ),
        (
            {"user": {"id": 1, "orders": ({"cart": Cart()},)}},
            "the session value at session['user']['orders'][0]['cart'] is a Cart,"
            f" which cannot be stored; {PLAIN_DATA}",
        ),
        (
            {"seen": object()},
            "the session value at session['seen'] is an object, which cannot be"
            f" stored; {PLAIN_DATA}",
        ),
        (
            {"grid": {(1, 2): "x"}},
            "the session key (1, 2) in session['grid'] is a tuple, which cannot"
            " be stored; use a str",
        ),
    ],
    ids=["set", "nested", "deep object", "object", "key"],
)
def test_a_value_that_cannot_be_stored_is_named_by_its_place(
    data: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(TypeError) as info:
        encode(data)
    assert str(info.value) == message


@pytest.mark.parametrize("form", ["new", "stored"])
def test_a_request_storing_a_set_fails_naming_the_key(
    app: Flask, client: FlaskClient, direct: DynamoDBClient, form: str
) -> None:
    @app.post("/tags")
    def tags() -> str:
        session["tags"] = {"a", "b"}
        return "ok"

    if form == "stored":
        assert client.post("/set/user/alice").status_code == 200
    before = stored_items(direct)

    with pytest.raises(TypeError) as info:
        client.post("/tags")

    assert str(info.value) == (
        "the session value at session['tags'] is a set, which cannot be stored;"
        " use a list"
    )
    assert stored_items(direct) == before
    assert len(before) == (1 if form == "stored" else 0)


def stored_items(client: DynamoDBClient) -> list[dict[str, t.Any]]:
    return client.scan(TableName=TABLE, ConsistentRead=True)["Items"]
