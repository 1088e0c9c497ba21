"""The ``dynamodb_called`` signal: one per DynamoDB call of the request path."""

from __future__ import annotations

import typing as t

import pytest

from flask_dynamodb_session import DynamoDBSessionInterface, dynamodb_called
from tests.support.proxy import Fault

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask
    from flask.testing import FlaskClient

    from tests.support.proxy import DynamoProxy


@pytest.fixture
def sent() -> Iterator[list[dict[str, t.Any]]]:
    """What the signal sent during the test, sender included."""
    received: list[dict[str, t.Any]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append({"sender": sender, **kwargs})

    dynamodb_called.connect(receiver)
    yield received
    dynamodb_called.disconnect(receiver)


def test_each_call_of_a_request_is_sent(
    app: Flask, client: FlaskClient, sent: list[dict[str, t.Any]]
) -> None:
    client.post("/set/user/alice")
    client.post("/set/user/bob")
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    assert [call["operation"] for call in sent] == ["PutItem", "GetItem", "UpdateItem"]
    for call in sent:
        assert call["sender"] is interface.store_for(app)
        assert call["table"] == "sessions"
        assert call["attempts"] == 1
        assert call["error"] is None
        assert isinstance(call["duration"], float)
        assert 0 < call["duration"] < 30


def test_a_failed_call_is_sent_with_its_error_code(
    client: FlaskClient, proxy: DynamoProxy, sent: list[dict[str, t.Any]]
) -> None:
    client.post("/set/user/alice")
    proxy.fail(Fault.error(400, "ThrottlingException"), "GetItem")
    sent.clear()
    assert client.get("/read").status_code == 503
    # Two attempts: the tests' apps give up after one retry.
    assert [(c["operation"], c["error"], c["attempts"]) for c in sent] == [
        ("GetItem", "ThrottlingException", 2)
    ]


def test_a_connection_failure_is_sent_with_its_name(
    client: FlaskClient, proxy: DynamoProxy, sent: list[dict[str, t.Any]]
) -> None:
    client.post("/set/user/alice")
    proxy.fail(Fault.drop(), "GetItem")
    sent.clear()
    assert client.get("/read").status_code == 503
    ((call,),) = [sent]
    assert call["operation"] == "GetItem"
    assert call["attempts"] == 2
    assert call["error"] in ("ConnectionClosedError", "EndpointConnectionError")


def test_calls_outside_a_request_are_sent(
    app: Flask, sent: list[dict[str, t.Any]]
) -> None:
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    with app.app_context():
        interface.store.set("x" * 43, {"a": 1})
        assert interface.store.get("x" * 43) == {"a": 1}
        interface.store.delete("x" * 43)
    assert [c["operation"] for c in sent] == ["UpdateItem", "GetItem", "DeleteItem"]


def test_table_setup_is_not_sent(app: Flask, sent: list[dict[str, t.Any]]) -> None:
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    with app.app_context():
        interface.store.create_table()
    assert sent == []
