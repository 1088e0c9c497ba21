"""Cookies, ids, expiry and the session lifecycle, through Flask's test client."""

from __future__ import annotations

import gc
import hashlib
import logging
import time
import typing as t
import weakref
from datetime import timedelta

import pytest
from flask import Flask, session
from flask.sessions import SessionInterface
from freezegun import freeze_time
from itsdangerous import Signer

from flask_dynamodb_session import ConfigurationError, DynamoDBSessionInterface
from tests.support.apps import TABLE, make_app

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter


def sign(sid: str, secret: str = "test secret") -> str:
    signer = Signer(
        secret,
        salt="flask-dynamodb-session",
        key_derivation="hmac",
        digest_method=hashlib.sha256,
    )
    return signer.sign(sid).decode()


def cookie_sid(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value.rsplit(".", 1)[0]


def stored_items(dynamodb: DynamoDBClient) -> list[dict[str, t.Any]]:
    """The items that hold a session (not those retired by a new id)."""
    return [item for item in dynamodb.scan(TableName=TABLE)["Items"] if "data" in item]


def retired_items(dynamodb: DynamoDBClient) -> list[dict[str, t.Any]]:
    """The items whose session moved to a new id."""
    items = dynamodb.scan(TableName=TABLE)["Items"]
    return [item for item in items if "data" not in item]


def test_cookie_holds_only_a_signed_random_id(
    client: FlaskClient, dynamodb: DynamoDBClient
) -> None:
    client.post("/set/user/alice")
    cookie = client.get_cookie("session")
    assert cookie is not None
    sid, _, signature = cookie.value.rpartition(".")
    assert len(sid) == 43  # 32 bytes, base64url
    assert signature
    assert "alice" not in cookie.value
    assert cookie.value == sign(sid)


def test_ids_are_unique(app: Flask) -> None:
    sids = set()
    for _ in range(20):
        client = app.test_client()
        client.post("/set/a/b")
        sids.add(cookie_sid(client))
    assert len(sids) == 20


def test_table_stores_a_hash_of_the_id(
    client: FlaskClient, dynamodb: DynamoDBClient
) -> None:
    client.post("/set/user/alice")
    sid = cookie_sid(client)
    (item,) = stored_items(dynamodb)
    assert item["id"]["S"] == hashlib.sha256(sid.encode()).hexdigest()
    assert sid not in str(item)
    assert item["data"]["B"][:1] == b"\x00"
    assert int(item["version"]["N"]) == 1


def test_key_prefix(options: dict[str, t.Any], dynamodb: DynamoDBClient) -> None:
    client = make_app(**options, key_prefix="shop:").test_client()
    client.post("/set/user/alice")
    (item,) = stored_items(dynamodb)
    assert (
        item["id"]["S"]
        == "shop:" + hashlib.sha256(cookie_sid(client).encode()).hexdigest()
    )
    other = make_app(**options, key_prefix="blog:").test_client()
    other.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
    assert other.get("/get/user").json == {"value": None}


def test_foreign_secret_is_a_fresh_session(
    client: FlaskClient, calls: CallCounter
) -> None:
    client.post("/set/user/alice")
    sid = cookie_sid(client)
    calls.reset()
    client.set_cookie("session", sign(sid, "another secret"))
    assert client.get("/get/user").json == {"value": None}
    assert calls.take() == {}


def test_flask_cookie_session_value_is_a_fresh_session(
    client: FlaskClient, calls: CallCounter
) -> None:
    cookie_app = Flask(__name__)
    cookie_app.secret_key = "test secret"

    @cookie_app.get("/")
    def index() -> str:
        session["user"] = "mallory"
        return ""

    cookie_client = cookie_app.test_client()
    cookie_client.get("/")
    value = cookie_client.get_cookie("session").value  # type: ignore[union-attr]
    client.set_cookie("session", value)
    response = client.get("/get/user")
    assert response.json == {"value": None}
    assert calls.take() == {}
    # A read sends no cookie; the first write replaces the old one.
    assert "Set-Cookie" not in response.headers
    client.post("/set/user/alice")
    assert client.get_cookie("session").value != value  # type: ignore[union-attr]
    assert client.get("/get/user").json == {"value": "alice"}


def test_validly_signed_unknown_id_is_not_adopted(
    client: FlaskClient, calls: CallCounter
) -> None:
    planted = "A" * 43
    client.set_cookie("session", sign(planted))
    client.post("/set/user/alice")
    assert calls.take() == {"GetItem": 1, "PutItem": 1}
    assert cookie_sid(client) != planted


def test_secret_key_rotation(app: Flask) -> None:
    client = app.test_client()
    client.post("/set/user/alice")
    app.config["SECRET_KEY"] = "new secret"
    app.config["SECRET_KEY_FALLBACKS"] = ["test secret"]
    response = client.post("/set/colour/red")
    assert client.get("/get/user").json == {"value": "alice"}
    # Re-signed with the new key.
    assert client.get_cookie("session").value == sign(  # type: ignore[union-attr]
        cookie_sid(client), "new secret"
    )
    assert response.status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    stale = app.test_client()
    stale.set_cookie("session", sign(cookie_sid(client), "test secret"))
    assert stale.get("/get/user").json == {"value": None}


def test_cookie_settings_follow_flask_config(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = make_app(**options)
    app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_PATH="/shop",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )
    response = app.test_client().post("/set/a/b")
    header = response.headers["Set-Cookie"]
    assert header.startswith("sid=")
    assert "Domain=example.test" in header
    assert "Path=/shop" in header
    assert "Secure" in header
    assert "HttpOnly" not in header
    assert "SameSite=Strict" in header
    if hasattr(SessionInterface, "get_cookie_partitioned"):  # Flask >= 3.1
        assert "Partitioned" in header
    assert "Expires" not in header
    assert response.headers["Vary"] == "Cookie"


def test_non_permanent_session_lives_ttl(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = make_app(**options, ttl=timedelta(hours=2))
    with freeze_time("2026-01-01 00:00:00"):
        app.test_client().post("/set/a/b")
    (item,) = stored_items(dynamodb)
    assert int(item["expires"]["N"]) == 1767225600 + 7200
    assert int(item["written"]["N"]) == 1767225600


def test_permanent_session_uses_permanent_lifetime(
    app: Flask, dynamodb: DynamoDBClient
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=3)
    with freeze_time("2026-01-01 00:00:00"):
        response = app.test_client().post("/permanent")
    (item,) = stored_items(dynamodb)
    assert int(item["expires"]["N"]) == 1767225600 + 3 * 86400
    assert "Expires=Sun, 04 Jan 2026 00:00:00 GMT" in response.headers["Set-Cookie"]


def test_expired_item_is_a_fresh_session(
    options: dict[str, t.Any], app: Flask, dynamodb: DynamoDBClient
) -> None:
    app.session_interface = DynamoDBSessionInterface(**options, ttl=60)
    client = app.test_client()
    with freeze_time("2026-01-01 00:00:00"):
        client.post("/set/user/alice")
    old_sid = cookie_sid(client)
    with freeze_time("2026-01-01 00:01:00"):
        assert client.get("/get/user").json == {"value": None}
        # The stale cookie is dropped, and a new session gets a new id.
        assert client.get_cookie("session") is None
        client.post("/set/user/bob")
    assert cookie_sid(client) != old_sid
    # The read that refused it deleted it: not even a clock set back finds it.
    with freeze_time("2026-01-01 00:00:59"):
        other = app.test_client()
        other.set_cookie("session", sign(old_sid))
        assert other.get("/get/user").json == {"value": None}


def test_touch_pushes_expiry_and_refreshes_cookie(
    app: Flask, dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    client = app.test_client()
    with freeze_time("2026-01-01 00:00:00"):
        client.post("/set/user/alice")
    with freeze_time("2026-01-01 00:00:05"):
        response = client.get("/read")
        assert "Set-Cookie" not in response.headers
    with freeze_time("2026-01-01 00:00:10"):
        response = client.get("/read")
        assert "Set-Cookie" in response.headers
    (item,) = stored_items(dynamodb)
    assert int(item["expires"]["N"]) == 1767225610 + 14 * 86400
    assert int(item["version"]["N"]) == 1


def test_touch_after_zero_touches_every_request(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    client = make_app(**options, touch_after=0).test_client()
    client.post("/set/user/alice")
    calls.reset()
    client.get("/read")
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}


def test_regenerate_keeps_data_and_drops_the_old_id(
    client: FlaskClient, dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    client.post("/set/cart/apple")
    old_cookie = client.get_cookie("session").value  # type: ignore[union-attr]
    calls.reset()
    client.post("/login/alice")
    assert calls.take() == {"GetItem": 1, "PutItem": 1, "UpdateItem": 1}
    assert cookie_sid(client) != old_cookie.rsplit(".", 1)[0]
    assert client.get("/get/cart").json == {"value": "apple"}
    assert client.get("/get/user").json == {"value": "alice"}
    assert len(stored_items(dynamodb)) == 1
    # The old item holds nothing any more, and has expired already.
    (retired,) = retired_items(dynamodb)
    assert set(retired) == {
        "id",
        "expires",
        "written",
        "created",
        "issued",
        "retired",
        "version",
        "write_id",
    }
    assert int(retired["expires"]["N"]) <= time.time()
    replay = client.application.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/get/user").json == {"value": None}


def test_logout_then_flash_starts_a_new_session(
    app: Flask, dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    @app.post("/logout")
    def logout() -> str:
        session.clear()
        session["notice"] = "bye"
        return ""

    client = app.test_client()
    client.post("/set/user/alice")
    old_sid = cookie_sid(client)
    calls.reset()
    client.post("/logout")
    assert calls.take() == {"DeleteItem": 1, "PutItem": 1}
    assert cookie_sid(client) != old_sid
    assert client.get("/get/notice").json == {"value": "bye"}
    assert len(stored_items(dynamodb)) == 1


def test_sid_is_confirmed_before_use(client: FlaskClient) -> None:
    planted = "B" * 43
    client.set_cookie("session", sign(planted))
    assert client.get("/sid").text != planted


def test_undecodable_data_is_a_fresh_session_and_a_warning(
    client: FlaskClient, dynamodb: DynamoDBClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.post("/set/user/alice")
    sid = cookie_sid(client)
    (item,) = stored_items(dynamodb)
    dynamodb.update_item(
        TableName=TABLE,
        Key={"id": item["id"]},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": {"B": b"\x07garbage"}},
    )
    with caplog.at_level(logging.WARNING, logger="flask_dynamodb_session"):
        assert client.get("/get/user").json == {"value": None}
    assert "undecodable session data" in caplog.text
    assert sid not in caplog.text


def test_vary_cookie_only_when_used(client: FlaskClient) -> None:
    assert "Vary" not in client.get("/untouched").headers
    assert client.get("/read").headers["Vary"] == "Cookie"


def test_without_secret_key_requests_are_served_as_flask_does(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    app = make_app(**options)
    app.config["SECRET_KEY"] = None
    client = app.test_client()
    assert client.get("/untouched").status_code == 200
    assert client.get("/missing").status_code == 404
    assert client.get("/read").json == {"data": {}}
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.post("/set/user/alice")
    assert calls.take() == {}


def test_secret_key_fallbacks_as_one_string_is_refused(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
) -> None:
    app = make_app(**options)
    app.config["SECRET_KEY_FALLBACKS"] = "old secret"
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(ConfigurationError, match="SECRET_KEY_FALLBACKS") as info:
        app.test_client().get("/read")
    assert str(info.value) == (
        "SECRET_KEY_FALLBACKS must be a list of old keys, not a single string"
    )


def test_an_interface_frees_the_store_of_a_discarded_app() -> None:
    interface = DynamoDBSessionInterface(
        endpoint_url="http://127.0.0.1:9", region_name="us-east-1"
    )
    stores = []
    for _ in range(5):
        app = Flask(__name__)
        app.secret_key = "s"
        app.session_interface = interface
        app.add_url_rule("/", view_func=lambda: "ok")
        assert app.test_client().get("/").status_code == 200
        store = interface.store_for(app)
        assert store.gateway.admin_client is not None  # built, with its connection pool
        stores.append(weakref.ref(store))
        del app, store
    gc.collect()
    assert [ref() for ref in stores] == [None] * 5


def test_bad_config_value_names_the_key_at_first_request(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
) -> None:
    app = make_app(**options)
    app.session_interface = DynamoDBSessionInterface(**options)
    app.config["SESSION_DYNAMODB_TTL"] = -5
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_TTL"):
        app.test_client().get("/untouched")


def test_session_transaction(client: FlaskClient) -> None:
    with client.session_transaction() as sess:
        sess["user"] = "carol"
    assert client.get("/get/user").json == {"value": "carol"}
    with client.session_transaction() as sess:
        assert sess["user"] == "carol"


def test_store_outside_a_request(app: Flask, client: FlaskClient) -> None:
    client.post("/set/user/alice")
    sid = cookie_sid(client)
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    with app.app_context():
        store = interface.store
        assert store.get(sid) == {"user": "alice"}
        store.set(sid, {"user": "alice", "role": "admin"})
    assert client.get("/get/role").json == {"value": "admin"}
    with app.app_context():
        interface.store.delete(sid)
        assert interface.store.get(sid) is None
    assert client.get("/get/user").json == {"value": None}
