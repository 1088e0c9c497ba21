"""Sessions the table's TTL removed, reported from its stream.

The records are read from moto's stream of a real table: moto implements
DynamoDB Streams but its TTL deletes nothing, so the test deletes the items
itself and gives the records the ``userIdentity`` the TTL service's have.
(dynalite has no streams.)
"""

from __future__ import annotations

import base64
import typing as t

import boto3
import pytest

from flask_dynamodb_session import SessionStore, session_ended
from flask_dynamodb_session.options import resolve
from flask_dynamodb_session.streams import TTL_PRINCIPAL, report_expired

if t.TYPE_CHECKING:
    from collections.abc import Iterator

TABLE = "stream-sessions"
TTL_IDENTITY = {"type": "Service", "principalId": TTL_PRINCIPAL}


@pytest.fixture
def ended() -> Iterator[list[dict[str, t.Any]]]:
    received: list[dict[str, t.Any]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append({"sender": sender, **kwargs})

    session_ended.connect(receiver)
    yield received
    session_ended.disconnect(receiver)


def records_of_removals(store: SessionStore, sids: list[str]) -> list[dict[str, t.Any]]:
    """Store sessions, delete them, and read the stream's REMOVE records."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"},
    )
    for number, sid in enumerate(sids):
        store.set(sid, {"user": f"user{number}", "cart": ["apple"]})
    for sid in sids:
        client.delete_item(TableName=TABLE, Key={"id": {"S": store.key(sid)}})
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [dict(record) for record in records if record["eventName"] == "REMOVE"]


@pytest.fixture
def store(moto: None) -> Iterator[SessionStore]:
    store = SessionStore(
        resolve({"table": TABLE, "user_key": "user", "region_name": "us-east-1"})
    )
    yield store
    store.close()


def test_ttl_removals_are_reported_expired(
    store: SessionStore, ended: list[dict[str, t.Any]]
) -> None:
    sids = ["a" * 43, "b" * 43, "c" * 43]
    removals = records_of_removals(store, sids)
    assert len(removals) == 3
    # The first two by TTL, the third by someone (a logout: already reported).
    for record in removals[:2]:
        record["userIdentity"] = TTL_IDENTITY
    assert report_expired(store, {"Records": removals}) == 2
    assert ended == [
        {
            "sender": store,
            "handle": store.key(sid),
            "user_id": f"user{number}",
            "reason": "expired",
        }
        for number, sid in enumerate(sids[:2])
    ]


def test_a_lambda_event_with_base64_images(
    store: SessionStore, ended: list[dict[str, t.Any]]
) -> None:
    """Through Lambda, binary attribute values arrive in base64."""
    (record,) = records_of_removals(store, ["d" * 43])
    image = record["dynamodb"]["OldImage"]
    image["data"] = {"B": base64.b64encode(image["data"]["B"]).decode("ascii")}
    record["userIdentity"] = TTL_IDENTITY
    assert report_expired(store, [record]) == 1
    assert ended[0]["user_id"] == "user0"


def test_retired_items_and_other_tables_keys_are_skipped(
    store: SessionStore, ended: list[dict[str, t.Any]]
) -> None:
    handle = store.key("e" * 43)
    image = {"id": {"S": handle}, "retired": {"N": "1"}, "expires": {"N": "1"}}
    retired = ttl_removal(handle, image)
    foreign = {
        "eventName": "REMOVE",
        "userIdentity": TTL_IDENTITY,
        "dynamodb": {"Keys": {"id": {"N": "7"}}},
    }
    inserted = {"eventName": "INSERT", "userIdentity": TTL_IDENTITY, "dynamodb": {}}
    assert report_expired(store, [retired, foreign, inserted]) == 0
    assert ended == []


def ttl_removal(handle: str, image: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """A stream record of the TTL service removing ``handle``."""
    change: dict[str, t.Any] = {"Keys": {"id": {"S": handle}}}
    if image is not None:
        change["OldImage"] = image
    return {"eventName": "REMOVE", "userIdentity": TTL_IDENTITY, "dynamodb": change}


def test_a_record_without_its_image_still_reports_the_handle(
    store: SessionStore, ended: list[dict[str, t.Any]]
) -> None:
    handle = store.key("f" * 43)
    record = ttl_removal(handle)
    assert report_expired(store, {"Records": [record]}) == 1
    assert ended == [
        {"sender": store, "handle": handle, "user_id": None, "reason": "expired"}
    ]


def test_user_id_from_the_uid_when_the_data_is_unreadable(
    store: SessionStore, ended: list[dict[str, t.Any]]
) -> None:
    handle = store.key("g" * 43)
    image = {"id": {"S": handle}, "data": {"B": b"\x07garbage"}, "uid": {"S": "42"}}
    report_expired(store, [ttl_removal(handle, image)])
    assert ended[0]["user_id"] == "42"
