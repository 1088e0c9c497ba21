"""``flask dynamo-session`` against real servers over HTTP: moto and dynalite."""

from __future__ import annotations

import time
import typing as t

import pytest
from botocore.config import Config
from flask import Flask

from flask_dynamodb_session import DynamoDBSession
from flask_dynamodb_session.cli import session_store
from tests.support.servers import DynaliteServer, DynamoServer, MotoServer, delete_table
from tests.support.tables import sessions, stored_ids, write_items

if t.TYPE_CHECKING:
    from click.testing import Result
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = [pytest.mark.server, pytest.mark.every_server]

#: What create-table prints on a server without TTL (dynalite).
NO_TTL_WARNING = (
    "Warning: this DynamoDB server does not support TTL; expired sessions stay"
    " in the table until `flask dynamo-session delete-expired` runs."
)
TTL_ON = (
    "TTL is on, on attribute 'expires': DynamoDB deletes expired sessions by itself."
)


def make_app(endpoint_url: str, table: str, **config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test secret",
        SESSION_DYNAMODB_ENDPOINT_URL=endpoint_url,
        SESSION_DYNAMODB_REGION="us-east-1",
        SESSION_DYNAMODB_TABLE=table,
        SESSION_DYNAMODB_BOTOCORE_CONFIG=Config(proxies={}),
        **config,
    )
    DynamoDBSession(app)
    return app


@pytest.fixture
def app(dynamo_server: DynamoServer, table_name: str) -> Flask:
    return make_app(dynamo_server.endpoint_url, table_name)


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["dynamo-session", *args])


def count_items(client: DynamoDBClient, table: str) -> int:
    return sum(
        page["Count"]
        for page in client.get_paginator("scan").paginate(
            TableName=table, Select="COUNT"
        )
    )


def has_ttl(server: DynamoServer) -> bool:
    return isinstance(server, MotoServer)


def test_create_table_twice(
    app: Flask, dynamo_server: DynamoServer, direct: DynamoDBClient, table_name: str
) -> None:
    first = invoke(app, "create-table")

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == (
        f"Created table {table_name!r} (provisioned, 5 read and 5 write capacity"
        " units); it is ACTIVE."
    )
    assert (
        direct.describe_table(TableName=table_name)["Table"]["TableStatus"] == "ACTIVE"
    )
    if has_ttl(dynamo_server):
        assert first.stdout.splitlines()[1:] == [TTL_ON]
        assert first.stderr == ""
    else:
        assert first.stdout.splitlines()[1:] == []
        assert first.stderr.splitlines() == [NO_TTL_WARNING]

    second = invoke(app, "create-table")

    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[0] == (
        f"Table {table_name!r} already exists; it is ACTIVE and was left as it is."
    )
    assert second.stderr == ("" if has_ttl(dynamo_server) else NO_TTL_WARNING + "\n")


def test_create_table_waits_until_active() -> None:
    """dynalite keeps the table CREATING for a while; the command waits."""
    with DynaliteServer(table_delay_ms=400) as server:
        app = make_app(server.endpoint_url, "slow-sessions")
        result = invoke(app, "create-table", "--on-demand")
        client = server.client()
        try:
            status = client.describe_table(TableName="slow-sessions")["Table"]
        finally:
            client.close()
    assert result.exit_code == 0, result.output
    assert "Created table 'slow-sessions' (on-demand); it is ACTIVE." in result.stdout
    assert status["TableStatus"] == "ACTIVE"


def test_status(
    app: Flask, dynamo_server: DynamoServer, direct: DynamoDBClient, table_name: str
) -> None:
    assert invoke(app, "create-table", "--on-demand").exit_code == 0
    write_items(direct, sessions(12, int(time.time())), table=table_name)

    result = invoke(app, "status")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"Table:      {table_name}",
        "Status:     ACTIVE",
        "Billing:    on-demand (pay per request)",
    ]
    if has_ttl(dynamo_server):
        assert lines[3:] == [
            "TTL:        ENABLED on attribute 'expires'",
            "Items:      12 (approximate, updated by DynamoDB about every 6 hours)",
        ]
    else:
        # dynalite answers DescribeTimeToLive with DISABLED, and never counts.
        assert lines[3] == "TTL:        DISABLED"
        assert lines[4].startswith("Items:      0 (approximate")
        assert lines[5].startswith("Expired sessions are not deleted by DynamoDB")


def test_status_of_a_missing_table(app: Flask, table_name: str) -> None:
    result = invoke(app, "status")
    assert result.exit_code == 1
    endpoint = app.config["SESSION_DYNAMODB_ENDPOINT_URL"]
    assert result.stderr == (
        f"Error: the session table {table_name!r} does not exist in region"
        f" us-east-1 at {endpoint}; check SESSION_DYNAMODB_REGION and"
        " SESSION_DYNAMODB_ENDPOINT_URL, or create it with `flask dynamo-session"
        " create-table` (or set SESSION_DYNAMODB_AUTO_CREATE)\n"
    )


def test_delete_expired_thousands(
    app: Flask, direct: DynamoDBClient, table_name: str
) -> None:
    assert invoke(app, "create-table", "--on-demand").exit_code == 0
    now = int(time.time())
    expired = sessions(1500, now - 3600)
    live = sessions(1500, now + 3600)
    write_items(direct, expired + live, table=table_name, threads=4)

    dry_run = invoke(app, "delete-expired", "--dry-run")

    assert dry_run.exit_code == 0, dry_run.output
    assert dry_run.stdout == (
        f"Dry run: 1500 expired sessions would be deleted from table {table_name!r}"
        " (3000 items scanned); nothing was deleted.\n"
    )
    assert count_items(direct, table_name) == 3000

    result = invoke(app, "delete-expired", "--segments", "6")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Deleted 1500 expired sessions from table {table_name!r}"
        " (3000 items scanned).\n"
    )
    assert stored_ids(direct, table_name) == {key for key, _ in live}


# -- the sessions of a user ---------------------------------------------------

#: What create-table says of the index of users' sessions.
INDEX = "index 'uid-index' (the sessions of a user, by 'uid')"


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ")
    return line


@pytest.fixture
def user_app(dynamo_server: DynamoServer, table_name: str) -> Flask:
    return make_app(
        dynamo_server.endpoint_url, table_name, SESSION_DYNAMODB_USER_KEY="user"
    )


def test_create_table_with_user_key_creates_the_index(
    user_app: Flask, direct: DynamoDBClient, table_name: str
) -> None:
    first = invoke(user_app, "create-table", "--on-demand")

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[:2] == [
        f"Created table {table_name!r} (on-demand); it is ACTIVE.",
        f"Created the {INDEX}; it is ACTIVE.",
    ]
    (index,) = direct.describe_table(TableName=table_name)["Table"][
        "GlobalSecondaryIndexes"
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}

    second = invoke(user_app, "create-table", "--on-demand")

    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[:2] == [
        f"Table {table_name!r} already exists; it is ACTIVE and was left as it is.",
        f"The {INDEX} was already there; it is ACTIVE.",
    ]


def test_create_table_adds_the_index_to_an_existing_table(
    app: Flask, user_app: Flask, dynamo_server: DynamoServer, table_name: str
) -> None:
    assert invoke(app, "create-table").exit_code == 0

    result = invoke(user_app, "create-table")

    if isinstance(dynamo_server, MotoServer):
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[:2] == [
            f"Table {table_name!r} already exists; it is ACTIVE.",
            f"Added the {INDEX}; it is ACTIVE.",
        ]
    else:  # dynalite cannot add an index to an existing table
        line = one_error_line(result)
        assert "did not add the index 'uid-index'" in line


def test_status_shows_the_index(
    app: Flask, user_app: Flask, direct: DynamoDBClient, table_name: str
) -> None:
    assert invoke(app, "create-table", "--on-demand").exit_code == 0
    missing = invoke(user_app, "status")
    assert missing.exit_code == 0, missing.output
    assert (
        "Index:      missing: SESSION_DYNAMODB_USER_KEY is set but the table has no"
        " index 'uid-index'; run `flask dynamo-session create-table` to add it"
    ) in missing.stdout.splitlines()
    assert "Index:" not in invoke(app, "status").stdout

    delete_table(direct, table_name)
    assert invoke(user_app, "create-table", "--on-demand").exit_code == 0

    result = invoke(user_app, "status")
    assert (
        "Index:      uid-index ACTIVE, projects keys only" in result.stdout.splitlines()
    )
    unused = invoke(app, "status")
    assert (
        "Index:      uid-index ACTIVE, projects keys only (unused:"
        " SESSION_DYNAMODB_USER_KEY is not set)"
    ) in unused.stdout.splitlines()


def test_revoke_user(user_app: Flask, direct: DynamoDBClient, table_name: str) -> None:
    assert invoke(user_app, "create-table", "--on-demand").exit_code == 0
    store = session_store(user_app)
    for number, user in enumerate([42, "42", 7]):
        store.set(f"session-{number}", {"user": user})

    result = invoke(user_app, "revoke-user", "42")

    assert result.exit_code == 0, result.output
    assert (
        result.stdout == f"Deleted 2 sessions of user '42' from table {table_name!r}.\n"
    )
    assert count_items(direct, table_name) == 1
    again = invoke(user_app, "revoke-user", "42")
    assert (
        again.stdout == f"Deleted 0 sessions of user '42' from table {table_name!r}.\n"
    )
    assert invoke(user_app, "revoke-user", "7").stdout.startswith("Deleted 1 session ")


def test_revoke_user_without_user_key(app: Flask) -> None:
    assert invoke(app, "create-table", "--on-demand").exit_code == 0
    line = one_error_line(invoke(app, "revoke-user", "42"))
    assert line.startswith("Error: SESSION_DYNAMODB_USER_KEY must name the session key")


def test_revoke_user_without_the_index(app: Flask, user_app: Flask) -> None:
    assert invoke(app, "create-table", "--on-demand").exit_code == 0
    line = one_error_line(invoke(user_app, "revoke-user", "42"))
    assert "lacks" in line
    assert "`flask dynamo-session create-table`" in line


def test_revoke_user_of_a_missing_table(user_app: Flask, table_name: str) -> None:
    line = one_error_line(invoke(user_app, "revoke-user", "42"))
    assert f"the session table {table_name!r} does not exist" in line


def test_revoke_user_refuses_an_empty_id(user_app: Flask) -> None:
    result = invoke(user_app, "revoke-user", "")
    assert result.exit_code == 2
    assert "USER_ID" in result.stderr
