"""Helpers of the over-the-wire tests: an app on a real server, a real HTTP server.

:class:`Wire`
    an app from :func:`~tests.support.apps.make_app` whose sessions live in a
    fresh table of a running :class:`~tests.support.servers.DynamoServer`,
    called through a :class:`~tests.support.proxy.DynamoProxy` of its own
    with small timeouts and few retries, plus a second, direct client to
    look at the stored items behind the app's back.
:class:`LiveServer`
    werkzeug's threaded development server running an app in a thread, so
    that requests are truly concurrent.
:class:`Browser`
    a tiny HTTP client that keeps the one session cookie, built on
    :mod:`http.client`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import typing as t

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from flask_dynamodb_session import DynamoDBSessionInterface
from tests.support.apps import COOKIE, CallCounter, check_transport, make_app, served
from tests.support.proxy import DynamoProxy
from tests.support.servers import HOST, DynamoServer, MotoServer, delete_table
from tests.support.tables import unique_table

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from flask_dynamodb_session.store import SessionStore

StoredItem = dict[str, "AttributeValueTypeDef"]


class Wire:
    """An app whose sessions live in a new table of ``server``.

    The app calls the server through a :class:`~tests.support.proxy.DynamoProxy`
    of its own (:attr:`proxy`), which counts the calls of either transport,
    injects faults, and can be cut like a dead server while the server keeps
    its data.

    :param server: a running server.
    :param transport: ``"lean"`` (the ``transport`` option ``"auto"``, and the
        lean transport must be chosen) or ``"boto3"``.
    :param options: more interface options.
    """

    def __init__(
        self, server: DynamoServer, *, transport: str, **options: t.Any
    ) -> None:
        self.server = server
        self.table = unique_table()
        #: The proxy between the app and the server.
        self.proxy = DynamoProxy(server.endpoint_url)
        self.proxy.start()
        self.app: Flask = make_app(
            **served(self.proxy, transport, table=self.table, **options)
        )
        check_transport(self.app, transport)
        interface = self.app.session_interface
        assert isinstance(interface, DynamoDBSessionInterface)
        self.interface = interface
        self.store: SessionStore = interface.store_for(self.app)
        #: A client of the server itself, past any proxy or injected fault.
        self.direct: DynamoDBClient = server.client()
        try:
            self.store.create_table(billing_mode="PAY_PER_REQUEST")
        except BaseException:
            self.close()
            raise
        self.proxy.reset()

    def calls(self) -> CallCounter:
        """A counter of the app's calls from now on."""
        return CallCounter(self.proxy)

    def close(self) -> None:
        """Drop the table, close the clients and stop the proxy."""
        self.store.close()
        if self.server.running:
            delete_table(self.direct, self.table)
        self.direct.close()
        self.proxy.stop()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def sid(self, cookie: str) -> str:
        """The session id a signed cookie value carries."""
        return self.interface.get_signer(self.app).unsign(cookie).decode("ascii")

    def item(self, sid: str) -> StoredItem | None:
        """The stored item of a session id, read directly and consistently."""
        response = self.direct.get_item(
            TableName=self.table,
            Key={"id": {"S": self.store.key(sid)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else dict(item)

    def holds(self, sid: str) -> bool:
        """Whether the table holds a session under this id (an item retired
        when its session moved to a new id holds none)."""
        item = self.item(sid)
        return item is not None and "data" in item

    def item_count(self) -> int:
        """How many items the table holds."""
        return int(self.direct.scan(TableName=self.table, Select="COUNT")["Count"])


def version_of(item: StoredItem | None) -> int:
    """The ``version`` attribute of a stored item."""
    assert item is not None
    return int(item["version"]["N"])


@contextlib.contextmanager
def one_request_at_a_time(server: DynamoServer) -> Iterator[None]:
    """Make a :class:`~tests.support.servers.MotoServer` apply its DynamoDB
    calls one by one.

    moto's ``UpdateItem`` checks the condition, then validates and applies
    the update to the stored item in place, with no lock: two concurrent
    writes conditioned on one version can both succeed, and a concurrent
    ``GetItem`` can return a half-updated item (a new ``version`` with old
    ``data``). DynamoDB itself applies a conditional write atomically, and
    dynalite locks each item, so for tests of concurrent writes moto's
    DynamoDB handler is put under one lock (moto's server runs in this
    process). Other servers are left as they are.
    """
    if not isinstance(server, MotoServer):
        yield
        return
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    call_action = DynamoHandler.call_action

    def locked(self: DynamoHandler) -> t.Any:
        with lock:
            return call_action(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoHandler, "call_action", locked)
        yield


# ---------------------------------------------------------- HTTP serving


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LiveServer:
    """Serve ``app`` over HTTP on a loopback port, one thread per request."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server(
            HOST, 0, app, threaded=True, request_handler=_QuietHandler
        )
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def browser(self, cookie: str | None = None) -> Browser:
        """A new client of this server, with a session cookie if given."""
        return Browser(self.port, cookie)


class Reply(t.NamedTuple):
    """What a :class:`Browser` request got back."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def set_cookies(self) -> list[str]:
        """Every ``Set-Cookie`` header of the response."""
        return self.headers.get_all("Set-Cookie") or []

    def json(self) -> t.Any:
        return json.loads(self.body)


def cookie_deleted(header: str) -> bool:
    """Whether a ``Set-Cookie`` header deletes its cookie."""
    value = header.split(";", 1)[0].split("=", 1)[1]
    return value in ("", '""') or "max-age=0" in header.lower()


class Browser:
    """An HTTP client of one loopback port that keeps the session cookie.

    :param port: the server's port.
    :param cookie: the session cookie's value to start with.
    :param keep_alive: reuse one connection (else one per request).
    :param timeout: seconds a request may take.
    """

    def __init__(
        self,
        port: int,
        cookie: str | None = None,
        *,
        keep_alive: bool = False,
        timeout: float = 30,
    ) -> None:
        self.port = port
        self.cookie = cookie
        self.keep_alive = keep_alive
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str) -> Reply:
        """Send a request with the cookie; take up any cookie the reply sets."""
        headers = {"Content-Length": "0"}
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        connection = self._connection
        if connection is None:
            connection = http.client.HTTPConnection(HOST, self.port, self.timeout)
        try:
            connection.request(method, path, headers=headers)
            with connection.getresponse() as response:
                reply = Reply(response.status, response.headers, response.read())
                will_close = response.will_close
        except BaseException:
            connection.close()
            self._connection = None
            raise
        if self.keep_alive and not will_close:
            self._connection = connection
        else:
            connection.close()
            self._connection = None
        for header in reply.set_cookies:
            name, _, rest = header.partition("=")
            if name == COOKIE:
                self.cookie = None if cookie_deleted(header) else rest.split(";")[0]
        return reply

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str) -> Reply:
        return self.request("POST", path)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
