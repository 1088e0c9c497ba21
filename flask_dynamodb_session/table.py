"""The table's life: creating it, waiting for it, turning on TTL.

Used by ``auto_create`` on first use and by ``flask dynamo-session
create-table``; never at import or construction.
"""

from __future__ import annotations

import dataclasses
import typing as t

from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import SessionBackendError, error_code

if t.TYPE_CHECKING:
    from .items import ItemStore

#: Error codes that mean "this server has no such operation".
UNSUPPORTED_CODES = frozenset({"UnknownOperationException", "UnsupportedOperation"})


@dataclasses.dataclass(frozen=True)
class TableSetup:
    """What :func:`create_table` did."""

    #: The table was created now (``False``: it existed already).
    created: bool
    #: ``"enabled"``, ``"already enabled"`` or ``"unsupported"`` (the server
    #: has no TTL: run ``delete-expired`` on a schedule instead).
    ttl: str


def create_table(
    store: ItemStore,
    *,
    read_capacity: int | None = None,
    write_capacity: int | None = None,
    billing_mode: str | None = None,
    wait: bool = True,
) -> TableSetup:
    """Create the store's table if it is missing, wait for it, turn on TTL.

    Idempotent: an existing table is left as it is (only TTL is turned on).
    The table has one hash key, ``id`` of type S.

    :param store: the store whose table and options to use.
    :param read_capacity: provisioned reads; default from the options.
    :param write_capacity: provisioned writes; default from the options.
    :param billing_mode: ``"PROVISIONED"`` or ``"PAY_PER_REQUEST"``; default
        from the options.
    :param wait: wait until the table is ``ACTIVE``.
    """
    settings = store.settings
    mode = (billing_mode or settings.billing_mode).upper()
    request: dict[str, t.Any] = {
        "TableName": store.table,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": mode,
    }
    if mode == "PROVISIONED":
        request["ProvisionedThroughput"] = {
            "ReadCapacityUnits": read_capacity or settings.read_capacity,
            "WriteCapacityUnits": write_capacity or settings.write_capacity,
        }
    created = True
    try:
        store._call(
            "CreateTable",
            store.client.create_table,
            passthrough=("ResourceInUseException",),
            **request,
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":
            raise
        created = False
    if wait:
        wait_until_active(store)
    return TableSetup(created=created, ttl=enable_ttl(store))


def wait_until_active(
    store: ItemStore, *, delay: int = 1, max_attempts: int = 300
) -> None:
    """Poll DescribeTable until the table is ``ACTIVE``.

    :raises SessionBackendError: it did not become ``ACTIVE`` in time.
    """
    waiter = store.client.get_waiter("table_exists")
    try:
        waiter.wait(
            TableName=store.table,
            WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts},
        )
    except BotoCoreError as exc:
        raise SessionBackendError(
            f"table {store.table!r} did not become ACTIVE: {exc}",
            operation="DescribeTable",
        ) from exc


def enable_ttl(store: ItemStore) -> str:
    """Turn on TTL on ``expires``.

    :return: ``"enabled"``, ``"already enabled"``, or ``"unsupported"`` for a
        server without TTL; the caller tells the user.
    """
    try:
        store._call(
            "UpdateTimeToLive",
            store.client.update_time_to_live,
            passthrough=UNSUPPORTED_CODES,
            TableName=store.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
        )
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if error_code(exc) == "ValidationException" and "already enabled" in message:
            return "already enabled"
        if error_code(exc) not in UNSUPPORTED_CODES:
            raise
        return "unsupported"
    return "enabled"
