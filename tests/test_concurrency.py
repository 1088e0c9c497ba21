"""Conditional writes and key-level merge, with requests interleaved by hand."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, Response

from flask_dynamodb_session import DynamoDBSessionInterface
from flask_dynamodb_session.session import ServerSideSession
from flask_dynamodb_session.session_items import MAX_SAVE_ATTEMPTS
from tests.support.apps import TABLE

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter
    from tests.support.proxy import DynamoProxy


class Request:
    """One request of a session, opened now and saved when told to."""

    def __init__(self, app: Flask, cookie: str) -> None:
        self.app = app
        self.context = app.test_request_context(headers={"Cookie": f"session={cookie}"})
        self.context.push()
        interface = app.session_interface
        session = interface.open_session(app, self.context.request)
        assert isinstance(session, ServerSideSession)
        self.session = session
        self.context.pop()

    def save(self) -> Response:
        response = self.app.response_class("")
        with self.context:
            self.app.session_interface.save_session(self.app, self.session, response)
        return response


@pytest.fixture
def cookie(client: FlaskClient) -> str:
    client.post("/set/user/alice")
    value = client.get_cookie("session")
    assert value is not None
    return value.value


def live_items(dynamodb: DynamoDBClient) -> list[dict[str, t.Any]]:
    """The items that hold a session (not those retired by a new id)."""
    return [item for item in dynamodb.scan(TableName=TABLE)["Items"] if "data" in item]


def stored_user_data(client: FlaskClient) -> dict[str, t.Any]:
    body = t.cast(dict[str, dict[str, t.Any]], client.get("/read").json)
    return body["data"]


def test_different_keys_both_persist(
    app: Flask, client: FlaskClient, cookie: str, calls: CallCounter
) -> None:
    first, second = Request(app, cookie), Request(app, cookie)
    first.session["colour"] = "red"
    second.session["size"] = "L"
    calls.reset()
    first.save()
    assert calls.take() == {"UpdateItem": 1}
    second.save()
    # The failed condition returns the stored item: no extra read.
    assert calls.take() == {"UpdateItem": 2}
    assert stored_user_data(client) == {
        "user": "'alice'",
        "colour": "'red'",
        "size": "'L'",
    }


def test_removed_key_stays_removed_after_a_merge(
    app: Flask, client: FlaskClient, cookie: str
) -> None:
    first, second = Request(app, cookie), Request(app, cookie)
    first.session["colour"] = "red"
    del second.session["user"]
    second.session["anon"] = True
    first.save()
    second.save()
    assert stored_user_data(client) == {"colour": "'red'", "anon": "True"}


def test_same_key_last_writer_wins(
    app: Flask, client: FlaskClient, cookie: str
) -> None:
    first, second = Request(app, cookie), Request(app, cookie)
    first.session["user"] = "bob"
    second.session["user"] = "carol"
    first.save()
    second.save()
    assert stored_user_data(client) == {"user": "'carol'"}


def test_logout_is_not_undone_by_a_slow_change(
    app: Flask, client: FlaskClient, cookie: str, dynamodb: DynamoDBClient
) -> None:
    slow = Request(app, cookie)
    slow.session["cart"] = ["apple"]
    logout = Request(app, cookie)
    logout.session.clear()
    logout.save()
    response = slow.save()
    assert dynamodb.scan(TableName=TABLE)["Items"] == []
    assert "session=;" in response.headers["Set-Cookie"]
    assert stored_user_data(client) == {}


def test_logout_is_not_undone_by_a_slow_touch(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    from tests.support.apps import make_app

    app = make_app(**options, touch_after=0)
    client = app.test_client()
    client.post("/set/user/alice")
    cookie = client.get_cookie("session").value  # type: ignore[union-attr]
    slow = Request(app, cookie)
    assert slow.session["user"] == "alice"
    logout = Request(app, cookie)
    logout.session.clear()
    logout.save()
    calls.reset()
    response = slow.save()
    assert calls.take() == {"UpdateItem": 1}
    assert dynamodb.scan(TableName=TABLE)["Items"] == []
    assert "session=;" in response.headers["Set-Cookie"]


def test_endless_conflicts_end_in_a_503(
    app: Flask,
    client: FlaskClient,
    cookie: str,
    dynamodb: DynamoDBClient,
    proxy: DynamoProxy,
) -> None:
    request = Request(app, cookie)
    request.session["colour"] = "red"

    def bump(operation: str, body: dict[str, t.Any]) -> None:
        if operation == "UpdateItem" and body.get("ConditionExpression") == "#v = :v":
            dynamodb.update_item(
                TableName=TABLE,
                Key=body["Key"],
                UpdateExpression="ADD #v :one",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    proxy.before_forward = bump
    response = request.save()
    proxy.heal()
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    item = dynamodb.scan(TableName=TABLE)["Items"][0]
    assert int(item["version"]["N"]) == 1 + MAX_SAVE_ATTEMPTS
    assert stored_user_data(client) == {"user": "'alice'"}


def test_merge_works_without_return_values_on_failure(
    app: Flask,
    client: FlaskClient,
    cookie: str,
    proxy: DynamoProxy,
    calls: CallCounter,
) -> None:
    """Servers that do not return the item on a failed condition are re-read."""

    def strip(
        operation: str, request: dict[str, t.Any], status: int, body: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation == "UpdateItem":
            body.pop("Item", None)
        return body

    proxy.rewrite = strip
    first, second = Request(app, cookie), Request(app, cookie)
    first.session["colour"] = "red"
    second.session["size"] = "L"
    first.save()
    calls.reset()
    second.save()
    assert calls.take() == {"UpdateItem": 2, "GetItem": 1}
    assert stored_user_data(client)["size"] == "'L'"
    assert stored_user_data(client)["colour"] == "'red'"


def test_interface_store_set_bumps_the_version(
    app: Flask, client: FlaskClient, cookie: str
) -> None:
    request = Request(app, cookie)
    request.session["colour"] = "red"
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    sid = cookie.rsplit(".", 1)[0]
    with app.app_context():
        interface.store.set(sid, {"user": "alice", "role": "admin"})
    request.save()
    assert stored_user_data(client) == {
        "user": "'alice'",
        "role": "'admin'",
        "colour": "'red'",
    }


def login_request(app: Flask, cookie: str, user: str) -> Request:
    """A login: it reads the session, regenerates it and stores the user."""
    request = Request(app, cookie)
    request.session.regenerate()
    request.session["user"] = user
    return request


def new_cookie(response: Response) -> str | None:
    header = response.headers.get("Set-Cookie", "")
    value = header.split(";", 1)[0].split("=", 1)[1] if header else ""
    return value or None


def test_regenerate_does_not_undo_a_logout(
    app: Flask, cookie: str, dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    login = login_request(app, cookie, "bob")
    logout = Request(app, cookie)
    logout.session.clear()
    logout.save()
    calls.reset()
    response = login.save()
    # The new item is created, the old one's conditional retirement finds it
    # gone (a strongly consistent read confirms it), and the new one is
    # deleted again.
    assert calls.take() == {
        "PutItem": 1,
        "UpdateItem": 1,
        "GetItem": 1,
        "DeleteItem": 1,
    }
    assert dynamodb.scan(TableName=TABLE)["Items"] == []
    assert new_cookie(response) is None
    assert "session=;" in response.headers["Set-Cookie"]


def test_regenerate_does_not_undo_a_revocation(
    app: Flask, client: FlaskClient, cookie: str, dynamodb: DynamoDBClient
) -> None:
    login = login_request(app, cookie, "bob")
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    with app.app_context():
        interface.store.delete(cookie.rsplit(".", 1)[0])
    login.save()
    assert dynamodb.scan(TableName=TABLE)["Items"] == []
    assert stored_user_data(client) == {}


def test_regenerate_merges_a_change_made_meanwhile(
    app: Flask, client: FlaskClient, cookie: str, dynamodb: DynamoDBClient
) -> None:
    login = login_request(app, cookie, "bob")
    other = Request(app, cookie)
    other.session["cart"] = ["apple"]
    other.save()
    response = login.save()
    assert len(live_items(dynamodb)) == 1
    value = new_cookie(response)
    assert value is not None
    assert value != cookie
    client.set_cookie("session", value)
    assert stored_user_data(client) == {"user": "'bob'", "cart": "['apple']"}


def test_regenerate_wins_a_race_on_the_same_key(
    app: Flask, client: FlaskClient, cookie: str, dynamodb: DynamoDBClient
) -> None:
    login = login_request(app, cookie, "bob")
    other = Request(app, cookie)
    other.session["user"] = "carol"
    other.save()
    value = new_cookie(login.save())
    assert value is not None
    client.set_cookie("session", value)
    assert stored_user_data(client) == {"user": "'bob'"}
    assert len(live_items(dynamodb)) == 1


def test_regenerate_without_a_race_costs_a_put_and_an_update(
    app: Flask, client: FlaskClient, cookie: str, calls: CallCounter
) -> None:
    calls.reset()
    client.post("/login/bob")
    assert calls.take() == {"GetItem": 1, "PutItem": 1, "UpdateItem": 1}
    client.set_cookie("session", cookie)
    assert stored_user_data(client) == {}


def put_without_version(dynamodb: DynamoDBClient, cookie: str) -> None:
    """Replace the stored item by one written without a version attribute."""
    from flask_dynamodb_session import serialization
    from flask_dynamodb_session.options import resolve
    from flask_dynamodb_session.store import SessionStore

    key = SessionStore(resolve({"client": dynamodb})).key(cookie.rsplit(".", 1)[0])
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "id": {"S": key},
            "data": {"B": serialization.encode({"user": "alice"})},
            "expires": {"N": "9999999999"},
        },
    )


def test_item_without_a_version_saves_in_one_write(
    app: Flask,
    client: FlaskClient,
    cookie: str,
    dynamodb: DynamoDBClient,
    calls: CallCounter,
) -> None:
    put_without_version(dynamodb, cookie)
    calls.reset()
    assert client.post("/set/colour/red").status_code == 200
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    assert stored_user_data(client) == {"user": "'alice'", "colour": "'red'"}
    item = dynamodb.scan(TableName=TABLE)["Items"][0]
    assert item["version"] == {"N": "1"}


def test_item_without_a_version_merges_and_regenerates(
    app: Flask, client: FlaskClient, cookie: str, dynamodb: DynamoDBClient
) -> None:
    put_without_version(dynamodb, cookie)
    first, second = Request(app, cookie), Request(app, cookie)
    first.session["colour"] = "red"
    second.session["size"] = "L"
    first.save()
    assert second.save().status_code == 200
    assert stored_user_data(client) == {
        "user": "'alice'",
        "colour": "'red'",
        "size": "'L'",
    }
    put_without_version(dynamodb, cookie)
    assert client.post("/login/bob").status_code == 200
    assert stored_user_data(client) == {"user": "'bob'"}
    assert len(live_items(dynamodb)) == 1
