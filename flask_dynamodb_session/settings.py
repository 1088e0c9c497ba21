"""The options of SPEC section 3: keyword arguments, config keys, defaults.

Every option is read once per app, here and nowhere else, and checked: a bad
value is a :class:`~.exceptions.ConfigurationError` naming the config key.
"""

from __future__ import annotations

import dataclasses
import typing as t
from datetime import timedelta

from .exceptions import ConfigurationError

if t.TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient

BILLING_MODES = ("PROVISIONED", "PAY_PER_REQUEST")
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
    #: Use strongly consistent reads.
    consistent_read: bool = True
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
}


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

    :param options: keyword arguments given to the interface.
    :param config: the app's config, or ``None`` outside an app.
    :raises ConfigurationError: naming the config key of a bad value.
    """
    config = config or {}
    raw: dict[str, t.Any] = {}
    for name, key in CONFIG_KEYS.items():
        if name in options:
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
    if not 3 <= len(name) <= 255:
        raise ConfigurationError(key, value, "must be a table name of 3 to 255 chars")
    return name


def _optional_text(key: str, value: t.Any) -> str | None:
    text = _text(key, value)
    return text or None


def _seconds(key: str, value: t.Any, *, allow_zero: bool) -> int:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ConfigurationError(
            key, value, "must be a number of seconds or a timedelta"
        )
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            raise ConfigurationError(
                key, value, "must be a number of seconds or a timedelta"
            ) from None
    else:
        raise ConfigurationError(
            key, value, "must be a number of seconds or a timedelta"
        )
    if seconds < 0 or (seconds == 0 and not allow_zero) or seconds != seconds:
        limit = "zero or more" if allow_zero else "more than zero"
        raise ConfigurationError(key, value, f"must be {limit} seconds")
    return int(seconds)


def _lifetime(key: str, value: t.Any) -> int:
    seconds = _seconds(key, value, allow_zero=False)
    if seconds < 1:
        raise ConfigurationError(key, value, "must be at least one second")
    return seconds


def _interval(key: str, value: t.Any) -> int:
    return _seconds(key, value, allow_zero=True)


def _flag(key: str, value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ConfigurationError(key, value, "must be True or False")


def _capacity(key: str, value: t.Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1 or str(number) != str(value).strip():
        raise ConfigurationError(key, value, "must be a whole number of at least 1")
    return number


def _billing_mode(key: str, value: t.Any) -> str:
    mode = _text(key, value).upper()
    if mode not in BILLING_MODES:
        raise ConfigurationError(
            key, value, f"must be one of {', '.join(BILLING_MODES)}"
        )
    return mode


def _anything(key: str, value: t.Any) -> t.Any:
    return value


_CHECKS: dict[str, t.Callable[[str, t.Any], t.Any]] = {
    "table": _name,
    "region_name": _optional_text,
    "endpoint_url": _optional_text,
    "client": _anything,
    "boto3_session": _anything,
    "botocore_config": _anything,
    "ttl": _lifetime,
    "touch_after": _interval,
    "consistent_read": _flag,
    "auto_create": _flag,
    "read_capacity": _capacity,
    "write_capacity": _capacity,
    "billing_mode": _billing_mode,
    "key_prefix": _text,
}
