"""The apps of the tests, and what they are built and checked with.

:func:`make_app`
    a small app exercising the session, on any interface options; with
    :func:`served`, one that calls a server through the test proxy.
:class:`CallCounter`
    the DynamoDB calls that reach the server, read off the test proxy.
:func:`create_load_app`
    the app of the load test, served by gunicorn in processes of its own.
"""

from __future__ import annotations

import collections
import os
import typing as t

from botocore.config import Config
from flask import Flask, session

from flask_dynamodb_session import DynamoDBSessionInterface, ServerSideSession
from flask_dynamodb_session.lean_transport import LeanClient
from tests.support.servers import boto3_session

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

    from flask_dynamodb_session import SessionStore
    from tests.support.proxy import DynamoProxy

__all__ = [
    "COOKIE",
    "TABLE",
    "TEST_CONFIG",
    "TRANSPORTS",
    "CallCounter",
    "check_transport",
    "create_load_app",
    "make_app",
    "served",
    "sid_of",
    "store_of",
]

#: The session table of the apps, unless a test names another.
TABLE = "sessions"

#: The cookie the apps of :func:`make_app` use (Flask's default).
COOKIE = "session"

#: The transports of the request path every app fixture runs on.
TRANSPORTS = ["boto3", "lean"]

#: The apps' botocore settings: one retry (connection errors back off by
#: milliseconds, throttling by up to a second), short timeouts, no proxies.
TEST_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=1,
    read_timeout=5,
    proxies={},
)


class CallCounter:
    """Counts the DynamoDB calls that reach the server, by operation name.

    It reads them off the test proxy in front of the server, so it sees the
    calls of every transport alike.
    """

    def __init__(self, proxy: DynamoProxy) -> None:
        self.proxy = proxy
        proxy.reset()

    @property
    def calls(self) -> list[str]:
        return self.proxy.operations()

    def reset(self) -> None:
        self.proxy.reset()

    @property
    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(self.calls))

    def take(self) -> dict[str, int]:
        """The counts so far, then start again from zero."""
        counts = self.counts
        self.reset()
        return counts


def served(proxy: DynamoProxy, transport: str, **options: t.Any) -> dict[str, t.Any]:
    """Interface options for an app that calls a server through ``proxy``.

    :param transport: ``"boto3"`` or ``"lean"``; with ``"lean"`` the test
        fails if the lean transport was not chosen.
    """
    options.setdefault("botocore_config", TEST_CONFIG)
    return {
        "endpoint_url": proxy.endpoint_url,
        "region_name": "us-east-1",
        "transport": "auto" if transport == "lean" else "boto3",
        **options,
    }


def check_transport(app: Flask, transport: str) -> None:
    """Fail unless ``app``'s item calls go over ``transport``."""
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    lean = isinstance(interface.store_for(app).gateway.item_client, LeanClient)
    assert lean == (transport == "lean"), f"expected the {transport} transport"


def make_app(**options: t.Any) -> Flask:
    """A small app exercising the session, with the given interface options.

    Its clients come from the tests' shared boto3 session unless the options
    give a ``client`` or a ``boto3_session``.
    """
    if "client" not in options:
        options.setdefault("boto3_session", boto3_session())
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test secret", TESTING=True)
    app.session_interface = DynamoDBSessionInterface(**options)

    @app.get("/untouched")
    def untouched() -> str:
        return "untouched"

    @app.get("/read")
    def read() -> dict[str, t.Any]:
        return {"data": {k: repr(v) for k, v in session.items()}}

    @app.get("/get/<key>")
    def get(key: str) -> dict[str, t.Any]:
        return {"value": session.get(key)}

    @app.post("/set/<key>/<value>")
    def set_(key: str, value: str) -> str:
        session[key] = value
        return "ok"

    @app.post("/append/<value>")
    def append(value: str) -> str:
        session.setdefault("cart", [])
        session["cart"].append(value)
        return "ok"

    @app.post("/nested/<value>")
    def nested(value: str) -> str:
        session["cart"].append(value)
        return "ok"

    @app.post("/delete/<key>")
    def delete(key: str) -> str:
        del session[key]
        return "ok"

    @app.post("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    @app.post("/login/<user>")
    def login(user: str) -> str:
        t.cast(ServerSideSession, session).regenerate()
        session["user"] = user
        return "ok"

    @app.post("/permanent")
    def permanent() -> str:
        session.permanent = True
        return "ok"

    @app.get("/sid")
    def sid() -> str:
        return str(session.sid)  # type: ignore[attr-defined]

    @app.post("/boom")
    def boom() -> str:
        session["boom"] = "yes"
        raise RuntimeError("boom")

    return app


def create_load_app() -> Flask:
    """The app of the load test: counters in the session.

    gunicorn builds it (``tests.support.apps:create_load_app()``) in each
    worker. The server and the table come from the environment:
    ``LOAD_ENDPOINT_URL`` (a DynamoDB-compatible server on 127.0.0.1) and
    ``LOAD_TABLE``.
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "load test secret"
    app.session_interface = DynamoDBSessionInterface(
        endpoint_url=os.environ["LOAD_ENDPOINT_URL"],
        table=os.environ["LOAD_TABLE"],
        region_name="us-east-1",
        botocore_config=Config(proxies={}),
    )

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.post("/incr/<name>")
    def increment(name: str) -> str:
        value = int(session.get(name, 0)) + 1
        session[name] = value
        return str(value)

    @app.get("/counters")
    def counters() -> dict[str, int]:
        return dict(session)

    return app


def store_of(app: Flask) -> SessionStore:
    """The session store of an app served by :class:`DynamoDBSessionInterface`."""
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    return interface.store_for(app)


def sid_of(app: Flask, client: FlaskClient) -> str:
    """The session id the client's cookie carries (without a version)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    payload = interface.get_signer(app).unsign(cookie.value).decode("ascii")
    return payload.split(".")[0]
