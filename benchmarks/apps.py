"""The benchmarked app, built for each subject, and the DynamoDB call counter.

Every subject serves the same routes:

``GET /untouched``
    never looks at the session.
``POST /login``
    fills the session with :data:`SAMPLE` (a user id, a CSRF token, a small
    cart): what a login leaves behind.
``GET /read``
    reads two keys.
``POST /change``
    increments ``counter`` (the session keeps its size).
``POST /clear``
    ``session.clear()``, as a logout does.
``GET /static/bench.css``
    Flask's static route.
``GET /_bench/calls``
    the DynamoDB calls counted so far in all gunicorn workers (workload only).

Calls are counted with botocore's ``before-call`` event, registered on the
very client each subject uses (for Flask-Session, the client of its boto3
resource). The event fires once per API call, before any retry.
"""

from __future__ import annotations

import collections
import dataclasses
import multiprocessing
import os
import threading
import typing as t
from pathlib import Path

import boto3
from flask import Flask, jsonify, session

from flask_dynamodb_session import DynamoDBSessionInterface

if t.TYPE_CHECKING:
    from multiprocessing.sharedctypes import SynchronizedArray

    from botocore.client import BaseClient
    from flask import Response

#: The subjects, in the order results are shown.
SUBJECTS = ("ours", "flask_session", "cookie")
#: How each subject is named in the results.
TITLES = {
    "ours": "flask-dynamodb-session",
    "flask_session": "Flask-Session 0.8 (DynamoDB)",
    "cookie": "Flask cookie session",
}
#: The subjects that talk to DynamoDB, and the table each one uses.
TABLES = {"ours": "bench_sessions", "flask_session": "bench_flask_session"}
#: Operations counted one by one; any other is counted as ``"other"``.
OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
#: The session of a logged-in user.
SAMPLE: dict[str, t.Any] = {
    "user_id": 4242,
    "csrf_token": "5f0c9a2e7b3d41c8a6e9f1d2b4c7a8e0f3b6d9c2",
    "cart": [{"sku": "A-100", "qty": 1}, {"sku": "B-205", "qty": 3}],
    "locale": "en_GB",
    "counter": 0,
}
STATIC_FOLDER = Path(__file__).resolve().parent / "static"
SECRET_KEY = "benchmark secret key, not a secret"


class SharedCounts:
    """Call counts in shared memory, summed over forked gunicorn workers.

    Created in the gunicorn master (by the config file) before the workers
    are forked, so every worker adds to the same array.
    """

    def __init__(self) -> None:
        self._array: SynchronizedArray[int] = multiprocessing.Array(
            "q", len(OPERATIONS) + 1
        )

    def add(self, operation: str) -> None:
        """Count one call of ``operation``."""
        index = OPERATIONS.index(operation) if operation in OPERATIONS else -1
        with self._array.get_lock():
            self._array[index] += 1

    def snapshot(self) -> dict[str, int]:
        """The counts so far, by operation."""
        with self._array.get_lock():
            values = self._array[:]
        return dict(zip((*OPERATIONS, "other"), values, strict=True))


#: Set in the gunicorn master by :func:`install_shared_counts`.
shared_counts: SharedCounts | None = None


def install_shared_counts() -> None:
    """Create :data:`shared_counts`; call it before the workers are forked."""
    global shared_counts
    shared_counts = SharedCounts()


class CallCounter:
    """Counts the DynamoDB calls of the clients it watches, by operation."""

    def __init__(self, shared: SharedCounts | None = None) -> None:
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._shared = shared

    def watch(self, client: BaseClient) -> None:
        """Count every API call ``client`` makes from now on."""
        client.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: t.Any, **kwargs: t.Any) -> None:
        name = str(model.name)
        with self._lock:
            self._counts[name] += 1
        if self._shared is not None:
            self._shared.add(name)

    def take(self) -> dict[str, int]:
        """The counts since the last ``take``, then start again from zero."""
        with self._lock:
            counts = dict(self._counts)
            self._counts.clear()
        return counts


@dataclasses.dataclass
class Subject:
    """One app, set up with one session implementation."""

    #: One of :data:`SUBJECTS`.
    name: str
    app: Flask
    counter: CallCounter
    #: boto3 clients to close at the end.
    clients: list[BaseClient] = dataclasses.field(default_factory=list)

    @property
    def title(self) -> str:
        return TITLES[self.name]

    def close(self) -> None:
        """Close the subject's boto3 clients (and their connections)."""
        for client in self.clients:
            client.close()


def build_subject(
    name: str,
    endpoint_url: str | None = None,
    *,
    shared: SharedCounts | None = None,
) -> Subject:
    """Build the app of one subject, with its calls counted.

    :param name: one of :data:`SUBJECTS`.
    :param endpoint_url: the DynamoDB endpoint (dynalite).
    :param shared: also count into these shared counts (gunicorn).
    """
    app = build_app()
    counter = CallCounter(shared)
    subject = Subject(name, app, counter)
    if name == "ours":
        interface = DynamoDBSessionInterface(
            table=TABLES[name], endpoint_url=endpoint_url
        )
        app.session_interface = interface
        client = interface.store_for(app).client
        counter.watch(client)
        subject.clients.append(client)
    elif name == "flask_session":
        _use_flask_session(app, endpoint_url, subject)
    elif name != "cookie":
        raise ValueError(f"unknown subject {name!r}; the subjects are {SUBJECTS}")
    if shared is not None:

        @app.get("/_bench/calls")
        def calls() -> Response:
            return jsonify(shared.snapshot())

    return subject


def _use_flask_session(app: Flask, endpoint_url: str | None, subject: Subject) -> None:
    """Flask-Session 0.8's DynamoDB backend, configured the documented way.

    It takes a boto3 DynamoDB *resource* in ``SESSION_DYNAMODB`` (that is
    where the endpoint goes) and the table in ``SESSION_DYNAMODB_TABLE``;
    every other setting keeps its default (msgpack, permanent sessions,
    unsigned session id). Its constructor calls ``CreateTable``; the table
    exists already, so that fails quietly, before the counting starts.
    """
    from flask_session import Session

    resource = boto3.session.Session().resource(
        "dynamodb", endpoint_url=endpoint_url, region_name="us-east-1"
    )
    app.config.update(
        SESSION_TYPE="dynamodb",
        SESSION_DYNAMODB=resource,
        SESSION_DYNAMODB_TABLE=TABLES["flask_session"],
    )
    Session(app)
    client = resource.meta.client
    subject.counter.watch(client)
    subject.clients.append(client)


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
    endpoint. Calls are counted into :data:`shared_counts`.
    """
    if shared_counts is None:
        raise RuntimeError(
            "the shared call counts are missing: start gunicorn with"
            " -c benchmarks/gunicorn_conf.py"
        )
    subject = build_subject(
        os.environ["BENCH_SUBJECT"],
        os.environ.get("BENCH_ENDPOINT_URL"),
        shared=shared_counts,
    )
    return subject.app
