"""The exact DynamoDB calls of each kind of request: the physical minimum."""

from __future__ import annotations

import typing as t

from freezegun import freeze_time

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from tests.support.apps import CallCounter


def login(client: FlaskClient, calls: CallCounter) -> None:
    client.post("/set/user/alice")
    calls.reset()


def test_untouched_without_cookie(client: FlaskClient, calls: CallCounter) -> None:
    response = client.get("/untouched")
    assert response.status_code == 200
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers


def test_untouched_with_cookie(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    response = client.get("/untouched")
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers


def test_static_file(app: Flask, calls: CallCounter, tmp_path: t.Any) -> None:
    (tmp_path / "style.css").write_text("body {}")
    app.static_folder = str(tmp_path)
    client = app.test_client()
    login(client, calls)
    response = client.get("/static/style.css")
    response.close()
    assert response.status_code == 200
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers


def test_tampered_cookie(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.set_cookie("session", cookie.value[:-2] + "xx")
    response = client.get("/read")
    assert response.json == {"data": {}}
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers
    for path in ("/untouched", "/static/missing.css"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers
    assert calls.take() == {}


def test_malformed_cookie(client: FlaskClient, calls: CallCounter) -> None:
    client.set_cookie("session", "not-even-signed")
    response = client.get("/read")
    assert response.json == {"data": {}}
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers


def test_new_session_read_costs_nothing(
    client: FlaskClient, calls: CallCounter
) -> None:
    response = client.get("/read")
    assert response.json == {"data": {}}
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers


def test_read(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    with freeze_time(None) as frozen:
        frozen.tick(60)
        response = client.get("/read")
    assert response.json == {"data": {"user": "'alice'"}}
    # Older than touch_after: the read also pushes the expiry.
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}


def test_read_within_touch_after(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    for _ in range(3):
        response = client.get("/read")
        assert response.json == {"data": {"user": "'alice'"}}
        assert calls.take() == {"GetItem": 1}
        assert "Set-Cookie" not in response.headers


def test_create(client: FlaskClient, calls: CallCounter) -> None:
    response = client.post("/set/user/alice")
    assert calls.take() == {"PutItem": 1}
    assert "Set-Cookie" in response.headers


def test_change(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    response = client.post("/set/colour/blue")
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    assert "Set-Cookie" in response.headers


def test_nested_change(client: FlaskClient, calls: CallCounter) -> None:
    client.post("/append/apple")
    calls.reset()
    client.post("/nested/pear")
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    assert client.get("/get/cart").json == {"value": ["apple", "pear"]}


def test_clear(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    response = client.post("/clear")
    assert calls.take() == {"DeleteItem": 1}
    assert client.get_cookie("session") is None
    assert "Set-Cookie" in response.headers


def test_deleting_the_last_key(client: FlaskClient, calls: CallCounter) -> None:
    login(client, calls)
    client.get("/read")
    calls.reset()
    client.post("/delete/user")
    assert calls.take() == {"GetItem": 1, "DeleteItem": 1}
    assert client.get_cookie("session") is None


def test_clear_new_session(client: FlaskClient, calls: CallCounter) -> None:
    response = client.post("/clear")
    assert calls.take() == {}
    assert "Set-Cookie" not in response.headers


def test_refresh_off_never_touches(app: Flask, calls: CallCounter) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    client = app.test_client()
    login(client, calls)
    with freeze_time(None) as frozen:
        frozen.tick(3600)
        response = client.get("/read")
    assert calls.take() == {"GetItem": 1}
    assert "Set-Cookie" not in response.headers


def test_setting_a_key_to_the_value_it_holds_writes_nothing(
    app: Flask, calls: CallCounter
) -> None:
    """The common ``session.permanent = True`` on every request costs no write
    once the session is permanent: it is an unchanged read."""
    from flask import session

    @app.before_request
    def stay_permanent() -> None:
        session.permanent = True

    @app.post("/same/user/<value>")
    def same(value: str) -> str:
        session["user"] = value
        return "same"

    client = app.test_client()
    login(client, calls)
    for path in ("/read", "/read", "/same/user/alice"):
        response = client.open(path, method="POST" if "same" in path else "GET")
        assert calls.take() == {"GetItem": 1}
        assert "Set-Cookie" not in response.headers
    with freeze_time(None) as frozen:
        frozen.tick(3600)
        response = client.get("/read")
    # Older than touch_after: pushed like any read session.
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    assert "Set-Cookie" in response.headers


def test_marking_modified_pushes_the_expiry(app: Flask, calls: CallCounter) -> None:
    """``session.modified = True`` with nothing changed still saves: the
    expiry is pushed and the cookie set again, as the app asked."""
    from flask import session

    @app.post("/mark")
    def mark() -> str:
        session.get("user")
        session.modified = True
        return "marked"

    client = app.test_client()
    login(client, calls)
    response = client.post("/mark")
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    assert "Set-Cookie" in response.headers
