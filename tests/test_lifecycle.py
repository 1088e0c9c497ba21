"""The session lifecycle: signals, expiry reported once, a limit per user,
id rotation with a grace, and what each device is."""

from __future__ import annotations

import base64
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from flask_dynamodb_session import (
    DynamoDBSessionInterface,
    session_created,
    session_ended,
    session_rotated,
)
from tests.support.apps import COOKIE, TABLE, make_app, sid_of, store_of

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from blinker import NamedSignal
    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
USER_KEY = "user"

pytestmark = pytest.mark.every_server


@pytest.fixture
def user_index() -> bool:
    """The tables of this module have the index of users' sessions."""
    return True


class Seen(t.NamedTuple):
    """One signal received."""

    signal: str
    sender: object
    kwargs: dict[str, t.Any]


@pytest.fixture
def seen() -> Iterator[list[Seen]]:
    """Every lifecycle signal sent during the test, in order."""
    received: list[Seen] = []
    receivers = []
    signals: list[NamedSignal] = [session_created, session_rotated, session_ended]
    for signal in signals:

        def receiver(sender: object, _name: str = signal.name, **kwargs: t.Any) -> None:
            received.append(Seen(_name, sender, kwargs))

        signal.connect(receiver)
        receivers.append((signal, receiver))
    yield received
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def names(seen: list[Seen]) -> list[str]:
    return [entry.signal for entry in seen]


# -- signals ---------------------------------------------------------------------


def test_created_then_logged_out(
    options: dict[str, t.Any], seen: list[Seen], calls: CallCounter
) -> None:
    app = make_app(**options, user_key=USER_KEY)
    client = app.test_client()
    client.post("/set/user/alice")
    handle = store_of(app).key(sid_of(app, client))
    client.post("/set/theme/dark")
    calls.reset()
    client.post("/clear")
    assert calls.take() == {"DeleteItem": 1}  # the deleted item tells the user
    assert seen == [
        Seen("session-created", app, {"handle": handle, "user_id": "alice"}),
        Seen(
            "session-ended",
            app,
            {"handle": handle, "user_id": "alice", "reason": "logout"},
        ),
    ]


def test_a_login_is_one_rotation(options: dict[str, t.Any], seen: list[Seen]) -> None:
    app = make_app(**options, user_key=USER_KEY)
    client = app.test_client()
    client.post("/set/cart/apple")
    old_handle = store_of(app).key(sid_of(app, client))
    seen.clear()
    client.post("/login/bob")
    new_handle = store_of(app).key(sid_of(app, client))
    assert seen == [
        Seen(
            "session-rotated",
            app,
            {"handle": new_handle, "old_handle": old_handle, "user_id": "bob"},
        )
    ]


def test_no_signal_without_a_write(options: dict[str, t.Any], seen: list[Seen]) -> None:
    app = make_app(**options)
    client = app.test_client()
    client.get("/read")
    client.post("/clear")
    assert seen == []


def test_revocations_are_reported_by_the_store(
    options: dict[str, t.Any], seen: list[Seen]
) -> None:
    app = make_app(**options, user_key=USER_KEY)
    laptop, phone, tablet = (app.test_client() for _ in range(3))
    for browser in (laptop, phone, tablet):
        browser.post("/login/alice")
    store = store_of(app)
    seen.clear()
    assert store.revoke(store.key(sid_of(app, laptop)), user_id="alice")
    assert store.revoke_user("alice", keep_sid=sid_of(app, tablet)) == 1
    store.delete(sid_of(app, tablet))
    assert names(seen) == ["session-ended"] * 3
    assert {entry.sender for entry in seen} == {store}
    assert [entry.kwargs["reason"] for entry in seen] == ["revoked"] * 3
    assert [entry.kwargs["user_id"] for entry in seen] == ["alice"] * 3


# -- expiry, reported once ----------------------------------------------------------


def test_an_expired_session_is_deleted_and_reported_once(
    options: dict[str, t.Any],
    seen: list[Seen],
    calls: CallCounter,
    dynamodb: DynamoDBClient,
) -> None:
    app = make_app(**options, user_key=USER_KEY, ttl=3600)
    client = app.test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
    handle = store_of(app).key(sid_of(app, client))
    seen.clear()
    calls.reset()
    with freeze_time(START + timedelta(hours=2)):
        assert client.get("/get/user").json == {"value": None}
        assert calls.take() == {"GetItem": 1, "DeleteItem": 1}
        assert dynamodb.scan(TableName=TABLE)["Items"] == []
        assert seen == [
            Seen(
                "session-ended",
                app,
                {"handle": handle, "user_id": "alice", "reason": "expired"},
            )
        ]
        assert store_of(app).delete_expired().deleted == 0
    assert len(seen) == 1


def test_a_session_past_max_age_is_reported_expired(
    options: dict[str, t.Any], seen: list[Seen]
) -> None:
    app = make_app(**options, max_age=3600, touch_after=0)
    client = app.test_client()
    with freeze_time(START):
        client.post("/set/user/alice")
    for minutes in (20, 40):
        with freeze_time(START + timedelta(minutes=minutes)):
            assert client.get("/get/user").json == {"value": "alice"}
    with freeze_time(START + timedelta(minutes=61)):
        assert client.get("/get/user").json == {"value": None}
    assert [entry.kwargs.get("reason") for entry in seen] == [None, "expired"]


def test_the_sweep_reports_what_it_deletes(
    options: dict[str, t.Any], seen: list[Seen]
) -> None:
    app = make_app(**options, user_key=USER_KEY, ttl=3600)
    browsers = [app.test_client() for _ in range(2)]
    with freeze_time(START):
        browsers[0].post("/login/alice")  # a new session: nothing retired
        browsers[1].post("/set/cart/apple")
        browsers[1].post("/login/bob")  # leaves a retired item behind
    seen.clear()
    store = store_of(app)
    sweep = store.delete_expired(now=START + timedelta(hours=2), segments=1)
    assert sweep.deleted == 3
    assert names(seen) == ["session-ended"] * 2
    assert {entry.sender for entry in seen} == {store}
    assert {entry.kwargs["user_id"] for entry in seen} == {"alice", "bob"}
    assert {entry.kwargs["reason"] for entry in seen} == {"expired"}


# -- a limit per user -----------------------------------------------------------------


def test_a_login_beyond_the_limit_ends_the_least_recent_sessions(
    options: dict[str, t.Any], seen: list[Seen]
) -> None:
    app = make_app(**options, user_key=USER_KEY, max_sessions=3)
    devices = [app.test_client() for _ in range(3)]
    for minute, device in enumerate(devices):
        with freeze_time(START + timedelta(minutes=minute)):
            device.post("/login/alice")
    assert [entry.signal for entry in seen] == ["session-created"] * 3
    with freeze_time(START + timedelta(minutes=5)):
        devices[0].post("/set/theme/dark")  # the first device is active again
    store = store_of(app)
    handles = [store.key(sid_of(app, device)) for device in devices]
    with freeze_time(START + timedelta(minutes=6)):
        newest = app.test_client()
        newest.post("/login/alice")
        kept = {session.handle for session in store.sessions_of("alice")}
    assert kept == {store.key(sid_of(app, newest)), handles[0], handles[2]}
    ended = [entry for entry in seen if entry.signal == "session-ended"]
    assert [(entry.kwargs["handle"], entry.kwargs["reason"]) for entry in ended] == [
        (handles[1], "evicted")
    ]
    assert ended[0].sender is app
    with freeze_time(START + timedelta(minutes=7)):
        assert devices[1].get("/get/user").json == {"value": None}
        assert devices[0].get("/get/user").json == {"value": "alice"}


def test_max_sessions_needs_user_key() -> None:
    from flask_dynamodb_session import ConfigurationError

    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_USER_KEY"):
        DynamoDBSessionInterface(max_sessions=2)


# -- id rotation ----------------------------------------------------------------------


def rotating_app(options: dict[str, t.Any]) -> Flask:
    return make_app(
        **options,
        user_key=USER_KEY,
        rotate_after=600,
        rotation_grace=30,
        touch_after=3600,
    )


def test_an_old_id_moves_to_a_new_one(
    options: dict[str, t.Any],
    seen: list[Seen],
    calls: CallCounter,
    dynamodb: DynamoDBClient,
) -> None:
    app = rotating_app(options)
    client = app.test_client()
    with freeze_time(START):
        client.post("/login/alice")
        client.post("/set/cart/apple")
    old_sid = sid_of(app, client)
    seen.clear()
    with freeze_time(START + timedelta(minutes=5)):
        calls.reset()
        assert client.get("/get/user").json == {"value": "alice"}
        assert calls.take() == {"GetItem": 1}  # not due: nothing more
    with freeze_time(START + timedelta(minutes=11)):
        calls.reset()
        assert client.get("/get/user").json == {"value": "alice"}
        assert calls.take() == {"GetItem": 1, "PutItem": 1, "UpdateItem": 1}
    new_sid = sid_of(app, client)
    assert new_sid != old_sid
    store = store_of(app)
    assert seen == [
        Seen(
            "session-rotated",
            app,
            {
                "handle": store.key(new_sid),
                "old_handle": store.key(old_sid),
                "user_id": "alice",
            },
        )
    ]
    with freeze_time(START + timedelta(minutes=12)):
        assert client.get("/read").json == {
            "data": {"user": "'alice'", "cart": "'apple'"}
        }
        (session,) = store.sessions_of("alice")
    # The creation time is kept: a rotation is no login.
    assert session.created_at == START
    # Nothing in the table is a usable id.
    new_raw = base64.urlsafe_b64decode(new_sid + "=")
    items = dynamodb.scan(TableName=TABLE)["Items"]
    (retired,) = [item for item in items if "next" in item]
    assert retired["next"]["B"] != new_raw
    for item in items:
        for value in item.values():
            assert new_sid not in repr(value)
            assert old_sid not in repr(value)
            assert new_raw not in bytes(value.get("B", b""))


def logged_in_tab(app: Flask) -> tuple[FlaskClient, str]:
    """A browser tab logged in at :data:`START`, and its cookie's value."""
    tab = app.test_client()
    with freeze_time(START):
        tab.post("/login/alice")
    cookie = tab.get_cookie(COOKIE)
    assert cookie is not None
    return tab, cookie.value


def test_the_old_id_leads_to_the_session_during_the_grace(
    options: dict[str, t.Any], seen: list[Seen], calls: CallCounter
) -> None:
    app = rotating_app(options)
    tab, old_cookie = logged_in_tab(app)
    other_tab = app.test_client()
    other_tab.set_cookie(COOKIE, old_cookie)
    with freeze_time(START + timedelta(minutes=11)):
        tab.get("/read")  # rotates
    new_sid = sid_of(app, tab)
    seen.clear()
    with freeze_time(START + timedelta(minutes=11, seconds=20)):
        calls.reset()
        assert other_tab.get("/get/user").json == {"value": "alice"}
        assert calls.take() == {"GetItem": 2}
        assert sid_of(app, other_tab) == new_sid
        assert other_tab.post("/set/theme/dark").status_code == 200
        assert tab.get("/get/theme").json == {"value": "dark"}
    late_tab = app.test_client()
    late_tab.set_cookie(COOKIE, old_cookie)
    with freeze_time(START + timedelta(minutes=12)):
        assert late_tab.get("/get/user").json == {"value": None}
        assert tab.get("/get/user").json == {"value": "alice"}
    assert seen == []  # neither the grace nor its end is an event


def test_a_request_in_flight_during_a_rotation_follows_it(
    options: dict[str, t.Any],
) -> None:
    app = rotating_app(options)
    tab, old_cookie = logged_in_tab(app)
    interface = app.session_interface
    with freeze_time(START + timedelta(minutes=11)):
        # The slow request reads the session before the rotation...
        context = app.test_request_context(headers={"Cookie": f"{COOKIE}={old_cookie}"})
        with context:
            slow = interface.open_session(app, context.request)
            assert slow is not None
            assert slow["user"] == "alice"
        tab.get("/read")  # ...another request rotates it...
        assert sid_of(app, tab) != old_cookie
        slow["cart"] = ["pear"]
        response = app.response_class("")
        with context:
            interface.save_session(app, slow, response)  # ...then it saves.
    # Not a logout: the slow request's cookie is set to the session's id.
    assert response.headers["Set-Cookie"].startswith(f"{COOKIE}=")
    assert "Expires=Thu, 01 Jan 1970" not in response.headers["Set-Cookie"]
    with freeze_time(START + timedelta(minutes=11, seconds=5)):
        # Both tabs hold the one session, with the slow request's change.
        assert tab.get("/get/cart").json == {"value": ["pear"]}
        assert tab.get("/get/user").json == {"value": "alice"}


def test_rotation_options_are_checked() -> None:
    from flask_dynamodb_session import ConfigurationError

    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_ROTATION_GRACE"):
        DynamoDBSessionInterface(rotation_grace=-1)
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_ROTATE_AFTER"):
        DynamoDBSessionInterface(rotate_after=0)


# -- what each device is -------------------------------------------------------------


def test_the_client_is_recorded_at_the_first_write(
    options: dict[str, t.Any],
) -> None:
    app = make_app(**options, user_key=USER_KEY, record_client=True)
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    laptop = app.test_client()
    laptop.post(
        "/login/alice",
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    phone = app.test_client()
    phone.post(
        "/login/alice",
        headers={"User-Agent": "x" * 1000},
        environ_base={"REMOTE_ADDR": "2001:db8::1"},
    )
    laptop.post("/set/theme/dark", headers={"User-Agent": "changed"})
    store = store_of(app)
    found = {
        session.handle: (session.user_agent, session.ip)
        for session in store.sessions_of("alice")
    }
    assert found == {
        store.key(sid_of(app, laptop)): (agent, "203.0.113.7"),
        store.key(sid_of(app, phone)): ("x" * 256, "2001:db8::1"),
    }


def test_nothing_is_recorded_by_default(options: dict[str, t.Any]) -> None:
    app = make_app(**options, user_key=USER_KEY)
    client = app.test_client()
    client.post("/login/alice", headers={"User-Agent": "Firefox"})
    (session,) = store_of(app).sessions_of("alice")
    assert (session.user_agent, session.ip) == (None, None)
