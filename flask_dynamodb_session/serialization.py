"""Encoding of the session dict into the bytes of the ``data`` attribute.

The session is tagged the way Flask's cookie session tags it (so tuples,
bytes, ``Markup``, ``UUID`` and aware datetimes round-trip), dumped to compact
JSON and, when that makes it smaller, compressed with zlib. The first byte
says which: :data:`PLAIN` or :data:`ZLIB`. Nothing is ever pickled.

Two limits keep every stored session readable and updatable: its JSON may be
at most :data:`MAX_DECODED_SIZE` bytes, and its dicts, lists and tuples may
nest at most :data:`MAX_DEPTH` levels deep. :func:`encode` refuses data past
either, and :func:`decode` treats a payload that inflates past the size limit
as corrupt.
"""

from __future__ import annotations

import json
import typing as t
import zlib

from flask.json.provider import DefaultJSONProvider
from flask.json.tag import TaggedJSONSerializer

from .exceptions import SessionTooLarge

#: Header byte of an uncompressed UTF-8 JSON payload.
PLAIN = b"\x00"
#: Header byte of a zlib-compressed UTF-8 JSON payload.
ZLIB = b"\x01"

#: Payloads shorter than this are stored as they are: zlib's own overhead
#: makes them larger more often than not.
COMPRESS_MIN_SIZE = 256

#: The largest session JSON, in bytes before compression, that is stored or
#: inflated (16 MiB). A compressed payload is never inflated past it.
MAX_DECODED_SIZE = 16 * 1024 * 1024

#: How deep dicts, lists and tuples may nest, the session dict being level 1.
#: Data within this depth is encoded, decoded and compared for changes well
#: within Python's recursion limit.
MAX_DEPTH = 100

_tagger = TaggedJSONSerializer()
_encoder = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    default=DefaultJSONProvider.default,
    check_circular=False,
)
#: Stored as they are: Flask's tagger leaves these exact types untouched.
_UNTAGGED = frozenset({str, int, float, bool, type(None)})
#: The types of dict keys JSON takes (numbers, bools and None become text).
_JSON_KEYS = (str, int, float, bool, type(None))
#: What a value of another type is told to be instead.
_PLAIN = (
    "store plain data instead: str, int, float, bool, None, bytes, datetime,"
    " UUID, Markup, and dicts, lists and tuples of them"
)
#: What a tag's ``to_python`` raises on a value of the wrong shape or type.
_UNTAG_ERRORS = (AttributeError, OverflowError, StopIteration, TypeError, ValueError)


class DecodeError(ValueError):
    """The stored bytes are not a session this module wrote."""


def encode(data: t.Mapping[str, t.Any]) -> bytes:
    """Serialize a session dict to the stored form, header byte first.

    :param data: the session's contents.
    :raises TypeError: a value cannot be stored; the message names its place
        (``session['cart'][2]``) and its type.
    :raises ValueError: dicts, lists and tuples nest deeper than
        :data:`MAX_DEPTH` levels (or a value contains itself).
    :raises SessionTooLarge: the JSON is longer than :data:`MAX_DECODED_SIZE`.
    """
    try:
        text = _encoder.encode(_tag(dict(data), 1))
    except TypeError as exc:
        refusal = _unstorable(data, "session")
        if refusal is None:
            raise
        raise TypeError(refusal) from exc
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_DECODED_SIZE:
        raise SessionTooLarge(
            len(raw), MAX_DECODED_SIZE, what="the limit of serialized session data"
        )
    if len(raw) >= COMPRESS_MIN_SIZE:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw):
            return ZLIB + packed
    return PLAIN + raw


def decode(payload: bytes) -> dict[str, t.Any]:
    """Read back what :func:`encode` wrote.

    :param payload: the stored bytes, header byte first.
    :raises DecodeError: unknown header, corrupt or oversized compression,
        corrupt JSON or tags, nesting too deep to parse, or not a dict.
    """
    header, body = payload[:1], payload[1:]
    try:
        if header == ZLIB:
            body = _inflate(body)
        elif header != PLAIN:
            raise DecodeError(f"unknown encoding byte {header!r}")
        value = _decoder.decode(body.decode("utf-8", "surrogatepass"))
    except (zlib.error, ValueError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"corrupt session data: {type(exc).__name__}") from exc
    except RecursionError as exc:
        raise DecodeError("session data nested too deep to read") from exc
    if not isinstance(value, dict):
        raise DecodeError(f"session data is a {type(value).__name__}, not a dict")
    return value


def _tag(value: t.Any, depth: int) -> t.Any:
    """Tag a value as Flask's tagger does, refusing nesting past :data:`MAX_DEPTH`.

    :param value: the value to tag.
    :param depth: its nesting level, 1 for the session dict.
    """
    if type(value) in _UNTAGGED:
        return value
    if not isinstance(value, (dict, list, tuple)):
        return _tagger.tag(value)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"session data nests dicts, lists or tuples more than {MAX_DEPTH}"
            " levels deep, or a value contains itself"
        )
    depth += 1
    if isinstance(value, list):
        return [_tag(item, depth) for item in value]
    if isinstance(value, tuple):
        return {" t": [_tag(item, depth) for item in value]}
    if len(value) == 1:
        key = next(iter(value))
        if key in _tagger.tags:
            return {" di": {f"{key}__": _tag(value[key], depth)}}
    return {key: _tag(item, depth) for key, item in value.items()}


def _unstorable(value: t.Any, path: str) -> str | None:
    """Why the first value under ``path`` that cannot be stored is refused.

    Looked for only once encoding failed; ``None`` if nothing is found.

    :param value: the value at ``path``.
    :param path: where it is, as Python code: ``session['cart'][2]``.
    """
    if type(value) in _UNTAGGED:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, _JSON_KEYS):
                return (
                    f"the session key {key!r} in {path} is {_a(key)}, which cannot"
                    " be stored; use a str"
                )
            found = _unstorable(item, f"{path}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for number, item in enumerate(value):
            found = _unstorable(item, f"{path}[{number}]")
            if found is not None:
                return found
        return None
    try:
        _encoder.encode(_tagger.tag(value))
    except TypeError:
        instead = "use a list" if isinstance(value, (set, frozenset)) else _PLAIN
        return (
            f"the session value at {path} is {_a(value)}, which cannot be"
            f" stored; {instead}"
        )
    return None


def _a(value: object) -> str:
    """The type of ``value`` with its article: ``a set``, ``an object``."""
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _untag(obj: dict[str, t.Any]) -> t.Any:
    """Turn one parsed JSON object back into what it was tagged from."""
    if len(obj) != 1:
        return obj
    key = next(iter(obj))
    tag = _tagger.tags.get(key)
    if tag is None:
        return obj
    try:
        return tag.to_python(obj[key])
    except _UNTAG_ERRORS as exc:
        raise DecodeError(f"corrupt {key.strip()!r} tag: {type(exc).__name__}") from exc


#: Parses JSON and untags each object as soon as it is parsed, in one pass.
_decoder = json.JSONDecoder(object_hook=_untag)


def _inflate(body: bytes) -> bytes:
    """Decompress, never holding more than :data:`MAX_DECODED_SIZE` + 1 bytes."""
    inflater = zlib.decompressobj()
    raw = inflater.decompress(body, MAX_DECODED_SIZE + 1)
    if len(raw) > MAX_DECODED_SIZE:
        raise DecodeError(f"session data inflates past {MAX_DECODED_SIZE} bytes")
    if not inflater.eof:
        raise DecodeError("truncated compressed session data")
    return raw
