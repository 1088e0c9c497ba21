"""Session tables of the tests, and items written behind the app's back.

:func:`new_table` makes a table anew, with the index of users' sessions or
without; :func:`write_items` and :func:`put_session` write items directly, as
the sweep and the per-user tests need them; :func:`stored_ids` reads the keys
back.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import secrets
import time
import typing as t
import uuid

from flask_dynamodb_session import serialization
from tests.support.apps import TABLE
from tests.support.servers import create_table, delete_table

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from mypy_boto3_dynamodb import DynamoDBClient

    from flask_dynamodb_session import SessionStore

__all__ = [
    "INDEX",
    "NOW",
    "USER_KEY",
    "new_table",
    "put_session",
    "session_key",
    "sessions",
    "stored_ids",
    "unique_table",
    "write_items",
]

#: A fixed "now" for items written with explicit expiry times.
NOW = 1_700_000_000
#: The session key holding the user id in the tests (``make_app``'s login).
USER_KEY = "user"
#: The name of the index of users' sessions.
INDEX = "uid-index"
HOUR = 3600


def unique_table() -> str:
    """A table name no other test uses."""
    return f"sessions-{uuid.uuid4().hex[:12]}"


def new_table(client: DynamoDBClient, name: str = TABLE, *, index: bool = True) -> None:
    """(Re)create an on-demand session table, with the index or without."""
    delete_table(client, name)
    create_table(client, name, index=INDEX if index else None)


def write_items(
    client: DynamoDBClient,
    items: Iterable[tuple[str, int | None]],
    table: str = TABLE,
    *,
    threads: int = 1,
) -> None:
    """Write items of ``(id, expires)`` (no ``expires`` when it is None)."""
    requests: list[t.Any] = []
    for key, expires_at in items:
        item: dict[str, t.Any] = {"id": {"S": key}, "data": {"B": b"\x00{}"}}
        if expires_at is not None:
            item["expires"] = {"N": str(expires_at)}
        requests.append({"PutRequest": {"Item": item}})

    def write(batch: dict[str, t.Any]) -> None:
        while batch:
            batch = client.batch_write_item(RequestItems=batch).get(
                "UnprocessedItems", {}
            )

    batches = [
        {table: requests[start : start + 25]} for start in range(0, len(requests), 25)
    ]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(write, batches):
            pass


def stored_ids(client: DynamoDBClient, table: str = TABLE) -> set[str]:
    """Every ``id`` in the table."""
    ids: set[str] = set()
    for page in client.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression="id"
    ):
        ids.update(item["id"]["S"] for item in page["Items"])
    return ids


def session_key(name: str, prefix: str = "") -> str:
    """A stored key as the store makes one: ``prefix`` + 64 lowercase hex digits."""
    return prefix + hashlib.sha256(name.encode()).hexdigest()


def sessions(count: int, expires_at: int, prefix: str = "") -> list[tuple[str, int]]:
    """``count`` items expiring at ``expires_at``, with distinct ids."""
    return [
        (session_key(f"{expires_at}-{number:05d}", prefix), expires_at)
        for number in range(count)
    ]


def put_session(
    client: DynamoDBClient,
    store: SessionStore,
    data: dict[str, t.Any],
    *,
    written: int | None = None,
    created: int | None = 0,
    expires: int | None = None,
    sid: str | None = None,
) -> str:
    """Store a session item directly; return its handle (stored key).

    :param created: ``None`` for an item without ``created``; 0 for
        ``written``.
    """
    now = int(time.time())
    written = now if written is None else written
    key = store.key(sid or secrets.token_urlsafe(32))
    item: dict[str, t.Any] = {
        "id": {"S": key},
        "data": {"B": serialization.encode(data)},
        "expires": {"N": str(expires or written + HOUR)},
        "written": {"N": str(written)},
        "version": {"N": "1"},
    }
    if created is not None:
        item["created"] = {"N": str(created or written)}
    if USER_KEY in data:
        item["uid"] = {"S": f"{store.settings.key_prefix}{data[USER_KEY]}"}
    client.put_item(TableName=store.table, Item=item)
    return key
