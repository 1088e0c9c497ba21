"""Building the boto3 DynamoDB clients of a store.

A store has one client for the request path (short timeouts: a session read
must not hold a request for long) and, built only when needed, one for the
table's life, scans and the CLI. Where botocore finds no region,
``AWS_REGION`` (set by Lambda and ECS) is used.

Nothing here calls the network: botocore connects on the first request.
"""

from __future__ import annotations

import os
import platform
import typing as t

import boto3
import botocore
from botocore.config import Config

from ._version import __version__
from .exceptions import ConfigurationError

if t.TYPE_CHECKING:
    from botocore.config import _RetryDict
    from mypy_boto3_dynamodb import DynamoDBClient

    from .options import Settings


def _user_agent() -> str:
    return (
        f"flask-dynamodb-session/{__version__} botocore/{botocore.__version__}"
        f" python/{platform.python_version()}"
    )


#: Seconds to wait for a connection to DynamoDB to open.
CONNECT_TIMEOUT = 1
#: Seconds to wait for each part of DynamoDB's answer (botocore's read
#: timeout). DynamoDB answers an item call in milliseconds; a second is far
#: beyond a slow but healthy call.
READ_TIMEOUT = 1
#: Attempts of one call, the first included: two retries.
MAX_ATTEMPTS = 3

#: The config the client gets, with ``botocore_config`` merged over it
#: (:func:`client_config`): botocore's standard retry mode (exponential
#: back-off with jitter, retries throttling, 5xx and connection errors),
#: bounded connect and read timeouts, a connection pool large enough for a
#: threaded worker, and a fixed User-Agent: botocore otherwise rebuilds its
#: own on every call, which costs about a sixth of the client CPU of a call.
#:
#: How long a call can take, retries included: before retry ``n`` (1, 2)
#: botocore's standard mode waits a random part of ``0.025 * 2 ** (n - 1)``
#: seconds after a timeout, a connection error or a 5xx, and of
#: ``2 ** (n - 1)`` seconds after throttling. So a DynamoDB that takes
#: connections but never answers fails a call after 3 attempts of 1 s plus
#: at most 0.025 + 0.05 s of back-off: about 3.1 s. The worst case, every
#: connection taking its full second to open before the answer times out, is
#: 3 x (1 + 1) s + 0.075 s, about 6.1 s; a call throttled to the end waits at
#: most 1 + 2 s between its 3 attempts.
DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    max_pool_connections=32,
    tcp_keepalive=True,
    user_agent=_user_agent(),
)

#: The config of the client that creates the table, scans it and serves the
#: CLI: a scan page of a large table or a table's creation may take longer
#: than a second, and nobody's request waits for it. ``botocore_config`` is
#: merged over it too.
ADMIN_CONFIG = DEFAULT_CONFIG.merge(Config(connect_timeout=2, read_timeout=10))

_ATTEMPT_KEYS = frozenset({"max_attempts", "total_max_attempts"})


def client_config(botocore_config: Config | None, *, admin: bool = False) -> Config:
    """The package's :data:`DEFAULT_CONFIG` with ``botocore_config`` over it.

    Options are merged one by one, as :meth:`botocore.config.Config.merge`
    does, and so are the keys of ``retries``: ``retries={"total_max_attempts":
    5}`` keeps the standard retry mode. An attempt count given either way
    replaces the default (in a botocore config ``max_attempts`` counts the
    retries, ``total_max_attempts`` the attempts).

    :param botocore_config: the ``botocore_config`` option, if any.
    :param admin: the config of the table's life, scans and the CLI
        (:data:`ADMIN_CONFIG`), not of the request path.
    """
    defaults = ADMIN_CONFIG if admin else DEFAULT_CONFIG
    if botocore_config is None:
        return defaults
    config = defaults.merge(botocore_config)
    retries: _RetryDict | None = getattr(botocore_config, "retries", None)
    if retries is not None:
        merged: _RetryDict = {"mode": "standard"}
        if not _ATTEMPT_KEYS & set(retries):
            merged["total_max_attempts"] = MAX_ATTEMPTS
        merged.update(retries)
        config = config.merge(Config(retries=merged))
    return config


#: Region used when an endpoint is set and nothing else names one: local
#: servers accept any region.
LOCAL_REGION = "us-east-1"
#: What the error of a missing region says about ``SESSION_DYNAMODB_REGION``.
NO_REGION = "must be set (or AWS_REGION / AWS_DEFAULT_REGION in the environment)"


def build_client(settings: Settings, *, admin: bool = False) -> DynamoDBClient:
    """Return the client the settings ask for, building one if needed.

    The region is the ``region_name`` option, else boto3's (the session's,
    ``AWS_DEFAULT_REGION``, the config file), else ``AWS_REGION`` (set by
    Lambda and ECS, which botocore does not read), else :data:`LOCAL_REGION`
    if an endpoint is set.

    :param settings: resolved options.
    :param admin: build the client of the table's life, scans and the CLI,
        whose timeouts are longer than the request path's.
    :raises ConfigurationError: no region could be found.
    """
    if settings.client is not None:
        return settings.client
    session = settings.boto3_session or boto3.session.Session()
    region = settings.region_name or session.region_name or os.environ.get("AWS_REGION")
    if not region:
        if settings.endpoint_url is None:
            raise ConfigurationError(
                "SESSION_DYNAMODB_REGION", None, NO_REGION, shown=False
            )
        region = LOCAL_REGION
    return session.client(
        "dynamodb",
        region_name=region,
        endpoint_url=settings.endpoint_url,
        config=client_config(settings.botocore_config, admin=admin),
    )
