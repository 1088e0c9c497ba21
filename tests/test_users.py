"""The sessions of a user: listing them, revoking one, revoking them all.

Against moto's server and dynalite over HTTP, through the test proxy, which
counts the calls as the server receives them. The table of these tests has
the index of users' sessions; items are written directly where a test needs
times the app would not give them.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import typing as t
from datetime import datetime, timezone

import pytest

from flask_dynamodb_session import (
    ConfigurationError,
    SessionBackendError,
    SessionStore,
    serialization,
    users,
)
from flask_dynamodb_session.batches import MAX_BATCH_ATTEMPTS
from flask_dynamodb_session.options import Settings
from flask_dynamodb_session.users import UserSession
from tests.support.apps import TABLE, make_app, sid_of, store_of
from tests.support.proxy import DynamoProxy, Fault
from tests.support.tables import USER_KEY, new_table, put_session

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.servers import DynamoServer

    StoreMaker = Callable[..., SessionStore]

HOUR = 3600

pytestmark = pytest.mark.every_server


@pytest.fixture
def user_index() -> bool:
    """The table of these tests has the index of users' sessions."""
    return True


@pytest.fixture
def store(stores: StoreMaker) -> SessionStore:
    return stores()


def put_many(
    client: DynamoDBClient, store: SessionStore, user: str, count: int
) -> set[str]:
    """``count`` sessions of ``user``, written in batches; their handles."""
    now = int(time.time())
    payload = serialization.encode({USER_KEY: user})
    keys = [store.key(secrets.token_urlsafe(32)) for _ in range(count)]
    for start in range(0, count, 25):
        batch: dict[str, t.Any] = {
            store.table: [
                {
                    "PutRequest": {
                        "Item": {
                            "id": {"S": key},
                            "data": {"B": payload},
                            "expires": {"N": str(now + HOUR)},
                            "written": {"N": str(now)},
                            "created": {"N": str(now)},
                            "uid": {"S": user},
                        }
                    }
                }
                for key in keys[start : start + 25]
            ]
        }
        while batch:
            batch = client.batch_write_item(RequestItems=batch)["UnprocessedItems"]
    return set(keys)


def handles(sessions: list[UserSession]) -> list[str]:
    return [session.handle for session in sessions]


def stored_keys(client: DynamoDBClient) -> set[str]:
    return {item["id"]["S"] for item in client.scan(TableName=TABLE)["Items"]}


def counts(proxy: DynamoProxy) -> dict[str, int]:
    """The calls the server received since the last look, by operation."""
    operations = proxy.operations()
    proxy.reset()
    return {name: operations.count(name) for name in sorted(set(operations))}


# -- listing ------------------------------------------------------------------


def test_lists_a_users_live_sessions_most_recent_first(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    now = int(time.time())
    old = put_session(
        dynamodb, store, {USER_KEY: "alice", "device": "phone"}, written=now - 600
    )
    current_sid = secrets.token_urlsafe(32)
    new = put_session(
        dynamodb,
        store,
        {USER_KEY: "alice", "device": "laptop"},
        written=now - 5,
        created=now - 900,
        sid=current_sid,
    )
    proxy.reset()

    sessions = store.sessions_of("alice", current_sid=current_sid)

    assert counts(proxy) == {"BatchGetItem": 1, "Query": 1}
    assert handles(sessions) == [new, old]
    latest = sessions[0]
    assert latest == UserSession(
        handle=new,
        created_at=datetime.fromtimestamp(now - 900, timezone.utc),
        last_seen=datetime.fromtimestamp(now - 5, timezone.utc),
        expires_at=datetime.fromtimestamp(now - 5 + HOUR, timezone.utc),
        data={USER_KEY: "alice", "device": "laptop"},
        current=True,
    )
    assert latest.created_at.tzinfo is timezone.utc
    assert not sessions[1].current
    assert sessions[1].data["device"] == "phone"
    assert current_sid not in repr(sessions)
    assert store.sessions_of("alice")[0].current is False


def test_two_users_are_kept_apart(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    alice = {put_session(dynamodb, store, {USER_KEY: "alice"}) for _ in range(2)}
    bob = {put_session(dynamodb, store, {USER_KEY: "bob"})}
    put_session(dynamodb, store, {"theme": "dark"})  # nobody's

    assert set(handles(store.sessions_of("alice"))) == alice
    assert set(handles(store.sessions_of("bob"))) == bob
    assert store.sessions_of("carol") == []


@pytest.mark.parametrize("stored", [42, "42"])
def test_an_int_id_and_its_text_are_one_user(
    dynamodb: DynamoDBClient, store: SessionStore, stored: int | str
) -> None:
    handle = put_session(dynamodb, store, {USER_KEY: stored})

    for asked in (42, "42"):
        (session,) = store.sessions_of(asked)
        assert session.handle == handle
        assert session.data == {USER_KEY: stored}
    assert store.sessions_of(4) == []


def test_key_prefixes_keep_apps_apart(
    dynamodb: DynamoDBClient, stores: StoreMaker
) -> None:
    first, second = stores(key_prefix="app1:"), stores(key_prefix="app2:")
    mine = put_session(dynamodb, first, {USER_KEY: 7})
    theirs = put_session(dynamodb, second, {USER_KEY: 7})

    assert handles(first.sessions_of(7)) == [mine]
    assert handles(second.sessions_of(7)) == [theirs]
    assert first.revoke_user(7) == 1
    assert stored_keys(dynamodb) == {theirs}


def test_expired_sessions_are_left_out(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    now = int(time.time())
    live = put_session(dynamodb, store, {USER_KEY: "alice"})
    put_session(dynamodb, store, {USER_KEY: "alice"}, expires=now - 1)

    assert handles(store.sessions_of("alice")) == [live]


def test_sessions_past_max_age_are_left_out(
    dynamodb: DynamoDBClient, stores: StoreMaker
) -> None:
    store = stores(max_age=HOUR)
    now = int(time.time())
    young = put_session(dynamodb, store, {USER_KEY: "alice"}, created=now - 60)
    put_session(dynamodb, store, {USER_KEY: "alice"}, created=now - 2 * HOUR)
    # Items of an earlier release have no ``created``: they count from
    # ``written``.
    put_session(
        dynamodb, store, {USER_KEY: "alice"}, written=now - 2 * HOUR, created=None
    )
    recent = put_session(
        dynamodb, store, {USER_KEY: "alice"}, written=now - 30, created=None
    )

    sessions = store.sessions_of("alice")

    assert handles(sessions) == [young, recent]
    assert sessions[1].created_at == sessions[1].last_seen


def test_undecodable_sessions_are_skipped_with_a_warning(
    dynamodb: DynamoDBClient,
    store: SessionStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = put_session(dynamodb, store, {USER_KEY: "alice"})
    bad = put_session(dynamodb, store, {USER_KEY: "alice"})
    dynamodb.update_item(
        TableName=TABLE,
        Key={"id": {"S": bad}},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": {"B": b"\x00{not json"}},
    )

    with caplog.at_level(logging.WARNING):
        assert handles(store.sessions_of("alice")) == [good]
    assert "undecodable session data" in caplog.text


def test_a_lagging_index_never_lists_another_users_session(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    """The index is eventually consistent: each item's ``uid`` is checked."""
    alice = put_session(dynamodb, store, {USER_KEY: "alice"})
    bobs = put_session(dynamodb, store, {USER_KEY: "bob"})

    def stale_index(
        operation: str, request: dict[str, t.Any], status: int, answer: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation == "Query":
            stale = {"id": {"S": bobs}, "uid": {"S": "alice"}}
            return {**answer, "Items": [*answer["Items"], stale]}
        return answer

    proxy.rewrite = stale_index
    assert handles(store.sessions_of("alice")) == [alice]
    # Nor is it deleted as hers.
    assert store.revoke_user("alice") == 1
    assert stored_keys(dynamodb) == {bobs}


@pytest.mark.parametrize(
    ("sessions", "batches"), [(0, 0), (1, 1), (100, 1), (101, 2), (200, 2)]
)
def test_one_query_and_one_batch_get_per_100_sessions(
    dynamodb: DynamoDBClient,
    store: SessionStore,
    proxy: DynamoProxy,
    sessions: int,
    batches: int,
) -> None:
    written = put_many(dynamodb, store, "alice", sessions)
    proxy.reset()

    listed = store.sessions_of("alice")

    assert set(handles(listed)) == written
    expected = {"Query": 1, "BatchGetItem": batches} if batches else {"Query": 1}
    assert counts(proxy) == dict(sorted(expected.items()))
    keys_per_batch = [
        len(call.body["RequestItems"][TABLE]["Keys"])
        for call in proxy.calls
        if call.operation == "BatchGetItem"
    ]
    assert all(size <= 100 for size in keys_per_batch)


def test_query_pages_are_followed(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    written = put_many(dynamodb, store, "alice", 3)

    def first_page_of_one(
        operation: str, request: dict[str, t.Any], status: int, answer: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation != "Query" or "ExclusiveStartKey" in request:
            return answer
        first = answer["Items"][0]
        return {**answer, "Items": [first], "Count": 1, "LastEvaluatedKey": first}

    proxy.rewrite = first_page_of_one
    proxy.reset()
    assert set(handles(store.sessions_of("alice"))) == written
    assert counts(proxy) == {"BatchGetItem": 1, "Query": 2}


def unprocessed_answers(
    answered: int, times: int | None
) -> Callable[[str, dict[str, t.Any], int, dict[str, t.Any]], dict[str, t.Any]]:
    """A rewrite leaving every key of a BatchGetItem but ``answered`` ones
    unprocessed (``times`` times, or always)."""
    left = [times]

    def rewrite(
        operation: str, request: dict[str, t.Any], status: int, answer: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation != "BatchGetItem" or left[0] == 0:
            return answer
        if left[0] is not None:
            left[0] -= 1
        items = answer["Responses"][TABLE]
        keys = request["RequestItems"][TABLE]
        rest = [{"id": item["id"]} for item in items[answered:]]
        return {
            **answer,
            "Responses": {TABLE: items[:answered]},
            "UnprocessedKeys": {TABLE: {**keys, "Keys": rest}} if rest else {},
        }

    return rewrite


def test_unprocessed_keys_are_read_again(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    written = put_many(dynamodb, store, "alice", 5)
    proxy.rewrite = unprocessed_answers(1, times=1)
    proxy.reset()

    assert set(handles(store.sessions_of("alice"))) == written
    retried = proxy.calls[-1].body["RequestItems"][TABLE]
    assert counts(proxy) == {"BatchGetItem": 2, "Query": 1}
    assert len(retried["Keys"]) == 4
    assert retried["ProjectionExpression"]


def test_keys_left_unprocessed_for_good_are_a_backend_error(
    dynamodb: DynamoDBClient,
    store: SessionStore,
    proxy: DynamoProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(users, "backoff_delay", lambda attempt, bound: 0)
    put_many(dynamodb, store, "alice", 3)
    proxy.rewrite = unprocessed_answers(0, times=None)

    with pytest.raises(SessionBackendError, match="unprocessed"):
        store.sessions_of("alice")
    assert proxy.count("BatchGetItem") == MAX_BATCH_ATTEMPTS


@pytest.mark.parametrize(("mode", "consistent"), [(True, True), (False, False)])
def test_reads_are_as_consistent_as_the_option_says(
    dynamodb: DynamoDBClient,
    stores: StoreMaker,
    proxy: DynamoProxy,
    mode: bool,
    consistent: bool,
) -> None:
    store = stores(consistent_read=mode)
    put_session(dynamodb, store, {USER_KEY: "alice"})
    proxy.reset()
    store.sessions_of("alice")
    (batch,) = [call for call in proxy.calls if call.operation == "BatchGetItem"]
    assert batch.body["RequestItems"][TABLE]["ConsistentRead"] is consistent


# -- revoking -----------------------------------------------------------------


def test_revoke_deletes_a_session_by_its_handle(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    handle = put_session(dynamodb, store, {USER_KEY: "alice"})
    kept = put_session(dynamodb, store, {USER_KEY: "alice"})
    proxy.reset()

    assert store.revoke(handle) is True
    assert counts(proxy) == {"DeleteItem": 1}
    assert stored_keys(dynamodb) == {kept}
    assert store.revoke(handle) is False


def test_revoke_refuses_another_users_handle(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    bobs = put_session(dynamodb, store, {USER_KEY: "bob"})
    nobodys = put_session(dynamodb, store, {"theme": "dark"})
    proxy.reset()

    assert store.revoke(bobs, user_id="alice") is False
    assert store.revoke(nobodys, user_id="alice") is False
    assert counts(proxy) == {"DeleteItem": 2}
    assert stored_keys(dynamodb) == {bobs, nobodys}
    assert store.revoke(bobs, user_id="bob") is True
    assert store.revoke(bobs, user_id="bob") is False


@pytest.mark.parametrize(
    "handle",
    [
        "",
        "not a handle",
        "a" * 63,
        "a" * 65,
        "A" * 64,
        "app2:" + "a" * 64,
        "app1:" + "a" * 64 + "\n",
    ],
)
def test_revoke_refuses_what_is_no_handle_without_a_call(
    dynamodb: DynamoDBClient, stores: StoreMaker, proxy: DynamoProxy, handle: str
) -> None:
    store = stores(key_prefix="app1:")
    assert store.revoke(handle) is False
    assert store.revoke(handle, user_id="alice") is False
    assert proxy.calls == []


def test_revoke_refuses_a_session_id(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    sid = secrets.token_urlsafe(32)
    put_session(dynamodb, store, {USER_KEY: "alice"}, sid=sid)
    proxy.reset()
    assert store.revoke(sid) is False
    assert proxy.calls == []


def test_revoke_user_deletes_every_session_of_the_user(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    for _ in range(3):
        put_session(dynamodb, store, {USER_KEY: "alice"})
    bobs = put_session(dynamodb, store, {USER_KEY: "bob"})
    proxy.reset()

    assert store.revoke_user("alice") == 3

    assert counts(proxy) == {"DeleteItem": 3, "Query": 1}
    assert stored_keys(dynamodb) == {bobs}
    assert store.revoke_user("alice") == 0
    assert counts(proxy) == {"Query": 1}


def test_revoke_user_keeps_this_device(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    sid = secrets.token_urlsafe(32)
    mine = put_session(dynamodb, store, {USER_KEY: "alice"}, sid=sid)
    put_session(dynamodb, store, {USER_KEY: "alice"})
    put_session(dynamodb, store, {USER_KEY: "alice"})

    assert store.revoke_user("alice", keep_sid=sid) == 2
    assert stored_keys(dynamodb) == {mine}


# -- what it needs ------------------------------------------------------------


def test_without_user_key_nothing_is_called(
    dynamodb: DynamoDBClient, stores: StoreMaker, proxy: DynamoProxy
) -> None:
    store = stores(user_key=None)
    handle = put_session(dynamodb, store, {USER_KEY: "alice"})
    proxy.reset()
    for call in (
        lambda: store.sessions_of("alice"),
        lambda: store.revoke_user("alice"),
        lambda: store.revoke(handle, user_id="alice"),
    ):
        with pytest.raises(ConfigurationError) as caught:
            call()
        assert caught.value.key == "SESSION_DYNAMODB_USER_KEY"
        assert str(caught.value) == (
            "SESSION_DYNAMODB_USER_KEY must name the session key holding the user"
            " id to find a user's sessions"
        )
    assert proxy.calls == []
    assert store.revoke(handle) is True  # a handle alone needs no user


def test_without_the_index_says_to_create_it(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    new_table(dynamodb, index=False)
    for call in (
        lambda: store.sessions_of("alice"),
        lambda: store.revoke_user("alice"),
    ):
        with pytest.raises(ConfigurationError) as caught:
            call()
        assert caught.value.key == "SESSION_DYNAMODB_USER_KEY"
        assert str(caught.value) == (
            "SESSION_DYNAMODB_USER_KEY needs the index 'uid-index' of table"
            f" {store.table!r}, which it lacks: add it with"
            " `flask dynamo-session create-table`"
        )


def test_an_index_still_being_built_is_a_backend_error(
    dynamodb: DynamoDBClient, store: SessionStore, proxy: DynamoProxy
) -> None:
    """DynamoDB refuses to query an index it is still building."""

    def building(
        operation: str, request: dict[str, t.Any], status: int, answer: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation == "DescribeTable":
            for index in answer["Table"]["GlobalSecondaryIndexes"]:
                index["IndexStatus"] = "CREATING"
        return answer

    proxy.rewrite = building
    proxy.fail(
        Fault.error(400, "ValidationException", "Cannot read from backfilling index"),
        "Query",
    )
    with pytest.raises(SessionBackendError, match="is CREATING, not ACTIVE"):
        store.sessions_of("alice")


def test_a_missing_table_is_a_backend_error(
    dynamodb: DynamoDBClient, stores: StoreMaker
) -> None:
    store = stores(table="no-such-table")
    with pytest.raises(SessionBackendError, match="does not exist"):
        store.sessions_of("alice")


@pytest.mark.parametrize("user_id", [True, 1.5, None, b"alice", ["alice"]])
def test_user_ids_are_str_or_int(store: SessionStore, user_id: t.Any) -> None:
    with pytest.raises(TypeError, match="a user id is a str or an int"):
        store.sessions_of(user_id)
    with pytest.raises(TypeError):
        store.revoke_user(user_id)


def test_an_empty_user_id_is_refused(store: SessionStore) -> None:
    with pytest.raises(ValueError, match="empty"):
        store.sessions_of("")


def test_a_direct_client_works_too(
    dynamodb: DynamoDBClient, dynamo_server: DynamoServer
) -> None:
    """A ``client`` given to the store serves every call (no proxy here)."""
    store = SessionStore(Settings(client=dynamodb, user_key=USER_KEY))
    handle = put_session(dynamodb, store, {USER_KEY: "alice"})
    assert handles(store.sessions_of("alice")) == [handle]
    assert store.revoke(handle, user_id="alice") is True


# -- through an app -----------------------------------------------------------


@pytest.fixture
def app(options: dict[str, t.Any]) -> Flask:
    return make_app(**options, user_key=USER_KEY)


def logged_in(app: Flask, user: str) -> FlaskClient:
    browser = app.test_client()
    assert browser.post(f"/login/{user}").status_code == 200
    return browser


def test_log_in_twice_list_and_revoke_one(app: Flask) -> None:
    store = store_of(app)
    laptop, phone = logged_in(app, "alice"), logged_in(app, "alice")
    logged_in(app, "bob")

    sessions = store.sessions_of("alice", current_sid=sid_of(app, laptop))

    assert len(sessions) == 2
    (this_device,) = [session for session in sessions if session.current]
    (other,) = [session for session in sessions if not session.current]
    assert this_device.handle == store.key(sid_of(app, laptop))
    assert other.handle == store.key(sid_of(app, phone))
    assert other.data == {USER_KEY: "alice"}
    # The phone's handle, posted by bob, deletes nothing.
    assert store.revoke(other.handle, user_id="bob") is False
    assert store.revoke(other.handle, user_id="alice") is True

    assert phone.get("/get/user").json == {"value": None}
    assert laptop.get("/get/user").json == {"value": "alice"}
    assert handles(store.sessions_of("alice")) == [this_device.handle]


def test_log_out_other_devices_and_everywhere(app: Flask) -> None:
    store = store_of(app)
    browsers = [logged_in(app, "alice") for _ in range(3)]
    bob = logged_in(app, "bob")

    assert store.revoke_user("alice", keep_sid=sid_of(app, browsers[0])) == 2
    values = [browser.get("/get/user").json for browser in browsers]
    assert values == [{"value": "alice"}, {"value": None}, {"value": None}]

    assert store.revoke_user("alice") == 1
    assert browsers[0].get("/get/user").json == {"value": None}
    assert bob.get("/get/user").json == {"value": "bob"}


def test_a_session_follows_its_user_key(app: Flask) -> None:
    store = store_of(app)
    browser = logged_in(app, "alice")
    assert len(store.sessions_of("alice")) == 1

    browser.post("/set/user/bob")
    assert store.sessions_of("alice") == []
    assert len(store.sessions_of("bob")) == 1

    browser.post("/delete/user")
    assert store.sessions_of("bob") == []
    assert browser.get("/read").json == {"data": {}}


def test_a_touch_writes_no_index_entry(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, proxy: DynamoProxy
) -> None:
    """The index projects the keys only, and a touch changes no key: it
    never writes to the index (no server reports index capacity)."""
    (index,) = dynamodb.describe_table(TableName=TABLE)["Table"][
        "GlobalSecondaryIndexes"
    ]
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert index["KeySchema"] == [{"AttributeName": "uid", "KeyType": "HASH"}]

    app = make_app(**options, user_key=USER_KEY, touch_after=0)
    browser = logged_in(app, "alice")
    proxy.reset()
    assert browser.get("/read").status_code == 200

    (touch,) = [call for call in proxy.calls if call.operation == "UpdateItem"]
    names = touch.body["ExpressionAttributeNames"]
    written = re.findall(r"(#\w+) =", touch.body["UpdateExpression"])
    assert {names[name] for name in written} == {"expires", "written"}
    assert "REMOVE" not in touch.body["UpdateExpression"]
    assert len(store_of(app).sessions_of("alice")) == 1


@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("POST", "/set/theme/dark", {}),
        ("GET", "/read", {"touch_after": 0}),
        ("POST", "/login/alice", {}),
    ],
    ids=["change", "touch", "regenerate"],
)
def test_a_request_in_flight_never_brings_a_revoked_session_back(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    proxy: DynamoProxy,
    method: str,
    path: str,
    extra: dict[str, t.Any],
) -> None:
    app = make_app(**options, user_key=USER_KEY, **extra)
    browser = logged_in(app, "alice")
    admin = SessionStore(Settings(client=dynamodb, user_key=USER_KEY))
    revoked: list[int] = []

    def revoke_before_the_write(operation: str, request: dict[str, t.Any]) -> None:
        # The request has read the session; its write is on the wire.
        if operation in ("UpdateItem", "PutItem") and not revoked:
            revoked.append(admin.revoke_user("alice"))

    proxy.before_forward = revoke_before_the_write
    response = browser.open(path, method=method)
    proxy.before_forward = None

    assert response.status_code == 200
    assert revoked == [1]
    assert stored_keys(dynamodb) == set()
    assert admin.sessions_of("alice") == []
    assert browser.get("/get/user").json == {"value": None}
