"""Shared fixtures: a moto table, an app using it, and a DynamoDB call counter."""

from __future__ import annotations

import collections
import typing as t

import boto3
import pytest
from flask import Flask, session
from moto import mock_aws

from flask_dynamodb_session import DynamoDBSessionInterface, ServerSideSession

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "sessions"


class CallCounter:
    """Counts the DynamoDB API calls a client makes, by operation name."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: t.Any, **kwargs: t.Any) -> None:
        self.calls.append(model.name)

    def reset(self) -> None:
        self.calls.clear()

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
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(moto: None) -> Iterator[DynamoDBClient]:
    """A moto DynamoDB client with the session table created."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client)
    yield client
    client.close()


@pytest.fixture
def calls(dynamodb: DynamoDBClient) -> CallCounter:
    """The DynamoDB calls the app makes (registered before any request)."""
    return CallCounter(dynamodb)


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
def app(dynamodb: DynamoDBClient) -> Flask:
    """An app whose sessions live in the moto table, through an injected client."""
    return make_app(client=dynamodb)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
