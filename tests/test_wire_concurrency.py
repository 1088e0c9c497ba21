"""Concurrent requests of one session, served over HTTP, against real servers.

Each test runs against moto's server and dynalite. The app is served by
werkzeug's threaded server (:class:`~tests.support.wire.LiveServer`), so requests
truly overlap; the tests order them with events and barriers. moto's server
is made to apply one call at a time (see
:func:`~tests.support.wire.one_request_at_a_time`): unlike DynamoDB, it does not
apply a conditional write atomically.
"""

from __future__ import annotations

import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import session

from tests.support.wire import (
    Browser,
    LiveServer,
    Reply,
    Wire,
    cookie_deleted,
    one_request_at_a_time,
    version_of,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask

    from flask_dynamodb_session import ServerSideSession
    from tests.support.apps import CallCounter
    from tests.support.servers import DynamoServer

pytestmark = [pytest.mark.server, pytest.mark.every_server]

#: How many requests write one session at once.
WRITERS = 10
#: Seconds any wait of a test may last before it counts as a hang.
WAIT = 15


@pytest.fixture
def server(dynamo_server: DynamoServer) -> Iterator[DynamoServer]:
    """The shared server; moto's applies one call at a time, as DynamoDB would."""
    with one_request_at_a_time(dynamo_server):
        yield dynamo_server


class Pause:
    """Routes that read the session, then wait for the test to let them go on.

    ``POST /slow/read`` only reads; ``POST /slow/set/<key>/<value>`` sets a
    key after the wait; ``POST /slow/login/<user>`` regenerates the session
    and stores the user after the wait.
    """

    def __init__(self, app: Flask) -> None:
        self.loaded = threading.Event()
        self.proceed = threading.Event()
        app.add_url_rule("/slow/read", "slow_read", self.read, methods=["POST"])
        app.add_url_rule(
            "/slow/set/<key>/<value>", "slow_set", self.set, methods=["POST"]
        )
        app.add_url_rule(
            "/slow/login/<user>", "slow_login", self.login, methods=["POST"]
        )

    def _wait(self) -> None:
        session.get("user")
        self.loaded.set()
        if not self.proceed.wait(WAIT):
            raise RuntimeError("the test never let the slow request go on")

    def read(self) -> str:
        self._wait()
        return "read"

    def set(self, key: str, value: str) -> str:
        self._wait()
        session[key] = value
        return "set"

    def login(self, user: str) -> str:
        self._wait()
        t.cast("ServerSideSession", session).regenerate()
        session["user"] = user
        return "logged in"


def add_barrier_route(app: Flask, parties: int) -> threading.Barrier:
    """``POST /together/<key>/<value>``: read, wait for all, then set the key."""
    barrier = threading.Barrier(parties, timeout=WAIT)

    @app.post("/together/<key>/<value>")
    def together(key: str, value: str) -> str:
        session.get("user")
        barrier.wait()
        session[key] = value
        return "ok"

    return barrier


def log_in(live: LiveServer, wire: Wire, user: str = "alice") -> tuple[str, str]:
    """Create a session holding ``user``; return its cookie and id."""
    with live.browser() as browser:
        reply = browser.post(f"/set/user/{user}")
    assert reply.status == 200
    assert browser.cookie
    sid = wire.sid(browser.cookie)
    assert wire.item(sid) is not None
    return browser.cookie, sid


def post(port: int, cookie: str, path: str) -> Reply:
    with Browser(port, cookie) as browser:
        return browser.post(path)


# ----------------------------------------------------------- logout race


@pytest.mark.parametrize("slow", ["change", "touch"])
@pytest.mark.parametrize("logout", ["request", "store"])
def test_logout_during_a_slow_request_stays_logged_out(
    transport: str, server: DynamoServer, slow: str, logout: str
) -> None:
    # touch_after=0: the read-only request re-saves (touches) the session.
    with Wire(server, transport=transport, touch_after=0) as wire:
        pause = Pause(wire.app)
        with LiveServer(wire.app) as live, ThreadPoolExecutor(1) as pool:
            cookie, sid = log_in(live, wire)
            path = "/slow/set/cart/apple" if slow == "change" else "/slow/read"
            slow_reply = pool.submit(post, live.port, cookie, path)
            assert pause.loaded.wait(WAIT)

            if logout == "request":
                bye = post(live.port, cookie, "/clear")
                assert bye.status == 200
                assert [cookie_deleted(h) for h in bye.set_cookies] == [True]
            else:
                wire.store.delete(sid)
            assert not wire.holds(sid)

            pause.proceed.set()
            reply = slow_reply.result(WAIT)
            assert reply.status == 200
            # The slow request deletes the cookie (or at least sets none).
            assert all(cookie_deleted(header) for header in reply.set_cookies)
            assert not wire.holds(sid)
            assert wire.item_count() == 0

            with Browser(live.port, cookie) as stale:
                reply = stale.get("/read")
                assert reply.status == 200
                assert reply.json() == {"data": {}}
                assert stale.cookie is None
        assert wire.item_count() == 0


@pytest.mark.parametrize("logout", ["request", "store"])
def test_logout_during_a_slow_login_stays_logged_out(
    transport: str, server: DynamoServer, logout: str
) -> None:
    with Wire(server, transport=transport) as wire:
        pause = Pause(wire.app)
        with LiveServer(wire.app) as live, ThreadPoolExecutor(1) as pool:
            cookie, sid = log_in(live, wire)
            slow_reply = pool.submit(post, live.port, cookie, "/slow/login/mallory")
            assert pause.loaded.wait(WAIT)
            if logout == "request":
                assert post(live.port, cookie, "/clear").status == 200
            else:
                wire.store.delete(sid)
            pause.proceed.set()
            reply = slow_reply.result(WAIT)
            assert reply.status == 200
            assert all(cookie_deleted(header) for header in reply.set_cookies)
            assert wire.item_count() == 0


def test_a_change_during_a_slow_login_is_kept(
    transport: str, server: DynamoServer
) -> None:
    with Wire(server, transport=transport) as wire:
        pause = Pause(wire.app)
        with LiveServer(wire.app) as live, ThreadPoolExecutor(1) as pool:
            cookie, sid = log_in(live, wire)
            with Browser(live.port, cookie) as browser:
                slow_reply = pool.submit(browser.post, "/slow/login/bob")
                assert pause.loaded.wait(WAIT)
                assert post(live.port, cookie, "/set/cart/apple").status == 200
                pause.proceed.set()
                assert slow_reply.result(WAIT).status == 200
                assert browser.cookie not in (None, cookie)
                assert not wire.holds(sid)
                assert wire.item_count() == 2  # the new session, the old retired
                assert browser.get("/read").json() == {
                    "data": {"user": "'bob'", "cart": "'apple'"}
                }


# --------------------------------------------------------- many writers


def write_together(
    wire: Wire, path_of: t.Callable[[int], str]
) -> tuple[str, str, int, CallCounter, list[Reply]]:
    """A logged-in browser's ``WRITERS`` requests sent at once, the n-th to
    ``path_of(n)``: the cookie, the session id, the stored version before,
    the calls made from then on, and the replies."""
    add_barrier_route(wire.app, WRITERS)
    with LiveServer(wire.app) as live, ThreadPoolExecutor(WRITERS) as pool:
        cookie, sid = log_in(live, wire)
        before = version_of(wire.item(sid))
        calls = wire.calls()
        replies = list(
            pool.map(lambda n: post(live.port, cookie, path_of(n)), range(WRITERS))
        )
    return cookie, sid, before, calls, replies


def test_concurrent_writers_of_different_keys_all_persist(
    transport: str,
    server: DynamoServer,
) -> None:
    with Wire(server, transport=transport) as wire:
        cookie, sid, before, calls, replies = write_together(
            wire, lambda n: f"/together/key{n}/value{n}"
        )
        assert [reply.status for reply in replies] == [200] * WRITERS
        for reply in replies:
            (header,) = reply.set_cookies
            assert header.startswith(f"session={cookie};")

        expected = {"user": "alice"} | {f"key{n}": f"value{n}" for n in range(WRITERS)}
        assert wire.store.get(sid) == expected
        assert version_of(wire.item(sid)) == before + WRITERS
        # All read one version: one write won it, the nine others each lost
        # at least once, re-read and re-applied their key.
        assert calls.counts["GetItem"] >= WRITERS
        assert calls.counts["UpdateItem"] >= 2 * WRITERS - 1


def test_concurrent_writers_of_one_key_last_one_wins(
    transport: str, server: DynamoServer
) -> None:
    with Wire(server, transport=transport) as wire:
        _, sid, before, _, replies = write_together(
            wire, lambda n: f"/together/color/c{n}"
        )
        assert [reply.status for reply in replies] == [200] * WRITERS
        stored = wire.store.get(sid)
        assert stored is not None
        assert stored.keys() == {"user", "color"}
        assert stored["color"] in {f"c{n}" for n in range(WRITERS)}
        # Every write happened, in some order; the value is the last one's.
        assert version_of(wire.item(sid)) == before + WRITERS


@pytest.mark.parametrize(
    ("slow_key", "fast_key", "expected"),
    [
        ("color", "color", {"user": "alice", "color": "red"}),
        ("color", "size", {"user": "alice", "color": "red", "size": "xl"}),
    ],
    ids=["same-key", "other-key"],
)
def test_a_slow_writer_after_a_fast_one(
    transport: str,
    server: DynamoServer,
    slow_key: str,
    fast_key: str,
    expected: dict[str, str],
) -> None:
    """Both read the same version; the fast one saves first, the slow one last."""
    with Wire(server, transport=transport) as wire:
        pause = Pause(wire.app)
        with LiveServer(wire.app) as live, ThreadPoolExecutor(1) as pool:
            cookie, sid = log_in(live, wire)
            slow_reply = pool.submit(
                post, live.port, cookie, f"/slow/set/{slow_key}/red"
            )
            assert pause.loaded.wait(WAIT)
            fast_value = "blue" if fast_key == "color" else "xl"
            assert (
                post(live.port, cookie, f"/set/{fast_key}/{fast_value}").status == 200
            )
            pause.proceed.set()
            assert slow_reply.result(WAIT).status == 200
        assert wire.store.get(sid) == expected
