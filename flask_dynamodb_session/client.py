"""Building the one boto3 DynamoDB client an interface uses.

Nothing here calls the network: botocore connects on the first request.
"""

from __future__ import annotations

import platform
import typing as t
from importlib.metadata import PackageNotFoundError, version

import boto3
import botocore
from botocore.config import Config

from .exceptions import ConfigurationError

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from .settings import Settings


def _user_agent() -> str:
    try:
        package = version("flask-dynamodb-session")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        package = "unknown"
    return (
        f"flask-dynamodb-session/{package} botocore/{botocore.__version__}"
        f" python/{platform.python_version()}"
    )


#: The config the client gets, with ``botocore_config`` merged over it:
#: botocore's standard retry mode (exponential back-off with jitter, retries
#: throttling, 5xx and connection errors), bounded connect and read timeouts,
#: a connection pool large enough for a threaded worker, and a fixed
#: User-Agent: botocore otherwise rebuilds its own on every call, which costs
#: about a sixth of the client CPU of a call.
DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=32,
    tcp_keepalive=True,
    user_agent=_user_agent(),
)

#: Region used when an endpoint is set and nothing else names one: local
#: servers accept any region.
LOCAL_REGION = "us-east-1"


def build_client(settings: Settings) -> DynamoDBClient:
    """Return the client the settings ask for, building one if needed.

    :param settings: resolved options.
    :raises ConfigurationError: no region could be found.
    """
    if settings.client is not None:
        return settings.client
    session = settings.boto3_session or boto3.session.Session()
    region = settings.region_name or session.region_name
    if region is None:
        if settings.endpoint_url is None:
            raise ConfigurationError(
                "SESSION_DYNAMODB_REGION",
                None,
                "must be set (or AWS_REGION / AWS_DEFAULT_REGION in the environment)",
            )
        region = LOCAL_REGION
    config = DEFAULT_CONFIG
    if settings.botocore_config is not None:
        config = config.merge(settings.botocore_config)
    return session.client(
        "dynamodb",
        region_name=region,
        endpoint_url=settings.endpoint_url,
        config=config,
    )
