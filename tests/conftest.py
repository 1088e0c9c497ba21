"""The fixtures of the whole suite: servers, the test proxy, tables, apps.

The DynamoDB-compatible servers are started once and shared by the run:
``dynamo_server`` is moto's, or, in a test marked ``every_server``, moto's
and then dynalite's. A test that stops its server takes ``own_server``
instead. The apps call the server through a test proxy of their own
(``proxy``), which counts their calls on either transport and injects
faults. The helpers these fixtures are built from live in
:mod:`tests.support`.
"""

from __future__ import annotations

import contextlib
import typing as t

import pytest
from moto import mock_aws

from flask_dynamodb_session import SessionStore
from flask_dynamodb_session.options import resolve
from tests.support.apps import (
    TABLE,
    TRANSPORTS,
    CallCounter,
    check_transport,
    make_app,
    served,
)
from tests.support.example import ExampleServer
from tests.support.iam import Users
from tests.support.proxy import DynamoProxy
from tests.support.servers import (
    DynaliteServer,
    DynamoServer,
    MotoServer,
    delete_table,
)
from tests.support.tables import USER_KEY, new_table, unique_table
from tests.support.tls import self_signed_certificate

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    StoreMaker = Callable[..., SessionStore]

#: The servers, by the name a test id shows.
SERVERS: dict[str, type[DynamoServer]] = {
    "moto": MotoServer,
    "dynalite": DynaliteServer,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test marked ``every_server`` on each shared server."""
    marked = metafunc.definition.get_closest_marker("every_server") is not None
    if marked and "dynamo_server" in metafunc.fixturenames:
        metafunc.parametrize("dynamo_server", list(SERVERS), indirect=True)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach AWS: dummy credentials and a fixed region."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere botocore looks: none in the environment, no
    credentials or config file, no container or instance role."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    absent = tmp_path / "absent"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(absent / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(absent / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto() -> Iterator[None]:
    """moto's in-process mock of AWS: boto3 clients made meanwhile never
    leave the process. (It resets moto's state, the shared server's too:
    a test uses either this or :func:`dynamodb`.)"""
    with mock_aws():
        yield


# -- servers -------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's DynamoDB server on a free loopback port, for the whole run."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def dynalite_server() -> Iterator[DynaliteServer]:
    """dynalite on a free loopback port, for the whole run (from its first use)."""
    with DynaliteServer() as server:
        yield server


@pytest.fixture(scope="session")
def dynamo_server(request: pytest.FixtureRequest) -> DynamoServer:
    """The shared server of the test: moto's, or each in turn with the
    ``every_server`` mark."""
    name = getattr(request, "param", "moto")
    server: DynamoServer = request.getfixturevalue(f"{name}_server")
    return server


@pytest.fixture(params=list(SERVERS))
def own_server(request: pytest.FixtureRequest) -> Iterator[DynamoServer]:
    """A server of the test's own, which it may stop: moto's, then dynalite."""
    with SERVERS[request.param]() as server:
        yield server


@pytest.fixture(scope="module")
def iam_server() -> Iterator[MotoServer]:
    """moto with IAM authentication on, for the module. (While it runs, moto
    authenticates the requests of every server and mock in the process.)"""
    with MotoServer(iam_auth=True) as server:
        yield server


@pytest.fixture(scope="module")
def users(iam_server: MotoServer) -> Users:
    """IAM users of :func:`iam_server`, one per set of allowed actions."""
    return Users(iam_server)


# -- the proxy and tables --------------------------------------------------------


@pytest.fixture
def proxy(dynamo_server: DynamoServer) -> Iterator[DynamoProxy]:
    """The recording, fault-injecting proxy the apps of the test call."""
    with DynamoProxy(dynamo_server.endpoint_url) as running:
        yield running


@pytest.fixture
def calls(proxy: DynamoProxy) -> CallCounter:
    """The DynamoDB calls the app makes, as the server receives them."""
    return CallCounter(proxy)


@pytest.fixture
def direct(dynamo_server: DynamoServer) -> Iterator[DynamoDBClient]:
    """A client of the server, past the proxy."""
    with contextlib.closing(dynamo_server.client()) as client:
        yield client


@pytest.fixture
def user_index() -> bool:
    """Whether the tables of the test have the index of users' sessions
    (a module that needs it overrides this)."""
    return False


@pytest.fixture
def dynamodb(
    direct: DynamoDBClient, proxy: DynamoProxy, user_index: bool
) -> DynamoDBClient:
    """A client of the server (past the proxy), the session table new."""
    new_table(direct, TABLE, index=user_index)
    return direct


@pytest.fixture
def table_name(direct: DynamoDBClient) -> Iterator[str]:
    """A table name of this test only, for the test to create; the table is
    dropped after the test."""
    name = unique_table()
    yield name
    delete_table(direct, name)


@pytest.fixture
def admin(iam_server: MotoServer) -> Iterator[DynamoDBClient]:
    """A client of :func:`iam_server` allowed everything."""
    with contextlib.closing(iam_server.client()) as client:
        yield client


@pytest.fixture
def iam_table(admin: DynamoDBClient, user_index: bool) -> str:
    """A new on-demand table of :func:`iam_server`, of this test only."""
    name = unique_table()
    new_table(admin, name, index=user_index)
    return name


# -- apps ------------------------------------------------------------------------


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """``"boto3"``, or ``"lean"`` (the ``transport`` option ``"auto"``)."""
    return t.cast(str, request.param)


@pytest.fixture
def options(
    dynamodb: DynamoDBClient, proxy: DynamoProxy, transport: str
) -> dict[str, t.Any]:
    """Interface options of an app on the session table, over this transport."""
    return served(proxy, transport)


@pytest.fixture
def app(options: dict[str, t.Any], transport: str) -> Flask:
    """An app whose sessions live in the server, over each transport."""
    app = make_app(**options)
    check_transport(app, transport)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def stores(options: dict[str, t.Any]) -> Iterator[StoreMaker]:
    """Makes stores of the app's table with ``user_key`` set, closed after."""
    made: list[SessionStore] = []

    def make(**extra: t.Any) -> SessionStore:
        store = SessionStore(resolve({**options, "user_key": USER_KEY, **extra}))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` only: (cert, key)."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[ExampleServer]:
    """``python -m example_app`` as a real server, killed after the test."""
    server = ExampleServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.kill()
