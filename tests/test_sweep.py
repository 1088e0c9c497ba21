"""Tests of :mod:`flask_dynamodb_session.sweep` and :mod:`.status`."""

from __future__ import annotations

import collections
import itertools
import threading
import time
import typing as t
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from freezegun import freeze_time

from flask_dynamodb_session import SessionBackendError, SessionStore, batches
from flask_dynamodb_session.batches import backoff_delay
from flask_dynamodb_session.options import Settings
from flask_dynamodb_session.status import table_status
from flask_dynamodb_session.sweep import ExpiredSweep, delete_expired
from tests.support.apps import TABLE
from tests.support.clients import fail, fake_response, serialize_calls
from tests.support.servers import DynamoServer
from tests.support.tables import NOW, session_key, sessions, stored_ids, write_items

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class ClientCalls:
    """The calls one boto3 client makes, by operation: the sweep's calls are
    made by the store's boto3 client only (never over the lean transport)."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: t.Any, **kwargs: t.Any) -> None:
        self.calls.append(model.name)

    @property
    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(self.calls))


def make_store(client: DynamoDBClient, **options: t.Any) -> SessionStore:
    return SessionStore(Settings(client=client, **options))


@pytest.fixture
def store(dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    serialize_calls(dynamodb, monkeypatch)
    return make_store(dynamodb)


# -- delete_expired -----------------------------------------------------------


@pytest.mark.parametrize("segments", [1, 3, 20])
def test_deletes_exactly_the_expired_sessions(
    dynamodb: DynamoDBClient, store: SessionStore, segments: int
) -> None:
    expired = sessions(60, NOW - 1) + sessions(5, NOW)
    live = sessions(70, NOW + 1)
    write_items(dynamodb, expired + live)

    sweep = delete_expired(store.gateway, segments=segments, page_size=7, now=NOW)

    assert sweep == ExpiredSweep(
        scanned=135, expired=65, deleted=65, cutoff=NOW, segments=segments
    )
    assert stored_ids(dynamodb) == {key for key, _ in live}


def test_dry_run_deletes_nothing(dynamodb: DynamoDBClient, store: SessionStore) -> None:
    write_items(dynamodb, sessions(30, NOW - 60) + sessions(20, NOW + 60))
    calls = ClientCalls(dynamodb)

    sweep = delete_expired(store.gateway, dry_run=True, now=NOW)

    assert (sweep.scanned, sweep.expired, sweep.deleted) == (50, 30, 0)
    assert sweep.dry_run
    assert "BatchWriteItem" not in calls.counts
    assert len(stored_ids(dynamodb)) == 50


def test_empty_table(store: SessionStore) -> None:
    assert delete_expired(store.gateway, now=NOW) == ExpiredSweep(
        cutoff=NOW, segments=4
    )


def test_reads_only_keys_and_expiry_of_expired_items(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(3, NOW - 1) + sessions(3, NOW + 1))
    requests: list[dict[str, t.Any]] = []
    pages: list[dict[str, t.Any]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Scan",
        lambda params, **kwargs: requests.append(dict(params)),
    )
    dynamodb.meta.events.register(
        "after-call.dynamodb.Scan", lambda parsed, **kwargs: pages.append(parsed)
    )

    delete_expired(store.gateway, segments=2, now=NOW)

    assert sorted(request["Segment"] for request in requests) == [0, 1]
    for request in requests:
        assert request["TotalSegments"] == 2
        assert request["ProjectionExpression"] == "#i, #e, #u, #r"
        assert request["ExpressionAttributeNames"] == {
            "#i": "id",
            "#e": "expires",
            "#u": "uid",
            "#r": "retired",
        }
        assert request["FilterExpression"] == "#e <= :cutoff AND size(#i) = :length"
        assert request["ExpressionAttributeValues"] == {
            ":cutoff": {"N": str(NOW)},
            ":length": {"N": "64"},
        }
    items = [item for page in pages for item in page["Items"]]
    assert len(items) == 3
    assert all(set(item) == {"id", "expires"} for item in items)


def test_one_segment_sends_no_segment_parameters(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    requests: list[dict[str, t.Any]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Scan",
        lambda params, **kwargs: requests.append(dict(params)),
    )
    delete_expired(store.gateway, segments=1, now=NOW)
    assert len(requests) == 1
    assert "Segment" not in requests[0]
    assert "TotalSegments" not in requests[0]


def test_pages_through_the_table(dynamodb: DynamoDBClient, store: SessionStore) -> None:
    write_items(dynamodb, sessions(40, NOW - 1) + sessions(10, NOW + 1))
    calls = ClientCalls(dynamodb)

    sweep = delete_expired(store.gateway, segments=1, page_size=10, now=NOW)

    assert sweep.deleted == 40
    assert calls.counts["Scan"] >= 5
    assert calls.counts["BatchWriteItem"] >= 2


def test_deletes_in_batches_of_25(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(60, NOW - 1))
    sizes: list[int] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem",
        lambda params, **kwargs: sizes.append(len(params["RequestItems"][TABLE])),
    )

    delete_expired(store.gateway, segments=1, now=NOW)

    assert sizes == [25, 25, 10]


def test_key_prefix_keeps_other_apps_sessions(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialize_calls(dynamodb, monkeypatch)
    mine = sessions(10, NOW - 1, prefix="app1:")
    theirs = sessions(10, NOW - 1, prefix="app2:")
    unprefixed = sessions(10, NOW - 1)
    live = sessions(10, NOW + 1, prefix="app1:")
    write_items(dynamodb, mine + theirs + unprefixed + live)
    requests: list[dict[str, t.Any]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Scan",
        lambda params, **kwargs: requests.append(dict(params)),
    )

    sweep = delete_expired(make_store(dynamodb, key_prefix="app1:").gateway, now=NOW)

    assert (sweep.scanned, sweep.expired, sweep.deleted) == (40, 10, 10)
    assert stored_ids(dynamodb) == {key for key, _ in theirs + unprefixed + live}
    assert requests[0]["FilterExpression"] == (
        "#e <= :cutoff AND begins_with(#i, :prefix) AND size(#i) = :length"
    )
    assert requests[0]["ExpressionAttributeValues"][":prefix"] == {"S": "app1:"}
    assert requests[0]["ExpressionAttributeValues"][":length"] == {"N": "69"}


def test_a_prefix_that_starts_another_keeps_its_sessions(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``app1`` is no namespace of its own: ``app10`` starts with it."""
    serialize_calls(dynamodb, monkeypatch)
    mine = sessions(10, NOW - 1, prefix="app1")
    theirs = sessions(10, NOW - 1, prefix="app10")
    write_items(dynamodb, mine + theirs)

    sweep = delete_expired(make_store(dynamodb, key_prefix="app1").gateway, now=NOW)

    assert (sweep.scanned, sweep.expired, sweep.deleted) == (20, 10, 10)
    assert stored_ids(dynamodb) == {key for key, _ in theirs}


def test_no_prefix_keeps_prefixed_sessions(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialize_calls(dynamodb, monkeypatch)
    mine = sessions(5, NOW - 1)
    theirs = sessions(5, NOW - 1, prefix="app1:") + sessions(5, NOW - 1, prefix="a")
    write_items(dynamodb, mine + theirs)

    sweep = delete_expired(make_store(dynamodb).gateway, now=NOW)

    assert (sweep.expired, sweep.deleted) == (5, 5)
    assert stored_ids(dynamodb) == {key for key, _ in theirs}


def test_a_non_ascii_prefix(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialize_calls(dynamodb, monkeypatch)
    mine = sessions(5, NOW - 1, prefix="café:")
    theirs = sessions(5, NOW - 1, prefix="café:x")
    write_items(dynamodb, mine + theirs)

    sweep = delete_expired(make_store(dynamodb, key_prefix="café:").gateway, now=NOW)

    assert (sweep.expired, sweep.deleted) == (5, 5)
    assert stored_ids(dynamodb) == {key for key, _ in theirs}


def test_checks_again_what_the_server_returns(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    """A server that ignores the filter deletes nothing it should keep."""
    write_items(dynamodb, sessions(5, NOW - 1))
    expired = {"N": str(NOW - 1)}
    digest = session_key("planted")
    planted = [
        {"id": {"S": session_key("live")}, "expires": {"N": str(NOW + 1)}},
        {"id": {"S": session_key("fractional")}, "expires": {"N": f"{NOW}.5"}},
        {"id": {"S": session_key("no-expiry")}},
        {"id": {"S": session_key("text-expiry")}, "expires": {"S": "soon"}},
        {"id": {"S": session_key("bad-number")}, "expires": {"N": "soon"}},
        {"id": {"S": "not-a-session"}, "expires": expired},
        {"id": {"S": digest[:-1]}, "expires": expired},
        {"id": {"S": digest + "0"}, "expires": expired},
        {"id": {"S": digest.upper()}, "expires": expired},
        {"id": {"S": digest[:-1] + "g"}, "expires": expired},
        {"id": {"S": "x" + digest}, "expires": expired},
        {"id": {"S": digest + "\n"}, "expires": expired},
    ]

    def add_items(parsed: dict[str, t.Any], **kwargs: t.Any) -> None:
        parsed["Items"].extend(planted)

    dynamodb.meta.events.register("after-call.dynamodb.Scan", add_items)
    deleted: list[str] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem",
        lambda params, **kwargs: deleted.extend(
            request["DeleteRequest"]["Key"]["id"]["S"]
            for request in params["RequestItems"][TABLE]
        ),
    )

    sweep = delete_expired(store.gateway, segments=1, now=NOW)

    assert sweep.expired == sweep.deleted == 5
    assert sorted(deleted) == sorted(key for key, _ in sessions(5, NOW - 1))


def test_prefix_is_checked_again(dynamodb: DynamoDBClient) -> None:
    write_items(dynamodb, sessions(2, NOW - 1, prefix="app1:"))

    def add_items(parsed: dict[str, t.Any], **kwargs: t.Any) -> None:
        for prefix in ("app2:", "app1:x", "app1", ""):
            key = session_key("planted", prefix)
            parsed["Items"].append({"id": {"S": key}, "expires": {"N": "1"}})

    dynamodb.meta.events.register("after-call.dynamodb.Scan", add_items)

    sweep = delete_expired(make_store(dynamodb, key_prefix="app1:").gateway, now=NOW)

    assert sweep.deleted == 2


def test_now_as_an_aware_datetime(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(3, NOW - 1) + sessions(4, NOW + 1))
    moment = datetime.fromtimestamp(NOW, tz=timezone(timedelta(hours=5)))

    sweep = delete_expired(store.gateway, now=moment)

    assert (sweep.cutoff, sweep.deleted) == (NOW, 3)


def test_now_defaults_to_the_current_time(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(3, NOW - 1) + sessions(4, NOW + 1))
    with freeze_time(datetime.fromtimestamp(NOW + 0.9, tz=timezone.utc)):
        sweep = delete_expired(store.gateway)
    assert (sweep.cutoff, sweep.deleted) == (NOW, 3)


def test_real_clock(dynamodb: DynamoDBClient, store: SessionStore) -> None:
    now = int(time.time())
    write_items(dynamodb, sessions(3, now - 3600) + sessions(4, now + 3600))
    assert delete_expired(store.gateway).deleted == 3


def test_refuses_a_naive_datetime(store: SessionStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        delete_expired(store.gateway, now=datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"segments": 0}, "segments"), ({"page_size": 0}, "page_size")],
)
def test_refuses_bad_counts(
    store: SessionStore, options: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        delete_expired(store.gateway, **options)


def test_progress_gets_running_totals_in_the_callers_thread(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(30, NOW - 1) + sessions(30, NOW + 1))
    seen: list[tuple[ExpiredSweep, threading.Thread]] = []

    final = delete_expired(
        store.gateway,
        segments=3,
        page_size=5,
        now=NOW,
        progress=lambda totals: seen.append((totals, threading.current_thread())),
    )

    assert len(seen) >= 12
    assert {thread for _, thread in seen} == {threading.current_thread()}
    totals = [snapshot for snapshot, _ in seen]
    assert totals[-1] == final
    for before, after in itertools.pairwise(totals):
        assert after.scanned >= before.scanned
        assert after.deleted >= before.deleted


def test_retries_unprocessed_items(
    dynamodb: DynamoDBClient, store: SessionStore, dynamo_server: DynamoServer
) -> None:
    write_items(dynamodb, sessions(25, NOW - 1) + sessions(5, NOW + 1))
    other_client = dynamo_server.client()
    attempts: list[int] = []

    def throttle_twice(params: dict[str, t.Any]) -> dict[str, t.Any] | None:
        requests = params["RequestItems"][TABLE]
        attempts.append(len(requests))
        if len(attempts) == 1:
            # Nothing done: everything comes back.
            return {"UnprocessedItems": {TABLE: requests}}
        if len(attempts) == 2:
            # Ten done, the rest comes back.
            other_client.batch_write_item(RequestItems={TABLE: requests[:10]})
            return {"UnprocessedItems": {TABLE: requests[10:]}}
        return None

    fake_response(dynamodb, "BatchWriteItem", throttle_twice)
    sweep = delete_expired(store.gateway, segments=1, now=NOW, max_backoff=0)

    assert attempts == [25, 25, 15]
    assert sweep.deleted == 25
    assert len(stored_ids(dynamodb)) == 5


def test_gives_up_on_items_left_unprocessed(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(3, NOW - 1))
    attempts: list[dict[str, t.Any]] = []

    def refuse(params: dict[str, t.Any]) -> dict[str, t.Any]:
        attempts.append(params)
        return {"UnprocessedItems": dict(params["RequestItems"])}

    fake_response(dynamodb, "BatchWriteItem", refuse)

    with pytest.raises(SessionBackendError, match=r"\(3 pending;") as info:
        delete_expired(store.gateway, segments=1, now=NOW, max_backoff=0)

    assert info.value.operation == "BatchWriteItem"
    assert len(attempts) == batches.MAX_BATCH_ATTEMPTS


def test_backs_off_exponentially_within_bounds(
    dynamodb: DynamoDBClient, store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_items(dynamodb, sessions(1, NOW - 1))
    fake_response(
        dynamodb,
        "BatchWriteItem",
        lambda params: {"UnprocessedItems": dict(params["RequestItems"])},
    )
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)

    with pytest.raises(SessionBackendError):
        delete_expired(store.gateway, segments=1, now=NOW, max_backoff=1.0)

    assert len(delays) == batches.MAX_BATCH_ATTEMPTS - 1
    for attempt, delay in enumerate(delays):
        bound = min(1.0, batches.BASE_BACKOFF * 2**attempt)
        assert bound / 2 <= delay <= bound


def test_backoff_delay() -> None:
    assert backoff_delay(0, 10) <= batches.BASE_BACKOFF
    assert 0.5 <= backoff_delay(30, 1.0) <= 1.0
    assert backoff_delay(3, 0) == 0


def test_an_error_in_one_segment_stops_the_sweep(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(50, NOW - 1))
    undo = fail(dynamodb, "Scan", "AccessDeniedException", "not authorized to Scan")

    with pytest.raises(SessionBackendError, match="Scan failed: AccessDenied") as info:
        delete_expired(store.gateway, segments=8, now=NOW)

    assert info.value.operation == "Scan"
    undo()
    assert len(stored_ids(dynamodb)) == 50


def test_a_progress_error_stops_the_sweep(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(50, NOW - 1))

    def interrupt(totals: ExpiredSweep) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        delete_expired(
            store.gateway, segments=2, page_size=5, now=NOW, progress=interrupt
        )

    assert not [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith("delete-expired")
    ]


def test_missing_table(moto: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with pytest.raises(SessionBackendError, match="does not exist"):
        delete_expired(make_store(client).gateway, now=NOW)


def test_store_delete_expired_delegates(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(2, NOW - 1))
    assert store.delete_expired(now=NOW, segments=1).deleted == 2


# -- table_status -------------------------------------------------------------


def test_status_of_an_on_demand_table(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    write_items(dynamodb, sessions(3, NOW))

    status = table_status(store.gateway)

    assert status.table == TABLE
    assert status.status == "ACTIVE"
    assert status.billing_mode == "PAY_PER_REQUEST"
    assert (status.read_capacity, status.write_capacity) == (None, None)
    assert (status.ttl, status.ttl_attribute) == ("DISABLED", None)
    assert not status.expires_by_ttl
    assert status.item_count == 3
    assert status.size_bytes >= 0


def test_status_of_a_provisioned_table_with_ttl(moto: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = make_store(client, table="provisioned")
    store.create_table(read_capacity=3, write_capacity=2)

    status = table_status(store.gateway)

    assert status.billing_mode == "PROVISIONED"
    assert (status.read_capacity, status.write_capacity) == (3, 2)
    assert (status.ttl, status.ttl_attribute) == ("ENABLED", "expires")
    assert status.expires_by_ttl
    assert status.item_count == 0


def test_status_ttl_on_another_attribute(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    dynamodb.update_time_to_live(
        TableName=TABLE,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
    )
    status = table_status(store.gateway)
    assert (status.ttl, status.ttl_attribute) == ("ENABLED", "ttl")
    assert not status.expires_by_ttl


def test_status_without_ttl_support(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    fail(dynamodb, "DescribeTimeToLive", "UnknownOperationException")
    status = table_status(store.gateway)
    assert (status.ttl, status.ttl_attribute) == ("UNSUPPORTED", None)
    assert status.status == "ACTIVE"


def test_status_other_ttl_errors_propagate(
    dynamodb: DynamoDBClient, store: SessionStore
) -> None:
    fail(dynamodb, "DescribeTimeToLive", "AccessDeniedException", "denied")
    with pytest.raises(SessionBackendError, match="DescribeTimeToLive failed"):
        table_status(store.gateway)


def test_status_of_a_missing_table(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(SessionBackendError, match="'absent' does not exist"):
        table_status(make_store(dynamodb, table="absent").gateway)
