"""Least privilege for the sessions of a user, against moto with IAM on.

The "Sessions of a user" section of ``docs/iam.rst`` grants, beyond the
app's policy, ``Query`` (on the index) and ``BatchGetItem`` and
``DeleteItem`` (on the table); ``create-table`` needs ``UpdateTable`` to add
the index to an existing table. Each is proven enough and needed here,
signing as IAM users holding exactly those actions. moto matches DynamoDB
actions only against ``"Resource": "*"``, so the index's ARN itself is not
checked.
"""

from __future__ import annotations

import typing as t

import pytest

from flask_dynamodb_session import SessionBackendError, SessionStore
from flask_dynamodb_session.cli import dynamo_session
from flask_dynamodb_session.options import resolve
from tests.support.apps import TEST_CONFIG, make_app
from tests.support.iam import Users, documented_policies
from tests.support.servers import AccessKey, MotoServer, boto3_session
from tests.support.tables import USER_KEY, put_session, unique_table

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from click.testing import Result
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.server

POLICIES = documented_policies()
USER_ACTIONS = POLICIES.users
#: What each operation calls, beyond what the app's policy already has.
NEEDS = {
    "sessions_of": {"Query", "BatchGetItem"},
    "revoke": {"DeleteItem"},
    "revoke_user": {"Query", "DeleteItem"},
}


@pytest.fixture
def user_index() -> bool:
    """The tables of these tests have the index of users' sessions."""
    return True


@pytest.fixture
def store_for(
    iam_server: MotoServer, iam_table: str
) -> Iterator[Callable[[AccessKey], SessionStore]]:
    made: list[SessionStore] = []

    def make(key: AccessKey) -> SessionStore:
        store = SessionStore(
            resolve(
                {
                    "endpoint_url": iam_server.endpoint_url,
                    "region_name": "us-east-1",
                    "boto3_session": boto3_session(key),
                    "botocore_config": TEST_CONFIG,
                    "table": iam_table,
                    "user_key": USER_KEY,
                }
            )
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def call(store: SessionStore, operation: str, admin: DynamoDBClient) -> object:
    """Run ``operation`` of the store on one stored session of alice."""
    handle = put_session(admin, store, {USER_KEY: "alice"})
    if operation == "sessions_of":
        return [session.handle for session in store.sessions_of("alice")]
    if operation == "revoke":
        return store.revoke(handle, user_id="alice")
    return store.revoke_user("alice")


def test_the_docs_grant_what_the_operations_call() -> None:
    assert frozenset().union(*NEEDS.values()) == USER_ACTIONS


@pytest.mark.parametrize("operation", sorted(NEEDS))
def test_the_documented_actions_are_enough(
    users: Users,
    store_for: Callable[[AccessKey], SessionStore],
    admin: DynamoDBClient,
    operation: str,
) -> None:
    store = store_for(users.key(POLICIES.app | USER_ACTIONS))
    assert call(store, operation, admin) not in ([], False, 0)


@pytest.mark.parametrize(
    ("operation", "dropped"),
    sorted(
        (operation, action) for operation, needs in NEEDS.items() for action in needs
    ),
)
def test_each_action_is_needed(
    users: Users,
    store_for: Callable[[AccessKey], SessionStore],
    admin: DynamoDBClient,
    operation: str,
    dropped: str,
) -> None:
    store = store_for(users.key((POLICIES.app | USER_ACTIONS) - {dropped}))
    with pytest.raises(SessionBackendError) as caught:
        call(store, operation, admin)
    assert f"not authorized to perform: dynamodb:{dropped}" in str(
        caught.value.__cause__
    )


# -- the CLI ------------------------------------------------------------------


def invoke(server: MotoServer, key: AccessKey, table: str, *args: str) -> Result:
    app = make_app(
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        boto3_session=boto3_session(key),
        botocore_config=TEST_CONFIG,
        table=table,
        user_key=USER_KEY,
    )
    app.cli.add_command(dynamo_session)
    return app.test_cli_runner().invoke(args=["dynamo-session", *args])


def table_without_index(admin: DynamoDBClient) -> str:
    name = unique_table()
    SessionStore(resolve({"client": admin, "table": name})).create_table(
        billing_mode="PAY_PER_REQUEST"
    )
    return name


def test_create_table_adds_the_index_with_update_table(
    iam_server: MotoServer, users: Users, admin: DynamoDBClient
) -> None:
    actions = POLICIES.commands["create-table"] | {"UpdateTable"}
    name = table_without_index(admin)

    result = invoke(iam_server, users.key(actions, attached=True), name, "create-table")

    assert result.exit_code == 0, result.output
    assert "Added the index 'uid-index'" in result.stdout

    other = table_without_index(admin)
    refused = invoke(
        iam_server,
        users.key(actions - {"UpdateTable"}, attached=True),
        other,
        "create-table",
    )
    assert refused.exit_code == 1
    (line,) = refused.stderr.splitlines()
    assert "dynamodb:UpdateTable" in line


def test_revoke_user_needs_query_and_delete_item(
    iam_server: MotoServer, users: Users, admin: DynamoDBClient, iam_table: str
) -> None:
    actions = NEEDS["revoke_user"]
    store = SessionStore(
        resolve({"client": admin, "table": iam_table, "user_key": USER_KEY})
    )
    put_session(admin, store, {USER_KEY: "alice"})

    for dropped in sorted(actions):
        result = invoke(
            iam_server,
            users.key(actions - {dropped}),
            iam_table,
            "revoke-user",
            "alice",
        )
        assert result.exit_code == 1, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith("Error: ")
        assert f"dynamodb:{dropped}" in line

    result = invoke(iam_server, users.key(actions), iam_table, "revoke-user", "alice")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Deleted 1 session of user 'alice'")
