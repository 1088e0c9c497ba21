"""What the ``flask dynamo-session`` commands print.

Plain functions from the results of :mod:`.table`, :mod:`.status`, :mod:`.sweep` and
:mod:`.users` to lines of text, so :mod:`.cli` stays a thin layer of
commands.
"""

from __future__ import annotations

import typing as t

from .status import UNSUPPORTED
from .table import INDEX_NAME

if t.TYPE_CHECKING:
    from .status import TableStatus
    from .store import SessionStore
    from .sweep import ExpiredSweep
    from .table import TableSetup


def describe_setup(
    setup: TableSetup,
    store: SessionStore,
    billing_mode: str,
    read_capacity: int | None = None,
    write_capacity: int | None = None,
) -> list[str]:
    """The lines ``create-table`` prints."""
    lines = []
    if setup.created:
        if billing_mode == "PAY_PER_REQUEST":
            billing = "on-demand"
        else:
            reads = read_capacity or store.settings.read_capacity
            writes = write_capacity or store.settings.write_capacity
            billing = f"provisioned, {reads} read and {writes} write capacity units"
        lines.append(f"Created table {store.table!r} ({billing}); it is ACTIVE.")
    elif setup.index == "added":
        lines.append(f"Table {store.table!r} already exists; it is ACTIVE.")
    else:
        lines.append(
            f"Table {store.table!r} already exists; it is ACTIVE and was left as it is."
        )
    if setup.index is not None:
        index = f"index {INDEX_NAME!r} (the sessions of a user, by 'uid')"
        done = {"created": "Created", "added": "Added"}.get(setup.index)
        if done is None:
            lines.append(f"The {index} was already there; it is ACTIVE.")
        else:
            lines.append(f"{done} the {index}; it is ACTIVE.")
    if setup.ttl == "UNSUPPORTED":
        lines.append(
            "Warning: this DynamoDB server does not support TTL; expired sessions"
            " stay in the table until `flask dynamo-session delete-expired` runs."
        )
    elif setup.ttl == "ALREADY_ENABLED":
        lines.append("TTL was already on, on attribute 'expires'.")
    else:
        lines.append(
            "TTL is on, on attribute 'expires': DynamoDB deletes expired"
            " sessions by itself."
        )
    return lines


def describe_status(
    status: TableStatus, key_prefix: str = "", user_key: str | None = None
) -> list[str]:
    """The lines ``status`` prints.

    :param user_key: the ``user_key`` option, to say whether the index of
        users' sessions is needed.
    """
    if status.billing_mode == "PROVISIONED":
        billing = (
            f"provisioned, {status.read_capacity} read and"
            f" {status.write_capacity} write capacity units"
        )
    else:
        billing = "on-demand (pay per request)"
    if status.ttl == UNSUPPORTED:
        ttl = "unsupported by this server"
    elif status.ttl_attribute:
        ttl = f"{status.ttl} on attribute {status.ttl_attribute!r}"
    else:
        ttl = status.ttl
    lines = [
        f"Table:      {status.table}",
        f"Status:     {status.status}",
        f"Billing:    {billing}",
        f"TTL:        {ttl}",
        f"Items:      {status.item_count} (approximate, updated by DynamoDB"
        " about every 6 hours)",
    ]
    if status.index_status is not None:
        projection = (status.index_projection or "unknown").replace("_", " ").lower()
        unused = "" if user_key else " (unused: SESSION_DYNAMODB_USER_KEY is not set)"
        lines.append(
            f"Index:      {INDEX_NAME} {status.index_status}, projects {projection}"
            + unused
        )
    elif user_key:
        lines.append(
            f"Index:      missing: SESSION_DYNAMODB_USER_KEY is set but the table"
            f" has no index {INDEX_NAME!r}; run `flask dynamo-session create-table`"
            " to add it"
        )
    if key_prefix:
        lines.append(f"Key prefix: {key_prefix!r}")
    if not status.expires_by_ttl:
        lines.append(
            "Expired sessions are not deleted by DynamoDB: run `flask"
            " dynamo-session create-table` to turn TTL on, or `flask"
            " dynamo-session delete-expired` on a schedule."
        )
    return lines


def describe_sweep(sweep: ExpiredSweep, table: str, key_prefix: str = "") -> str:
    """The summary line ``delete-expired`` prints."""
    scope = f" with key prefix {key_prefix!r}" if key_prefix else ""
    sessions = plural(sweep.expired, "expired session")
    scanned = plural(sweep.scanned, "item")
    if sweep.dry_run:
        return (
            f"Dry run: {sessions}{scope} would be deleted from table {table!r}"
            f" ({scanned} scanned); nothing was deleted."
        )
    deleted = plural(sweep.deleted, "expired session")
    return f"Deleted {deleted}{scope} from table {table!r} ({scanned} scanned)."


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
