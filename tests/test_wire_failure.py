"""Outages, throttling, size limits and failed requests, against real servers.

Each test runs against moto's server and dynalite, spoken to over HTTP. An
outage is either the server stopped (it comes back empty) or the link to it
cut at the test proxy (:meth:`~tests.support.proxy.DynamoProxy.cut`: the data
stays, so the tests can check that nothing was lost or overwritten).
"""

from __future__ import annotations

import os
import typing as t

import pytest
from botocore.config import Config
from flask import session

from flask_dynamodb_session import ServerSideSession, SessionTooLarge
from flask_dynamodb_session.item_size import MAX_ITEM_SIZE
from tests.support.apps import CallCounter
from tests.support.proxy import Call, DynamoProxy, Fault
from tests.support.wire import Wire

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

    from tests.support.servers import DynamoServer

pytestmark = [pytest.mark.server, pytest.mark.every_server]

WRITES = ("PutItem", "UpdateItem", "DeleteItem")


@pytest.fixture
def wire(transport: str, dynamo_server: DynamoServer) -> Iterator[Wire]:
    with Wire(dynamo_server, transport=transport) as wire:
        yield wire


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def assert_unavailable(response: TestResponse) -> None:
    """Our 503: ``Retry-After``, and no cookie set or deleted."""
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "Set-Cookie" not in response.headers


def writes(calls: CallCounter) -> int:
    return sum(calls.counts.get(name, 0) for name in WRITES)


# ----------------------------------------------------------- outages


def test_stopped_server(transport: str, own_server: DynamoServer) -> None:
    with Wire(own_server, transport=transport) as wire:
        client = wire.app.test_client()
        assert client.post("/set/user/alice").status_code == 200
        cookie = cookie_of(client)
        newcomer = wire.app.test_client()

        own_server.stop()
        assert_unavailable(client.get("/read"))
        assert_unavailable(client.post("/set/user/bob"))
        assert_unavailable(client.post("/clear"))
        # A new session fails when it is first written, at the end.
        assert_unavailable(newcomer.post("/set/user/carol"))
        assert newcomer.get_cookie("session") is None
        # A request that never touches the session does not notice.
        response = client.get("/untouched")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert newcomer.get("/untouched").status_code == 200
        assert cookie_of(client) == cookie

        # Back, but empty (dynalite and moto keep data in memory only).
        own_server.start()
        wire.store.create_table(billing_mode="PAY_PER_REQUEST")
        assert client.get("/read").json == {"data": {}}
        assert client.post("/set/user/dave").status_code == 200
        assert client.get("/get/user").json == {"value": "dave"}


def test_server_stopped_between_load_and_save(
    transport: str, own_server: DynamoServer
) -> None:
    with Wire(own_server, transport=transport) as wire:

        @wire.app.post("/stop-then-set/<value>")
        def stop_then_set(value: str) -> str:
            session.get("user")
            own_server.stop()
            session["user"] = value
            return "ok"

        client = wire.app.test_client()
        assert client.post("/set/user/alice").status_code == 200
        cookie = cookie_of(client)
        assert_unavailable(client.post("/stop-then-set/bob"))
        assert cookie_of(client) == cookie


def add_cut_route(app: Flask, proxy: DynamoProxy) -> None:
    """``POST /cut-then/<action>``: read the session, cut the link, change it."""

    @app.post("/cut-then/<action>")
    def cut_then(action: str) -> str:
        session.get("user")
        proxy.cut()
        if action == "set":
            session["user"] = "mallory"
        elif action == "delete":
            del session["cart"]
        elif action == "nested":
            session["cart"].append("pear")
        elif action == "clear":
            session.clear()
        elif action == "regenerate":
            t.cast("ServerSideSession", session).regenerate()
        else:
            raise AssertionError(action)
        return "ok"


@pytest.mark.parametrize("action", ["set", "delete", "nested", "clear", "regenerate"])
def test_link_cut_between_load_and_save_keeps_the_session(
    wire: Wire, action: str
) -> None:
    add_cut_route(wire.app, wire.proxy)
    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    assert client.post("/append/apple").status_code == 200
    cookie = cookie_of(client)
    sid = wire.sid(cookie)
    before = wire.item(sid)
    assert before is not None

    assert_unavailable(client.post(f"/cut-then/{action}"))
    assert not wire.proxy.running
    assert cookie_of(client) == cookie
    assert wire.item(sid) == before
    assert wire.item_count() == 1

    wire.proxy.restore()
    assert wire.item(sid) == before
    response = client.get("/read")
    assert response.status_code == 200
    assert response.json == {"data": {"user": "'alice'", "cart": "['apple']"}}


def test_link_cut_before_a_new_session_is_saved(wire: Wire) -> None:
    add_cut_route(wire.app, wire.proxy)
    client = wire.app.test_client()
    assert_unavailable(client.post("/cut-then/set"))
    assert client.get_cookie("session") is None
    wire.proxy.restore()
    assert wire.item_count() == 0


def test_link_cut_before_the_request_keeps_the_session(wire: Wire) -> None:
    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    sid = wire.sid(cookie_of(client))
    before = wire.item(sid)

    wire.proxy.cut()
    assert_unavailable(client.get("/read"))
    assert_unavailable(client.post("/set/user/bob"))
    assert client.get("/untouched").status_code == 200
    wire.proxy.restore()

    assert wire.item(sid) == before
    assert client.get("/get/user").json == {"value": "alice"}


# -------------------------------------------------------- throttling


class Throttle:
    """Answer an operation's attempts with a throttling error, at the proxy.

    :param wire: the app and its proxy.
    :param operation: for example ``"GetItem"``.
    :param code: the error code, for example ``"ThrottlingException"``.
    :param times: how many attempts to refuse; ``None``: all of them.
    """

    def __init__(
        self, wire: Wire, operation: str, code: str, times: int | None
    ) -> None:
        self.proxy = wire.proxy
        self.operation = operation
        self._since = len(wire.proxy.calls)
        fault = Fault.error(
            400, code, "Rate of requests exceeds the allowed throughput."
        )
        wire.proxy.fail(fault, operation, times=times)

    def _calls(self) -> list[Call]:
        return [
            call
            for call in self.proxy.calls[self._since :]
            if call.operation == self.operation
        ]

    @property
    def attempts(self) -> int:
        """Attempts the app made, refused or sent on to the server."""
        return len(self._calls())

    @property
    def refused(self) -> int:
        """Attempts that got the throttling error."""
        return sum(1 for call in self._calls() if call.fault is not None)


#: Three attempts in all (botocore waits up to 1 s, then up to 2 s, between).
THREE_ATTEMPTS = Config(retries={"mode": "standard", "total_max_attempts": 3})

PTEE = "ProvisionedThroughputExceededException"


def test_throttled_read_is_retried_then_a_503(
    transport: str, dynamo_server: DynamoServer
) -> None:
    with Wire(
        dynamo_server, transport=transport, botocore_config=THREE_ATTEMPTS
    ) as wire:
        client = wire.app.test_client()
        assert client.post("/set/user/alice").status_code == 200
        throttle = Throttle(wire, "GetItem", PTEE, times=None)
        assert_unavailable(client.get("/get/user"))
        assert (throttle.attempts, throttle.refused) == (3, 3)
        assert client.get("/untouched").status_code == 200


def test_throttled_save_is_a_503_and_keeps_the_session(wire: Wire) -> None:
    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    sid = wire.sid(cookie_of(client))
    before = wire.item(sid)
    throttle = Throttle(wire, "UpdateItem", "ThrottlingException", None)
    assert_unavailable(client.post("/set/user/bob"))
    assert (throttle.attempts, throttle.refused) == (2, 2)
    assert wire.item(sid) == before


def test_throttle_that_clears_after_one_retry(wire: Wire) -> None:
    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    sid = wire.sid(cookie_of(client))
    reads = Throttle(wire, "GetItem", "ThrottlingException", times=1)
    saves = Throttle(wire, "UpdateItem", PTEE, times=1)
    response = client.post("/set/user/bob")
    assert response.status_code == 200
    assert "Set-Cookie" in response.headers
    assert (reads.attempts, reads.refused) == (2, 1)
    assert (saves.attempts, saves.refused) == (2, 1)
    assert wire.store.get(sid) == {"user": "bob"}


# ------------------------------------------------------------- size


def add_blob_routes(app: Flask) -> None:
    @app.post("/random/<int:size>")
    def random_bytes(size: int) -> str:
        session["blob"] = os.urandom(size)
        return "ok"

    @app.post("/text/<int:size>")
    def text(size: int) -> str:
        session["blob"] = repeated_text(size)
        return "ok"


def repeated_text(size: int) -> str:
    return ("All work and no play makes Jack a dull boy. " * (size // 40 + 1))[:size]


#: Random bytes that stay over 400 KB however they are compressed.
TOO_LARGE = 450_000


def test_incompressible_session_is_refused_before_any_write(wire: Wire) -> None:
    add_blob_routes(wire.app)
    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    sid = wire.sid(cookie_of(client))
    before = wire.item(sid)
    calls = wire.calls()

    with pytest.raises(SessionTooLarge) as info:
        client.post(f"/random/{TOO_LARGE}")
    assert info.value.size > MAX_ITEM_SIZE
    assert f"{info.value.size} bytes" in str(info.value)
    assert calls.counts == {"GetItem": 1}
    assert wire.item(sid) == before


def test_incompressible_new_session_is_a_500_and_writes_nothing(wire: Wire) -> None:
    add_blob_routes(wire.app)
    wire.app.config["PROPAGATE_EXCEPTIONS"] = False
    client = wire.app.test_client()
    calls = wire.calls()
    response = client.post(f"/random/{TOO_LARGE}")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    assert writes(calls) == 0
    assert wire.item_count() == 0


def test_large_compressible_session_round_trips(wire: Wire) -> None:
    add_blob_routes(wire.app)
    client = wire.app.test_client()
    size = 1024 * 1024
    response = client.post(f"/text/{size}")
    assert response.status_code == 200
    sid = wire.sid(cookie_of(client))
    item = wire.item(sid)
    assert item is not None
    assert len(item["data"]["B"]) < MAX_ITEM_SIZE // 10
    assert client.get("/get/blob").json == {"value": repeated_text(size)}

    # And a change of the large session (the conditional write) saves too.
    assert client.post(f"/text/{size + 1}").status_code == 200
    assert wire.store.get(sid) == {"blob": repeated_text(size + 1)}


def test_random_bytes_under_the_limit_round_trip(wire: Wire) -> None:
    add_blob_routes(wire.app)
    client = wire.app.test_client()
    assert client.post("/random/250000").status_code == 200
    stored = wire.store.get(wire.sid(cookie_of(client)))
    assert stored is not None
    assert isinstance(stored["blob"], bytes)
    assert len(stored["blob"]) == 250_000


# ------------------------------------------------- unhandled exceptions


def test_unhandled_exception_saves_nothing(wire: Wire) -> None:
    wire.app.config["PROPAGATE_EXCEPTIONS"] = False

    @wire.app.post("/append-then-boom")
    def append_then_boom() -> str:
        session["cart"].append("pear")
        raise RuntimeError("boom")

    client = wire.app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    assert client.post("/append/apple").status_code == 200
    sid = wire.sid(cookie_of(client))
    before = wire.item(sid)
    calls = wire.calls()

    for path in ("/boom", "/append-then-boom"):
        response = client.post(path)
        assert response.status_code == 500
        assert "Set-Cookie" not in response.headers
    assert writes(calls) == 0
    assert wire.item(sid) == before
    assert client.get("/read").json == {
        "data": {"user": "'alice'", "cart": "['apple']"}
    }

    newcomer = wire.app.test_client()
    assert newcomer.post("/boom").status_code == 500
    assert newcomer.get_cookie("session") is None
    assert wire.item_count() == 1
