"""The state of the session table, as ``flask dynamo-session status`` shows it.

The IAM permissions it needs on the table: ``DescribeTable`` and
``DescribeTimeToLive``.
"""

from __future__ import annotations

import dataclasses
import typing as t

from botocore.exceptions import ClientError

from .exceptions import error_code
from .table import UNSUPPORTED_CODES, index_description

if t.TYPE_CHECKING:
    from .gateway import Gateway

#: The TTL state of a server that has no ``DescribeTimeToLive``.
UNSUPPORTED = "UNSUPPORTED"


@dataclasses.dataclass(frozen=True)
class TableStatus:
    """The state of the session table, as :func:`table_status` reads it."""

    #: Table name.
    table: str
    #: ``CREATING``, ``ACTIVE``, ``UPDATING``, ``DELETING``...
    status: str
    #: ``PROVISIONED`` or ``PAY_PER_REQUEST``.
    billing_mode: str
    #: Provisioned read capacity units; ``None`` on demand.
    read_capacity: int | None
    #: Provisioned write capacity units; ``None`` on demand.
    write_capacity: int | None
    #: ``ENABLED``, ``ENABLING``, ``DISABLED``, ``DISABLING``, or
    #: ``"UNSUPPORTED"`` for a server without TTL.
    ttl: str
    #: The TTL attribute, if TTL is set up.
    ttl_attribute: str | None
    #: Items in the table, as DynamoDB last counted them (about every 6 hours).
    item_count: int
    #: Bytes in the table, as DynamoDB last counted them.
    size_bytes: int
    #: The state of the index of users' sessions (``ACTIVE``, ``CREATING``...);
    #: ``None`` if the table has none.
    index_status: str | None = None
    #: What the index projects (``KEYS_ONLY``), if the table has it.
    index_projection: str | None = None

    @property
    def expires_by_ttl(self) -> bool:
        """DynamoDB deletes expired sessions by itself."""
        return self.ttl in ("ENABLED", "ENABLING") and self.ttl_attribute == "expires"


def table_status(gateway: Gateway) -> TableStatus:
    """Read the table's state: one DescribeTable and one DescribeTimeToLive.

    :param gateway: the session gateway whose table to describe.
    :raises SessionBackendError: the table is missing, or DynamoDB failed.
    """
    table = gateway.call("DescribeTable", TableName=gateway.table)["Table"]
    billing_mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    throughput = table.get("ProvisionedThroughput", {})
    provisioned = billing_mode == "PROVISIONED"
    ttl, ttl_attribute = _ttl_state(gateway)
    index = index_description(table)
    return TableStatus(
        table=gateway.table,
        status=table.get("TableStatus", "UNKNOWN"),
        billing_mode=billing_mode,
        read_capacity=throughput.get("ReadCapacityUnits") if provisioned else None,
        write_capacity=throughput.get("WriteCapacityUnits") if provisioned else None,
        ttl=ttl,
        ttl_attribute=ttl_attribute,
        item_count=table.get("ItemCount", 0),
        size_bytes=table.get("TableSizeBytes", 0),
        index_status=None if index is None else index.get("IndexStatus", "UNKNOWN"),
        index_projection=None
        if index is None
        else index.get("Projection", {}).get("ProjectionType"),
    )


def approximate_item_count(gateway: Gateway) -> int:
    """The table's item count as DynamoDB last counted it: one DescribeTable.

    :raises SessionBackendError: the table is missing, or DynamoDB failed.
    """
    table = gateway.call("DescribeTable", TableName=gateway.table)["Table"]
    return int(table.get("ItemCount", 0))


def _ttl_state(gateway: Gateway) -> tuple[str, str | None]:
    try:
        response = gateway.call(
            "DescribeTimeToLive",
            passthrough=UNSUPPORTED_CODES,
            TableName=gateway.table,
        )
    except ClientError as exc:
        if error_code(exc) in UNSUPPORTED_CODES:
            return UNSUPPORTED, None
        raise
    description = response.get("TimeToLiveDescription", {})
    return (
        description.get("TimeToLiveStatus", "DISABLED"),
        description.get("AttributeName"),
    )
