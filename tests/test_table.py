"""The table's life with the index of users' sessions: created, added, waited for.

Against moto's server and dynalite over HTTP, through the test proxy, which
records each request as the server receives it. dynalite creates a table
with a global secondary index and queries it, but its UpdateTable does not
add one to an existing table: adding is proven on moto, and on dynalite the
failure is a clear error.
"""

from __future__ import annotations

import typing as t

import pytest
from botocore.exceptions import ClientError

from flask_dynamodb_session import SessionBackendError, SessionStore
from flask_dynamodb_session.status import table_status
from flask_dynamodb_session.table import (
    INDEX_NAME,
    add_index,
    index_status,
    wait_for_index,
)
from tests.support.apps import make_app, served
from tests.support.proxy import DynamoProxy, Fault
from tests.support.servers import DynaliteServer, MotoServer
from tests.support.tables import USER_KEY, new_table, put_session

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.servers import DynamoServer

    StoreMaker = Callable[..., SessionStore]


#: Why a test of adding the index runs on moto only, or on dynalite only.
NO_ADDING = "dynalite cannot add an index to an existing table"
ADDS = "a gap of dynalite's: moto adds the index"


pytestmark = pytest.mark.every_server


@pytest.fixture
def options(proxy: DynamoProxy, table_name: str) -> dict[str, t.Any]:
    """Interface options of the boto3 transport on the test's table, which
    the test creates."""
    return served(proxy, "boto3", table=table_name)


def the_index(client: DynamoDBClient, table: str) -> dict[str, t.Any]:
    (index,) = client.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    return t.cast("dict[str, t.Any]", index)


def request_of(proxy: DynamoProxy, operation: str) -> dict[str, t.Any]:
    (call,) = [call for call in proxy.calls if call.operation == operation]
    return call.body


def only_on(server: DynamoServer, kind: type[DynamoServer], why: str) -> None:
    if not isinstance(server, kind):
        pytest.skip(why)


# -- creating the table -------------------------------------------------------


@pytest.mark.parametrize("billing_mode", ["PAY_PER_REQUEST", "PROVISIONED"])
def test_create_table_creates_the_index_with_user_key(
    stores: StoreMaker,
    proxy: DynamoProxy,
    direct: DynamoDBClient,
    table_name: str,
    billing_mode: str,
) -> None:
    store = stores(read_capacity=3, write_capacity=4)

    setup = store.create_table(billing_mode=billing_mode)

    assert (setup.created, setup.index) == (True, "created")
    index = the_index(direct, table_name)
    assert index["IndexName"] == INDEX_NAME
    assert index["KeySchema"] == [{"AttributeName": "uid", "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert index["IndexStatus"] == "ACTIVE"
    (sent,) = request_of(proxy, "CreateTable")["GlobalSecondaryIndexes"]
    if billing_mode == "PROVISIONED":
        assert sent["ProvisionedThroughput"] == {
            "ReadCapacityUnits": 3,
            "WriteCapacityUnits": 4,
        }
    else:
        assert "ProvisionedThroughput" not in sent
    assert "UpdateTable" not in proxy.operations()


def test_create_table_without_user_key_has_no_index(
    stores: StoreMaker, direct: DynamoDBClient, table_name: str
) -> None:
    setup = stores(user_key=None).create_table(billing_mode="PAY_PER_REQUEST")

    assert (setup.created, setup.index) == (True, None)
    table = direct.describe_table(TableName=table_name)["Table"]
    assert not table.get("GlobalSecondaryIndexes")  # moto: []
    assert table_status(stores(user_key=None).gateway).index_status is None


def test_create_table_again_leaves_the_index_as_it_is(
    stores: StoreMaker, proxy: DynamoProxy
) -> None:
    store = stores()
    store.create_table(billing_mode="PAY_PER_REQUEST")
    proxy.reset()

    setup = store.create_table(billing_mode="PAY_PER_REQUEST")

    assert (setup.created, setup.index) == (False, "exists")
    assert "UpdateTable" not in proxy.operations()
    assert index_status(store.gateway) == "ACTIVE"


def test_auto_create_creates_the_index(
    proxy: DynamoProxy, direct: DynamoDBClient, table_name: str
) -> None:
    app = make_app(
        endpoint_url=proxy.endpoint_url,
        region_name="us-east-1",
        table=table_name,
        auto_create=True,
        billing_mode="PAY_PER_REQUEST",
        user_key=USER_KEY,
    )
    assert app.test_client().post("/login/alice").status_code == 200
    assert the_index(direct, table_name)["IndexStatus"] == "ACTIVE"


# -- adding the index to an existing table ------------------------------------


@pytest.mark.parametrize("billing_mode", ["PAY_PER_REQUEST", "PROVISIONED"])
def test_the_index_is_added_to_an_existing_table(
    dynamo_server: DynamoServer,
    stores: StoreMaker,
    proxy: DynamoProxy,
    direct: DynamoDBClient,
    table_name: str,
    billing_mode: str,
) -> None:
    only_on(dynamo_server, MotoServer, NO_ADDING)
    stores(user_key=None).create_table(billing_mode=billing_mode)
    store = stores(read_capacity=2, write_capacity=3)
    # A session written before the index existed is found through it.
    handle = put_session(direct, store, {USER_KEY: "alice"})
    proxy.reset()

    setup = store.create_table(billing_mode=billing_mode)

    assert (setup.created, setup.index) == (False, "added")
    update = request_of(proxy, "UpdateTable")
    assert update["AttributeDefinitions"] == [
        {"AttributeName": "uid", "AttributeType": "S"}
    ]
    (change,) = update["GlobalSecondaryIndexUpdates"]
    if billing_mode == "PROVISIONED":
        assert change["Create"]["ProvisionedThroughput"] == {
            "ReadCapacityUnits": 2,
            "WriteCapacityUnits": 3,
        }
    else:
        # Never for an on-demand table: the real service refuses it.
        assert "ProvisionedThroughput" not in change["Create"]
    assert "BillingMode" not in update
    assert the_index(direct, table_name)["Projection"] == {
        "ProjectionType": "KEYS_ONLY"
    }
    assert [session.handle for session in store.sessions_of("alice")] == [handle]

    proxy.reset()
    assert store.create_table().index == "exists"
    assert "UpdateTable" not in proxy.operations()


def test_a_table_of_the_other_billing_mode_decides(
    dynamo_server: DynamoServer,
    stores: StoreMaker,
    proxy: DynamoProxy,
) -> None:
    """The table's own billing mode counts, not the option's."""
    only_on(dynamo_server, MotoServer, NO_ADDING)
    stores(user_key=None).create_table(billing_mode="PAY_PER_REQUEST")
    proxy.reset()

    assert stores(billing_mode="PROVISIONED").create_table().index == "added"

    (change,) = request_of(proxy, "UpdateTable")["GlobalSecondaryIndexUpdates"]
    assert "ProvisionedThroughput" not in change["Create"]


def test_a_server_that_does_not_add_the_index_is_an_error(
    dynamo_server: DynamoServer, stores: StoreMaker
) -> None:
    """dynalite accepts the UpdateTable of a provisioned table and adds nothing."""
    only_on(dynamo_server, DynaliteServer, ADDS)
    stores(user_key=None).create_table(billing_mode="PROVISIONED")

    with pytest.raises(SessionBackendError, match="did not add the index"):
        stores().create_table()


def test_a_server_refusing_the_update_is_an_error(
    dynamo_server: DynamoServer, stores: StoreMaker
) -> None:
    """dynalite wants provisioned capacity even for an on-demand table's index,
    which the real service refuses: none is sent, and the refusal is an error."""
    only_on(dynamo_server, DynaliteServer, ADDS)
    stores(user_key=None).create_table(billing_mode="PAY_PER_REQUEST")

    with pytest.raises(ClientError) as caught:
        stores().create_table()
    assert caught.value.operation_name == "UpdateTable"
    assert "provisionedThroughput" in str(caught.value)


def index_building(stores: StoreMaker, proxy: DynamoProxy, times: int) -> SessionStore:
    """A store whose table exists, while the proxy answers ``times``
    DescribeTable calls with its index still CREATING; calls counted from
    here on."""
    store = stores()
    store.create_table(billing_mode="PAY_PER_REQUEST")
    proxy.rewrite = building(times)
    proxy.reset()
    return store


def building(times: int) -> Callable[..., dict[str, t.Any]]:
    """A rewrite of DescribeTable answers: the index is CREATING ``times`` times."""
    left = [times]

    def rewrite(
        operation: str, request: dict[str, t.Any], status: int, answer: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation == "DescribeTable" and left[0]:
            left[0] -= 1
            for index in answer["Table"].get("GlobalSecondaryIndexes", ()):
                index["IndexStatus"] = "CREATING"
        return answer

    return rewrite


def test_waits_until_the_index_is_active(
    stores: StoreMaker, proxy: DynamoProxy
) -> None:
    store = index_building(stores, proxy, times=2)

    wait_for_index(store.gateway, delay=0.01)

    assert proxy.operations() == ["DescribeTable"] * 3


def test_an_index_being_built_is_waited_for_not_added_again(
    stores: StoreMaker, proxy: DynamoProxy
) -> None:
    store = index_building(stores, proxy, times=1)

    assert add_index(store.gateway) == "exists"

    assert proxy.operations() == ["DescribeTable"] * 2


def test_an_index_that_stays_creating_is_an_error(
    stores: StoreMaker, proxy: DynamoProxy
) -> None:
    store = index_building(stores, proxy, times=99)

    with pytest.raises(SessionBackendError, match="still CREATING") as caught:
        wait_for_index(store.gateway, delay=0.01, max_attempts=3)
    assert "create-table` again" in str(caught.value)


def test_an_index_added_meanwhile_by_another_process(
    stores: StoreMaker, proxy: DynamoProxy
) -> None:
    """UpdateTable refused, but the index is there: nothing to do."""
    store = stores()
    store.create_table(billing_mode="PAY_PER_REQUEST")
    hidden = [True]

    def not_yet(
        operation: str, request: dict[str, t.Any], status: int, answer: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        if operation == "DescribeTable" and hidden[0]:
            hidden[0] = False
            answer["Table"].pop("GlobalSecondaryIndexes", None)
        return answer

    proxy.rewrite = not_yet
    proxy.fail(Fault.error(400, "ResourceInUseException"), "UpdateTable")

    assert add_index(store.gateway) == "exists"


def test_a_table_being_changed_is_a_clear_error(
    stores: StoreMaker, proxy: DynamoProxy
) -> None:
    store = stores(user_key=None)
    store.create_table(billing_mode="PAY_PER_REQUEST")
    proxy.fail(Fault.error(400, "ResourceInUseException"), "UpdateTable")

    with pytest.raises(SessionBackendError, match="is being changed"):
        add_index(stores().gateway)


# -- its state ----------------------------------------------------------------


def test_table_status_shows_the_index(
    stores: StoreMaker, direct: DynamoDBClient, table_name: str
) -> None:
    new_table(direct, table_name)
    status = table_status(stores().gateway)
    assert (status.index_status, status.index_projection) == ("ACTIVE", "KEYS_ONLY")
    assert index_status(stores().gateway) == "ACTIVE"

    new_table(direct, table_name, index=False)
    status = table_status(stores().gateway)
    assert (status.index_status, status.index_projection) == (None, None)
    assert index_status(stores().gateway) is None
