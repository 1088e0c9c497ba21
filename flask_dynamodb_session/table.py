"""The table's life: creating it, waiting for it, turning on TTL.

Used by ``auto_create`` on first use and by ``flask dynamo-session
create-table``; never at import or construction.

With the ``user_key`` option the table also has the global secondary index
:data:`INDEX_NAME`, hash key ``uid`` (S), projecting the keys only: a
session's refresh (``expires`` and ``written``) then never writes to it. A
table created without it gets it added (UpdateTable), and the index is
waited for until it is ``ACTIVE``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import typing as t

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from .exceptions import SessionBackendError, error_code

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        GlobalSecondaryIndexDescriptionTypeDef,
        TableDescriptionTypeDef,
    )

    from .gateway import Gateway

logger = logging.getLogger(__name__)

#: Error codes that mean "this server has no such operation".
UNSUPPORTED_CODES = frozenset({"UnknownOperationException", "UnsupportedOperation"})
#: The global secondary index of a user's sessions, hash key ``uid``.
INDEX_NAME = "uid-index"
#: What turning on TTL found: the server has no TTL (``"UNSUPPORTED"``: run
#: ``delete-expired`` on a schedule instead).
TtlSetup = t.Literal["ENABLED", "ALREADY_ENABLED", "UNSUPPORTED"]
#: What happened to the index: created with the table, added to the existing
#: table, or there already.
IndexSetup = t.Literal["created", "added", "exists"]


@dataclasses.dataclass(frozen=True)
class TableSetup:
    """What :meth:`.SessionStore.create_table` did."""

    #: The table was created now (``False``: it existed already).
    created: bool
    #: What turning on TTL found.
    ttl: TtlSetup
    #: What happened to the index ``uid-index``; ``None`` without the
    #: ``user_key`` option.
    index: IndexSetup | None = None


def create_table(
    gateway: Gateway,
    *,
    read_capacity: int | None = None,
    write_capacity: int | None = None,
    billing_mode: str | None = None,
    wait: bool = True,
) -> TableSetup:
    """Create the gateway's table if it is missing, wait for it, turn on TTL.

    Idempotent: an existing table is left as it is (only TTL is turned on,
    and the index added if it is missing). The table has one hash key,
    ``id`` of type S; with the ``user_key`` option, also the index
    :data:`INDEX_NAME` (see :func:`add_index`).

    :param gateway: the gateway of the table.
    :param read_capacity: provisioned reads; default from the options.
    :param write_capacity: provisioned writes; default from the options.
    :param billing_mode: ``"PROVISIONED"`` or ``"PAY_PER_REQUEST"``; default
        from the options.
    :param wait: wait until the table (and its index) is ``ACTIVE``.
    """
    settings = gateway.settings
    mode = (billing_mode or settings.billing_mode).upper()
    capacity = _capacity(gateway, read_capacity, write_capacity)
    with_index = settings.user_key is not None
    request: dict[str, t.Any] = {
        "TableName": gateway.table,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": mode,
    }
    if mode == "PROVISIONED":
        request["ProvisionedThroughput"] = capacity
    if with_index:
        request["AttributeDefinitions"].append(_UID_DEFINITION)
        request["GlobalSecondaryIndexes"] = [
            _index(capacity if mode == "PROVISIONED" else None)
        ]
    created = True
    try:
        gateway.call(
            "CreateTable",
            passthrough=("ResourceInUseException",),
            **request,
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":
            raise
        created = False
    if wait:
        wait_until_active(gateway)
    index: IndexSetup | None = None
    if with_index:
        if created:
            index = "created"
            if wait:
                wait_for_index(gateway)
        else:
            index = add_index(
                gateway,
                read_capacity=read_capacity,
                write_capacity=write_capacity,
                wait=wait,
            )
    return TableSetup(created=created, ttl=enable_ttl(gateway), index=index)


def add_index(
    gateway: Gateway,
    *,
    read_capacity: int | None = None,
    write_capacity: int | None = None,
    wait: bool = True,
) -> IndexSetup:
    """Add the index :data:`INDEX_NAME` to the existing table, if it lacks it.

    One DescribeTable, then, if the index is missing, one UpdateTable. The
    index gets provisioned capacity only if the table has it (the table's
    own billing mode, as DescribeTable tells it, decides). Building the index
    reads the whole table: on a large one it takes minutes.

    :param read_capacity: the index's provisioned reads; default from the
        options.
    :param write_capacity: the index's provisioned writes; default from the
        options.
    :param wait: wait until the index is ``ACTIVE`` (:func:`wait_for_index`).
    :return: ``"added"``, or ``"exists"`` if the table had it already.
    :raises SessionBackendError: DynamoDB failed, or the index did not
        become ``ACTIVE``.
    """
    table = describe_table(gateway)
    state = _status(index_description(table))
    if state == "ACTIVE":
        return "exists"
    result: IndexSetup = "exists"
    if state is None:
        provisioned = _billing_mode(table) == "PROVISIONED"
        capacity = _capacity(gateway, read_capacity, write_capacity)
        try:
            gateway.call(
                "UpdateTable",
                passthrough=("ResourceInUseException",),
                TableName=gateway.table,
                AttributeDefinitions=[_UID_DEFINITION],
                GlobalSecondaryIndexUpdates=[
                    {"Create": _index(capacity if provisioned else None)}
                ],
            )
        except ClientError as exc:
            # Another process may have added it meanwhile.
            if index_status(gateway) is None:
                if error_code(exc) != "ResourceInUseException":
                    raise
                raise SessionBackendError(
                    f"table {gateway.table!r} is being changed; run `flask"
                    " dynamo-session create-table` again once it is ACTIVE",
                    operation="UpdateTable",
                ) from exc
        else:
            result = "added"
            logger.info("adding the index %s to table %s", INDEX_NAME, gateway.table)
    if wait:
        wait_for_index(gateway)
    return result


def wait_for_index(
    gateway: Gateway, *, delay: float = 2, max_attempts: int = 900
) -> None:
    """Poll DescribeTable until the index :data:`INDEX_NAME` is ``ACTIVE``.

    :param delay: seconds between two polls.
    :param max_attempts: polls at most.
    :raises SessionBackendError: the index is missing from an ``ACTIVE``
        table (the server did not add it), or did not become ``ACTIVE`` in
        time.
    """
    state: str | None = None
    for attempt in range(max_attempts):
        if attempt:
            time.sleep(delay)
        table = describe_table(gateway)
        state = _status(index_description(table))
        if state == "ACTIVE":
            return
        if state is None and table.get("TableStatus") == "ACTIVE":
            raise SessionBackendError(
                f"the DynamoDB server did not add the index {INDEX_NAME!r} to"
                f" table {gateway.table!r} (some local servers cannot add an index"
                " to an existing table: create the table anew there)",
                operation="UpdateTable",
            )
    raise SessionBackendError(
        f"the index {INDEX_NAME!r} of table {gateway.table!r} is still {state}"
        f" after {delay * max_attempts:.0f} s (building it reads the whole"
        " table); run `flask dynamo-session create-table` again to wait on",
        operation="DescribeTable",
    )


def index_status(gateway: Gateway) -> str | None:
    """The state of the index (``ACTIVE``, ``CREATING``...): one DescribeTable.

    :return: ``None`` if the table has no index :data:`INDEX_NAME`.
    :raises SessionBackendError: the table is missing, or DynamoDB failed.
    """
    return _status(index_description(describe_table(gateway)))


def describe_table(gateway: Gateway) -> TableDescriptionTypeDef:
    """The table's description: one DescribeTable.

    :raises SessionBackendError: the table is missing, or DynamoDB failed.
    """
    response = gateway.call("DescribeTable", TableName=gateway.table)
    return t.cast("TableDescriptionTypeDef", response["Table"])


def index_description(
    table: TableDescriptionTypeDef,
) -> GlobalSecondaryIndexDescriptionTypeDef | None:
    """The description of the index :data:`INDEX_NAME`, if the table has it."""
    for index in table.get("GlobalSecondaryIndexes") or ():
        if index.get("IndexName") == INDEX_NAME:
            return index
    return None


def _status(index: GlobalSecondaryIndexDescriptionTypeDef | None) -> str | None:
    return None if index is None else index.get("IndexStatus", "UNKNOWN")


def _billing_mode(table: TableDescriptionTypeDef) -> str:
    return table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")


def _capacity(
    gateway: Gateway, read_capacity: int | None, write_capacity: int | None
) -> dict[str, int]:
    return {
        "ReadCapacityUnits": read_capacity or gateway.settings.read_capacity,
        "WriteCapacityUnits": write_capacity or gateway.settings.write_capacity,
    }


def _index(capacity: dict[str, int] | None) -> dict[str, t.Any]:
    """The index's definition, with provisioned capacity if given."""
    index: dict[str, t.Any] = {
        "IndexName": INDEX_NAME,
        "KeySchema": [{"AttributeName": "uid", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    if capacity is not None:
        index["ProvisionedThroughput"] = capacity
    return index


_UID_DEFINITION = {"AttributeName": "uid", "AttributeType": "S"}


def wait_until_active(
    gateway: Gateway, *, delay: int = 1, max_attempts: int = 300
) -> None:
    """Poll DescribeTable until the table is ``ACTIVE``.

    :raises SessionBackendError: it did not become ``ACTIVE`` in time.
    """
    waiter = gateway.table_exists_waiter()
    try:
        waiter.wait(
            TableName=gateway.table,
            WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts},
        )
    except WaiterError as exc:
        error = (exc.last_response or {}).get("Error")
        if error:  # DescribeTable itself failed (denied, throttled...)
            code, message = error.get("Code", ""), error.get("Message", "")
            raise SessionBackendError(
                f"DynamoDB DescribeTable failed: {code}: {message}",
                operation="DescribeTable",
            ) from exc
        raise SessionBackendError(
            f"table {gateway.table!r} did not become ACTIVE: {exc}",
            operation="DescribeTable",
        ) from exc
    except BotoCoreError as exc:
        raise SessionBackendError(
            f"DynamoDB DescribeTable failed: {exc}", operation="DescribeTable"
        ) from exc


def enable_ttl(gateway: Gateway) -> TtlSetup:
    """Turn on TTL on ``expires``.

    :return: ``"ENABLED"``, ``"ALREADY_ENABLED"``, or ``"UNSUPPORTED"`` for a
        server without TTL; the caller tells the user.
    """
    try:
        gateway.call(
            "UpdateTimeToLive",
            passthrough=UNSUPPORTED_CODES,
            TableName=gateway.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
        )
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if error_code(exc) == "ValidationException" and "already enabled" in message:
            return "ALREADY_ENABLED"
        if error_code(exc) not in UNSUPPORTED_CODES:
            raise
        return "UNSUPPORTED"
    return "ENABLED"
