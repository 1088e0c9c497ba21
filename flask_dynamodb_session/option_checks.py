"""The checks of the interface's options: each takes the option's config key
and a value, and returns the value to use or raises
:class:`~.exceptions.ConfigurationError` naming the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import typing as t
from datetime import timedelta

import boto3.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import InvalidRegionError
from botocore.utils import (
    is_valid_endpoint_url,
    is_valid_ipv6_endpoint_url,
    validate_region_name,
)

from .encryption import EXTRA, KEY_SIZE, cryptography_missing
from .exceptions import ConfigurationError

BILLING_MODES = ("PROVISIONED", "PAY_PER_REQUEST")
#: ``"auto"``: the request path's item calls use the lean transport where it
#: can honour every setting; ``"boto3"``: every call goes through boto3.
TRANSPORTS = ("auto", "boto3")
#: The longest ``ttl`` or ``touch_after``, in seconds: ten years of 365 days.
#: Expiry times are epoch seconds stored as DynamoDB numbers; a lifetime
#: beyond this is a mistake in the config, not a session.
MAX_SECONDS = 10 * 365 * 24 * 3600
#: The largest read or write capacity a created table is given.
MAX_CAPACITY = 1_000_000
#: The longest ``key_prefix``, in UTF-8 bytes: DynamoDB's limit of 2048
#: bytes for a hash key, less the 64 hex digits of the session id's digest.
MAX_KEY_PREFIX_BYTES = 2048 - 64
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
#: What a flag takes besides a bool: its text, in any case, spaces around
#: ignored. Nothing else: an empty string is not ``False``.
_FLAG_TEXT = {"true": True, "false": False}
_FLAG = 'True or False (from config also the text "true" or "false")'


def text(key: str, value: t.Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(key, value, "must be a string")
    return value


def table_name(key: str, value: t.Any) -> str:
    name = text(key, value)
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigurationError(
            key,
            value,
            "must be a table name of 3 to 255 letters, digits, '_', '-' and '.'",
        )
    return name


def region(key: str, value: t.Any) -> str | None:
    region = text(key, value)
    if not region:
        return None
    try:
        validate_region_name(region)
    except InvalidRegionError:
        raise ConfigurationError(
            key, value, "must be an AWS region name such as 'eu-west-1'"
        ) from None
    return region


def endpoint(key: str, value: t.Any) -> str | None:
    url = text(key, value) or None
    if url is not None and not (
        is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)
    ):
        raise ConfigurationError(
            key, value, "must be a URL such as 'http://127.0.0.1:8000'"
        )
    return url


def client(key: str, value: t.Any) -> t.Any:
    if not (
        isinstance(value, BaseClient)
        and value.meta.service_model.service_name == "dynamodb"
    ):
        raise ConfigurationError(
            key, value, "must be a low-level boto3 client of DynamoDB"
        )
    return value


def boto3_session(key: str, value: t.Any) -> boto3.session.Session:
    if not isinstance(value, boto3.session.Session):
        raise ConfigurationError(key, value, "must be a boto3.session.Session")
    return value


def botocore_config(key: str, value: t.Any) -> Config:
    if not isinstance(value, Config):
        raise ConfigurationError(key, value, "must be a botocore.config.Config")
    return value


def whole_seconds(key: str, value: t.Any, *, allow_zero: bool) -> int:
    seconds = number_of_seconds(key, value)
    if seconds != seconds:  # NaN
        raise ConfigurationError(
            key, value, "must be a number of seconds or a timedelta"
        )
    if seconds < 0 or (seconds == 0 and not allow_zero):
        limit = "zero or more" if allow_zero else "more than zero"
        raise ConfigurationError(key, value, f"must be {limit} seconds")
    if seconds > MAX_SECONDS:
        raise ConfigurationError(
            key, value, f"must be at most 10 years ({MAX_SECONDS} seconds)"
        )
    return int(seconds)


def number_of_seconds(key: str, value: t.Any) -> int | float:
    """The seconds ``value`` stands for, unchecked; an ``int`` is kept exact."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ConfigurationError(key, value, "must be a number of seconds or a timedelta")


def lifetime(key: str, value: t.Any) -> int:
    seconds = whole_seconds(key, value, allow_zero=False)
    if seconds < 1:
        raise ConfigurationError(key, value, "must be at least one second")
    return seconds


def user_key(key: str, value: t.Any) -> str:
    name = text(key, value)
    if not name:
        raise ConfigurationError(key, value, "must name a session key")
    return name


def interval(key: str, value: t.Any) -> int:
    return whole_seconds(key, value, allow_zero=True)


def consistency(key: str, value: t.Any) -> bool | str:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return flag(key, value)
    except ConfigurationError:
        raise ConfigurationError(
            key,
            value,
            'must be True, False or "auto" (from config also the text "true"'
            ' or "false")',
        ) from None


def flag(key: str, value: t.Any) -> bool:
    """A bool, or the text ``"true"`` or ``"false"`` in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and (word := value.strip().lower()) in _FLAG_TEXT:
        return _FLAG_TEXT[word]
    raise ConfigurationError(key, value, f"must be {_FLAG}")


def whole_number(key: str, value: t.Any) -> int:
    number = 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    if not 1 <= number <= MAX_CAPACITY:
        raise ConfigurationError(
            key, value, f"must be a whole number from 1 to {MAX_CAPACITY}"
        )
    return number


#: An HTTP field name: an RFC 9110 token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def header_name(key: str, value: t.Any) -> str:
    name = text(key, value).strip()
    if not _TOKEN.fullmatch(name):
        raise ConfigurationError(
            key, value, "must be an HTTP header name, such as 'X-Session-Id'"
        )
    if name.lower() in ("cookie", "set-cookie"):
        raise ConfigurationError(
            key, value, "must not be a cookie header: the id travels in a header"
        )
    return name


def billing_mode(key: str, value: t.Any) -> str:
    mode = text(key, value).upper()
    if mode not in BILLING_MODES:
        raise ConfigurationError(
            key, value, f"must be one of {', '.join(BILLING_MODES)}"
        )
    return mode


def transport(key: str, value: t.Any) -> str:
    transport = text(key, value).strip().lower()
    if transport not in TRANSPORTS:
        raise ConfigurationError(key, value, f"must be one of {', '.join(TRANSPORTS)}")
    return transport


def key_prefix(key: str, value: t.Any) -> str:
    prefix = text(key, value)
    try:
        size = len(prefix.encode("utf-8"))
    except UnicodeEncodeError:
        size = MAX_KEY_PREFIX_BYTES + 1
    if size > MAX_KEY_PREFIX_BYTES:
        raise ConfigurationError(
            key, value, f"must be text of at most {MAX_KEY_PREFIX_BYTES} bytes in UTF-8"
        )
    return prefix


def encrypt(key: str, value: t.Any) -> bool:
    """A flag; ``True`` needs the ``cryptography`` package."""
    on = flag(key, value)
    if on and cryptography_missing():
        raise ConfigurationError(
            key,
            value,
            "needs the cryptography package: install the extra"
            f" {EXTRA} (pip install '{EXTRA}')",
        )
    return on


def encryption_keys(key: str, value: t.Any) -> tuple[bytes, ...]:
    """A list of 32-byte keys, each ``bytes`` or a base64 ``str``.

    A refused value is never shown: the error says which key is wrong.
    """
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigurationError(
            key,
            "...",
            f"must be a list of {KEY_SIZE}-byte keys, as bytes or base64 text,"
            " the first one sealing (the value is not shown)",
        )
    return tuple(
        _encryption_key(key, number, item) for number, item in enumerate(value, 1)
    )


def _encryption_key(key: str, number: int, value: t.Any) -> bytes:
    raw: bytes | None = None
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        altchars = b"-_" if "-" in text or "_" in text else None
        try:
            raw = base64.b64decode(text, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != KEY_SIZE:
        raise ConfigurationError(
            key,
            "...",
            f"must hold keys of {KEY_SIZE} bytes, as bytes or base64 text; key"
            f" number {number} is not one (the value is not shown)",
        )
    return raw
