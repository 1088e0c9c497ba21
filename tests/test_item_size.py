"""The store's item sizing, checked against dynalite, which sizes as DynamoDB."""

from __future__ import annotations

import random
import typing as t
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from flask_dynamodb_session import SessionTooLarge, serialization
from flask_dynamodb_session.item_size import MAX_ITEM_SIZE, item_size, number_size
from flask_dynamodb_session.options import Settings
from flask_dynamodb_session.store import SessionStore
from tests.support.servers import DynaliteServer, delete_table
from tests.support.tables import unique_table

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.mark.parametrize(
    ("value", "size"),
    [(0, 3), (7, 3), (10, 3), (12, 3), (123, 4), (1767225600, 6), (-5, 4)],
)
def test_number_size_rounds_up(value: int, size: int) -> None:
    assert number_size(value) == size


def test_item_size_counts_names_and_values() -> None:
    key = "k" * 64
    size = item_size(key, b"x" * 100, 1, 2, 3, 4)
    names = len("iddataexpireswrittenversioncreatedwrite_id")
    write_id = 16
    issued = len("issued") + 7
    assert size == names + 64 + 100 + 4 * 3 + write_id + issued
    with_user = item_size(key, b"x" * 100, 1, 2, 3, 4, uid="app:alice")
    assert with_user == size + len("uid") + len("app:alice")


@pytest.fixture(scope="module")
def dynalite_store(dynalite_server: DynaliteServer) -> Iterator[SessionStore]:
    client = dynalite_server.client()
    store = SessionStore(Settings(client=client, table=unique_table()))
    store.create_table(billing_mode="PAY_PER_REQUEST")
    yield store
    delete_table(client, store.table)
    client.close()


NOW = 1_900_000_000
BLOB = random.Random(7).randbytes(420_000)


def stored_size(store: SessionStore, sid: str, length: int) -> int:
    payload = serialization.encode({"b": BLOB[:length]})
    return item_size(store.key(sid), payload, NOW + 60, NOW, NOW, 1)


def largest_allowed(store: SessionStore, sid: str) -> int:
    """The longest prefix of BLOB whose item is within the limit, by our count."""
    low, high = 0, len(BLOB)
    while low < high:
        middle = (low + high + 1) // 2
        if stored_size(store, sid, middle) <= MAX_ITEM_SIZE:
            low = middle
        else:
            high = middle - 1
    return low


@pytest.mark.server
def test_size_limit_matches_the_server(dynalite_store: SessionStore) -> None:
    store = dynalite_store
    sid = "s" * 43
    length = largest_allowed(store, sid)
    assert MAX_ITEM_SIZE - 8 <= stored_size(store, sid, length) <= MAX_ITEM_SIZE
    with freeze_time(datetime.fromtimestamp(NOW, timezone.utc)):
        # The largest item we allow, the server stores.
        assert store.items.create(sid, {"b": BLOB[:length]}, 60)
        assert store.get(sid) == {"b": BLOB[:length]}
        # One byte more we refuse, before any call.
        with pytest.raises(SessionTooLarge) as info:
            store.items.create("t" * 43, {"b": BLOB[: length + 1]}, 60)
    assert info.value.size > MAX_ITEM_SIZE
    # And the server refuses an item a few bytes past our limit.
    payload = serialization.encode({"b": BLOB[: length + 24]})
    assert item_size(store.key(sid), payload, NOW + 60, NOW, NOW, 1) > MAX_ITEM_SIZE
    with pytest.raises(ClientError, match="size"):
        store.gateway.admin_client.put_item(
            TableName=store.table,
            Item={
                "id": {"S": store.key("u" * 43)},
                "data": {"B": payload},
                "expires": {"N": str(NOW + 60)},
                "written": {"N": str(NOW)},
                "created": {"N": str(NOW)},
                "version": {"N": "1"},
                "write_id": {"S": "0" * 16},
            },
        )
