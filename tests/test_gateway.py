"""What the gateway says when a call fails: a missing table names the table,
region and endpoint; missing credentials say where to put them. A request
that fails for either reason is a 503 and logs the message."""

from __future__ import annotations

import logging
import typing as t

import boto3
import pytest
from flask import Flask

from flask_dynamodb_session import SessionBackendError, SessionStore
from flask_dynamodb_session.options import resolve
from flask_dynamodb_session.status import table_status
from tests.support.apps import check_transport, make_app

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient

    from tests.support.proxy import DynamoProxy

SID = "S" * 43

#: What a failure without credentials says, wherever the endpoint.
NO_CREDENTIALS = (
    "no AWS credentials were found; set AWS_ACCESS_KEY_ID and"
    " AWS_SECRET_ACCESS_KEY, or use what else botocore reads: a profile"
    " (AWS_PROFILE, ~/.aws/credentials, ~/.aws/config, SSO), a web identity"
    " token, or a container or instance role"
)


def missing_table(table: str, region: str, endpoint: str) -> str:
    return (
        f"the session table {table!r} does not exist in region {region} at"
        f" {endpoint}; check SESSION_DYNAMODB_REGION and"
        " SESSION_DYNAMODB_ENDPOINT_URL, or create it with `flask dynamo-session"
        " create-table` (or set SESSION_DYNAMODB_AUTO_CREATE)"
    )


def dummy_pair(endpoint: str) -> str:
    return (
        f"; {endpoint} is not AWS: any pair works for DynamoDB Local, dynalite"
        " or moto, such as AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local"
    )


@pytest.fixture
def store(options: dict[str, t.Any], transport: str) -> Iterator[SessionStore]:
    """A store of a table that does not exist, over each transport."""
    store = SessionStore(resolve({**options, "table": "nope"}))
    yield store
    store.close()


def cookie_of(app: Flask) -> str:
    """A session cookie ``app`` wrote (to a table that exists)."""
    client = app.test_client()
    assert client.post("/set/user/alice").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def failed_request(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> str:
    """Send a request that must fail with a 503 and log why; return the log."""
    with caplog.at_level(logging.WARNING, logger="flask_dynamodb_session"):
        response = client.open(path, method=method)
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1, caplog.text
    return warned[0].getMessage()


# -- a missing table -------------------------------------------------------------


def test_a_missing_table_names_the_region_and_endpoint(
    store: SessionStore, proxy: DynamoProxy
) -> None:
    expected = missing_table("nope", "us-east-1", proxy.endpoint_url)
    with pytest.raises(SessionBackendError) as item_call:
        store.items.load(SID)
    with pytest.raises(SessionBackendError) as admin_call:
        table_status(store.gateway)
    assert str(item_call.value) == expected
    assert str(admin_call.value) == expected


def test_a_missing_table_on_aws_names_the_regional_endpoint(moto: None) -> None:
    store = SessionStore(resolve({"table": "nope", "region_name": "eu-west-1"}))
    with pytest.raises(SessionBackendError) as info:
        store.items.load(SID)
    assert str(info.value) == missing_table(
        "nope", "eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com"
    )
    store.close()


def logged_in_browser(
    options: dict[str, t.Any], transport: str, **overrides: t.Any
) -> FlaskClient:
    """A browser whose cookie holds a stored session, of an app built with
    ``overrides`` (the cookie is written by an app without them)."""
    cookie = cookie_of(make_app(**options))
    app = make_app(**options, **overrides)
    check_transport(app, transport)
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


@pytest.mark.parametrize(("method", "path"), [("GET", "/read"), ("POST", "/set/a/b")])
def test_a_request_on_a_missing_table_logs_the_message(
    options: dict[str, t.Any],
    transport: str,
    proxy: DynamoProxy,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
) -> None:
    client = logged_in_browser(options, transport, table="nope")
    logged = failed_request(client, caplog, method, path)

    assert missing_table("nope", "us-east-1", proxy.endpoint_url) in logged


# -- no credentials --------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/read"), ("POST", "/set/a/b")])
def test_a_request_without_credentials_says_where_to_set_them(
    options: dict[str, t.Any],
    transport: str,
    proxy: DynamoProxy,
    caplog: pytest.LogCaptureFixture,
    no_credentials: None,
    method: str,
    path: str,
) -> None:
    # The app under test has a boto3 session of its own, which finds none.
    client = logged_in_browser(
        options, transport, boto3_session=boto3.session.Session()
    )
    logged = failed_request(client, caplog, method, path)

    assert logged.endswith(NO_CREDENTIALS + dummy_pair(proxy.endpoint_url))


@pytest.mark.parametrize("transport", ["boto3", "auto"])
def test_without_credentials_on_aws_no_dummy_pair_is_offered(
    no_credentials: None, transport: str
) -> None:
    settings = resolve({"region_name": "eu-west-1", "transport": transport})
    store = SessionStore(settings)
    with pytest.raises(SessionBackendError) as info:
        store.items.load(SID)
    assert str(info.value) == NO_CREDENTIALS
    store.close()


def test_partial_credentials_say_what_is_missing(
    no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    endpoint = "http://localhost:8000"
    store = SessionStore(resolve({"endpoint_url": endpoint}))
    with pytest.raises(SessionBackendError) as info:
        store.items.load(SID)
    assert str(info.value) == (
        "no complete AWS credentials were found (Partial credentials found in"
        " env, missing: AWS_SECRET_ACCESS_KEY); set AWS_ACCESS_KEY_ID and"
        " AWS_SECRET_ACCESS_KEY, or use what else botocore reads: a profile"
        " (AWS_PROFILE, ~/.aws/credentials, ~/.aws/config, SSO), a web identity"
        " token, or a container or instance role" + dummy_pair(endpoint)
    )
    store.close()
