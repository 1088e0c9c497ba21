"""The sessions of one user: listing them, and ending them.

With the ``user_key`` option, every session whose data holds a user id has a
``uid`` attribute (``key_prefix`` + the id as text, or a keyed hash of it with
``encrypt``), the hash key of the table's global secondary index
:data:`INDEX_NAME`. With ``encrypt`` a user's sessions are looked up under
the hash of each key (and the id in clear), so that sessions not rewritten
since a key rotation are found too: one Query each. The index projects the
keys only, so refreshing a session's expiry never writes to it; the rest of
each item is read with BatchGetItem.

The IAM permissions these need: ``Query`` on the index
(``arn:...:table/<table>/index/uid-index``) and ``BatchGetItem`` on the table
(:func:`sessions_of`), ``Query`` and ``DeleteItem`` (:func:`revoke_user`),
``DeleteItem`` (:func:`revoke`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import typing as t
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from .batches import MAX_BATCH_ATTEMPTS, backoff_delay
from .exceptions import ConfigurationError, SessionBackendError, error_code
from .layout import DIGEST_LENGTH, retired
from .table import INDEX_NAME, index_status

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        KeysAndAttributesTypeDef,
    )

    from .events import Reason
    from .session_items import SessionItems

logger = logging.getLogger(__name__)

#: BatchGetItem reads at most this many items.
BATCH_GET_SIZE = 100
#: The config key of the option these functions need.
USER_KEY = "SESSION_DYNAMODB_USER_KEY"

_UID_IS = "#u = :uid"
_READ_NAMES = {
    "#i": "id",
    "#d": "data",
    "#e": "expires",
    "#w": "written",
    "#c": "created",
    "#u": "uid",
    "#a": "user_agent",
    "#p": "ip",
    "#r": "retired",
    "#v": "version",
}

Item = t.Mapping[str, "AttributeValueTypeDef"]


@dataclasses.dataclass(frozen=True)
class UserSession:
    """One live session of a user, as :meth:`.SessionStore.sessions_of`
    lists it."""

    #: An opaque name of the session, to pass to :meth:`.SessionStore.revoke`:
    #: its stored key, never the session id (it gives no working cookie).
    handle: str
    #: When the session was created (or regenerated, at login), UTC.
    created_at: datetime
    #: When the session was last written (changed or refreshed), UTC.
    last_seen: datetime
    #: When the session expires unless it is used again, UTC.
    expires_at: datetime
    #: The session's contents.
    data: dict[str, t.Any] = dataclasses.field(repr=False)
    #: It is the session whose id was given as ``current_sid``.
    current: bool = False
    #: The browser's raw ``User-Agent`` when the session was first stored
    #: (``record_client``), else ``None``.
    user_agent: str | None = None
    #: The browser's address when the session was first stored
    #: (``record_client``), else ``None``.
    ip: str | None = None


def user_uids(items: SessionItems, user_id: str | int) -> list[str]:
    """The ``uid`` attributes a user's sessions may have, the current first
    (:meth:`.Codec.uids`).

    :raises ConfigurationError: the ``user_key`` option is not set.
    :raises TypeError: the id is not a str or an int (a bool is not an id).
    :raises ValueError: the id is an empty string.
    """
    if items.settings.user_key is None:
        raise ConfigurationError(
            USER_KEY,
            None,
            "must name the session key holding the user id to find a user's sessions",
            shown=False,
        )
    if isinstance(user_id, bool) or not isinstance(user_id, (str, int)):
        raise TypeError(f"a user id is a str or an int, not {type(user_id).__name__}")
    if user_id == "":
        raise ValueError("a user id must not be empty")
    return items.layout.codec.uids(user_id)


def sessions_of(
    items: SessionItems, user_id: str | int, *, current_sid: str | None = None
) -> list[UserSession]:
    """The user's live sessions, most recently active first.

    One Query of the index (more only past 1 MB of keys) and one
    BatchGetItem per :data:`BATCH_GET_SIZE` sessions. Expired sessions (by
    ``expires``, or older than ``max_age``) and sessions whose data cannot be
    decoded (with a warning) are left out.

    :param items: the session items.
    :param user_id: the id the sessions hold under the ``user_key``.
    :param current_sid: the id of the session making the request, to mark
        it :attr:`UserSession.current`.
    :raises ConfigurationError: ``user_key`` is not set, or the table has no
        index (run ``flask dynamo-session create-table``).
    :raises SessionBackendError: DynamoDB failed.
    """
    uids = user_uids(items, user_id)
    handles = list(_handles(items, uids))
    current = None if current_sid is None else items.key(current_sid)
    now = time.time()
    found = []
    for item in _read_items(items, handles):
        session = _user_session(items, item, uids, now)
        if session is not None:
            found.append(
                dataclasses.replace(session, current=session.handle == current)
            )
    found.sort(
        key=lambda session: (session.last_seen, session.created_at), reverse=True
    )
    return found


def revoke(
    items: SessionItems, handle: str, *, user_id: str | int | None = None
) -> bool:
    """Delete one session by its :attr:`UserSession.handle`: one DeleteItem.

    :param handle: the handle, as :func:`sessions_of` gave it. A string that
        is not a stored key of this store is refused without any call.
    :param user_id: delete it only if it is this user's session (a
        conditional delete: a handle posted by a browser can never delete
        another user's session).
    :return: whether it was deleted; ``False`` if it was not there, or not
        the user's.
    :raises ConfigurationError: ``user_id`` given but ``user_key`` not set.
    :raises SessionBackendError: DynamoDB failed.
    """
    uids = None if user_id is None else user_uids(items, user_id)
    if not isinstance(handle, str) or not _is_handle(items, handle):
        logger.info("refusing to revoke a handle that is no session key of this store")
        return False
    return _delete(items, handle, uids, "revoked")


def evict(items: SessionItems, user_id: str | int, *, keep: str, limit: int) -> int:
    """End a user's sessions beyond ``limit``, least recently active first.

    Called once a session of the user was first stored (a login): ``keep``,
    its handle, always stays. One Query of the index and one BatchGetItem,
    then one DeleteItem per session ended (each only if it still belongs to
    the user), each reported ended as ``"evicted"``. The index is eventually
    consistent: a session stored in the same instant may not be counted yet.

    :return: how many sessions were ended.
    """
    uids = user_uids(items, user_id)
    handles = [handle for handle in _handles(items, uids) if handle != keep]
    if len(handles) < limit:
        return 0
    now = time.time()
    live = []
    for item in _read_items(items, handles):
        session = _user_session(items, item, uids, now)
        if session is not None:
            live.append(session)
    live.sort(key=lambda session: (session.last_seen, session.created_at))
    ended = 0
    for session in live[: max(0, len(live) - (limit - 1))]:
        if _delete(items, session.handle, uids, "evicted"):
            ended += 1
    if ended:
        logger.info("ended %d sessions of a user beyond the limit", ended)
    return ended


def revoke_user(
    items: SessionItems, user_id: str | int, *, keep_sid: str | None = None
) -> int:
    """End every session of a user ("log out everywhere"), or every other one.

    One Query of the index, then one DeleteItem per session, each only if
    the session still belongs to the user.

    :param keep_sid: the id of a session to keep (this device's).
    :return: how many sessions were deleted (sessions expired but not yet
        removed by DynamoDB's TTL included).
    :raises ConfigurationError: ``user_key`` is not set, or the table has no
        index.
    :raises SessionBackendError: DynamoDB failed.
    """
    uids = user_uids(items, user_id)
    kept = None if keep_sid is None else items.key(keep_sid)
    deleted = 0
    for handle in _handles(items, uids):
        if handle != kept and _delete(items, handle, uids, "revoked"):
            deleted += 1
    logger.info("revoked %d sessions of a user", deleted)
    return deleted


# -- helpers ------------------------------------------------------------------


def _handles(items: SessionItems, uids: list[str]) -> Iterator[str]:
    """The stored keys the index lists under each of ``uids``: one Query a
    page."""
    seen: set[str] = set()
    for uid in uids:
        request: dict[str, t.Any] = {
            "TableName": items.table,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": _UID_IS,
            "ExpressionAttributeNames": {"#u": "uid"},
            "ExpressionAttributeValues": {":uid": {"S": uid}},
        }
        while True:
            page = _query(items, request)
            for item in page.get("Items", ()):
                handle = item.get("id", {}).get("S")
                if handle is not None and handle not in seen:
                    seen.add(handle)
                    yield handle
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                break
            request["ExclusiveStartKey"] = last_key


def _query(items: SessionItems, request: dict[str, t.Any]) -> t.Mapping[str, t.Any]:
    """One Query page; a missing or unready index is a clear error."""
    try:
        response: t.Mapping[str, t.Any] = items.gateway.call(
            "Query",
            passthrough=("ResourceNotFoundException",),
            **request,
        )
        return response
    except ClientError as exc:
        if error_code(exc) not in ("ValidationException", "ResourceNotFoundException"):
            raise
        # DynamoDB says ValidationException, moto ResourceNotFoundException;
        # the table's description tells which (a missing table raises here).
        state = index_status(items.gateway)
        if state is None:
            raise ConfigurationError(
                USER_KEY,
                items.settings.user_key,
                f"needs the index {INDEX_NAME!r} of table {items.table!r}, which"
                " it lacks: add it with `flask dynamo-session create-table`",
                shown=False,
            ) from exc
        if state != "ACTIVE":
            raise SessionBackendError(
                f"the index {INDEX_NAME!r} of table {items.table!r} is {state},"
                " not ACTIVE yet; `flask dynamo-session create-table` waits for it",
                operation="Query",
            ) from exc
        raise


def _read_items(items: SessionItems, handles: list[str]) -> Iterator[Item]:
    """The items of ``handles``: one BatchGetItem per :data:`BATCH_GET_SIZE`."""
    for start in range(0, len(handles), BATCH_GET_SIZE):
        keys = [
            {"id": {"S": handle}} for handle in handles[start : start + BATCH_GET_SIZE]
        ]
        yield from _batch_get(items, keys)


def _batch_get(items: SessionItems, keys: list[dict[str, t.Any]]) -> Iterator[Item]:
    """Read ``keys``, sending the unprocessed ones again after a back-off."""
    request: KeysAndAttributesTypeDef = {
        "Keys": keys,
        "ProjectionExpression": ", ".join(_READ_NAMES),
        "ExpressionAttributeNames": _READ_NAMES,
        "ConsistentRead": items.settings.consistent_read is True,
    }
    for attempt in range(MAX_BATCH_ATTEMPTS):
        if attempt:
            time.sleep(backoff_delay(attempt - 1, 5.0))
        response = items.gateway.call(
            "BatchGetItem",
            RequestItems={items.table: request},
        )
        yield from response.get("Responses", {}).get(items.table, ())
        unprocessed = response.get("UnprocessedKeys", {}).get(items.table)
        if not unprocessed or not unprocessed.get("Keys"):
            return
        logger.debug("%d reads left unprocessed, retrying", len(unprocessed["Keys"]))
        request = t.cast("KeysAndAttributesTypeDef", unprocessed)
    raise SessionBackendError(
        f"DynamoDB left reads unprocessed after {MAX_BATCH_ATTEMPTS} BatchGetItem"
        " attempts (the table is throttled); try again later",
        operation="BatchGetItem",
    )


def _user_session(
    items: SessionItems, item: Item, uids: list[str], now: float
) -> UserSession | None:
    """The session of an item, or ``None`` if it is not live or not the user's.

    The index lags behind the table, so the item's ``uid`` is checked again;
    the rest is read as the request path reads a session (``expires``,
    ``max_age``, undecodable data skipped with a warning).
    """
    if item.get("uid", {}).get("S") not in uids:
        return None
    record = items.layout.record(item, now)
    if record is None:
        return None
    return UserSession(
        handle=item["id"]["S"],
        created_at=_utc(record.created_at),
        last_seen=_utc(record.written_at),
        expires_at=_utc(record.expires_at),
        data=record.data,
        user_agent=record.user_agent,
        ip=record.ip,
    )


def _delete(
    items: SessionItems, handle: str, uids: list[str] | None, reason: Reason
) -> bool:
    """Delete a stored key, if it exists (and holds one of ``uids``, if
    given), and report the session ended for ``reason``."""
    condition: dict[str, t.Any] = {"ConditionExpression": "attribute_exists(id)"}
    if uids is not None:
        values = {f":uid{number or ''}": {"S": uid} for number, uid in enumerate(uids)}
        condition = {
            "ConditionExpression": (
                _UID_IS if len(uids) == 1 else f"#u IN ({', '.join(values)})"
            ),
            "ExpressionAttributeNames": {"#u": "uid"},
            "ExpressionAttributeValues": values,
        }
    try:
        response = items.gateway.call(
            "DeleteItem",
            TableName=items.table,
            Key={"id": {"S": handle}},
            ReturnValues="ALL_OLD",
            **condition,
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return False
    item = response.get("Attributes")
    if item is not None and not retired(item):
        items.events.ended(handle, reason, item=item)
    return True


def _is_handle(items: SessionItems, handle: str) -> bool:
    """``handle`` is a stored key of this store: the prefix and 64 hex digits."""
    prefix = items.settings.key_prefix
    return (
        handle.startswith(prefix) and _DIGEST.fullmatch(handle, len(prefix)) is not None
    )


_DIGEST = re.compile(f"[0-9a-f]{{{DIGEST_LENGTH}}}")


def _utc(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, timezone.utc)
