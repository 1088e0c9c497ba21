"""The interface's options: each defined once, here.

Every option is a keyword argument of the interface and has a
``SESSION_DYNAMODB_*`` config key; a keyword argument wins over the config
key, which wins over the default. ``None`` for an option whose default is
``None`` counts as not given. Every option is read once per app, here and
nowhere else, and checked: a bad value is a
:class:`~.exceptions.ConfigurationError` naming the config key.

Each option is one field of :class:`Settings`, made by :func:`option`: its
name, type, default, config key, check, one line of documentation and what
a value may be. The config keys (:data:`CONFIG_KEYS`), the checks and the
table of options in the documentation (:data:`OPTIONS`) all derive from
those fields.
"""

from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import Callable

import boto3.session
from botocore.config import Config

from . import option_checks as check
from .exceptions import ConfigurationError

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


#: Checks a value given for an option: ``check(config_key, value)`` returns
#: the value to use or raises :class:`~.exceptions.ConfigurationError`.
Check = Callable[[str, t.Any], t.Any]


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of the interface, as :func:`option` defined it."""

    #: The keyword argument, e.g. ``"ttl"``.
    name: str
    #: The config key, e.g. ``"SESSION_DYNAMODB_TTL"``.
    key: str
    #: The value when neither the keyword nor the config key is given.
    default: t.Any
    #: The type a value has once checked, as :class:`Settings` annotates it.
    type: str
    #: One line of documentation.
    doc: str
    #: What a value given may be, for people: types and range.
    accepts: str
    #: The check of a value given.
    check: Check = dataclasses.field(repr=False)


def option(key: str, default: t.Any, check: Check, doc: str, *, accepts: str) -> t.Any:
    """A field of :class:`Settings`: one option, defined once.

    :param key: the config key.
    :param default: the value when neither keyword nor config key is given.
    :param check: checks a value given (:data:`Check`).
    :param doc: one line of documentation.
    :param accepts: what a value given may be, for people: types and range.
    """
    metadata = {"key": key, "check": check, "doc": doc, "accepts": accepts}
    return dataclasses.field(default=default, metadata=metadata)


#: What the options that take a duration accept.
SECONDS = "seconds (a number) or a ``timedelta``, from 1 second up to 10 years"
#: What the options that take a duration, or 0, accept.
SECONDS_OR_ZERO = "seconds (a number) or a ``timedelta``, from 0 up to 10 years"
#: What the flags accept.
FLAG = '``True`` or ``False`` (in the config also ``"true"`` or ``"false"``)'
#: What the options that count things accept.
WHOLE_NUMBER = f"a whole number from 1 to {check.MAX_CAPACITY:,}"


@dataclasses.dataclass(frozen=True)
class Settings:
    """The resolved options of one interface serving one app."""

    table: str = option(
        "SESSION_DYNAMODB_TABLE",
        "sessions",
        check.table_name,
        "Table name.",
        accepts="3 to 255 letters, digits, ``_``, ``-`` and ``.``",
    )
    region_name: str | None = option(
        "SESSION_DYNAMODB_REGION",
        None,
        check.region,
        "AWS region; boto3's chain, then ``AWS_REGION``, when not given.",
        accepts='an AWS region name, such as ``"eu-west-1"``',
    )
    endpoint_url: str | None = option(
        "SESSION_DYNAMODB_ENDPOINT_URL",
        None,
        check.endpoint,
        "A DynamoDB-compatible endpoint (DynamoDB Local, dynalite, LocalStack).",
        accepts='a URL, such as ``"http://localhost:8000"``',
    )
    client: DynamoDBClient | None = option(
        "SESSION_DYNAMODB_CLIENT",
        None,
        check.client,
        "A ready low-level boto3 DynamoDB client, used as it is.",
        accepts="a low-level boto3 client of DynamoDB",
    )
    boto3_session: boto3.session.Session | None = option(
        "SESSION_DYNAMODB_BOTO3_SESSION",
        None,
        check.boto3_session,
        "The boto3 session the package builds its clients from.",
        accepts="a ``boto3.session.Session``",
    )
    botocore_config: Config | None = option(
        "SESSION_DYNAMODB_BOTOCORE_CONFIG",
        None,
        check.botocore_config,
        "A botocore config merged over the package's retry and timeout defaults.",
        accepts="a ``botocore.config.Config``",
    )
    ttl: int = option(
        "SESSION_DYNAMODB_TTL",
        14 * 24 * 3600,
        check.lifetime,
        "Server-side lifetime of a non-permanent session, in seconds.",
        accepts=SECONDS,
    )
    touch_after: int = option(
        "SESSION_DYNAMODB_TOUCH_AFTER",
        10,
        check.interval,
        "An unchanged session is re-saved at most this often, in seconds.",
        accepts=SECONDS_OR_ZERO,
    )
    consistent_read: bool | str = option(
        "SESSION_DYNAMODB_CONSISTENT_READ",
        True,
        check.consistency,
        "Strongly consistent reads (True), eventually consistent ones (False),"
        ' or "auto": eventually consistent, yet reading this browser\'s writes.',
        accepts='``True``, ``False`` or ``"auto"``',
    )
    auto_create: bool = option(
        "SESSION_DYNAMODB_AUTO_CREATE",
        False,
        check.flag,
        "Create the table, and turn on TTL, on first use if it is missing.",
        accepts=FLAG,
    )
    read_capacity: int = option(
        "SESSION_DYNAMODB_READ_CAPACITY",
        5,
        check.whole_number,
        "Provisioned read capacity of a table the package creates.",
        accepts=WHOLE_NUMBER,
    )
    write_capacity: int = option(
        "SESSION_DYNAMODB_WRITE_CAPACITY",
        5,
        check.whole_number,
        "Provisioned write capacity of a table the package creates.",
        accepts=WHOLE_NUMBER,
    )
    billing_mode: str = option(
        "SESSION_DYNAMODB_BILLING_MODE",
        "PROVISIONED",
        check.billing_mode,
        '"PROVISIONED" or "PAY_PER_REQUEST", for a table the package creates.',
        accepts='``"PROVISIONED"`` or ``"PAY_PER_REQUEST"``',
    )
    key_prefix: str = option(
        "SESSION_DYNAMODB_KEY_PREFIX",
        "",
        check.key_prefix,
        "Prepended to every stored key, so several apps can share a table.",
        accepts=f"text of at most {check.MAX_KEY_PREFIX_BYTES:,} bytes in UTF-8",
    )
    transport: str = option(
        "SESSION_DYNAMODB_TRANSPORT",
        "auto",
        check.transport,
        'How item calls are sent: "auto" (the lean transport where it can'
        ' honour every setting) or "boto3".',
        accepts='``"auto"`` or ``"boto3"``',
    )
    user_key: str | None = option(
        "SESSION_DYNAMODB_USER_KEY",
        None,
        check.user_key,
        "The session key holding the user id, to list and end a user's sessions.",
        accepts="the name of a session key (text)",
    )
    max_age: int | None = option(
        "SESSION_DYNAMODB_MAX_AGE",
        None,
        check.lifetime,
        "Absolute lifetime of a session from its creation, in seconds.",
        accepts=SECONDS,
    )
    max_sessions: int | None = option(
        "SESSION_DYNAMODB_MAX_SESSIONS",
        None,
        check.whole_number,
        "The most sessions a user keeps; a login ends the least recently"
        " active others (needs user_key).",
        accepts=WHOLE_NUMBER,
    )
    rotate_after: int | None = option(
        "SESSION_DYNAMODB_ROTATE_AFTER",
        None,
        check.lifetime,
        "A session's id older than this many seconds moves to a new id.",
        accepts=SECONDS,
    )
    rotation_grace: int = option(
        "SESSION_DYNAMODB_ROTATION_GRACE",
        30,
        check.interval,
        "Seconds the old id of a rotated session still leads to it.",
        accepts=SECONDS_OR_ZERO,
    )
    id_header: str | None = option(
        "SESSION_DYNAMODB_ID_HEADER",
        None,
        check.header_name,
        "Carry the signed session id in this request and response header"
        " instead of a cookie (APIs, mobile apps).",
        accepts='an HTTP header name, such as ``"X-Session-Id"``',
    )
    record_client: bool = option(
        "SESSION_DYNAMODB_RECORD_CLIENT",
        False,
        check.flag,
        "Store the browser's User-Agent and address when a session is first stored.",
        accepts=FLAG,
    )
    encrypt: bool = option(
        "SESSION_DYNAMODB_ENCRYPT",
        False,
        check.encrypt,
        "Seal each session's data with AES-256-GCM and store user ids hashed"
        " (needs the extra flask-dynamodb-session[encryption]).",
        accepts=FLAG,
    )
    encryption_keys: tuple[bytes, ...] | None = option(
        "SESSION_DYNAMODB_ENCRYPTION_KEYS",
        None,
        check.encryption_keys,
        "Keys of 32 bytes (bytes or base64 text): the first seals, all open;"
        " derived from SECRET_KEY and its fallbacks when not given.",
        accepts="a list of 32-byte keys, each ``bytes`` or base64 text",
    )


#: Every option, in the order of :class:`Settings`.
OPTIONS: tuple[Option, ...] = tuple(
    Option(
        name=field.name,
        key=field.metadata["key"],
        default=field.default,
        type=str(field.type),
        doc=field.metadata["doc"],
        accepts=field.metadata["accepts"],
        check=field.metadata["check"],
    )
    for field in dataclasses.fields(Settings)
)
#: keyword argument -> config key
CONFIG_KEYS: dict[str, str] = {opt.name: opt.key for opt in OPTIONS}
#: The options whose default is ``None``.
_OPTIONAL = frozenset(opt.name for opt in OPTIONS if opt.default is None)
_CHECKS: dict[str, Check] = {opt.name: opt.check for opt in OPTIONS}


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
    argument of ``None`` for an option whose default is ``None``.

    :param options: keyword arguments given to the interface (outside an
        app, such as ``{"table": "sessions"}`` for a store of its own).
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
    settings = Settings(**values)
    if settings.max_sessions is not None and settings.user_key is None:
        raise ConfigurationError(
            CONFIG_KEYS["max_sessions"],
            settings.max_sessions,
            f"needs {CONFIG_KEYS['user_key']}, the session key of the user id",
        )
    return settings
