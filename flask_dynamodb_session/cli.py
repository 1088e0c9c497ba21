"""The ``flask dynamo-session`` command group.

``create-table``, ``status``, ``delete-expired`` and ``revoke-user`` are thin
wrappers over :meth:`.SessionStore.create_table`, :func:`.status.table_status`,
:func:`.sweep.delete_expired` and :meth:`.SessionStore.revoke_user`.
They work on the table of the current app's session interface, read from
its config keys (``SESSION_DYNAMODB_*``) unless an option says otherwise.

The group is registered by :class:`.DynamoDBSession` and, for apps that only
set ``app.session_interface``, through the ``flask.commands`` entry point.

A failure (no credentials, no permission, no table, an unreachable
endpoint, a bad config value, also one raised while Flask loads the app) is
one line on stderr, ``Error: ...``, and exit status 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
import typing as t

import click
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app
from flask.cli import AppGroup

from .exceptions import SessionError
from .interface import DynamoDBSessionInterface
from .reports import describe_setup, describe_status, describe_sweep, plural
from .status import approximate_item_count, table_status
from .store import SessionStore
from .sweep import ExpiredSweep, delete_expired

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask

#: DynamoDB's rule for table names.
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


class CommandGroup(AppGroup):
    """The commands' group: an error raised while Flask loads the app for a
    command (a bad config value in the app factory, say) is one line and
    exit status 1, as the commands' own errors are."""

    def invoke(self, ctx: click.Context) -> t.Any:
        with _one_line_errors():
            return super().invoke(ctx)


dynamo_session = CommandGroup(
    "dynamo-session",
    help="Manage the DynamoDB table that holds the sessions.",
)


def session_store(app: Flask, table: str | None = None) -> SessionStore:
    """The store of ``app``'s sessions, optionally pointed at another table.

    The app's session interface is used if it is a
    :class:`.DynamoDBSessionInterface` (else one registered in
    ``app.extensions``, as the extension does); otherwise one is built from the
    app's config keys.

    :param app: the Flask app.
    :param table: a table name overriding the configured one.
    :raises ConfigurationError: a config key has a bad value.
    """
    for candidate in (app.session_interface, *app.extensions.values()):
        if isinstance(candidate, DynamoDBSessionInterface):
            interface = candidate
            break
    else:
        interface = DynamoDBSessionInterface()
    store = interface.store_for(app)
    if table is None or table == store.table:
        return store
    client = store.gateway.admin_client
    settings = dataclasses.replace(store.settings, table=table, client=client)
    return SessionStore(settings, secret_keys=store.codec.secret_keys)


def _current_store(table: str | None) -> SessionStore:
    return session_store(current_app._get_current_object(), table)  # type: ignore[attr-defined]


def _check_table_name(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is not None and not TABLE_NAME.fullmatch(value):
        raise click.BadParameter(
            "a table name is 3 to 255 letters, digits, '_', '-' or '.'"
        )
    return value


table_option = click.option(
    "--table",
    metavar="NAME",
    callback=_check_table_name,
    help="The table to use. [default: SESSION_DYNAMODB_TABLE, else 'sessions']",
)


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn the package's and botocore's errors into ``Error: ...``, exit 1."""
    try:
        yield
    except (SessionError, ClientError, BotoCoreError) as exc:
        raise click.ClickException(error_message(exc)) from exc


def error_message(exc: BaseException) -> str:
    """One line saying what went wrong, with DynamoDB's own words if any."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        text = f"DynamoDB {exc.operation_name} failed: {error.get('Code') or 'error'}"
        cause: BaseException | None = exc
    else:
        text = str(exc) or type(exc).__name__
        cause = exc.__cause__
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        detail = error.get("Message", "")
        if detail and error.get("Code") != "ResourceNotFoundException":
            text = f"{text}: {detail}"
    return " ".join(text.split())


@dynamo_session.command("create-table")
@table_option
@click.option(
    "--read-capacity",
    type=click.IntRange(min=1),
    help="Provisioned read capacity units."
    " [default: SESSION_DYNAMODB_READ_CAPACITY, else 5]",
)
@click.option(
    "--write-capacity",
    type=click.IntRange(min=1),
    help="Provisioned write capacity units."
    " [default: SESSION_DYNAMODB_WRITE_CAPACITY, else 5]",
)
@click.option(
    "--on-demand/--provisioned",
    default=None,
    help="Pay per request, or provision capacity."
    " [default: SESSION_DYNAMODB_BILLING_MODE, else provisioned]",
)
def create_table_command(
    table: str | None,
    read_capacity: int | None,
    write_capacity: int | None,
    on_demand: bool | None,
) -> None:
    """Create the session table, wait until it is ACTIVE, and turn on TTL.

    An existing table is left as it is (only TTL is turned on), so running
    this again is harmless. With SESSION_DYNAMODB_USER_KEY set, the table
    also gets the index of users' sessions, added to an existing table that
    lacks it (and waited for until it is ACTIVE).
    """
    with _one_line_errors():
        store = _current_store(table)
        if on_demand is None:
            billing_mode = store.settings.billing_mode
        else:
            billing_mode = "PAY_PER_REQUEST" if on_demand else "PROVISIONED"
        if billing_mode == "PAY_PER_REQUEST" and (read_capacity or write_capacity):
            raise click.UsageError(
                "--read-capacity and --write-capacity are for provisioned tables,"
                " not on-demand ones"
            )
        setup = store.create_table(
            read_capacity=read_capacity,
            write_capacity=write_capacity,
            billing_mode=billing_mode,
        )
    for line in describe_setup(
        setup, store, billing_mode, read_capacity, write_capacity
    ):
        click.echo(line, err=line.startswith("Warning:"))


@dynamo_session.command("status")
@table_option
def status_command(table: str | None) -> None:
    """Show the table's status, billing, TTL state, item count and index."""
    with _one_line_errors():
        store = _current_store(table)
        status = table_status(store.gateway)
    settings = store.settings
    for line in describe_status(status, settings.key_prefix, settings.user_key):
        click.echo(line)


@dynamo_session.command("delete-expired")
@table_option
@click.option(
    "--segments",
    type=click.IntRange(1, 1000),
    default=4,
    show_default=True,
    help="Parallel scan segments (read in up to 16 threads).",
)
@click.option(
    "--dry-run", is_flag=True, help="Count the expired sessions; delete none."
)
def delete_expired_command(table: str | None, segments: int, dry_run: bool) -> None:
    """Delete the expired sessions now.

    For servers without TTL, or to purge now rather than within DynamoDB's
    TTL delay. The table is scanned in parallel, reading only each item's
    key and expiry time; only sessions of this app's key prefix are deleted.
    """
    with _one_line_errors():
        store = _current_store(table)
        estimate = approximate_item_count(store.gateway)
        with click.progressbar(
            length=max(estimate, 1),
            label=f"Scanning table {store.table!r}",
            item_show_func=_show_sweep,
            file=sys.stderr,
            hidden=not _stderr_is_terminal(),
        ) as bar:

            def progress(totals: ExpiredSweep) -> None:
                bar.length = max(bar.length or 0, totals.scanned)
                bar.update(totals.scanned - bar.pos, totals)

            sweep = delete_expired(
                store.gateway, segments=segments, dry_run=dry_run, progress=progress
            )
    click.echo(describe_sweep(sweep, store.table, store.settings.key_prefix))


@dynamo_session.command("revoke-user")
@table_option
@click.argument("user_id")
def revoke_user_command(table: str | None, user_id: str) -> None:
    """Log a user out everywhere: delete every session of USER_ID.

    Needs SESSION_DYNAMODB_USER_KEY and the table's index of users' sessions
    (`create-table` adds it). USER_ID is the value the sessions hold under
    that key (a number and its text are the same user).
    """
    with _one_line_errors():
        if not user_id:
            raise click.BadParameter("must not be empty", param_hint="USER_ID")
        store = _current_store(table)
        deleted = store.revoke_user(user_id)
    sessions = plural(deleted, "session")
    click.echo(f"Deleted {sessions} of user {user_id!r} from table {store.table!r}.")


def _stderr_is_terminal() -> bool:
    """The progress bar is drawn on a terminal only (not in cron mail)."""
    return sys.stderr.isatty()


def _show_sweep(totals: ExpiredSweep | None) -> str | None:
    if totals is None:
        return None
    return f"{totals.expired} expired"
