"""The item's attributes: ``uid`` for a user's sessions, ``created`` and
``max_age`` for the absolute lifetime, written through an app on each
transport."""

from __future__ import annotations

import logging
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from flask import session
from freezegun import freeze_time

from flask_dynamodb_session import ConfigurationError
from flask_dynamodb_session.layout import Layout
from flask_dynamodb_session.options import resolve
from tests.support.apps import TABLE, make_app

if t.TYPE_CHECKING:
    from flask import Flask
    from mypy_boto3_dynamodb import DynamoDBClient

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EPOCH = int(START.timestamp())


def only_item(dynamodb: DynamoDBClient) -> dict[str, t.Any]:
    """The one item that holds a session (items retired by a login aside)."""
    items = dynamodb.scan(TableName=TABLE)["Items"]
    (item,) = [item for item in items if "data" in item]
    return dict(item)


def user_app(options: dict[str, t.Any], **more: t.Any) -> Flask:
    app = make_app(**options, user_key="user", **more)

    @app.post("/user-id/<int:number>")
    def user_id(number: int) -> str:
        session["user"] = number
        return "ok"

    @app.post("/user-flag")
    def user_flag() -> str:
        session["user"] = True
        return "ok"

    return app


# -- uid ------------------------------------------------------------------


def test_uid_follows_the_user_key(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    client = user_app(options, key_prefix="shop:").test_client()
    client.post("/set/cart/tea")
    assert "uid" not in only_item(dynamodb)
    client.post("/set/user/alice")
    assert only_item(dynamodb)["uid"] == {"S": "shop:alice"}
    client.post("/user-id/42")
    assert only_item(dynamodb)["uid"] == {"S": "shop:42"}
    client.post("/delete/user")
    assert "uid" not in only_item(dynamodb)
    assert client.get("/get/cart").json == {"value": "tea"}


def test_uid_is_kept_by_a_touch_and_set_at_login(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    client = user_app(options, touch_after=0).test_client()
    client.post("/login/alice")
    assert only_item(dynamodb)["uid"] == {"S": "alice"}
    before = only_item(dynamodb)
    client.get("/read")  # a touch: only expires and written may change
    after = only_item(dynamodb)
    assert {k: v for k, v in after.items() if k not in ("expires", "written")} == {
        k: v for k, v in before.items() if k not in ("expires", "written")
    }


def test_a_user_id_that_is_not_str_or_int_writes_no_uid(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = user_app(options).test_client()
    client.post("/set/user/alice")
    with caplog.at_level(logging.WARNING, logger="flask_dynamodb_session"):
        assert client.post("/user-flag").status_code == 200
    assert "uid" not in only_item(dynamodb)
    assert "not a str or int user id" in caplog.text


def test_without_user_key_no_uid_is_written(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    client = make_app(**options).test_client()
    client.post("/set/user/alice")
    assert "uid" not in only_item(dynamodb)


def test_store_set_writes_uid_and_keeps_created(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = user_app(options)
    client = app.test_client()
    client.post("/set/cart/tea")
    created = only_item(dynamodb)["created"]
    with app.app_context():
        store = app.session_interface.store  # type: ignore[attr-defined]
        sid = client.get_cookie("session").value.rsplit(".", 1)[0]  # type: ignore[union-attr]
        store.set(sid, {"user": "bob"})
    item = only_item(dynamodb)
    assert item["uid"] == {"S": "bob"}
    assert item["created"] == created


# -- created and max_age --------------------------------------------------


def test_created_is_set_once_and_renewed_at_login(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    client = make_app(**options).test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
    assert only_item(dynamodb)["created"] == {"N": str(EPOCH)}
    with freeze_time(START + timedelta(minutes=5)):
        client.post("/set/user/bob")
    assert only_item(dynamodb)["created"] == {"N": str(EPOCH)}
    with freeze_time(START + timedelta(minutes=10)):
        client.post("/login/carol")
    assert only_item(dynamodb)["created"] == {"N": str(EPOCH + 600)}


def test_max_age_refuses_an_old_but_active_session(
    options: dict[str, t.Any], calls: t.Any
) -> None:
    client = make_app(**options, max_age=3600, touch_after=0).test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
    # Active every ten minutes: the idle ttl never runs out.
    for minutes in range(10, 60, 10):
        with freeze_time(START + timedelta(minutes=minutes)):
            assert client.get("/get/user").json == {"value": "alice"}
    with freeze_time(START + timedelta(minutes=60)):
        assert client.get("/get/user").json == {"value": None}


def test_expires_never_passes_created_plus_max_age(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    client = make_app(**options, max_age=3600, touch_after=0).test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
    assert only_item(dynamodb)["expires"] == {"N": str(EPOCH + 3600)}
    with freeze_time(START + timedelta(minutes=30)):
        client.post("/set/user/bob")
        assert only_item(dynamodb)["expires"] == {"N": str(EPOCH + 3600)}
        client.get("/read")
        assert only_item(dynamodb)["expires"] == {"N": str(EPOCH + 3600)}


def test_a_permanent_cookie_never_outlives_max_age(options: dict[str, t.Any]) -> None:
    app = make_app(**options, max_age=3600)
    app.permanent_session_lifetime = timedelta(days=30)
    client = app.test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
        response = client.post("/permanent")
    cookie = response.headers["Set-Cookie"]
    assert "Expires=Sun, 01 Mar 2026 13:00:00 GMT" in cookie


def test_an_item_without_created_counts_from_written(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    client = make_app(**options, max_age=3600).test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
    item = only_item(dynamodb)
    del item["created"]
    dynamodb.put_item(TableName=TABLE, Item=item)
    with freeze_time(START + timedelta(minutes=59)):
        assert client.get("/get/user").json == {"value": "alice"}
    with freeze_time(START + timedelta(minutes=61)):
        assert client.get("/get/user").json == {"value": None}


# -- the options ----------------------------------------------------------


def test_options_are_read_from_config() -> None:
    settings = resolve(
        {}, {"SESSION_DYNAMODB_USER_KEY": "uid", "SESSION_DYNAMODB_MAX_AGE": "86400"}
    )
    assert (settings.user_key, settings.max_age) == ("uid", 86400)
    assert resolve({"max_age": timedelta(hours=8)}).max_age == 8 * 3600


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("max_age", -1, "SESSION_DYNAMODB_MAX_AGE"),
        ("max_age", "forever", "SESSION_DYNAMODB_MAX_AGE"),
        ("max_age", 10**12, "SESSION_DYNAMODB_MAX_AGE"),
        ("user_key", "", "SESSION_DYNAMODB_USER_KEY"),
        ("user_key", 5, "SESSION_DYNAMODB_USER_KEY"),
    ],
)
def test_bad_values_name_the_key(name: str, value: t.Any, key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        resolve({name: value})


def test_layout_uid_of_int_and_str_ids() -> None:
    layout = Layout(resolve({"user_key": "user", "key_prefix": "a:"}))
    assert layout.uid({"user": 7}) == "a:7"
    assert layout.uid({"user": "bob"}) == "a:bob"
    assert layout.uid({}) is None
    assert layout.uid({"user": ""}) is None
    assert Layout(resolve({})).uid({"user": "bob"}) is None
