"""The interface's options: keyword arguments, config keys, defaults.

Every option is a keyword argument of the interface and has a
``SESSION_DYNAMODB_*`` config key; a keyword argument wins over the config
key, which wins over the default. ``None`` for an option whose default is
``None`` counts as not given. Every option is read once per app, here and
nowhere else, and checked: a bad value is a
:class:`~.exceptions.ConfigurationError` naming the config key.
"""

from __future__ import annotations

import dataclasses
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

from .exceptions import ConfigurationError

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

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
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The resolved options of one interface serving one app."""

    #: Table name.
    table: str = "sessions"
    #: AWS region; ``None`` follows boto3's chain.
    region_name: str | None = None
    #: A DynamoDB-compatible endpoint (DynamoDB Local, dynalite, LocalStack).
    endpoint_url: str | None = None
    #: A ready boto3 DynamoDB client, used as it is.
    client: DynamoDBClient | None = None
    #: A boto3 session to build the client from.
    boto3_session: boto3.session.Session | None = None
    #: A botocore config merged over the package's retry and timeout defaults.
    botocore_config: Config | None = None
    #: Server-side lifetime of a non-permanent session, in seconds.
    ttl: int = 14 * 24 * 3600
    #: An unchanged session is re-saved at most this often, in seconds.
    touch_after: int = 10
    #: Strongly consistent reads (``True``), eventually consistent ones
    #: (``False``), or ``"auto"``: eventually consistent, read again strongly
    #: consistent when that misses this browser's own last write.
    consistent_read: bool | str = True
    #: Create the table on first use if it is missing.
    auto_create: bool = False
    #: Provisioned read capacity for table creation.
    read_capacity: int = 5
    #: Provisioned write capacity for table creation.
    write_capacity: int = 5
    #: ``"PROVISIONED"`` or ``"PAY_PER_REQUEST"``.
    billing_mode: str = "PROVISIONED"
    #: Prepended to every stored key, so several apps can share a table.
    key_prefix: str = ""
    #: How the request path's item calls are sent: ``"auto"`` or ``"boto3"``.
    transport: str = "auto"
    #: The session key holding the user id, for listing and revoking a user's
    #: sessions; ``None``: off.
    user_key: str | None = None
    #: Absolute lifetime of a session from its creation, in seconds;
    #: ``None``: none (only the idle ``ttl``).
    max_age: int | None = None


#: keyword argument -> config key
CONFIG_KEYS: dict[str, str] = {
    "table": "SESSION_DYNAMODB_TABLE",
    "region_name": "SESSION_DYNAMODB_REGION",
    "endpoint_url": "SESSION_DYNAMODB_ENDPOINT_URL",
    "client": "SESSION_DYNAMODB_CLIENT",
    "boto3_session": "SESSION_DYNAMODB_BOTO3_SESSION",
    "botocore_config": "SESSION_DYNAMODB_BOTOCORE_CONFIG",
    "ttl": "SESSION_DYNAMODB_TTL",
    "touch_after": "SESSION_DYNAMODB_TOUCH_AFTER",
    "consistent_read": "SESSION_DYNAMODB_CONSISTENT_READ",
    "auto_create": "SESSION_DYNAMODB_AUTO_CREATE",
    "read_capacity": "SESSION_DYNAMODB_READ_CAPACITY",
    "write_capacity": "SESSION_DYNAMODB_WRITE_CAPACITY",
    "billing_mode": "SESSION_DYNAMODB_BILLING_MODE",
    "key_prefix": "SESSION_DYNAMODB_KEY_PREFIX",
    "transport": "SESSION_DYNAMODB_TRANSPORT",
    "user_key": "SESSION_DYNAMODB_USER_KEY",
    "max_age": "SESSION_DYNAMODB_MAX_AGE",
}


#: The options whose default is ``None``.
_OPTIONAL = frozenset(
    field.name for field in dataclasses.fields(Settings) if field.default is None
)


def check_option_names(options: t.Mapping[str, t.Any]) -> None:
    """Refuse keyword arguments that are not options.

    :raises TypeError: naming the unknown keyword.
    """
    unknown = sorted(set(options) - set(CONFIG_KEYS))
    if unknown:
        raise TypeError(
            f"unknown option {unknown[0]!r}; the options are {', '.join(CONFIG_KEYS)}"
        )


def resolve(
    options: t.Mapping[str, t.Any], config: t.Mapping[str, t.Any] | None = None
) -> Settings:
    """Merge keyword options over config keys over defaults, and check them.

    A config key set to ``None`` counts as not set; so does a keyword
    argument of ``None`` for an option whose default is ``None``
    (``region_name``, ``endpoint_url``, ``client``, ``boto3_session``,
    ``botocore_config``).

    :param options: keyword arguments given to the interface.
    :param config: the app's config, or ``None`` outside an app.
    :raises ConfigurationError: naming the config key of a bad value.
    """
    config = config or {}
    raw: dict[str, t.Any] = {}
    for name, key in CONFIG_KEYS.items():
        if name in options and not (options[name] is None and name in _OPTIONAL):
            raw[name] = options[name]
        elif config.get(key) is not None:
            raw[name] = config[key]
    values: dict[str, t.Any] = {}
    for name, value in raw.items():
        values[name] = _CHECKS[name](CONFIG_KEYS[name], value)
    return Settings(**values)


def _text(key: str, value: t.Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(key, value, "must be a string")
    return value


def _name(key: str, value: t.Any) -> str:
    name = _text(key, value)
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigurationError(
            key,
            value,
            "must be a table name of 3 to 255 letters, digits, '_', '-' and '.'",
        )
    return name


def _region(key: str, value: t.Any) -> str | None:
    region = _text(key, value)
    if not region:
        return None
    try:
        validate_region_name(region)
    except InvalidRegionError:
        raise ConfigurationError(
            key, value, "must be an AWS region name such as 'eu-west-1'"
        ) from None
    return region


def _endpoint(key: str, value: t.Any) -> str | None:
    url = _text(key, value) or None
    if url is not None and not (
        is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)
    ):
        raise ConfigurationError(
            key, value, "must be a URL such as 'http://127.0.0.1:8000'"
        )
    return url


def _client(key: str, value: t.Any) -> t.Any:
    if not (
        isinstance(value, BaseClient)
        and value.meta.service_model.service_name == "dynamodb"
    ):
        raise ConfigurationError(
            key, value, "must be a low-level boto3 client of DynamoDB"
        )
    return value


def _boto3_session(key: str, value: t.Any) -> boto3.session.Session:
    if not isinstance(value, boto3.session.Session):
        raise ConfigurationError(key, value, "must be a boto3.session.Session")
    return value


def _botocore_config(key: str, value: t.Any) -> Config:
    if not isinstance(value, Config):
        raise ConfigurationError(key, value, "must be a botocore.config.Config")
    return value


def _seconds(key: str, value: t.Any, *, allow_zero: bool) -> int:
    seconds = _number_of_seconds(key, value)
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


def _number_of_seconds(key: str, value: t.Any) -> int | float:
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


def _lifetime(key: str, value: t.Any) -> int:
    seconds = _seconds(key, value, allow_zero=False)
    if seconds < 1:
        raise ConfigurationError(key, value, "must be at least one second")
    return seconds


def _user_key(key: str, value: t.Any) -> str:
    name = _text(key, value)
    if not name:
        raise ConfigurationError(key, value, "must name a session key")
    return name


def _interval(key: str, value: t.Any) -> int:
    return _seconds(key, value, allow_zero=True)


def _consistency(key: str, value: t.Any) -> bool | str:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return _flag(key, value)
    except ConfigurationError:
        raise ConfigurationError(key, value, 'must be True, False or "auto"') from None


def _flag(key: str, value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ConfigurationError(key, value, "must be True or False")


def _capacity(key: str, value: t.Any) -> int:
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


def _billing_mode(key: str, value: t.Any) -> str:
    mode = _text(key, value).upper()
    if mode not in BILLING_MODES:
        raise ConfigurationError(
            key, value, f"must be one of {', '.join(BILLING_MODES)}"
        )
    return mode


def _transport(key: str, value: t.Any) -> str:
    transport = _text(key, value).strip().lower()
    if transport not in TRANSPORTS:
        raise ConfigurationError(key, value, f"must be one of {', '.join(TRANSPORTS)}")
    return transport


def _key_prefix(key: str, value: t.Any) -> str:
    prefix = _text(key, value)
    try:
        size = len(prefix.encode("utf-8"))
    except UnicodeEncodeError:
        size = MAX_KEY_PREFIX_BYTES + 1
    if size > MAX_KEY_PREFIX_BYTES:
        raise ConfigurationError(
            key, value, f"must be text of at most {MAX_KEY_PREFIX_BYTES} bytes in UTF-8"
        )
    return prefix


_CHECKS: dict[str, t.Callable[[str, t.Any], t.Any]] = {
    "table": _name,
    "region_name": _region,
    "endpoint_url": _endpoint,
    "client": _client,
    "boto3_session": _boto3_session,
    "botocore_config": _botocore_config,
    "ttl": _lifetime,
    "touch_after": _interval,
    "consistent_read": _consistency,
    "auto_create": _flag,
    "read_capacity": _capacity,
    "write_capacity": _capacity,
    "billing_mode": _billing_mode,
    "key_prefix": _key_prefix,
    "transport": _transport,
    "user_key": _user_key,
    "max_age": _lifetime,
}
