"""Misbehaving answers, lost answers and retried writes, against real servers.

A proxy between the app and moto's server or dynalite sends what a broken
proxy or emulator may send (an unprompted ``100 Continue``, stray bytes after
an answer, an answer dribbled byte by byte, a gzip body) or lets the server
act on a write and then drops the connection before the answer, so that the
client cannot know whether it was done. Whatever happens, a call gets its own
answer, ends by its deadline, counts every send as an attempt, and a retried
write never takes its own earlier success for another request's change.
"""

from __future__ import annotations

import secrets
import time
import typing as t

import pytest
from botocore.config import Config

from flask_dynamodb_session import SessionBackendError, dynamodb_called
from tests.support.proxy import Fault
from tests.support.wire import Wire

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient

    from tests.support.servers import DynamoServer

pytestmark = [pytest.mark.server, pytest.mark.every_server]


@pytest.fixture
def wire(transport: str, dynamo_server: DynamoServer) -> Iterator[Wire]:
    with Wire(dynamo_server, transport=transport) as wire:
        yield wire


def new_sid() -> str:
    return secrets.token_urlsafe(32)


def cookie_of(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return None if cookie is None else cookie.value


def attempts_signalled(wire: Wire) -> list[int]:
    """Collects the ``attempts`` of every ``dynamodb_called`` of the wire's
    store from now on."""
    seen: list[int] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        seen.append(kwargs["attempts"])

    dynamodb_called.connect(receiver, wire.store, weak=False)
    return seen


# -- one answer per call -------------------------------------------------------


def test_an_interim_answer_never_hands_over_another_session(wire: Wire) -> None:
    alice, bob = new_sid(), new_sid()
    wire.store.set(alice, {"user": "alice"})
    wire.store.set(bob, {"user": "bob"})
    wire.proxy.inject(Fault.interim(), times=2)
    assert wire.store.get(alice) == {"user": "alice"}
    assert wire.store.get(bob) == {"user": "bob"}
    assert wire.store.get(alice) == {"user": "alice"}


def test_bytes_after_an_answer_are_never_the_next_answer(wire: Wire) -> None:
    alice, bob = new_sid(), new_sid()
    wire.store.set(alice, {"user": "alice"})
    wire.store.set(bob, {"user": "bob"})
    wire.store.get(alice)  # the exact answer the stray bytes repeat
    stray = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    wire.proxy.inject(Fault.trailing(stray))
    assert wire.store.get(alice) == {"user": "alice"}
    assert wire.store.get(bob) == {"user": "bob"}
    assert wire.proxy.count("GetItem") == 3  # no call was repeated


def test_a_dribbling_server_is_cut_off_at_the_call_deadline(
    dynamo_server: DynamoServer,
) -> None:
    """Every byte comes within the read timeout; the lean transport still ends
    each attempt at connect + read timeout (boto3 bounds each read only)."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=0.5,
        read_timeout=0.5,
    )
    with Wire(dynamo_server, transport="lean", botocore_config=config) as wire:
        sid = new_sid()
        wire.store.set(sid, {"user": "alice"})
        wire.proxy.fail(Fault.dribble(0.05), "GetItem")
        started = time.monotonic()
        with pytest.raises(SessionBackendError):
            wire.store.get(sid)
        elapsed = time.monotonic() - started
        # Two attempts of at most 1 s each and a few ms of back-off; the
        # answer itself would take tens of seconds.
        assert elapsed < 3.5
        assert wire.proxy.count("GetItem") == 2


def test_a_compressed_answer_is_a_503_not_a_crash(dynamo_server: DynamoServer) -> None:
    with Wire(dynamo_server, transport="lean") as wire:
        client = wire.app.test_client()
        assert client.post("/set/user/alice").status_code == 200
        wire.proxy.fail(Fault.gzip(), "GetItem")
        response = client.get("/read")
        assert response.status_code == 503
        assert wire.proxy.calls[-1].headers["accept-encoding"] == "identity"
        wire.proxy.heal()
        assert client.get("/get/user").json == {"value": "alice"}


# -- every send is an attempt ---------------------------------------------------


def test_a_lost_answer_is_not_sent_again_behind_the_retry_rules(
    transport: str, dynamo_server: DynamoServer
) -> None:
    """With one attempt allowed, a request whose answer was lost on a reused
    connection is sent once, and the call fails."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    with Wire(dynamo_server, transport=transport, botocore_config=config) as wire:
        sid = new_sid()
        wire.store.set(sid, {"user": "alice"})  # the connection is now reused
        signalled = attempts_signalled(wire)
        wire.proxy.reset()
        wire.proxy.inject(Fault.lost())
        with pytest.raises(SessionBackendError):
            wire.store.get(sid)
        assert wire.proxy.count("GetItem") == 1
        assert signalled == [1]


def test_a_lost_answer_is_retried_and_counted(wire: Wire) -> None:
    sid = new_sid()
    wire.store.set(sid, {"user": "alice"})
    signalled = attempts_signalled(wire)
    wire.proxy.reset()
    wire.proxy.inject(Fault.lost())
    assert wire.store.get(sid) == {"user": "alice"}
    assert wire.proxy.count("GetItem") == 2
    assert signalled == [2]


# -- a retried write recognises itself -------------------------------------------


def test_a_login_whose_answer_was_lost_stays_logged_in(wire: Wire) -> None:
    client = wire.app.test_client()
    assert client.post("/set/cart/apple").status_code == 200
    old_sid = wire.sid(t.cast(str, cookie_of(client)))
    # The conditional write that retires the old session is applied, then its
    # answer is lost; the retry finds its condition failed by that very write.
    wire.proxy.fail(Fault.lost(), "UpdateItem", "DeleteItem", times=1)
    response = client.post("/login/bob")
    assert response.status_code == 200
    cookie = cookie_of(client)
    assert cookie is not None
    assert wire.sid(cookie) != old_sid
    assert client.get("/read").json == {"data": {"cart": "'apple'", "user": "'bob'"}}
    assert not wire.holds(old_sid)


def test_a_logout_before_a_login_with_a_lost_answer_still_wins(wire: Wire) -> None:
    client = wire.app.test_client()
    assert client.post("/set/cart/apple").status_code == 200
    old_sid = wire.sid(t.cast(str, cookie_of(client)))
    old_key = {"id": {"S": wire.store.key(old_sid)}}

    def log_out_first(operation: str, body: dict[str, t.Any]) -> None:
        if operation in ("UpdateItem", "DeleteItem") and body["Key"] == old_key:
            wire.proxy.before_forward = None
            wire.direct.delete_item(TableName=wire.table, Key=old_key)

    wire.proxy.before_forward = log_out_first
    wire.proxy.fail(Fault.lost(), "UpdateItem", "DeleteItem", times=1)
    response = client.post("/login/bob")
    assert response.status_code == 200
    assert cookie_of(client) is None
    assert wire.direct.scan(TableName=wire.table)["Items"] == []


def test_a_change_whose_answer_was_lost_is_written_once(wire: Wire) -> None:
    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    sid = wire.sid(t.cast(str, cookie_of(client)))
    before = wire.item(sid)
    assert before is not None
    wire.proxy.fail(Fault.lost(), "UpdateItem", times=1)
    wire.proxy.reset()
    assert client.post("/set/colour/red").status_code == 200
    after = wire.item(sid)
    assert after is not None
    assert int(after["version"]["N"]) == int(before["version"]["N"]) + 1
    assert wire.proxy.count("UpdateItem") == 2  # the lost one and its retry
    assert client.get("/read").json == {"data": {"user": "'alice'", "colour": "'red'"}}


def test_a_new_session_whose_answer_was_lost_is_stored_once(wire: Wire) -> None:
    client = wire.app.test_client()
    wire.proxy.fail(Fault.lost(), "PutItem", times=1)
    assert client.post("/set/user/alice").status_code == 200
    assert wire.proxy.count("PutItem") == 2
    assert wire.item_count() == 1
    cookie = cookie_of(client)
    assert cookie is not None
    assert wire.holds(wire.sid(cookie))
    assert client.get("/get/user").json == {"value": "alice"}
