"""Which DynamoDB the example app talks to, and the embedded one.

:func:`choose_backend` looks at the environment only (no network call):

``"endpoint"``
    ``SESSION_DYNAMODB_ENDPOINT_URL`` is set: DynamoDB Local, dynalite,
    LocalStack...
``"aws"``
    AWS credentials and a region are in the environment: the real thing.
``"embedded"``
    neither: :class:`EmbeddedDynamoDB` runs moto's DynamoDB in this process.
"""

from __future__ import annotations

import typing as t

import boto3
from botocore.config import Config

if t.TYPE_CHECKING:
    from types import TracebackType

    from moto.server import ThreadedMotoServer

__all__ = ["LOCAL_CONFIG", "Backend", "EmbeddedDynamoDB", "choose_backend"]

Backend = t.Literal["endpoint", "aws", "embedded"]

#: Environment variables any one of which gives boto3 credentials.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)
#: Environment variables any one of which names the region.
REGION_VARIABLES = ("SESSION_DYNAMODB_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")

#: For a server on this machine: no proxy, whatever the environment says.
LOCAL_CONFIG = Config(proxies={})


def has_credentials(environ: t.Mapping[str, str]) -> bool:
    """Whether ``environ`` gives boto3 AWS credentials."""
    return any(environ.get(name) for name in CREDENTIAL_VARIABLES)


def choose_backend(environ: t.Mapping[str, str]) -> Backend:
    """Pick the DynamoDB to use from environment variables.

    :param environ: usually :data:`os.environ`.
    """
    if environ.get("SESSION_DYNAMODB_ENDPOINT_URL"):
        return "endpoint"
    has_region = any(environ.get(name) for name in REGION_VARIABLES)
    if has_credentials(environ) and has_region:
        return "aws"
    return "embedded"


def local_session() -> boto3.session.Session:
    """A boto3 session for a local server, which accepts any credentials."""
    return boto3.session.Session(
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )


class EmbeddedDynamoDB:
    """moto's DynamoDB, served over HTTP from a thread of this process.

    It listens on ``host`` only and keeps everything in memory: the table and
    its sessions are gone when it stops. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`.

    :param host: the address to listen on.
    :param port: the port; ``0`` picks a free one.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 (the real port, once started)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start serving; returns once the server listens."""
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self._server = server
        self.port = int(server.get_host_and_port()[1])

    def stop(self) -> None:
        """Stop serving and drop everything stored."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def config(self) -> dict[str, t.Any]:
        """The app config keys that point the session backend here."""
        return {
            "SESSION_DYNAMODB_ENDPOINT_URL": self.endpoint_url,
            "SESSION_DYNAMODB_BOTO3_SESSION": local_session(),
            "SESSION_DYNAMODB_BOTOCORE_CONFIG": LOCAL_CONFIG,
        }

    def __enter__(self) -> EmbeddedDynamoDB:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
