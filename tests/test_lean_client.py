"""The lean DynamoDB client answers, fails and retries exactly as boto3 does.

Every test runs against moto's server and dynalite, with the calls going
through a :class:`~tests.support.proxy.DynamoProxy` that counts them and injects
faults; most run the same call through a boto3 client and through the
:class:`~flask_dynamodb_session.lean_transport.LeanClient` built from it, and
compare what each returns or raises, and how many attempts each made.
"""

from __future__ import annotations

import datetime
import gzip
import json
import threading
import time
import types
import typing as t
import uuid

import boto3
import botocore.endpoint
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
)

from flask_dynamodb_session.lean_transport import (
    LeanClient,
    lean_client_for,
    refuse_corrupt_answers,
)
from tests.support import servers
from tests.support.proxy import DynamoProxy, Fault
from tests.support.servers import (
    CLIENT_CONFIG,
    HOST,
    DynamoServer,
    MotoServer,
    boto3_session,
    free_port,
    unresponsive_port,
)
from tests.support.tables import unique_table

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = [pytest.mark.server, pytest.mark.every_server]

#: Three attempts, short timeouts: as the test clients of ``servers``.
CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3})

XML_403 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
    b"<Code>UnrecognizedClientException</Code><Message>The security token"
    b" included in the request is invalid.</Message></Error>"
    b"<RequestId>7a62c49f</RequestId></ErrorResponse>"
)
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def new_client(endpoint_url: str, config: Config | None = None) -> t.Any:
    """A boto3 client of ``endpoint_url`` with the servers' test settings."""
    return servers.new_client("dynamodb", endpoint_url, config=config)


@pytest.fixture(scope="module")
def table(dynamo_server: DynamoServer) -> Iterator[str]:
    """A table of the module's own on each server."""
    name = unique_table()
    dynamo_server.create_table(name)
    yield name
    dynamo_server.delete_table(name)


class Pair(t.NamedTuple):
    """A boto3 client and the lean client built from it, both via the proxy."""

    boto3: t.Any
    lean: LeanClient
    #: The back-off delays each slept, in order.
    boto3_sleeps: list[float]
    lean_sleeps: list[float]


@pytest.fixture
def make_pair(
    dynamo_server: DynamoServer, proxy: DynamoProxy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Pair]]:
    """Build pairs of clients; back-off delays are recorded, not slept."""
    boto3_sleeps: list[float] = []
    monkeypatch.setattr(
        botocore.endpoint, "time", types.SimpleNamespace(sleep=boto3_sleeps.append)
    )
    made: list[Pair] = []

    def make(endpoint_url: str | None = None, **config: t.Any) -> Pair:
        client = new_client(
            endpoint_url or proxy.endpoint_url, CONFIG.merge(Config(**config))
        )
        lean = lean_client_for(client)
        assert lean is not None
        refuse_corrupt_answers(client)  # as the store's boto3 client does
        pair = Pair(client, lean, boto3_sleeps, [])
        lean.sleep = pair.lean_sleeps.append
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.boto3.close()
        pair.lean.close()


@pytest.fixture
def pair(make_pair: Callable[..., Pair]) -> Pair:
    return make_pair()


def comparable(response: t.Any) -> dict[str, t.Any]:
    """A response without what differs between any two calls."""
    metadata = dict(response.get("ResponseMetadata", {}))
    metadata.pop("RequestId", None)
    metadata.pop("HTTPHeaders", None)
    return {**response, "ResponseMetadata": metadata}


def key(name: str) -> dict[str, t.Any]:
    return {"id": {"S": name}}


ITEM: dict[str, t.Any] = {
    "data": {"B": b"\x00\xffsession\x80"},
    "expires": {"N": "1700000000"},
    "tags": {"SS": ["a", "b"]},
    "blobs": {"BS": [b"\x01", b"\x02\x03"]},
    "nested": {
        "M": {
            "inner": {"B": b"\xfe"},
            "list": {"L": [{"B": b"x"}, {"S": "y"}, {"N": "1.5"}, {"NULL": True}]},
            "flag": {"BOOL": False},
        }
    },
}


# -- round trips ---------------------------------------------------------------


def test_item_calls_answer_as_boto3(pair: Pair, table: str) -> None:
    for client, name in ((pair.boto3, "b"), (pair.lean, "l")):
        client.put_item(TableName=table, Item={**key(name), **ITEM})
    calls: list[tuple[str, dict[str, t.Any]]] = [
        ("get_item", {"ConsistentRead": True}),
        ("get_item", {"ReturnConsumedCapacity": "TOTAL"}),
        (
            "get_item",
            {
                "ProjectionExpression": "nested.#l",
                "ExpressionAttributeNames": {"#l": "list"},
            },
        ),
        (
            "update_item",
            {
                "UpdateExpression": "SET #e = :e ADD #v :one",
                "ExpressionAttributeNames": {"#e": "expires", "#v": "version"},
                "ExpressionAttributeValues": {
                    ":e": {"N": "1800000000"},
                    ":one": {"N": "1"},
                },
                "ReturnValues": "ALL_NEW",
                "ReturnConsumedCapacity": "INDEXES",
            },
        ),
        ("put_item", {"Item": ITEM, "ReturnValues": "ALL_OLD"}),
        ("delete_item", {"ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"}),
        ("get_item", {}),
        ("delete_item", {}),
    ]
    for method, params in calls:
        answers = []
        for client, name in ((pair.boto3, "b"), (pair.lean, "l")):
            if "Item" in params:
                params = {**params, "Item": {**key(name), **ITEM}}
            else:
                params = {**params, "Key": key(name)}
            answer = comparable(getattr(client, method)(TableName=table, **params))
            for name in ("Item", "Attributes"):
                if name in answer:
                    answer[name] = {k: v for k, v in answer[name].items() if k != "id"}
            answers.append(answer)
        assert answers[0] == answers[1], method
        assert answers[1]["ResponseMetadata"] == {
            "HTTPStatusCode": 200,
            "RetryAttempts": 0,
        }


def test_binary_data_round_trips(pair: Pair, table: str) -> None:
    payload = bytes(range(256)) * 64
    pair.lean.put_item(TableName=table, Item={**key("bin"), "data": {"B": payload}})
    stored = pair.boto3.get_item(TableName=table, Key=key("bin"))["Item"]["data"]["B"]
    assert stored == payload
    read = pair.lean.get_item(TableName=table, Key=key("bin"))["Item"]["data"]["B"]
    assert read == payload
    assert isinstance(read, bytes)
    pair.lean.put_item(
        TableName=table, Item={**key("ba"), "data": {"B": bytearray(b"ab")}}
    )
    assert pair.lean.get_item(TableName=table, Key=key("ba"))["Item"]["data"] == {
        "B": b"ab"
    }


def errors_of(
    pair: Pair, method: str, **params: t.Any
) -> tuple[ClientError, ClientError]:
    """The ``ClientError`` each client raises for the same call."""
    raised = []
    for client in (pair.boto3, pair.lean):
        with pytest.raises(ClientError) as info:
            getattr(client, method)(**params)
        raised.append(info.value)
    return raised[0], raised[1]


def assert_same_error(theirs: ClientError, ours: ClientError) -> None:
    assert type(ours) is type(theirs)
    assert comparable(ours.response) == comparable(theirs.response)
    assert ours.operation_name == theirs.operation_name
    assert str(ours) == str(theirs)


def test_condition_failure_returns_the_item(pair: Pair, table: str) -> None:
    pair.boto3.put_item(TableName=table, Item={**key("cond"), **ITEM})
    theirs, ours = errors_of(
        pair,
        "update_item",
        TableName=table,
        Key=key("cond"),
        UpdateExpression="SET #e = :e",
        ConditionExpression="#e = :old",
        ExpressionAttributeNames={"#e": "expires"},
        ExpressionAttributeValues={":e": {"N": "1"}, ":old": {"N": "2"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    assert_same_error(theirs, ours)
    assert ours.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert isinstance(ours, pair.boto3.exceptions.ConditionalCheckFailedException)
    answer: t.Any = ours.response
    if "Item" in theirs.response:  # dynalite does not return it
        assert answer["Item"]["data"]["B"] == ITEM["data"]["B"]


def test_validation_error(pair: Pair, table: str) -> None:
    theirs, ours = errors_of(
        pair, "get_item", TableName=table, Key={"nope": {"S": "x"}}
    )
    assert_same_error(theirs, ours)
    assert ours.response["Error"]["Code"] == "ValidationException"


def test_missing_table(pair: Pair) -> None:
    theirs, ours = errors_of(pair, "get_item", TableName="no-such-table", Key=key("x"))
    assert_same_error(theirs, ours)
    assert ours.response["Error"]["Code"] == "ResourceNotFoundException"


# -- faults, retries -------------------------------------------------------------


def run_faulted(
    pair: Pair, proxy: DynamoProxy, fault: Fault, times: int, table: str
) -> list[tuple[t.Any, int, int]]:
    """Make one GetItem with each client, each behind ``times`` faults.

    :return: for each client, what it returned or raised, its attempts (as
        the proxy counted them) and the back-off sleeps it made.
    """
    results = []
    for client, sleeps in (
        (pair.boto3, pair.boto3_sleeps),
        (pair.lean, pair.lean_sleeps),
    ):
        proxy.reset()
        proxy.clear_faults()
        proxy.inject(fault, times)
        outcome: t.Any
        try:
            outcome = client.get_item(TableName=table, Key=key("faulted"))
        except (ClientError, BotoCoreError) as exc:
            outcome = exc
        results.append((outcome, proxy.count("GetItem"), len(sleeps)))
    proxy.clear_faults()
    return results


FAULTS = {
    "throttled": Fault.error(400, "ThrottlingException", "Rate exceeded"),
    "provisioned": Fault.error(400, "ProvisionedThroughputExceededException"),
    "internal-500": Fault.error(500, "InternalServerError", "Internal server error"),
    "unavailable-503": Fault.error(503, "ServiceUnavailable"),
    "html-502": Fault.answer(502, HTML_502),
    "empty-500": Fault.answer(500, b""),
    "empty-429": Fault.answer(429, b""),
    "xml-403": Fault.answer(403, XML_403, "text/xml"),
    "unknown-400": Fault.error(400, "SomethingNewException"),
    "access-denied": Fault.error(400, "AccessDeniedException", "not allowed"),
    "transaction-conflict": Fault.error(400, "TransactionConflictException"),
    "html-200": Fault.answer(200, b"<html>fine</html>"),
    "null-200": Fault.answer(
        200, b'{"Item": null, "Unknown": 1}', "application/x-amz-json-1.0"
    ),
}


@pytest.mark.parametrize("times", [1, 5], ids=["once", "always"])
@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_error_answers_are_retried_and_parsed_as_boto3(
    pair: Pair, proxy: DynamoProxy, table: str, fault: Fault, times: int
) -> None:
    (theirs, their_attempts, their_sleeps), (ours, our_attempts, our_sleeps) = (
        run_faulted(pair, proxy, fault, times, table)
    )
    assert our_attempts == their_attempts
    assert our_sleeps == their_sleeps
    if isinstance(theirs, ClientError):
        assert isinstance(ours, ClientError)
        assert_same_error(theirs, ours)
    else:
        assert comparable(ours) == comparable(theirs)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"[]", (), id="json-array"),
        pytest.param(b'{"Item": 5}', (), id="wrong-shape"),
        pytest.param(
            gzip.compress(b'{"Item": {}}'), (("Content-Encoding", "gzip"),), id="gzip"
        ),
        pytest.param(b"\xff\xfe{}", (), id="not-utf-8"),
    ],
)
def test_an_unparsable_answer_is_a_failed_attempt(
    pair: Pair,
    proxy: DynamoProxy,
    table: str,
    body: bytes,
    headers: tuple[tuple[str, str], ...],
) -> None:
    """botocore's parser raises a bare AttributeError or UnicodeDecodeError
    on such answers; the lean client retries them as a broken answer, then
    raises a botocore error the store turns into a 503."""
    fault = Fault.answer(200, body, "application/x-amz-json-1.0", headers=headers)
    proxy.inject(fault, times=5)
    with pytest.raises(HTTPClientError) as info:
        pair.lean.get_item(TableName=table, Key=key("x"))
    assert proxy.count("GetItem") == 3
    assert getattr(info.value, "retry_attempts", None) == 2


def test_identity_encoding_is_asked(pair: Pair, proxy: DynamoProxy, table: str) -> None:
    pair.lean.get_item(TableName=table, Key=key("x"))
    pair.boto3.get_item(TableName=table, Key=key("x"))
    assert [call.headers.get("accept-encoding") for call in proxy.calls] == [
        "identity",
        "identity",
    ]


def test_codes_of_non_json_bodies(pair: Pair, proxy: DynamoProxy, table: str) -> None:
    """What botocore makes of them (and so the lean client)."""
    for fault, code, attempts in [
        (FAULTS["html-502"], "502", 3),
        (FAULTS["xml-403"], "403", 1),
        (FAULTS["empty-500"], "500", 3),
    ]:
        _, (ours, our_attempts, _) = run_faulted(pair, proxy, fault, 5, table)
        assert isinstance(ours, ClientError)
        assert ours.response["Error"]["Code"] == code
        assert ours.response["ResponseMetadata"]["RetryAttempts"] == attempts - 1
        assert our_attempts == attempts


def test_throttling_backs_off_like_boto3(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    run_faulted(pair, proxy, FAULTS["throttled"], 5, table)
    run_faulted(pair, proxy, FAULTS["internal-500"], 5, table)
    # Throttling: a random part of 1 s, then of 2 s; other errors of 25 ms, 50 ms.
    for sleeps in (pair.boto3_sleeps, pair.lean_sleeps):
        assert len(sleeps) == 4
        assert 0 <= sleeps[0] <= 1
        assert 0 <= sleeps[1] <= 2
        assert 0 <= sleeps[2] <= 0.025
        assert 0 <= sleeps[3] <= 0.05


def test_retry_after_header_is_honoured(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    fault = Fault.error(
        400, "ThrottlingException", headers={"x-amz-retry-after": "1500"}
    )
    run_faulted(pair, proxy, fault, 1, table)
    assert len(pair.lean_sleeps) == len(pair.boto3_sleeps) == 1
    assert 1.5 <= pair.lean_sleeps[0] <= 2.5
    assert 1.5 <= pair.boto3_sleeps[0] <= 2.5


def test_retried_call_reports_its_attempts(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    pair.boto3.put_item(TableName=table, Item=key("faulted"))
    (theirs, _, _), (ours, attempts, _) = run_faulted(
        pair, proxy, FAULTS["throttled"], 2, table
    )
    assert ours["Item"] == key("faulted")
    assert ours["ResponseMetadata"]["RetryAttempts"] == 2
    assert comparable(ours) == comparable(theirs)
    assert attempts == 3


@pytest.mark.parametrize("times", [1, 2])
def test_crc32_mismatch_is_retried_as_boto3(
    pair: Pair, proxy: DynamoProxy, table: str, times: int
) -> None:
    pair.boto3.put_item(TableName=table, Item={**key("faulted"), "data": {"B": b"crc"}})
    (theirs, their_attempts, _), (ours, our_attempts, _) = run_faulted(
        pair, proxy, Fault.bad_crc32(), times, table
    )
    assert (our_attempts, their_attempts) == (times + 1,) * 2
    assert comparable(ours) == comparable(theirs)
    assert ours["Item"]["data"]["B"] == b"crc"


def test_a_crc32_that_never_matches_fails_the_call(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    """A corrupt answer is never a success, on either transport."""
    pair.boto3.put_item(TableName=table, Item={**key("faulted"), "data": {"B": b"crc"}})
    (theirs, their_attempts, _), (ours, our_attempts, _) = run_faulted(
        pair, proxy, Fault.bad_crc32(), 3, table
    )
    assert isinstance(theirs, ChecksumError)
    assert isinstance(ours, ChecksumError)
    assert (our_attempts, their_attempts) == (3, 3)


@pytest.mark.parametrize(
    "fault", [Fault.chunked(), Fault.close()], ids=["chunked", "connection-close"]
)
def test_http_framing_variants(
    pair: Pair, proxy: DynamoProxy, table: str, fault: Fault
) -> None:
    pair.boto3.put_item(TableName=table, Item={**key("faulted"), **ITEM})
    (theirs, _, _), (ours, attempts, _) = run_faulted(pair, proxy, fault, 1, table)
    assert comparable(ours) == comparable(theirs)
    assert attempts == 1
    ours = pair.lean.get_item(TableName=table, Key=key("faulted"))
    assert comparable(ours) == comparable(theirs)


def test_connection_closed_without_answer(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    (theirs, their_attempts, _), (ours, our_attempts, _) = run_faulted(
        pair, proxy, Fault.drop(), 5, table
    )
    assert isinstance(theirs, ConnectionClosedError)
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs)
    assert our_attempts == their_attempts == 3
    assert getattr(ours, "retry_attempts", None) == 2
    # Once only: the next attempt is answered.
    (theirs, their_attempts, _), (ours, our_attempts, _) = run_faulted(
        pair, proxy, Fault.drop(), 1, table
    )
    assert comparable(ours) == comparable(theirs)
    assert our_attempts == their_attempts == 2


def test_read_timeout(
    make_pair: Callable[..., Pair], proxy: DynamoProxy, table: str
) -> None:
    pair = make_pair(read_timeout=0.2)
    (theirs, their_attempts, _), (ours, our_attempts, _) = run_faulted(
        pair, proxy, Fault.delay(1), 5, table
    )
    assert isinstance(theirs, ReadTimeoutError)
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs)
    assert our_attempts == their_attempts == 3


def test_connection_refused(make_pair: Callable[..., Pair], table: str) -> None:
    pair = make_pair(endpoint_url=f"http://{HOST}:{free_port()}")
    raised = []
    for client in (pair.boto3, pair.lean):
        with pytest.raises(EndpointConnectionError) as info:
            client.get_item(TableName=table, Key=key("x"))
        raised.append(info.value)
    assert str(raised[0]) == str(raised[1])
    assert len(pair.lean_sleeps) == len(pair.boto3_sleeps) == 2


def test_connect_timeout(make_pair: Callable[..., Pair], table: str) -> None:
    with unresponsive_port() as port:
        pair = make_pair(endpoint_url=f"http://{HOST}:{port}", connect_timeout=0.1)
        raised = []
        for client in (pair.boto3, pair.lean):
            with pytest.raises(ConnectTimeoutError) as info:
                client.get_item(TableName=table, Key=key("x"))
            raised.append(info.value)
        assert str(raised[0]) == str(raised[1])
        assert len(pair.lean_sleeps) == len(pair.boto3_sleeps) == 2


def test_retry_quota_runs_out_as_boto3s(
    make_pair: Callable[..., Pair], proxy: DynamoProxy, table: str
) -> None:
    """Each retry of a 500 takes 14 of the quota's 500: the 36th call is not retried."""
    pair = make_pair(retries={"mode": "standard", "total_max_attempts": 2})
    attempts = {}
    for client in (pair.boto3, pair.lean):
        proxy.clear_faults()
        proxy.inject(FAULTS["internal-500"], 80)
        counts = []
        for _ in range(37):
            proxy.reset()
            with pytest.raises(ClientError) as info:
                client.get_item(TableName=table, Key=key("x"))
            counts.append(proxy.count())
            metadata = info.value.response["ResponseMetadata"]
        attempts[client] = counts
        assert metadata.get("RetryQuotaReached") is True
    assert attempts[pair.boto3] == attempts[pair.lean] == [2] * 35 + [1] * 2
    proxy.clear_faults()


# -- settings taken from the boto3 client ---------------------------------------


def test_legacy_retry_mode_is_mirrored(
    make_pair: Callable[..., Pair], proxy: DynamoProxy, table: str
) -> None:
    pair = make_pair(retries={"mode": "legacy", "total_max_attempts": 4})
    for fault in (FAULTS["throttled"], FAULTS["internal-500"], Fault.bad_crc32()):
        (theirs, their_attempts, _), (ours, our_attempts, _) = run_faulted(
            pair, proxy, fault, 9, table
        )
        assert our_attempts == their_attempts == 4
        assert type(ours) is type(theirs)
        if isinstance(theirs, ClientError):
            assert_same_error(theirs, ours)
    assert pair.lean_sleeps == pytest.approx(pair.boto3_sleeps)


def test_legacy_default_attempts(
    make_pair: Callable[..., Pair], proxy: DynamoProxy, table: str
) -> None:
    """botocore's legacy retry rules give DynamoDB 10 attempts."""
    pair = make_pair(retries={"mode": "legacy"})
    results = run_faulted(pair, proxy, FAULTS["unavailable-503"], 12, table)
    assert [attempts for _, attempts, _ in results] == [10, 10]


def test_attempts_from_the_environment(
    dynamo_server: DynamoServer,
    proxy: DynamoProxy,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setattr(
        botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda s: None)
    )
    client = new_client(proxy.endpoint_url, Config(retries={"mode": "standard"}))
    lean = lean_client_for(client)
    assert lean is not None
    lean.sleep = lambda seconds: None
    try:
        counts = []
        for caller in (client, lean):
            proxy.reset()
            proxy.inject(FAULTS["unavailable-503"], 9)
            with pytest.raises(ClientError):
                caller.get_item(TableName=table, Key=key("x"))
            proxy.clear_faults()
            counts.append(proxy.count())
        assert counts == [2, 2]
    finally:
        client.close()
        lean.close()


def test_dynamodb_default_attempts(
    make_pair: Callable[..., Pair], proxy: DynamoProxy, table: str
) -> None:
    """Without an attempt count, standard mode makes 4 attempts on DynamoDB."""
    pair = make_pair(retries={"mode": "standard"})
    results = run_faulted(pair, proxy, FAULTS["internal-500"], 9, table)
    assert [attempts for _, attempts, _ in results] == [4, 4]


def test_one_attempt_only(
    make_pair: Callable[..., Pair], proxy: DynamoProxy, table: str
) -> None:
    pair = make_pair(retries={"mode": "standard", "total_max_attempts": 1})
    theirs = pair.boto3.get_item(TableName=table, Key=key("x"))
    ours = pair.lean.get_item(TableName=table, Key=key("x"))
    assert comparable(ours) == comparable(theirs)
    assert ours["ResponseMetadata"]["MaxAttemptsReached"] is True
    results = run_faulted(pair, proxy, FAULTS["throttled"], 9, table)
    assert [attempts for _, attempts, _ in results] == [1, 1]


# -- credentials ----------------------------------------------------------------


def test_refreshable_credentials_are_refreshed(
    dynamo_server: DynamoServer, proxy: DynamoProxy, table: str
) -> None:
    refreshed: list[int] = []

    def refresh() -> dict[str, str]:
        refreshed.append(len(refreshed) + 1)
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            minutes=5
        )
        return {
            "access_key": f"AKID{len(refreshed)}",
            "secret_key": f"secret{len(refreshed)}",
            "token": f"token{len(refreshed)}",
            "expiry_time": expiry.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        refresh(), refresh_using=refresh, method="test"
    )
    core = botocore.session.Session()
    core._credentials = credentials  # type: ignore[attr-defined]
    session = boto3.session.Session(botocore_session=core, region_name="us-east-1")
    client = session.client(
        "dynamodb", endpoint_url=proxy.endpoint_url, config=Config(proxies={})
    )
    lean = lean_client_for(client)
    assert lean is not None
    try:
        for _ in range(3):
            lean.get_item(TableName=table, Key=key("x"))
    finally:
        lean.close()
        client.close()
    # Expiring within 10 minutes, they are refreshed before every signature.
    assert [call.access_key for call in proxy.calls] == ["AKID2", "AKID3", "AKID4"]
    assert [call.headers["x-amz-security-token"] for call in proxy.calls] == [
        "token2",
        "token3",
        "token4",
    ]


ALLOW_DYNAMODB = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:*", "sts:AssumeRole"],
                "Resource": "*",
            }
        ],
    }
)
TRUST_ANYONE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_signatures_verified_by_moto_with_iam_auth_on(
    dynamo_server: DynamoServer, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto recomputes the SigV4 signature of every request and checks IAM."""
    if not isinstance(dynamo_server, MotoServer):
        pytest.skip("only moto checks signatures")
    import moto.settings

    options: dict[str, t.Any] = {
        "endpoint_url": dynamo_server.endpoint_url,
        "region_name": "us-east-1",
        "config": CLIENT_CONFIG.merge(Config(retries={"total_max_attempts": 1})),
    }
    admin: dict[str, t.Any] = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    iam = boto3_session().client("iam", **options, **admin)
    user = f"app-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    policy = iam.create_policy(PolicyName=user, PolicyDocument=ALLOW_DYNAMODB)
    iam.attach_user_policy(UserName=user, PolicyArn=policy["Policy"]["Arn"])
    role = iam.create_role(RoleName=user, AssumeRolePolicyDocument=TRUST_ANYONE)
    iam.attach_role_policy(RoleName=user, PolicyArn=policy["Policy"]["Arn"])
    access_key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.close()
    keys: dict[str, t.Any] = {
        "aws_access_key_id": access_key["AccessKeyId"],
        "aws_secret_access_key": access_key["SecretAccessKey"],
    }
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    sts = boto3_session().client("sts", **options, **keys)
    assumed = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="lean")
    sts.close()
    temporary = {
        "aws_access_key_id": assumed["Credentials"]["AccessKeyId"],
        "aws_secret_access_key": assumed["Credentials"]["SecretAccessKey"],
        "aws_session_token": assumed["Credentials"]["SessionToken"],
    }
    wrong = {**keys, "aws_secret_access_key": "wrong"}
    cases: list[tuple[dict[str, t.Any], bool]] = [
        (keys, True),
        (temporary, True),
        (wrong, False),
    ]
    for credentials, works in cases:
        client = boto3_session().client("dynamodb", **options, **credentials)
        lean = lean_client_for(client)
        assert lean is not None
        try:
            if works:
                answer = lean.get_item(TableName=table, Key=key("x"))
                assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
            else:
                theirs, ours = errors_of(
                    Pair(client, lean, [], []),
                    "get_item",
                    TableName=table,
                    Key=key("x"),
                )
                assert_same_error(theirs, ours)
                assert ours.response["Error"]["Code"] == "403"
                assert "SignatureDoesNotMatch" in ours.response["Error"]["Message"]
        finally:
            lean.close()
            client.close()


def test_missing_credentials(
    dynamo_server: DynamoServer,
    proxy: DynamoProxy,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: t.Any,
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.session.Session(region_name="us-east-1").client(
        "dynamodb", endpoint_url=proxy.endpoint_url, config=Config(proxies={})
    )
    lean = lean_client_for(client)
    assert lean is not None
    for caller in (client, lean):
        with pytest.raises(NoCredentialsError):
            caller.get_item(TableName=table, Key=key("x"))
    assert proxy.count() == 0
    client.close()


# -- threads ------------------------------------------------------------------------


def test_an_idle_connection_the_server_closed_is_replaced(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    pair.lean.get_item(TableName=table, Key=key("x"))
    # The proxy takes the connection for idle a moment after it answered.
    deadline = time.monotonic() + 5
    while proxy.close_idle_connections() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pair.lean.get_item(TableName=table, Key=key("x"))
    assert proxy.count("GetItem") == 2
    assert proxy.connections == 2


RICH_ANSWER = {
    "Attributes": {
        "id": {"S": "x"},
        "data": {"B": "AAH/"},
        "blobs": {"BS": ["AQ==", "AgM="]},
        "nums": {"NS": ["1", "2.5"]},
        "tags": {"SS": ["a"]},
        "nested": {
            "M": {
                "inner": {"B": "/g=="},
                "list": {"L": [{"B": "eA=="}, {"NULL": True}, {"BOOL": True}]},
                "empty": {"M": {}},
            }
        },
    },
    "ConsumedCapacity": {
        "TableName": "t",
        "CapacityUnits": 3.0,
        "WriteCapacityUnits": 3,
        "Table": {"CapacityUnits": 1.0},
        "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1}},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 1.0}},
    },
    "ItemCollectionMetrics": {
        "ItemCollectionKey": {"pk": {"B": "AAE="}},
        "SizeEstimateRangeGB": [0.0, 1.0],
    },
}


def test_a_rich_answer_is_parsed_as_botocore_parses_it(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    body = json.dumps(RICH_ANSWER).encode()
    fault = Fault.answer(200, body, "application/x-amz-json-1.0", crc32=True)
    answers = []
    for client in (pair.boto3, pair.lean):
        proxy.inject(fault)
        answers.append(client.put_item(TableName=table, Item=key("x")))
    theirs, ours = answers
    assert comparable(ours) == comparable(theirs)
    assert ours["ItemCollectionMetrics"]["ItemCollectionKey"] == {
        "pk": {"B": b"\x00\x01"}
    }
    assert ours["Attributes"]["blobs"] == {"BS": [b"\x01", b"\x02\x03"]}


def test_a_crc32_that_is_no_number(pair: Pair, proxy: DynamoProxy, table: str) -> None:
    """botocore's checksum check fails on it; so does the lean client's."""
    headers = [("x-amz-crc32", "abc")]
    fault = Fault.answer(200, b"{}", "application/x-amz-json-1.0", headers=headers)
    for client in (pair.boto3, pair.lean):
        proxy.inject(fault)
        with pytest.raises(ValueError, match="invalid literal"):
            client.get_item(TableName=table, Key=key("x"))


def test_parameters_are_not_validated(pair: Pair, table: str) -> None:
    with pytest.raises(TypeError, match="not a DynamoDB parameter type"):
        pair.lean.put_item(TableName=table, Item={"id": {"S": "x"}, "v": {"B": {1}}})
    with pytest.raises(ClientError):  # the server's answer
        pair.lean.get_item(TableName=table)


def test_many_threads_share_one_client(
    pair: Pair, proxy: DynamoProxy, table: str
) -> None:
    lean = pair.lean
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for number in range(50):
                name = f"t{worker}-{number}"
                value = f"{worker}:{number}".encode()
                lean.put_item(TableName=table, Item={**key(name), "data": {"B": value}})
                item = lean.get_item(
                    TableName=table, Key=key(name), ConsistentRead=True
                )
                assert item["Item"]["data"]["B"] == value
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert proxy.count("PutItem") == proxy.count("GetItem") == 400
    assert proxy.consistent_reads() == [True] * 400
    assert len(lean.pool._idle) <= lean.pool.max_connections


def test_a_credential_with_a_line_break_never_reaches_the_head(
    proxy: DynamoProxy, table: str
) -> None:
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=proxy.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="token\r\nX-Injected: 1",
    )
    lean = lean_client_for(client)
    assert lean is not None
    lean.sleep = lambda delay: None
    with pytest.raises(HTTPClientError, match="control character"):
        lean.get_item(TableName=table, Key=key("x"))
    assert proxy.count() == 0
    client.close()
