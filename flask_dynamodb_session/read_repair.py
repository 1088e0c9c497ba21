"""What a read of a session puts right: a write the read itself makes.

An expired session (or one past ``max_age``) that a read refuses is deleted,
if it is still as it was read, so that it is reported ended once
(:func:`end_expired`). With ``encrypt``, a session stored in clear (written
before encryption was turned on) or sealed with an older key is sealed with
the first key, and its ``uid`` hashed with it, by the first read that finds
it (:func:`reseal`): no session stays in clear, or depends on a key being
retired, however long it lives unchanged. Each is one conditional call,
made only in that case.
"""

from __future__ import annotations

import logging
import typing as t

from botocore.exceptions import ClientError

from .exceptions import SessionBackendError, error_code
from .layout import at_version

if t.TYPE_CHECKING:
    from .layout import Item, Record, Values
    from .session_items import SessionItems

logger = logging.getLogger(__name__)


def end_expired(items: SessionItems, key: str, item: Item) -> None:
    """Delete an expired session still as it was read; report it ended."""
    values: dict[str, t.Any] = {":e": item["expires"]}
    condition = "#e = :e AND attribute_not_exists(#v)"
    if "version" in item:
        values[":v"] = item["version"]
        condition = "#e = :e AND #v = :v"
    try:
        items.gateway.call(
            "DeleteItem",
            TableName=items.table,
            Key={"id": {"S": key}},
            ConditionExpression=condition,
            ExpressionAttributeNames={"#e": "expires", "#v": "version"},
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return  # changed or gone meanwhile: not this read's to report
    except SessionBackendError as exc:
        logger.warning("an expired session could not be deleted: %s", exc)
        return
    items.events.ended(key, "expired", item=item)


def reseal(items: SessionItems, key: str, record: Record | None) -> Record | None:
    """Seal a session read :attr:`~.Record.outdated` with the first key.

    One UpdateItem of ``data`` (and ``uid``), only if the item is still at
    the version read. The version stays: the session's contents do not
    change, so a request that read them may still write. A failure is only
    logged; the next read tries again.

    :return: ``record``, as it was.
    """
    if record is None or not record.outdated:
        return record
    names = {"#d": "data", "#v": "version"}
    values: Values = {
        ":d": {"B": items.layout.codec.seal(key, record.payload)},
        ":v": {"N": str(record.version)},
    }
    update = "SET #d = :d"
    if items.settings.user_key is not None:
        names["#u"] = "uid"
        uid = items.layout.uid(record.data)
        if uid is None:
            update += " REMOVE #u"
        else:
            values[":u"] = {"S": uid}
            update = "SET #d = :d, #u = :u"
    try:
        items.gateway.call(
            "UpdateItem",
            TableName=items.table,
            Key={"id": {"S": key}},
            UpdateExpression=update,
            ConditionExpression=at_version(record.version),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            logger.warning("a session could not be sealed anew: %s", error_code(exc))
    except SessionBackendError as exc:
        logger.warning("a session could not be sealed anew: %s", exc)
    else:
        logger.debug("sealed a session anew with the first key")
    return record
