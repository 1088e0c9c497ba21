"""Expiry that DynamoDB's TTL performs, made visible to the app.

DynamoDB's TTL deletes expired items days late and tells nobody but the
table's stream. :func:`report_expired` reads a batch of stream records, as a
Lambda function subscribed to the stream receives it, and sends
:data:`.signals.session_ended` with ``reason="expired"`` for each session the
TTL service removed (a ``REMOVE`` record whose ``userIdentity`` is
``dynamodb.amazonaws.com``). Other removals (a logout, a revocation, the
sweep) were reported when they happened and are skipped here, as are the
items retired when a session moved to a new id.

A Lambda handler::

    from flask_dynamodb_session import SessionStore
    from flask_dynamodb_session.options import resolve
    from flask_dynamodb_session.streams import report_expired

    store = SessionStore(resolve({"table": "sessions", "user_key": "user_id"}))

    def handler(event, context):
        return {"reported": report_expired(store, event)}

Give the stream the view type ``OLD_IMAGE`` (or ``NEW_AND_OLD_IMAGES``) so
that each record carries the removed item: the user id comes from it.
"""

from __future__ import annotations

import base64
import typing as t

from .layout import retired

if t.TYPE_CHECKING:
    from .layout import Item
    from .store import SessionStore

#: The principal of the deletions DynamoDB's TTL makes.
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def report_expired(
    store: SessionStore,
    event: t.Mapping[str, t.Any] | t.Sequence[t.Mapping[str, t.Any]],
) -> int:
    """Report the sessions TTL removed in a batch of stream records.

    :param store: the store of the table, the sender of the signals.
    :param event: a Lambda event (``{"Records": [...]}``) or its records;
        each record as DynamoDB Streams gives it, through Lambda (attribute
        values as JSON, binary ones in base64) or through boto3's
        ``get_records`` (binary values as bytes).
    :return: how many sessions were reported ended.
    """
    records = event.get("Records", ()) if isinstance(event, t.Mapping) else event
    reported = 0
    prefix = store.settings.key_prefix
    for record in records:
        if record.get("eventName") != "REMOVE" or not _by_ttl(record):
            continue
        change = record.get("dynamodb", {})
        handle = change.get("Keys", {}).get("id", {}).get("S")
        if not isinstance(handle, str) or not handle.startswith(prefix):
            continue
        item = _item(change.get("OldImage"))
        if item is not None and retired(item):
            continue
        store.events.ended(handle, "expired", item=item)
        reported += 1
    return reported


def _by_ttl(record: t.Mapping[str, t.Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return bool(
        identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


def _item(image: t.Mapping[str, t.Any] | None) -> Item | None:
    """A stream image as boto3 gives items (binary values as bytes)."""
    if image is None:
        return None
    item: dict[str, t.Any] = {}
    for name, value in image.items():
        if isinstance(value, t.Mapping) and isinstance(value.get("B"), str):
            value = {"B": base64.b64decode(value["B"])}
        item[name] = value
    return item
