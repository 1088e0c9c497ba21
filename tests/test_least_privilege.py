"""Least privilege: the documented IAM policies, proven against moto with IAM on.

moto runs with IAM authentication (:class:`~tests.support.servers.MotoServer`
with ``iam_auth``): it recomputes the SigV4 signature of every request and
evaluates the signing user's policies. The app and the CLI sign as IAM users
holding exactly the actions ``docs/iam.rst`` lists (read from the page
itself), granted on ``"Resource": "*"`` since moto
matches DynamoDB actions only against ``*``.

- The app's policy serves a whole session's life.
- Each action of it is needed: without it, the requests that use it get a
  503 and the stored session is left as it was, while every other request
  still works.
- Each CLI command works with exactly its listed actions, and fails with one
  line and exit status 1 without any one of them.
- A wrong secret key gets 503s, never a 500.
"""

from __future__ import annotations

import time
import types
import typing as t

import pytest

from flask_dynamodb_session.cli import dynamo_session
from tests.support.apps import COOKIE, TEST_CONFIG, check_transport, make_app
from tests.support.iam import Users, documented_policies
from tests.support.servers import AccessKey, MotoServer, boto3_session
from tests.support.tables import sessions, unique_table, write_items

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result
    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from werkzeug.test import TestResponse

    AppBuilder = Callable[..., Flask]

pytestmark = pytest.mark.server

POLICIES = documented_policies()
APP_ACTIONS = sorted(POLICIES.app)
AUTO_CREATE_ACTIONS = sorted(POLICIES.auto_create)
COMMAND_ACTIONS = sorted(
    (command, action)
    for command, actions in POLICIES.commands.items()
    for action in actions
)
#: The arguments each command is run with.
COMMAND_ARGS = {
    "create-table": ["create-table", "--on-demand"],
    "status": ["status"],
    "delete-expired": ["delete-expired"],
}


class Step(t.NamedTuple):
    """One request, from a new browser or one holding a stored session."""

    #: What the request does, for messages.
    name: str
    #: ``"new"``: no cookie; ``"stored"``: the cookie of a session holding
    #: ``{"user": "alice"}``, written just before.
    browser: str
    method: str
    path: str
    #: The DynamoDB actions it calls.
    needs: frozenset[str]
    #: Interface options of the app serving it.
    options: t.Mapping[str, t.Any] = types.MappingProxyType({})
    #: Actions of :attr:`needs` whose failure the request survives: it is
    #: served, but the cookie is not refreshed.
    tolerates: frozenset[str] = frozenset()


STEPS = [
    Step("read a new session", "new", "GET", "/read", frozenset()),
    Step("first write", "new", "POST", "/set/theme/dark", frozenset({"PutItem"})),
    Step("log in", "new", "POST", "/login/alice", frozenset({"PutItem"})),
    Step("leave the session alone", "stored", "GET", "/untouched", frozenset()),
    Step("read", "stored", "GET", "/read", frozenset({"GetItem"})),
    Step(
        "read and refresh the expiry",
        "stored",
        "GET",
        "/read",
        frozenset({"GetItem", "UpdateItem"}),
        {"touch_after": 0},
        tolerates=frozenset({"UpdateItem"}),
    ),
    Step(
        "change",
        "stored",
        "POST",
        "/set/theme/dark",
        frozenset({"GetItem", "UpdateItem"}),
    ),
    Step(
        "log in again (regenerate)",
        "stored",
        "POST",
        "/login/bob",
        frozenset({"GetItem", "PutItem", "UpdateItem"}),
    ),
    # clear() needs no read: the stored item is deleted whatever it holds.
    Step("log out", "stored", "POST", "/clear", frozenset({"DeleteItem"})),
]


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def transport_options(transport: str) -> dict[str, t.Any]:
    """Interface options choosing how the item calls are sent."""
    return {"transport": "auto" if transport == "lean" else "boto3"}


def session_ids(client: t.Any, table: str) -> set[str]:
    """The ``id`` of every item that holds a session (an item retired when
    its session moved to a new id holds none)."""
    items = client.scan(
        TableName=table,
        ProjectionExpression="id, #d",
        ExpressionAttributeNames={"#d": "data"},
    )["Items"]
    return {item["id"]["S"] for item in items if "data" in item}


def interface_options(
    server: MotoServer, key: AccessKey, **options: t.Any
) -> dict[str, t.Any]:
    """Options of an interface talking to ``server``, signing with ``key``.

    An unchanged session is not refreshed unless ``touch_after`` says so.
    """
    return {
        "endpoint_url": server.endpoint_url,
        "region_name": "us-east-1",
        "boto3_session": boto3_session(key),
        "botocore_config": TEST_CONFIG,
        "touch_after": 3600,
        **options,
    }


@pytest.fixture
def build_app(
    iam_server: MotoServer,
    iam_table: str,
    transport: str,
    transport_options: dict[str, t.Any],
) -> AppBuilder:
    """Build an app of :func:`~tests.support.apps.make_app` (with the CLI) on
    ``iam_table``.

    Call it with the access key to sign with and more interface options; the
    same arguments give the same app again within a test, so that its client
    (and connections) are built once.
    """

    apps: dict[tuple[AccessKey, frozenset[tuple[str, t.Any]]], Flask] = {}

    def build(key: AccessKey, **options: t.Any) -> Flask:
        wanted = (key, frozenset(options.items()))
        app = apps.get(wanted)
        if app is None:
            merged = {"table": iam_table, **transport_options, **options}
            app = apps[wanted] = make_app(
                **interface_options(iam_server, key, **merged)
            )
            check_transport(app, transport)
            app.cli.add_command(dynamo_session)
        return app

    return build


# ------------------------------------------------------------------- helpers


def read(client: FlaskClient) -> dict[str, str]:
    response = client.get("/read")
    assert response.status_code == 200, response.text
    data: dict[str, str] = response.json["data"]  # type: ignore[index]
    return data


def cookie_of(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return None if cookie is None else cookie.value


def browser(app: Flask, cookie: str | None) -> FlaskClient:
    client = app.test_client()
    if cookie is not None:
        client.set_cookie(COOKIE, cookie)
    return client


def assert_unavailable(response: TestResponse, context: str = "") -> None:
    """A 503 of the session backend: Retry-After, no cookie set or deleted."""
    assert response.status_code == 503, (context, response.status_code, response.text)
    assert "Retry-After" in response.headers, context
    assert "Set-Cookie" not in response.headers, context


def stored_session(build_app: AppBuilder, key: AccessKey) -> str:
    """Store ``{"user": "alice"}`` with an app signing with ``key``; its cookie."""
    client = build_app(key).test_client()
    assert client.post("/login/alice").status_code == 200
    cookie = cookie_of(client)
    assert cookie is not None
    return cookie


def run_step(
    build_app: AppBuilder, step: Step, key: AccessKey, full_key: AccessKey
) -> tuple[TestResponse, str | None]:
    """Send ``step``'s request signed with ``key``; return it and the cookie sent.

    A stored session is prepared with ``full_key``.
    """
    cookie = stored_session(build_app, full_key) if step.browser == "stored" else None
    client = browser(build_app(key, **step.options), cookie)
    return client.open(step.path, method=step.method), cookie


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["dynamo-session", *args])


def assert_one_line_error(result: Result) -> str:
    """The command failed with exit status 1 and one ``Error:`` line."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# ------------------------------------------------------------- the IAM page


def test_cli_policy_is_what_the_commands_need() -> None:
    """The CLI's policy grants exactly what the commands' table lists."""
    assert set(COMMAND_ARGS) == set(POLICIES.commands)
    assert POLICIES.cli == frozenset().union(*POLICIES.commands.values())


def test_every_app_action_is_used_by_some_request() -> None:
    """The table of requests covers every action of the app's policy."""
    assert frozenset().union(*(step.needs for step in STEPS)) == POLICIES.app


# ----------------------------------------------------------------- the app


def test_app_policy_serves_a_session_life(
    build_app: AppBuilder, users: Users, admin: DynamoDBClient, iam_table: str
) -> None:
    client = build_app(users.key(POLICIES.app)).test_client()

    assert client.post("/login/alice").status_code == 200
    assert read(client) == {"user": "'alice'"}
    assert client.post("/set/theme/dark").status_code == 200
    assert read(client) == {"user": "'alice'", "theme": "'dark'"}
    first_cookie = cookie_of(client)

    assert client.post("/login/bob").status_code == 200

    assert cookie_of(client) not in (None, first_cookie)
    assert read(client) == {"user": "'bob'", "theme": "'dark'"}
    assert len(session_ids(admin, iam_table)) == 1

    assert client.post("/clear").status_code == 200

    assert cookie_of(client) is None
    assert read(client) == {}
    assert session_ids(admin, iam_table) == set()


@pytest.mark.parametrize("step", STEPS, ids=[step.name for step in STEPS])
def test_app_policy_serves_every_request(
    build_app: AppBuilder, users: Users, step: Step
) -> None:
    key = users.key(POLICIES.app)
    response, _ = run_step(build_app, step, key, key)
    assert response.status_code == 200, response.text
    if step.tolerates:
        assert "Set-Cookie" in response.headers


@pytest.mark.parametrize("dropped", APP_ACTIONS)
def test_each_app_action_is_needed(
    build_app: AppBuilder, users: Users, dropped: str
) -> None:
    """Without ``dropped``, the requests calling it get a 503; the rest work."""
    full_key = users.key(POLICIES.app)
    key = users.key(POLICIES.app - {dropped})
    for step in STEPS:
        response, cookie = run_step(build_app, step, key, full_key)
        if dropped not in step.needs:
            assert response.status_code == 200, (step.name, response.text)
            continue
        if dropped in step.tolerates:
            assert response.status_code == 200, (step.name, response.text)
            assert "Set-Cookie" not in response.headers, step.name
            continue
        assert_unavailable(response, step.name)
        if cookie is not None:
            # Nothing stored was lost: the browser's session is as it was.
            client = browser(build_app(full_key), cookie)
            assert read(client) == {"user": "'alice'"}, step.name


def test_moto_ignores_a_table_arn(
    build_app: AppBuilder, iam_server: MotoServer, users: Users, iam_table: str
) -> None:
    """Why these tests grant ``"Resource": "*"``: moto denies a table ARN.

    Should this fail, moto has learnt DynamoDB resources: grant the
    documented table ARN instead.
    """
    arn = f"arn:aws:dynamodb:us-east-1:{iam_server.account_id}:table/{iam_table}"
    key = users.key(POLICIES.app, resource=arn)
    cookie = stored_session(build_app, users.key(POLICIES.app))

    assert_unavailable(browser(build_app(key), cookie).get("/read"))


def test_auto_create_policy_creates_the_table(
    build_app: AppBuilder, users: Users, admin: DynamoDBClient
) -> None:
    table = unique_table()
    key = users.key(POLICIES.app | POLICIES.auto_create)
    client = build_app(key, table=table, auto_create=True).test_client()

    assert client.post("/login/alice").status_code == 200

    assert read(client) == {"user": "'alice'"}
    description = admin.describe_time_to_live(TableName=table)
    assert description["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


@pytest.mark.parametrize("dropped", AUTO_CREATE_ACTIONS)
def test_each_auto_create_action_is_needed(
    build_app: AppBuilder, users: Users, dropped: str
) -> None:
    key = users.key((POLICIES.app | POLICIES.auto_create) - {dropped})
    client = build_app(key, table=unique_table(), auto_create=True).test_client()

    assert_unavailable(client.post("/login/alice"))


def test_wrong_secret_key_gets_503(
    build_app: AppBuilder, users: Users, admin: DynamoDBClient, iam_table: str
) -> None:
    """moto answers a bad signature with an XML 403: a 503, never a 500."""
    full_key = users.key(POLICIES.app)
    cookie = stored_session(build_app, full_key)
    for key in (
        AccessKey(full_key.access_key_id, "not the secret"),
        AccessKey("AKIA" + "X" * 16, full_key.secret_access_key),
    ):
        app = build_app(key)

        assert_unavailable(browser(app, None).post("/set/theme/dark"))
        assert_unavailable(browser(app, cookie).get("/read"))
        assert_unavailable(browser(app, cookie).post("/clear"))

    assert len(session_ids(admin, iam_table)) == 1


# ----------------------------------------------------------------- the CLI


def prepare(command: str, admin: DynamoDBClient, table: str) -> str:
    """Set the table up for ``command``; return the table it should use.

    ``create-table`` gets a table that does not exist yet; ``delete-expired``
    one holding an expired and a live session.
    """
    if command == "create-table":
        return unique_table()
    if command == "delete-expired":
        now = int(time.time())
        write_items(admin, sessions(1, now - 60) + sessions(1, now + 3600), table)
    return table


@pytest.mark.parametrize("command", sorted(POLICIES.commands))
def test_command_works_with_its_actions(
    build_app: AppBuilder,
    users: Users,
    admin: DynamoDBClient,
    iam_table: str,
    command: str,
) -> None:
    key = users.key(POLICIES.commands[command], attached=True)
    iam_table = prepare(command, admin, iam_table)

    result = invoke(build_app(key, table=iam_table), *COMMAND_ARGS[command])

    assert result.exit_code == 0, result.output
    if command == "create-table":
        status = admin.describe_table(TableName=iam_table)["Table"]["TableStatus"]
        assert status == "ACTIVE"
        ttl = admin.describe_time_to_live(TableName=iam_table)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
    elif command == "delete-expired":
        assert result.stdout.startswith("Deleted 1 expired session ")
        assert len(session_ids(admin, iam_table)) == 1


@pytest.mark.parametrize(("command", "dropped"), COMMAND_ACTIONS)
def test_each_command_action_is_needed(
    build_app: AppBuilder,
    users: Users,
    admin: DynamoDBClient,
    iam_table: str,
    command: str,
    dropped: str,
) -> None:
    key = users.key(POLICIES.commands[command] - {dropped}, attached=True)
    iam_table = prepare(command, admin, iam_table)

    result = invoke(build_app(key, table=iam_table), *COMMAND_ARGS[command])

    line = assert_one_line_error(result)
    assert f"dynamodb:{dropped}" in line
    # A denied call says it failed, not that the table never became ACTIVE.
    assert "did not become ACTIVE" not in line


def test_command_with_wrong_secret_key(
    build_app: AppBuilder, users: Users, iam_table: str
) -> None:
    key = users.key(POLICIES.commands["status"], attached=True)
    app = build_app(AccessKey(key.access_key_id, "not the secret"))

    line = assert_one_line_error(invoke(app, "status"))

    assert "SignatureDoesNotMatch" in line
