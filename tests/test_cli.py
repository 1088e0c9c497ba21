"""Tests of ``flask dynamo-session``, against moto in this process."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import pathlib
import subprocess
import sys
import time
import typing as t
from datetime import datetime, timezone

import boto3
import click
import click._termui_impl
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup
from freezegun import freeze_time

from flask_dynamodb_session import (
    ConfigurationError,
    DynamoDBSession,
    DynamoDBSessionInterface,
    SessionBackendError,
    cli,
)
from flask_dynamodb_session.cli import dynamo_session, error_message, session_store
from tests.support.apps import TABLE
from tests.support.clients import fail, serialize_calls
from tests.support.servers import free_port
from tests.support.tables import NOW, session_key, sessions, stored_ids, write_items

if t.TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result
    from mypy_boto3_dynamodb import DynamoDBClient

#: The worktree's root, put first on the path of a ``flask`` subprocess.
ROOT = str(pathlib.Path(__file__).resolve().parent.parent)
FORMS = ["extension", "interface"]
#: For tests of what does not depend on how the app set the interface up.
one_form = pytest.mark.parametrize("form", ["interface"])
DENIED = (
    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform:"
    " dynamodb:{} on resource: arn:aws:dynamodb:us-east-1:123456789012:table/sessions"
)


def make_app(form: str = "extension", **config: t.Any) -> Flask:
    """An app using the extension, or only setting ``session_interface``."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test secret", TESTING=True, **config)
    if form == "extension":
        DynamoDBSession(app)
    else:
        app.session_interface = DynamoDBSessionInterface()
        app.cli.add_command(dynamo_session)
    return app


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["dynamo-session", *args])


def assert_error(result: Result, *fragments: str) -> str:
    """The command failed with one ``Error:`` line on stderr; return it."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture
def client(moto: None, monkeypatch: pytest.MonkeyPatch) -> DynamoDBClient:
    """A moto client with no table yet."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    serialize_calls(dynamodb, monkeypatch)
    return dynamodb


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    return t.cast("str", request.param)


@pytest.fixture
def empty_app(client: DynamoDBClient, form: str) -> Flask:
    """An app whose table does not exist yet."""
    return make_app(form, SESSION_DYNAMODB_CLIENT=client)


@pytest.fixture
def app(dynamodb: DynamoDBClient, form: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app whose table exists (on demand, no TTL)."""
    serialize_calls(dynamodb, monkeypatch)
    return make_app(form, SESSION_DYNAMODB_CLIENT=dynamodb)


def describe(client: DynamoDBClient, table: str = TABLE) -> dict[str, t.Any]:
    return dict(client.describe_table(TableName=table)["Table"])


def ttl_of(client: DynamoDBClient, table: str = TABLE) -> dict[str, t.Any]:
    return dict(client.describe_time_to_live(TableName=table)["TimeToLiveDescription"])


# -- registration -------------------------------------------------------------


def test_entry_point_is_registered() -> None:
    (entry_point,) = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="flask.commands")
        if entry_point.name == "dynamo-session"
    ]
    assert entry_point.value == "flask_dynamodb_session.cli:dynamo_session"
    assert entry_point.load() is dynamo_session


def test_extension_registers_the_group() -> None:
    app = make_app("extension")
    assert app.cli.commands["dynamo-session"] is dynamo_session
    assert sorted(dynamo_session.commands) == [
        "create-table",
        "delete-expired",
        "revoke-user",
        "status",
    ]


def test_the_flask_command_finds_the_group_through_the_entry_point(
    dynamodb: DynamoDBClient,
) -> None:
    """``flask dynamo-session`` of an app that only sets the interface."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", SESSION_DYNAMODB_CLIENT=dynamodb)
    app.session_interface = DynamoDBSessionInterface(table=TABLE)
    flask_command = FlaskGroup(create_app=lambda: app, load_dotenv=False)

    result = CliRunner().invoke(flask_command, ["dynamo-session", "status"])

    assert result.exit_code == 0, result.output
    assert "Status:     ACTIVE" in result.stdout


#: A module whose app factory uses the extension with a bad config value.
BAD_CONFIG_APP = """
from flask import Flask

from flask_dynamodb_session import DynamoDBSession


def create_app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", SESSION_DYNAMODB_TTL=-5)
    DynamoDBSession(app)
    return app
"""
#: What ``flask dynamo-session`` says of that app.
BAD_CONFIG_LINE = "Error: SESSION_DYNAMODB_TTL must be more than zero seconds, got -5"


@pytest.mark.parametrize("command", ["status", "create-table"])
def test_a_bad_config_value_in_the_app_is_one_line(
    tmp_path: Path, command: str
) -> None:
    """``flask --app`` loads the app inside the command: its configuration
    error is one line and exit status 1, no traceback."""
    (tmp_path / "bad_config_app.py").write_text(BAD_CONFIG_APP, encoding="utf-8")
    args = ["--app", "bad_config_app", "dynamo-session", command]
    path = os.pathsep.join([str(tmp_path), ROOT, os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [BAD_CONFIG_LINE]


def test_a_configuration_error_loading_the_app_is_one_line() -> None:
    def create_app() -> Flask:
        raise ConfigurationError("SESSION_DYNAMODB_TTL", -5, "must be more than zero")

    flask_command = FlaskGroup(create_app=create_app, load_dotenv=False)

    result = CliRunner().invoke(flask_command, ["dynamo-session", "status"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: SESSION_DYNAMODB_TTL must be more than zero, got -5"
    ]


@one_form
def test_help(app: Flask) -> None:
    result = invoke(app, "--help")
    assert result.exit_code == 0
    for command in ("create-table", "delete-expired", "revoke-user", "status"):
        assert command in result.stdout


@pytest.mark.parametrize("form", FORMS)
def test_store_is_the_apps(form: str, dynamodb: DynamoDBClient) -> None:
    app = make_app(form, SESSION_DYNAMODB_CLIENT=dynamodb)
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    assert session_store(app) is interface.store_for(app)


def test_store_of_an_app_without_the_interface(dynamodb: DynamoDBClient) -> None:
    """Config keys still say which table to use."""
    app = Flask(__name__)
    app.config.update(SESSION_DYNAMODB_CLIENT=dynamodb, SESSION_DYNAMODB_TABLE="one")
    assert session_store(app).table == "one"
    assert session_store(app, "two").table == "two"
    assert session_store(app, "two").gateway.admin_client is dynamodb


def test_store_of_an_app_whose_interface_was_replaced(
    dynamodb: DynamoDBClient,
) -> None:
    app = make_app("extension", SESSION_DYNAMODB_CLIENT=dynamodb)
    extension_interface = app.session_interface
    assert isinstance(extension_interface, DynamoDBSessionInterface)
    app.session_interface = Flask.session_interface
    assert session_store(app) is extension_interface.store_for(app)


# -- create-table -------------------------------------------------------------


def test_create_table(empty_app: Flask, client: DynamoDBClient) -> None:
    result = invoke(empty_app, "create-table")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Created table 'sessions' (provisioned, 5 read and 5 write capacity"
        " units); it is ACTIVE.",
        "TTL is on, on attribute 'expires': DynamoDB deletes expired sessions"
        " by itself.",
    ]
    assert result.stderr == ""
    table = describe(client)
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert ttl_of(client) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_create_table_twice(empty_app: Flask, client: DynamoDBClient) -> None:
    assert invoke(empty_app, "create-table", "--read-capacity", "2").exit_code == 0

    result = invoke(empty_app, "create-table", "--on-demand")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Table 'sessions' already exists; it is ACTIVE and was left as it is."
    )
    table = describe(client)
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert "BillingModeSummary" not in table or (
        table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    )


@one_form
def test_create_table_capacity_from_options(
    empty_app: Flask, client: DynamoDBClient
) -> None:
    result = invoke(
        empty_app, "create-table", "--read-capacity", "7", "--write-capacity", "3"
    )
    assert result.exit_code == 0, result.output
    assert "7 read and 3 write capacity units" in result.stdout
    throughput = describe(client)["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (7, 3)


def test_create_table_capacity_from_config(client: DynamoDBClient, form: str) -> None:
    app = make_app(
        form,
        SESSION_DYNAMODB_CLIENT=client,
        SESSION_DYNAMODB_READ_CAPACITY=11,
        SESSION_DYNAMODB_WRITE_CAPACITY=4,
    )
    result = invoke(app, "create-table", "--write-capacity", "6")
    assert result.exit_code == 0, result.output
    assert "11 read and 6 write capacity units" in result.stdout
    throughput = describe(client)["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (
        11,
        6,
    )


@one_form
def test_create_table_on_demand(empty_app: Flask, client: DynamoDBClient) -> None:
    result = invoke(empty_app, "create-table", "--on-demand")
    assert result.exit_code == 0, result.output
    assert "Created table 'sessions' (on-demand); it is ACTIVE." in result.stdout
    assert describe(client)["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize(
    ("args", "billing_mode"),
    [((), "PAY_PER_REQUEST"), (("--provisioned",), "PROVISIONED")],
)
def test_create_table_billing_mode_from_config(
    client: DynamoDBClient, form: str, args: tuple[str, ...], billing_mode: str
) -> None:
    app = make_app(
        form,
        SESSION_DYNAMODB_CLIENT=client,
        SESSION_DYNAMODB_BILLING_MODE="pay_per_request",
    )
    result = invoke(app, "create-table", *args)
    assert result.exit_code == 0, result.output
    table = describe(client)
    assert table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == (
        billing_mode
    )


@one_form
def test_create_table_refuses_capacity_on_demand(
    empty_app: Flask, client: DynamoDBClient
) -> None:
    result = invoke(empty_app, "create-table", "--on-demand", "--read-capacity", "3")
    assert result.exit_code == 2
    assert "--read-capacity and --write-capacity are for provisioned" in result.stderr
    assert client.list_tables()["TableNames"] == []


@pytest.mark.parametrize("value", ["0", "-1", "many"])
@one_form
def test_create_table_refuses_bad_capacity(empty_app: Flask, value: str) -> None:
    result = invoke(empty_app, "create-table", "--read-capacity", value)
    assert result.exit_code == 2
    assert "--read-capacity" in result.stderr


def test_create_table_other_table(empty_app: Flask, client: DynamoDBClient) -> None:
    result = invoke(empty_app, "create-table", "--table", "other.sessions")
    assert result.exit_code == 0, result.output
    assert "Created table 'other.sessions'" in result.stdout
    assert client.list_tables()["TableNames"] == ["other.sessions"]
    assert ttl_of(client, "other.sessions")["TimeToLiveStatus"] == "ENABLED"


def test_create_table_from_config(client: DynamoDBClient, form: str) -> None:
    app = make_app(
        form, SESSION_DYNAMODB_CLIENT=client, SESSION_DYNAMODB_TABLE="app-sessions"
    )
    assert invoke(app, "create-table").exit_code == 0
    assert client.list_tables()["TableNames"] == ["app-sessions"]


@pytest.mark.parametrize("name", ["ab", "with space", "x" * 256, "sessions!"])
@one_form
def test_refuses_a_bad_table_name(empty_app: Flask, name: str) -> None:
    for command in ("create-table", "status", "delete-expired"):
        result = invoke(empty_app, command, "--table", name)
        assert result.exit_code == 2
        assert "Invalid value for '--table'" in result.stderr


def test_create_table_on_a_server_without_ttl(
    empty_app: Flask, client: DynamoDBClient, caplog: pytest.LogCaptureFixture
) -> None:
    fail(client, "UpdateTimeToLive", "UnknownOperationException")

    with caplog.at_level(logging.WARNING):
        result = invoke(empty_app, "create-table")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Created table 'sessions' (provisioned, 5 read and 5 write capacity"
        " units); it is ACTIVE."
    ]
    assert result.stderr.splitlines() == [
        "Warning: this DynamoDB server does not support TTL; expired sessions"
        " stay in the table until `flask dynamo-session delete-expired` runs."
    ]
    # Said once, by the command, not a second time by the store's logger.
    assert caplog.records == []


def create_table_refused_ttl(
    app: Flask, client: DynamoDBClient, message: str
) -> Result:
    """``create-table`` where DynamoDB refuses to turn TTL on, saying ``message``."""
    fail(client, "UpdateTimeToLive", "ValidationException", message)
    return invoke(app, "create-table")


@one_form
def test_create_table_with_ttl_already_on(
    empty_app: Flask, client: DynamoDBClient
) -> None:
    """What DynamoDB answers, where moto accepts the update again."""
    result = create_table_refused_ttl(
        empty_app, client, "TimeToLive is already enabled"
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()[1] == "TTL was already on, on attribute 'expires'."
    )


@one_form
def test_create_table_with_ttl_on_another_attribute(
    empty_app: Flask, client: DynamoDBClient
) -> None:
    result = create_table_refused_ttl(
        empty_app,
        client,
        "TimeToLive is active on a different AttributeName: current AttributeName"
        " is ttl",
    )
    assert_error(
        result,
        "DynamoDB UpdateTimeToLive failed: ValidationException:",
        "current AttributeName is ttl",
    )


# -- status -------------------------------------------------------------------


def test_status_of_a_provisioned_table(
    empty_app: Flask, client: DynamoDBClient
) -> None:
    invoke(empty_app, "create-table", "--read-capacity", "3", "--write-capacity", "2")
    write_items(client, sessions(4, NOW))

    result = invoke(empty_app, "status")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Table:      sessions",
        "Status:     ACTIVE",
        "Billing:    provisioned, 3 read and 2 write capacity units",
        "TTL:        ENABLED on attribute 'expires'",
        "Items:      4 (approximate, updated by DynamoDB about every 6 hours)",
    ]
    assert result.stderr == ""


def test_status_of_an_on_demand_table_without_ttl(app: Flask) -> None:
    result = invoke(app, "status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2] == "Billing:    on-demand (pay per request)"
    assert lines[3] == "TTL:        DISABLED"
    assert lines[-1] == (
        "Expired sessions are not deleted by DynamoDB: run `flask dynamo-session"
        " create-table` to turn TTL on, or `flask dynamo-session delete-expired`"
        " on a schedule."
    )


@one_form
def test_status_on_a_server_without_ttl(app: Flask, dynamodb: DynamoDBClient) -> None:
    fail(dynamodb, "DescribeTimeToLive", "UnknownOperationException")
    result = invoke(app, "status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[3] == "TTL:        unsupported by this server"
    assert lines[-1].startswith("Expired sessions are not deleted by DynamoDB")


def test_status_with_a_key_prefix(dynamodb: DynamoDBClient, form: str) -> None:
    app = make_app(
        form, SESSION_DYNAMODB_CLIENT=dynamodb, SESSION_DYNAMODB_KEY_PREFIX="shop:"
    )
    result = invoke(app, "status")
    assert result.exit_code == 0, result.output
    assert "Key prefix: 'shop:'" in result.stdout.splitlines()


@one_form
def test_status_of_another_table(empty_app: Flask) -> None:
    invoke(empty_app, "create-table", "--table", "other", "--on-demand")
    result = invoke(empty_app, "status", "--table", "other")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Table:      other"


# -- delete-expired -----------------------------------------------------------


@pytest.fixture
def aged_table(dynamodb: DynamoDBClient) -> tuple[set[str], set[str]]:
    """40 expired and 35 live sessions, by the real clock: (expired, live)."""
    now = int(time.time())
    expired = sessions(40, now - 3600)
    live = sessions(35, now + 3600)
    write_items(dynamodb, expired + live)
    return {key for key, _ in expired}, {key for key, _ in live}


def test_delete_expired(
    app: Flask, dynamodb: DynamoDBClient, aged_table: tuple[set[str], set[str]]
) -> None:
    _, live = aged_table

    result = invoke(app, "delete-expired")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Deleted 40 expired sessions from table 'sessions' (75 items scanned)."
    ]
    assert result.stderr == ""
    assert stored_ids(dynamodb) == live


def test_delete_expired_dry_run(
    app: Flask, dynamodb: DynamoDBClient, aged_table: tuple[set[str], set[str]]
) -> None:
    expired, live = aged_table

    result = invoke(app, "delete-expired", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Dry run: 40 expired sessions would be deleted from table 'sessions'"
        " (75 items scanned); nothing was deleted."
    ]
    assert stored_ids(dynamodb) == expired | live


@one_form
def test_delete_expired_nothing_to_do(app: Flask) -> None:
    result = invoke(app, "delete-expired")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Deleted 0 expired sessions from table 'sessions' (0 items scanned).\n"
    )


@one_form
def test_delete_expired_one_of_one(app: Flask, dynamodb: DynamoDBClient) -> None:
    write_items(dynamodb, [(session_key("only"), int(time.time()) - 5)])
    result = invoke(app, "delete-expired")
    assert result.stdout == (
        "Deleted 1 expired session from table 'sessions' (1 item scanned).\n"
    )


@pytest.mark.parametrize("segments", [1, 7])
@one_form
def test_delete_expired_segments(
    app: Flask,
    dynamodb: DynamoDBClient,
    aged_table: tuple[set[str], set[str]],
    segments: int,
) -> None:
    requests: list[dict[str, t.Any]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Scan",
        lambda params, **kwargs: requests.append(dict(params)),
    )

    result = invoke(app, "delete-expired", "--segments", str(segments))

    assert result.exit_code == 0, result.output
    assert "Deleted 40 expired sessions" in result.stdout
    sweep_requests = [
        r for r in requests if r["ProjectionExpression"] == "#i, #e, #u, #r"
    ]
    assert len(sweep_requests) == segments
    assert stored_ids(dynamodb) == aged_table[1]
    if segments > 1:
        assert {r["Segment"] for r in sweep_requests} == set(range(segments))
        assert {r["TotalSegments"] for r in sweep_requests} == {segments}


@pytest.mark.parametrize("value", ["0", "1001", "four"])
@one_form
def test_delete_expired_refuses_bad_segments(app: Flask, value: str) -> None:
    result = invoke(app, "delete-expired", "--segments", value)
    assert result.exit_code == 2
    assert "--segments" in result.stderr


@one_form
def test_delete_expired_with_a_frozen_clock(
    app: Flask, dynamodb: DynamoDBClient
) -> None:
    write_items(
        dynamodb, sessions(6, NOW - 1) + sessions(3, NOW) + sessions(5, NOW + 1)
    )

    with freeze_time(datetime.fromtimestamp(NOW, tz=timezone.utc)):
        result = invoke(app, "delete-expired")

    assert result.exit_code == 0, result.output
    assert "Deleted 9 expired sessions" in result.stdout
    assert stored_ids(dynamodb) == {key for key, _ in sessions(5, NOW + 1)}


def test_delete_expired_keeps_other_apps_sessions(
    dynamodb: DynamoDBClient, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialize_calls(dynamodb, monkeypatch)
    now = int(time.time())
    mine = sessions(10, now - 60, prefix="shop:")
    theirs = sessions(10, now - 60, prefix="blog:")
    write_items(dynamodb, mine + theirs)
    app = make_app(
        form, SESSION_DYNAMODB_CLIENT=dynamodb, SESSION_DYNAMODB_KEY_PREFIX="shop:"
    )

    result = invoke(app, "delete-expired")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Deleted 10 expired sessions with key prefix 'shop:' from table"
        " 'sessions' (20 items scanned).\n"
    )
    assert stored_ids(dynamodb) == {key for key, _ in theirs}


@one_form
def test_delete_expired_other_table(empty_app: Flask, client: DynamoDBClient) -> None:
    invoke(empty_app, "create-table", "--table", "other", "--on-demand")
    write_items(client, sessions(3, NOW), table="other")
    result = invoke(empty_app, "delete-expired", "--table", "other")
    assert result.exit_code == 0, result.output
    assert "Deleted 3 expired sessions from table 'other'" in result.stdout
    assert stored_ids(client, "other") == set()


@one_form
def test_delete_expired_draws_a_progress_bar_on_a_terminal(
    app: Flask,
    aged_table: tuple[set[str], set[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(click._termui_impl, "isatty", lambda stream: True)

    result = invoke(app, "delete-expired")

    assert result.exit_code == 0, result.output
    assert "Scanning table 'sessions'" in result.stderr
    assert "[####################################]  100%" in result.stderr
    assert "40 expired" in result.stderr
    assert result.stdout.startswith("Deleted 40 expired sessions")


# -- errors -------------------------------------------------------------------

COMMANDS = ["create-table", "status", "delete-expired"]


@pytest.mark.parametrize("command", ["status", "delete-expired"])
def test_missing_table(empty_app: Flask, command: str) -> None:
    line = assert_error(invoke(empty_app, command))
    assert line == (
        "Error: the session table 'sessions' does not exist in region us-east-1"
        " at https://dynamodb.us-east-1.amazonaws.com; check"
        " SESSION_DYNAMODB_REGION and SESSION_DYNAMODB_ENDPOINT_URL, or create"
        " it with `flask dynamo-session create-table` (or set"
        " SESSION_DYNAMODB_AUTO_CREATE)"
    )


@pytest.mark.parametrize(
    ("command", "operation"),
    [
        ("create-table", "CreateTable"),
        ("status", "DescribeTable"),
        ("status", "DescribeTimeToLive"),
        ("delete-expired", "DescribeTable"),
        ("delete-expired", "Scan"),
        ("delete-expired", "BatchWriteItem"),
    ],
)
@one_form
def test_access_denied(
    app: Flask,
    dynamodb: DynamoDBClient,
    aged_table: tuple[set[str], set[str]],
    command: str,
    operation: str,
) -> None:
    fail(dynamodb, operation, "AccessDeniedException", DENIED.format(operation))

    line = assert_error(invoke(app, command))

    assert line == (
        f"Error: DynamoDB {operation} failed: AccessDeniedException: "
        + DENIED.format(operation)
    )


@pytest.mark.parametrize("command", COMMANDS)
@one_form
def test_throttled_after_retries(
    app: Flask, dynamodb: DynamoDBClient, command: str
) -> None:
    for operation in ("CreateTable", "DescribeTable"):
        fail(
            dynamodb,
            operation,
            "ProvisionedThroughputExceededException",
            "Rate of requests exceeds the allowed throughput.",
        )
    assert_error(
        invoke(app, command),
        "failed: ProvisionedThroughputExceededException: Rate of requests",
    )


def unreachable_config() -> dict[str, t.Any]:
    """Config keys pointing at a closed port, giving up at once."""
    return {
        "SESSION_DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "SESSION_DYNAMODB_BOTOCORE_CONFIG": Config(
            retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1
        ),
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_no_credentials(no_credentials: None, form: str, command: str) -> None:
    config = unreachable_config()
    app = make_app(form, **config)
    line = assert_error(invoke(app, command))
    assert line == (
        "Error: no AWS credentials were found; set AWS_ACCESS_KEY_ID and"
        " AWS_SECRET_ACCESS_KEY, or use what else botocore reads: a profile"
        " (AWS_PROFILE, ~/.aws/credentials, ~/.aws/config, SSO), a web identity"
        f" token, or a container or instance role;"
        f" {config['SESSION_DYNAMODB_ENDPOINT_URL']} is not AWS: any pair works"
        " for DynamoDB Local, dynalite or moto, such as AWS_ACCESS_KEY_ID=local"
        " AWS_SECRET_ACCESS_KEY=local"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_unreachable_endpoint(form: str, command: str) -> None:
    config = unreachable_config()
    app = make_app(form, **config)

    started = time.monotonic()
    line = assert_error(invoke(app, command))

    assert line.endswith(
        f"failed: Could not connect to the endpoint URL:"
        f' "{config["SESSION_DYNAMODB_ENDPOINT_URL"]}/"'
    )
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_config_value(command: str) -> None:
    app = make_app("interface", SESSION_DYNAMODB_BILLING_MODE="FREE")
    assert_error(
        invoke(app, command),
        "Error: SESSION_DYNAMODB_BILLING_MODE must be one of PROVISIONED,"
        " PAY_PER_REQUEST, got 'FREE'",
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_no_region(monkeypatch: pytest.MonkeyPatch, form: str, command: str) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    app = make_app(form)
    assert_error(invoke(app, command), "Error: SESSION_DYNAMODB_REGION must be set")


@one_form
def test_validation_error(empty_app: Flask, client: DynamoDBClient) -> None:
    """A request DynamoDB rejects (not translated by the store) is one line too."""
    fail(client, "CreateTable", "ValidationException", "One or more parameter\nvalues")
    assert_error(
        invoke(empty_app, "create-table"),
        "Error: DynamoDB CreateTable failed: ValidationException: One or more"
        " parameter values",
    )


@one_form
def test_sweep_throttled(app: Flask, dynamodb: DynamoDBClient) -> None:
    write_items(dynamodb, sessions(2, NOW))
    fail(dynamodb, "BatchWriteItem", "ProvisionedThroughputExceededException")
    line = assert_error(invoke(app, "delete-expired"))
    assert "BatchWriteItem failed: ProvisionedThroughputExceededException" in line


# -- error_message --------------------------------------------------------------


def test_error_message_of_a_bare_client_error() -> None:
    exc = ClientError({"Error": {}}, "Scan")
    assert error_message(exc) == "DynamoDB Scan failed: error"


def test_error_message_keeps_the_store_message_of_a_missing_table() -> None:
    cause = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}},
        "GetItem",
    )
    exc = SessionBackendError("the session table 'x' does not exist")
    exc.__cause__ = cause
    assert error_message(exc) == "the session table 'x' does not exist"


def test_error_message_of_a_configuration_error() -> None:
    exc = ConfigurationError("SESSION_DYNAMODB_TTL", -1, "must be more than zero")
    assert error_message(exc) == "SESSION_DYNAMODB_TTL must be more than zero, got -1"
