"""The session id in a request and response header instead of a cookie."""

from __future__ import annotations

import typing as t

import pytest

from flask_dynamodb_session import ConfigurationError, DynamoDBSessionInterface
from tests.support.apps import make_app

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.test import TestResponse

    from tests.support.apps import CallCounter

HEADER = "X-Session-Id"

pytestmark = pytest.mark.every_server


@pytest.fixture
def api(options: dict[str, t.Any]) -> Flask:
    """An app whose clients carry the session id in :data:`HEADER`."""
    return make_app(**options, id_header=HEADER)


def token_of(response: TestResponse) -> str:
    value = response.headers.get(HEADER)
    assert value is not None
    return value


def test_the_id_travels_in_the_header(api: Flask, calls: CallCounter) -> None:
    client = api.test_client()
    created = client.post("/set/user/alice")
    token = token_of(created)
    assert "Set-Cookie" not in created.headers
    assert HEADER in created.headers["Vary"]
    assert client.get_cookie("session") is None
    # Signed exactly as the cookie value is: it holds the session's id.
    interface = api.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    sid = interface.get_signer(api).unsign(token).decode("ascii")
    assert interface.store_for(api).get(sid) == {"user": "alice"}

    other = api.test_client()  # another client, another cookie jar
    calls.reset()
    read = other.get("/get/user", headers={HEADER: token})
    assert read.json == {"value": "alice"}
    assert calls.take() == {"GetItem": 1}
    assert HEADER in read.headers["Vary"]
    assert HEADER not in read.headers  # unchanged and fresh: nothing to answer


def test_cookies_are_neither_read_nor_set(
    api: Flask, options: dict[str, t.Any]
) -> None:
    cookie_app = make_app(**options)
    browser = cookie_app.test_client()
    browser.post("/set/user/alice")
    cookie = browser.get_cookie("session")
    assert cookie is not None
    client = api.test_client()
    client.set_cookie("session", cookie.value)
    assert client.get("/get/user").json == {"value": None}
    response = client.post("/set/user/bob")
    assert "Set-Cookie" not in response.headers
    assert token_of(response) != cookie.value


def test_a_tampered_header_is_a_fresh_session_without_a_call(
    api: Flask, calls: CallCounter
) -> None:
    client = api.test_client()
    token = token_of(client.post("/set/user/alice"))
    calls.reset()
    for forged in (token[:-2] + "xx", "not-signed", ""):
        response = client.get("/untouched", headers={HEADER: forged})
        assert response.status_code == 200
        assert client.get("/get/user", headers={HEADER: forged}).json == {"value": None}
    assert calls.take() == {}


def test_a_cleared_session_answers_an_empty_header(
    api: Flask, calls: CallCounter
) -> None:
    client = api.test_client()
    token = token_of(client.post("/set/user/alice"))
    calls.reset()
    cleared = client.post("/clear", headers={HEADER: token})
    assert cleared.headers[HEADER] == ""
    assert "Set-Cookie" not in cleared.headers
    assert calls.take() == {"DeleteItem": 1}
    assert client.get("/get/user", headers={HEADER: token}).json == {"value": None}


def test_a_login_answers_the_new_id(api: Flask) -> None:
    client = api.test_client()
    token = token_of(client.post("/set/cart/apple"))
    login = client.post("/login/alice", headers={HEADER: token})
    new_token = token_of(login)
    assert new_token != token
    assert client.get("/get/user", headers={HEADER: new_token}).json == {
        "value": "alice"
    }
    assert client.get("/get/user", headers={HEADER: token}).json == {"value": None}


def test_auto_reads_carry_the_version_in_the_header(
    options: dict[str, t.Any],
) -> None:
    app = make_app(**options, id_header=HEADER, consistent_read="auto")
    client = app.test_client()
    token = token_of(client.post("/set/user/alice"))
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    assert interface.get_signer(app).unsign(token).decode().endswith(".1")
    assert client.get("/get/user", headers={HEADER: token}).json == {"value": "alice"}


@pytest.mark.parametrize(
    "value", ["X Session", "X-Session:", "", "Set-Cookie", "cookie", 7]
)
def test_the_header_name_is_checked(value: object) -> None:
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_ID_HEADER"):
        DynamoDBSessionInterface(id_header=value)
