"""Shared fixtures: moto's server behind the test proxy, an app using it on
each transport, and a DynamoDB call counter that reads the proxy."""

from __future__ import annotations

import collections
import time
import typing as t

import pytest
from botocore.config import Config
from dynamo_proxy import DynamoProxy
from flask import Flask, session
from moto import mock_aws
from servers import DynamoServer, MotoServer

from flask_dynamodb_session import DynamoDBSessionInterface, ServerSideSession
from flask_dynamodb_session.transport import LeanClient

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "sessions"


class CallCounter:
    """Counts the DynamoDB calls that reach the server, by operation name.

    It reads them off the test proxy in front of the server, so it sees the
    calls of every transport alike.
    """

    def __init__(self, proxy: DynamoProxy) -> None:
        self.proxy = proxy
        proxy.reset()

    @property
    def calls(self) -> list[str]:
        return self.proxy.operations()

    def reset(self) -> None:
        self.proxy.reset()

    @property
    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(self.calls))

    def take(self) -> dict[str, int]:
        """The counts so far, then start again from zero."""
        counts = self.counts
        self.reset()
        return counts


def create_table(client: DynamoDBClient, name: str = TABLE) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach AWS: dummy credentials and a fixed region."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto() -> Iterator[None]:
    """moto's in-process mock of AWS: boto3 clients made meanwhile never
    leave the process. (It resets moto's state, the shared server's too:
    a test uses either this or :func:`dynamodb`.)"""
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def dynamo_server() -> Iterator[DynamoServer]:
    """moto's DynamoDB server on a free loopback port, for the whole run."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def dynamo_proxy(dynamo_server: DynamoServer) -> Iterator[DynamoProxy]:
    """The recording, fault-injecting proxy the apps of the tests call."""
    with DynamoProxy(dynamo_server.endpoint_url) as proxy:
        yield proxy


@pytest.fixture
def proxy(dynamo_proxy: DynamoProxy) -> Iterator[DynamoProxy]:
    """The proxy, without calls recorded or faults left by earlier tests."""
    dynamo_proxy.heal()
    dynamo_proxy.reset()
    yield dynamo_proxy
    dynamo_proxy.heal()


@pytest.fixture
def dynamodb(
    dynamo_server: DynamoServer, proxy: DynamoProxy
) -> Iterator[DynamoDBClient]:
    """A client of moto's server (past the proxy), the session table new."""
    client = dynamo_server.client()
    if TABLE in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE)
        # dynalite deletes a table in the background.
        while TABLE in client.list_tables()["TableNames"]:
            time.sleep(0.02)
    create_table(client)
    while client.describe_table(TableName=TABLE)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.02)
    proxy.reset()
    yield client
    client.close()


@pytest.fixture
def calls(proxy: DynamoProxy) -> CallCounter:
    """The DynamoDB calls the app makes, as the server receives them."""
    return CallCounter(proxy)


#: The transports of the request path every app fixture runs on.
TRANSPORTS = ["boto3", "lean"]

#: A botocore config for the apps of the tests: quick to give up.
TEST_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=2,
    read_timeout=5,
)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """``"boto3"``, or ``"lean"`` (the ``transport`` option ``"auto"``)."""
    return t.cast(str, request.param)


def served(proxy: DynamoProxy, transport: str, **options: t.Any) -> dict[str, t.Any]:
    """Interface options for an app that calls moto's server through ``proxy``.

    :param transport: ``"boto3"`` or ``"lean"``; with ``"lean"`` the test
        fails if the lean transport was not chosen.
    """
    options.setdefault("botocore_config", TEST_CONFIG)
    return {
        "endpoint_url": proxy.endpoint_url,
        "region_name": "us-east-1",
        "transport": "auto" if transport == "lean" else "boto3",
        **options,
    }


def check_transport(app: Flask, transport: str) -> None:
    """Fail unless ``app``'s item calls go over ``transport``."""
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    lean = isinstance(interface.store_for(app).item_client, LeanClient)
    assert lean == (transport == "lean"), f"expected the {transport} transport"


def make_app(**options: t.Any) -> Flask:
    """A small app exercising the session, with the given interface options."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test secret", TESTING=True)
    app.session_interface = DynamoDBSessionInterface(**options)

    @app.get("/untouched")
    def untouched() -> str:
        return "untouched"

    @app.get("/read")
    def read() -> dict[str, t.Any]:
        return {"data": {k: repr(v) for k, v in session.items()}}

    @app.get("/get/<key>")
    def get(key: str) -> dict[str, t.Any]:
        return {"value": session.get(key)}

    @app.post("/set/<key>/<value>")
    def set_(key: str, value: str) -> str:
        session[key] = value
        return "ok"

    @app.post("/append/<value>")
    def append(value: str) -> str:
        session.setdefault("cart", [])
        session["cart"].append(value)
        return "ok"

    @app.post("/nested/<value>")
    def nested(value: str) -> str:
        session["cart"].append(value)
        return "ok"

    @app.post("/delete/<key>")
    def delete(key: str) -> str:
        del session[key]
        return "ok"

    @app.post("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    @app.post("/login/<user>")
    def login(user: str) -> str:
        t.cast(ServerSideSession, session).regenerate()
        session["user"] = user
        return "ok"

    @app.post("/permanent")
    def permanent() -> str:
        session.permanent = True
        return "ok"

    @app.get("/sid")
    def sid() -> str:
        return str(session.sid)  # type: ignore[attr-defined]

    @app.post("/boom")
    def boom() -> str:
        session["boom"] = "yes"
        raise RuntimeError("boom")

    return app


@pytest.fixture
def options(
    dynamodb: DynamoDBClient, proxy: DynamoProxy, transport: str
) -> dict[str, t.Any]:
    """Interface options of an app on the session table, over this transport."""
    return served(proxy, transport)


@pytest.fixture
def app(dynamodb: DynamoDBClient, proxy: DynamoProxy, transport: str) -> Flask:
    """An app whose sessions live in moto's server, over each transport."""
    app = make_app(**served(proxy, transport))
    check_transport(app, transport)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
