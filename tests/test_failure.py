"""Outages, throttling, unhandled errors and the size limit, on each transport.

Faults are injected by the test proxy in front of moto's server, so both
transports meet them alike.
"""

from __future__ import annotations

import logging
import os
import typing as t

import pytest
from flask import Flask, Response, session

from flask_dynamodb_session import (
    DynamoDBSessionInterface,
    SessionBackendError,
    SessionTooLarge,
)
from flask_dynamodb_session.item_size import MAX_ITEM_SIZE
from tests.support.proxy import DynamoProxy, Fault
from tests.support.servers import delete_table

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter


class Outage:
    """Makes chosen DynamoDB operations fail at the proxy, every attempt."""

    def __init__(self, proxy: DynamoProxy) -> None:
        self.proxy = proxy

    def start(self, *operations: str, fault: Fault | None = None) -> None:
        """Fail ``operations`` (all if none) with ``fault``: by default the
        connection is closed without an answer."""
        self.proxy.fail(fault or Fault.drop(), *operations)

    def stop(self) -> None:
        self.proxy.heal()


@pytest.fixture
def outage(proxy: DynamoProxy, calls: CallCounter) -> Outage:
    return Outage(proxy)


THROTTLED = Fault.error(400, "ProvisionedThroughputExceededException")


def test_read_during_outage_is_a_503_without_cookie(
    client: FlaskClient, outage: Outage
) -> None:
    client.post("/set/user/alice")
    cookie = client.get_cookie("session")
    outage.start("GetItem")
    response = client.get("/get/user")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "Set-Cookie" not in response.headers
    outage.stop()
    assert client.get_cookie("session") == cookie
    assert client.get("/get/user").json == {"value": "alice"}


def test_untouched_route_works_during_outage(
    client: FlaskClient, outage: Outage
) -> None:
    client.post("/set/user/alice")
    outage.start("GetItem", "PutItem", "UpdateItem", "DeleteItem")
    assert client.get("/untouched").status_code == 200


@pytest.mark.parametrize(
    "fault",
    [Fault.drop(), THROTTLED, Fault.error(500, "InternalServerError")],
    ids=["connection", "throttled", "5xx"],
)
def test_failed_save_is_a_503_and_nothing_is_lost(
    client: FlaskClient, outage: Outage, fault: Fault
) -> None:
    client.post("/set/user/alice")
    cookie = client.get_cookie("session")
    outage.start("UpdateItem", fault=fault)
    response = client.post("/set/user/mallory")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "Set-Cookie" not in response.headers
    assert b"Service Unavailable" in response.data
    outage.stop()
    assert client.get_cookie("session") == cookie
    assert client.get("/get/user").json == {"value": "alice"}


def test_failed_refresh_does_not_fail_a_read(
    options: dict[str, t.Any],
    outage: Outage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.apps import make_app

    app = make_app(**options, touch_after=0)
    client = app.test_client()
    client.post("/set/user/alice")
    cookie = client.get_cookie("session")
    outage.start("UpdateItem", "PutItem", "DeleteItem", fault=THROTTLED)
    with caplog.at_level(logging.WARNING, logger="flask_dynamodb_session"):
        response = client.get("/get/user")
    assert response.status_code == 200
    assert response.json == {"value": "alice"}
    assert "Set-Cookie" not in response.headers
    assert "expiry could not be pushed" in caplog.text
    # A change still fails closed.
    assert client.post("/set/user/mallory").status_code == 503
    outage.stop()
    assert client.get_cookie("session") == cookie
    assert client.get("/get/user").json == {"value": "alice"}


def test_503_of_a_failed_save_starts_from_clean_headers(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    outage: Outage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.apps import make_app

    app = make_app(**options)

    @app.post("/download")
    def download() -> Response:
        session["downloads"] = 1
        response = Response(b"\x1f\x8b compressed", mimetype="application/zip")
        response.headers.update(
            {
                "Content-Encoding": "gzip",
                "Cache-Control": "public, max-age=3600",
                "ETag": '"abc"',
                "Content-Disposition": "attachment; filename=report.zip",
                "Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT",
                "X-Custom": "kept?",
            }
        )
        return response

    outage.start("PutItem")
    with caplog.at_level(logging.ERROR, logger="flask_dynamodb_session"):
        response = app.test_client().post("/download")
    assert response.status_code == 503
    assert set(response.headers.keys()) == {
        "Content-Type",
        "Content-Length",
        "Retry-After",
        "Cache-Control",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"].startswith("text/html")
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert b"temporarily unavailable" in response.data
    assert b"sessions" not in response.data
    assert b"127.0.0.1" not in response.data
    assert b"PutItem" not in response.data
    assert "PutItem" in caplog.text


def test_503_of_a_failed_read_names_nothing_internal(
    client: FlaskClient, outage: Outage
) -> None:
    client.post("/set/user/alice")
    outage.start("GetItem")
    response = client.get("/get/user")
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert b"GetItem" not in response.data
    assert b"sessions" not in response.data


def test_failed_create_is_a_503_without_cookie(
    client: FlaskClient, outage: Outage
) -> None:
    outage.start("PutItem")
    response = client.post("/set/user/alice")
    assert response.status_code == 503
    assert client.get_cookie("session") is None


def test_failed_logout_is_a_503_and_keeps_the_cookie(
    client: FlaskClient, outage: Outage
) -> None:
    client.post("/set/user/alice")
    outage.start("DeleteItem")
    response = client.post("/clear")
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    outage.stop()
    assert client.get("/get/user").json == {"value": "alice"}


def test_backend_error_is_a_session_error_and_a_503() -> None:
    error = SessionBackendError("down", operation="GetItem")
    assert error.code == 503
    assert ("Retry-After", "1") in error.get_headers()
    assert str(error) == "down"


def test_unhandled_exception_saves_nothing(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client.post("/set/user/alice")
    calls.reset()
    response = client.post("/boom")
    assert response.status_code == 500
    assert calls.take() == {"GetItem": 1}
    assert "Set-Cookie" not in response.headers
    assert client.get("/get/boom").json == {"value": None}


def test_handled_http_error_still_saves(app: Flask, client: FlaskClient) -> None:
    @app.post("/forbidden")
    def forbidden() -> str:
        from flask import abort

        session["tried"] = "yes"
        abort(403)

    client.post("/set/user/alice")
    assert client.post("/forbidden").status_code == 403
    assert client.get("/get/tried").json == {"value": "yes"}


def test_missing_table_is_a_503_logging_the_fix(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask(__name__)
    app.secret_key = "s"
    app.session_interface = DynamoDBSessionInterface(**options, table="nope")

    @app.post("/")
    def index() -> str:
        session["a"] = "b"
        return ""

    with caplog.at_level(logging.ERROR, logger="flask_dynamodb_session"):
        response = app.test_client().post("/")
    assert response.status_code == 503
    assert "create-table" in caplog.text
    assert b"nope" not in response.data
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def auto_table(dynamodb: DynamoDBClient) -> str:
    """A table name not created yet on moto's server."""
    for name in ("auto", "nottl"):
        delete_table(dynamodb, name)
    return "auto"


def test_auto_create_creates_the_table_on_first_use(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, auto_table: str
) -> None:
    app = Flask(__name__)
    app.secret_key = "s"
    app.session_interface = DynamoDBSessionInterface(
        **options, table=auto_table, auto_create=True
    )

    @app.post("/")
    def index() -> str:
        session["a"] = "b"
        return ""

    assert auto_table not in dynamodb.list_tables()["TableNames"]
    assert app.test_client().post("/").status_code == 200
    assert auto_table in dynamodb.list_tables()["TableNames"]
    ttl = dynamodb.describe_time_to_live(TableName=auto_table)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }
    table = dynamodb.describe_table(TableName=auto_table)["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5


def test_too_large_session_is_refused_before_any_write(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.post("/huge")
    def huge() -> str:
        session["blob"] = os.urandom(MAX_ITEM_SIZE)
        return ""

    client.post("/set/user/alice")
    calls.reset()
    with pytest.raises(SessionTooLarge) as info:
        client.post("/huge")
    assert info.value.size > MAX_ITEM_SIZE
    assert f"{info.value.size} bytes" in str(info.value)
    assert calls.take() == {"GetItem": 1}
    assert client.get("/get/user").json == {"value": "alice"}


def test_large_compressible_session_saves(app: Flask, client: FlaskClient) -> None:
    @app.post("/big")
    def big() -> str:
        session["text"] = "all work and no play " * 50_000
        return ""

    assert client.post("/big").status_code == 200
    assert client.get("/get/text").json == {"value": "all work and no play " * 50_000}


def test_auto_create_runs_once_under_threads(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    auto_table: str,
    calls: CallCounter,
) -> None:
    import threading

    from tests.support.apps import make_app

    app = make_app(**options, table=auto_table, auto_create=True)
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def first_request() -> None:
        test_client = app.test_client()
        barrier.wait()
        statuses.append(test_client.post("/set/user/alice").status_code)

    threads = [threading.Thread(target=first_request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    assert calls.counts["CreateTable"] == 1
    assert calls.counts["UpdateTimeToLive"] == 1
    assert len(dynamodb.scan(TableName=auto_table)["Items"]) == 6


def test_auto_create_on_a_server_without_ttl_warns_and_works(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    auto_table: str,
    outage: Outage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.apps import make_app

    outage.start(
        "UpdateTimeToLive", fault=Fault.error(400, "UnknownOperationException")
    )
    app = make_app(**options, table="nottl", auto_create=True)
    with caplog.at_level(logging.WARNING, logger="flask_dynamodb_session"):
        assert app.test_client().post("/set/user/alice").status_code == 200
    assert "does not support TTL" in caplog.text
    assert len(dynamodb.scan(TableName="nottl")["Items"]) == 1
