"""Encoding of the session dict into the bytes of the ``data`` attribute.

The session is tagged the way Flask's cookie session tags it (so tuples,
bytes, ``Markup``, ``UUID`` and aware datetimes round-trip), dumped to compact
JSON and, when that makes it smaller, compressed with zlib. The first byte
says which: :data:`PLAIN` or :data:`ZLIB`. Nothing is ever pickled.
"""

from __future__ import annotations

import json
import typing as t
import zlib

from flask.json.provider import _default
from flask.json.tag import TaggedJSONSerializer

#: Header byte of an uncompressed UTF-8 JSON payload.
PLAIN = b"\x00"
#: Header byte of a zlib-compressed UTF-8 JSON payload.
ZLIB = b"\x01"

#: Payloads shorter than this are stored as they are: zlib's own overhead
#: makes them larger more often than not.
COMPRESS_MIN_SIZE = 256

_tagger = TaggedJSONSerializer()
_encoder = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_default, check_circular=False
)


class DecodeError(ValueError):
    """The stored bytes are not a session this module wrote."""


def encode(data: t.Mapping[str, t.Any]) -> bytes:
    """Serialize a session dict to the stored form, header byte first.

    :param data: the session's contents.
    :raises TypeError: a value cannot be represented in JSON.
    """
    raw = _encoder.encode(_tagger.tag(dict(data))).encode("utf-8", "surrogatepass")
    if len(raw) >= COMPRESS_MIN_SIZE:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw):
            return ZLIB + packed
    return PLAIN + raw


def decode(payload: bytes) -> dict[str, t.Any]:
    """Read back what :func:`encode` wrote.

    :param payload: the stored bytes, header byte first.
    :raises DecodeError: unknown header, corrupt compression or JSON, or not
        a dict.
    """
    header, body = payload[:1], payload[1:]
    try:
        if header == ZLIB:
            body = zlib.decompress(body)
        elif header != PLAIN:
            raise DecodeError(f"unknown encoding byte {header!r}")
        value = _tagger.loads(body.decode("utf-8", "surrogatepass"))
    except (zlib.error, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"corrupt session data: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise DecodeError(f"session data is a {type(value).__name__}, not a dict")
    return value
