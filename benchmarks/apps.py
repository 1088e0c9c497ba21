"""The benchmarked app, built for each subject.

Every subject serves the same routes:

``GET /untouched``
    never looks at the session.
``POST /login``
    fills the session with :data:`SAMPLE` (a user id, a CSRF token, a small
    cart): what a login leaves behind.
``POST /login-large``
    the same with a cart of 20 items (:data:`LARGE_SAMPLE`), for the size
    of a bigger session.
``GET /read``
    reads two keys.
``POST /change``
    increments ``counter`` (the session keeps its size).
``POST /clear``
    ``session.clear()``, as a logout does.
``GET /static/bench.css``
    Flask's static route.

DynamoDB calls are not counted here but at the server
(:mod:`benchmarks.dynalite`), where the calls of every transport are seen.
"""

from __future__ import annotations

import dataclasses
import os
import typing as t
from pathlib import Path

import boto3
from flask import Flask, session

from flask_dynamodb_session import DynamoDBSessionInterface
from flask_dynamodb_session.lean_transport import LeanClient

if t.TYPE_CHECKING:
    from flask_dynamodb_session.store import SessionStore

#: The subjects, in the order results are shown.
SUBJECTS = ("auto", "encrypted", "boto3", "flask_session", "cookie")
#: This package's subjects, by the ``transport`` option they set.
TRANSPORTS = {"auto": "auto", "encrypted": "auto", "boto3": "boto3"}
#: Options of this package's subjects beyond the transport.
SUBJECT_OPTIONS: dict[str, dict[str, t.Any]] = {"encrypted": {"encrypt": True}}
#: How each subject is named in the results.
TITLES = {
    "auto": 'flask-dynamodb-session, transport="auto"',
    "encrypted": 'flask-dynamodb-session, transport="auto", encrypt=True',
    "boto3": 'flask-dynamodb-session, transport="boto3"',
    "flask_session": "Flask-Session 0.8 (DynamoDB)",
    "cookie": "Flask cookie session",
}
#: Short names, for narrow columns.
SHORT_TITLES = {
    "auto": '"auto"',
    "encrypted": '"auto" encrypted',
    "boto3": '"boto3"',
    "flask_session": "Flask-Session",
    "cookie": "cookie",
}
#: The subjects that talk to DynamoDB, and the table each one uses.
TABLES = {
    "auto": "bench_sessions_auto",
    "encrypted": "bench_sessions_encrypted",
    "boto3": "bench_sessions_boto3",
    "flask_session": "bench_flask_session",
}
#: The session of a logged-in user.
SAMPLE: dict[str, t.Any] = {
    "user_id": 4242,
    "csrf_token": "5f0c9a2e7b3d41c8a6e9f1d2b4c7a8e0f3b6d9c2",
    "cart": [{"sku": "A-100", "qty": 1}, {"sku": "B-205", "qty": 3}],
    "locale": "en_GB",
    "counter": 0,
}
#: A bigger session: the same with 20 items in the cart.
LARGE_SAMPLE: dict[str, t.Any] = {
    **SAMPLE,
    "cart": [
        {"sku": f"A-{100 + number}", "qty": 1 + number % 3} for number in range(20)
    ],
}
STATIC_FOLDER = Path(__file__).resolve().parent / "static"
SECRET_KEY = "benchmark secret key, not a secret"


@dataclasses.dataclass
class Subject:
    """One app, set up with one session implementation."""

    #: One of :data:`SUBJECTS`.
    name: str
    app: Flask
    #: What to close at the end: this package's store, or a boto3 client.
    closers: list[t.Callable[[], None]] = dataclasses.field(default_factory=list)
    #: The class of the client that sends the item calls (this package only).
    item_client: str | None = None

    @property
    def title(self) -> str:
        return TITLES[self.name]

    def close(self) -> None:
        """Close the subject's clients (and their connections)."""
        for close in self.closers:
            close()


def build_subject(
    name: str,
    endpoint_url: str | None = None,
    *,
    table: str | None = None,
    **options: t.Any,
) -> Subject:
    """Build the app of one subject.

    :param name: one of :data:`SUBJECTS`.
    :param endpoint_url: the DynamoDB endpoint (dynalite).
    :param table: the table, if not the subject's own (:data:`TABLES`).
    :param options: more options of this package's interface
        (``consistent_read``, ``user_key``), for its subjects only.
    :raises RuntimeError: ``transport="auto"`` did not choose the lean
        transport (a proxy in the environment, for instance): the subject
        would measure boto3 under the wrong name.
    """
    app = build_app()
    subject = Subject(name, app)
    if options and name not in TRANSPORTS:
        raise ValueError(f"options {sorted(options)} are for this package only")
    if name in TRANSPORTS:
        interface = DynamoDBSessionInterface(
            table=table or TABLES[name],
            endpoint_url=endpoint_url,
            transport=TRANSPORTS[name],
            **{**SUBJECT_OPTIONS.get(name, {}), **options},
        )
        app.session_interface = interface
        store = interface.store_for(app)
        subject.closers.append(store.close)
        subject.item_client = _check_item_client(name, store)
    elif name == "flask_session":
        _use_flask_session(app, endpoint_url, subject, table or TABLES[name])
    elif name != "cookie":
        raise ValueError(f"unknown subject {name!r}; the subjects are {SUBJECTS}")
    return subject


def _check_item_client(name: str, store: SessionStore) -> str:
    """The item client's class name; it must be the transport asked for."""
    client = store.gateway.item_client
    lean = isinstance(client, LeanClient)
    if lean != (TRANSPORTS[name] == "auto"):
        raise RuntimeError(
            f'transport="{TRANSPORTS[name]}" sends the item calls with'
            f" {type(client).__name__}; check the environment for a proxy"
        )
    return type(client).__name__


def _use_flask_session(
    app: Flask, endpoint_url: str | None, subject: Subject, table: str
) -> None:
    """Flask-Session 0.8's DynamoDB backend, configured the documented way.

    It takes a boto3 DynamoDB *resource* in ``SESSION_DYNAMODB`` (that is
    where the endpoint goes) and the table in ``SESSION_DYNAMODB_TABLE``;
    every other setting keeps its default (msgpack, permanent sessions,
    unsigned session id). Its constructor calls ``CreateTable``; the table
    exists already, so that fails quietly, before any request.
    """
    from flask_session import Session

    resource = boto3.session.Session().resource(
        "dynamodb", endpoint_url=endpoint_url, region_name="us-east-1"
    )
    app.config.update(
        SESSION_TYPE="dynamodb",
        SESSION_DYNAMODB=resource,
        SESSION_DYNAMODB_TABLE=table,
    )
    Session(app)
    subject.closers.append(resource.meta.client.close)


def build_app() -> Flask:
    """The app every subject serves, without a session interface chosen yet."""
    app = Flask(__name__, static_folder=str(STATIC_FOLDER))
    app.config.update(SECRET_KEY=SECRET_KEY)

    @app.get("/untouched")
    def untouched() -> str:
        return "untouched"

    @app.post("/login")
    def login() -> str:
        session.update(SAMPLE)
        return "logged in"

    @app.post("/login-large")
    def login_large() -> str:
        session.update(LARGE_SAMPLE)
        return "logged in"

    @app.get("/read")
    def read() -> dict[str, t.Any]:
        return {"user": session.get("user_id"), "items": len(session.get("cart", ()))}

    @app.post("/change")
    def change() -> str:
        session["counter"] = session.get("counter", 0) + 1
        return "changed"

    @app.post("/clear")
    def clear() -> str:
        session.clear()
        return "cleared"

    return app


def app_from_environment() -> Flask:
    """The WSGI app gunicorn serves: subject and endpoint from the environment.

    ``BENCH_SUBJECT`` names the subject, ``BENCH_ENDPOINT_URL`` the DynamoDB
    endpoint.
    """
    subject = build_subject(
        os.environ["BENCH_SUBJECT"], os.environ.get("BENCH_ENDPOINT_URL")
    )
    return subject.app
