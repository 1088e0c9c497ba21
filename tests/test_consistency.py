"""Eventually consistent reads that still read the browser's own writes.

Against moto's server and dynalite. The proxy in front of the server plays
a lagging replica: it answers every eventually consistent ``GetItem`` from
the copies it was last given (:meth:`LaggingReplica.catch_up`), or with no
item, whatever the table holds now. Strongly consistent reads and every
write reach the table.
"""

from __future__ import annotations

import base64
import typing as t

import pytest

from flask_dynamodb_session import ConfigurationError, DynamoDBSessionInterface
from flask_dynamodb_session.options import resolve
from tests.support.apps import TABLE, make_app
from tests.support.proxy import DynamoProxy

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter


pytestmark = pytest.mark.every_server


class LaggingReplica:
    """Answers eventually consistent reads from copies of the past."""

    def __init__(self, proxy: DynamoProxy, direct: DynamoDBClient) -> None:
        self.direct = direct
        #: stored key -> the item as the replica has it (wire format).
        self.items: dict[str, dict[str, t.Any]] = {}
        proxy.rewrite = self._answer

    def catch_up(self) -> None:
        """Copy the table as it is now."""
        self.items = {
            item["id"]["S"]: {name: _wire(value) for name, value in item.items()}
            for item in self.direct.scan(TableName=TABLE)["Items"]
        }

    def _answer(
        self,
        operation: str,
        request: dict[str, t.Any],
        status: int,
        answer: dict[str, t.Any],
    ) -> dict[str, t.Any]:
        if operation != "GetItem" or request.get("ConsistentRead") or status != 200:
            return answer
        stale = dict(answer)
        stale.pop("Item", None)
        item = self.items.get(request["Key"]["id"]["S"])
        if item is not None:
            stale["Item"] = item
        return stale


def _wire(value: t.Any) -> dict[str, t.Any]:
    """An attribute value as DynamoDB sends it (binary in base64)."""
    if "B" in value:
        return {"B": base64.b64encode(value["B"]).decode("ascii")}
    return dict(value)


@pytest.fixture
def replica(proxy: DynamoProxy, dynamodb: DynamoDBClient) -> Iterator[LaggingReplica]:
    yield LaggingReplica(proxy, dynamodb)
    proxy.heal()


def app_reading(options: dict[str, t.Any], mode: bool | str) -> Flask:
    return make_app(**options, consistent_read=mode)


def read_flags(proxy: DynamoProxy) -> list[bool]:
    """The ``ConsistentRead`` flag of every GetItem since the last look."""
    flags = proxy.consistent_reads()
    proxy.reset()
    return flags


# -- a new session --------------------------------------------------------


def test_auto_reads_a_new_session_the_replica_has_not_seen(
    options: dict[str, t.Any], replica: LaggingReplica, proxy: DynamoProxy
) -> None:
    client = app_reading(options, "auto").test_client()
    client.post("/set/user/alice")
    proxy.reset()
    assert client.get("/get/user").json == {"value": "alice"}
    # The replica had nothing: one more read, strongly consistent.
    assert read_flags(proxy) == [False, True]
    replica.catch_up()
    assert client.get("/get/user").json == {"value": "alice"}
    assert read_flags(proxy) == [False]


@pytest.mark.parametrize(
    ("mode", "seen", "flags"),
    [(False, None, [False]), (True, "alice", [True])],
    ids=["false-misses-what-the-replica-lacks", "true-reads-strongly-once"],
)
def test_a_new_session_the_replica_has_not_seen(
    options: dict[str, t.Any],
    replica: LaggingReplica,
    proxy: DynamoProxy,
    mode: bool,
    seen: str | None,
    flags: list[bool],
) -> None:
    client = app_reading(options, mode).test_client()
    client.post("/set/user/alice")
    proxy.reset()
    assert client.get("/get/user").json == {"value": seen}
    assert read_flags(proxy) == flags


# -- a change -------------------------------------------------------------


@pytest.mark.parametrize(("mode", "seen"), [("auto", "bob"), (False, "alice")])
def test_a_change_is_read_back_only_with_auto(
    options: dict[str, t.Any],
    replica: LaggingReplica,
    proxy: DynamoProxy,
    calls: CallCounter,
    mode: bool | str,
    seen: str,
) -> None:
    client = app_reading(options, mode).test_client()
    client.post("/set/user/alice")
    replica.catch_up()  # the replica has version 1
    proxy.reset()
    assert client.post("/set/user/bob").status_code == 200
    # The replica's version 1 is the one this browser wrote: no second read.
    assert read_flags(proxy) == [False]
    assert client.get("/get/user").json == {"value": seen}
    # With "auto" the cookie says version 2: the stale copy is read again.
    assert read_flags(proxy) == ([False, True] if mode == "auto" else [False])


def two_tabs(app: Flask, replica: LaggingReplica) -> tuple[FlaskClient, FlaskClient]:
    """Two tabs of one browser, logged in; the replica has caught up with
    the login (version 1)."""
    first = app.test_client()
    first.post("/set/user/alice")
    replica.catch_up()
    cookie = first.get_cookie("session")
    assert cookie is not None
    second = app.test_client()
    second.set_cookie("session", cookie.value)
    return first, second


def test_a_stale_read_never_loses_another_requests_change(
    options: dict[str, t.Any], replica: LaggingReplica, dynamodb: DynamoDBClient
) -> None:
    first, second = two_tabs(app_reading(options, "auto"), replica)
    assert first.post("/set/colour/red").status_code == 200
    # The second tab reads the replica's version 1 (its cookie's own), and
    # its conditional write finds version 2: it merges, losing nothing.
    assert second.post("/set/size/L").status_code == 200
    replica.catch_up()
    assert first.get("/read").json == {
        "data": {"user": "'alice'", "colour": "'red'", "size": "'L'"}
    }


def test_a_stale_read_never_undoes_a_logout(
    options: dict[str, t.Any], replica: LaggingReplica, dynamodb: DynamoDBClient
) -> None:
    first, other_tab = two_tabs(app_reading(options, "auto"), replica)
    assert first.post("/clear").status_code == 200
    # The replica still has the session: the other tab may read it once,
    # but its write finds the item gone, writes nothing, drops the cookie.
    response = other_tab.post("/set/cart/apple")
    assert response.status_code == 200
    assert "session=;" in response.headers["Set-Cookie"]
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


# -- cookies across modes -------------------------------------------------


def cookie_payload(app: Flask, client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    return interface.get_signer(app).unsign(cookie.value).decode("ascii")


def test_auto_cookies_carry_the_version_written(options: dict[str, t.Any]) -> None:
    app = app_reading(options, "auto")
    client = app.test_client()
    client.post("/set/user/alice")
    sid, version = cookie_payload(app, client).split(".")
    assert len(sid) == 43
    assert version == "1"
    client.post("/set/user/bob")
    assert cookie_payload(app, client) == f"{sid}.2"
    client.post("/login/carol")
    new_sid, version = cookie_payload(app, client).split(".")
    assert new_sid != sid
    assert version == "1"


@pytest.mark.parametrize(
    ("writer", "reader"),
    [("auto", True), ("auto", False), (True, "auto"), (False, "auto")],
)
def test_cookies_of_each_mode_work_in_the_others(
    options: dict[str, t.Any],
    calls: CallCounter,
    writer: bool | str,
    reader: bool | str,
) -> None:
    written = app_reading(options, writer).test_client()
    written.post("/set/user/alice")
    cookie = written.get_cookie("session")
    assert cookie is not None
    read = app_reading(options, reader).test_client()
    read.set_cookie("session", cookie.value)
    calls.reset()
    assert read.get("/get/user").json == {"value": "alice"}
    assert calls.take() == {"GetItem": 1}
    assert read.post("/set/user/bob").status_code == 200
    written.set_cookie("session", read.get_cookie("session").value)  # type: ignore[union-attr]
    assert written.get("/get/user").json == {"value": "bob"}


def test_a_tampered_version_is_a_tampered_cookie(
    options: dict[str, t.Any], calls: CallCounter
) -> None:
    app = app_reading(options, "auto")
    client = app.test_client()
    client.post("/set/user/alice")
    cookie = client.get_cookie("session")
    assert cookie is not None
    sid, version, signature = cookie.value.split(".")
    assert version == "1"
    client.set_cookie("session", f"{sid}.9.{signature}")
    calls.reset()
    assert client.get("/get/user").json == {"value": None}
    assert calls.take() == {}


# -- the option -----------------------------------------------------------


@pytest.mark.parametrize("value", ["auto", "AUTO", " Auto "])
def test_auto_is_accepted_as_text(value: str) -> None:
    assert resolve({"consistent_read": value}).consistent_read == "auto"
    config = {"SESSION_DYNAMODB_CONSISTENT_READ": value}
    assert resolve({}, config).consistent_read == "auto"


@pytest.mark.parametrize("value", ["sometimes", 2, 1.5, "eventual"])
def test_other_values_name_the_key(value: t.Any) -> None:
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_CONSISTENT_READ"):
        resolve({"consistent_read": value})
