"""The session items: every read and write of the request path lives here.

:class:`SessionItems` knows nothing of Flask. It turns a session id into the
stored key (``key_prefix`` + SHA-256 of the id, so a leaked table gives no
working cookie), a session dict into an item and back (:mod:`.layout`), and
makes its calls through a :class:`~.gateway.Gateway`, which turns a
DynamoDB failure into a :class:`~.exceptions.SessionBackendError`.

The IAM permissions the running app needs on the table: ``GetItem``,
``PutItem``, ``UpdateItem``, ``DeleteItem`` (plus ``CreateTable``,
``DescribeTable`` and ``UpdateTimeToLive`` with ``auto_create``, see
:mod:`.table`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import time
import typing as t

from botocore.exceptions import ClientError

from . import read_repair, rotation
from .conflicts import GONE, Moved, merge, new_write_id
from .exceptions import SessionBackendError, error_code
from .item_size import check_size
from .layout import (
    Client,
    Item,
    Layout,
    Record,
    Update,
    at_version,
    retired,
    write_id_of,
)

if t.TYPE_CHECKING:
    from .codec import Codec
    from .events import Events
    from .gateway import Gateway

logger = logging.getLogger(__name__)


#: How many times a save re-reads and re-applies its changes after losing a
#: version race before it gives up with a :class:`SessionBackendError`.
MAX_SAVE_ATTEMPTS = 16


class SessionItems:
    """Reads and writes the session items of one table.

    Constructing it makes no network call.

    :param gateway: the gateway of the table, which sends every call.
    :param codec: how ``data`` and ``uid`` are stored (with ``encrypt``).
    """

    def __init__(
        self, gateway: Gateway, events: Events, codec: Codec | None = None
    ) -> None:
        #: Sends the calls.
        self.gateway = gateway
        #: Sends the lifecycle signals.
        self.events = events
        #: The options of the table's store.
        self.settings = gateway.settings
        #: The table name.
        self.table = gateway.table
        #: How sessions become items, and back.
        self.layout = Layout(gateway.settings, codec)

    def key(self, sid: str) -> str:
        """The stored hash key of a session id."""
        digest = hashlib.sha256(sid.encode("utf-8")).hexdigest()
        return self.settings.key_prefix + digest

    # -- the request path ---------------------------------------------------

    def load(
        self, sid: str, *, consistent: bool | None = None, min_version: int = 0
    ) -> Record | None:
        """Read a session: one GetItem (two at most with ``"auto"``).

        With the ``consistent_read`` option ``"auto"`` the read is eventually
        consistent (half the cost), and repeated once, strongly consistent,
        only if it found nothing or a version older than ``min_version``: so
        a browser always reads its own writes.

        :param sid: the session id.
        :param consistent: strongly consistent read or not; defaults to the
            ``consistent_read`` option.
        :param min_version: the version this browser last wrote, if known.
        :return: ``None`` for a missing, expired or undecodable session.
        """
        mode = self.settings.consistent_read if consistent is None else consistent
        if mode != "auto":
            return self._read(sid, bool(mode))[0]
        record, found = self._read(sid, False)
        if (record is None and not found) or (
            record is not None and record.version < min_version
        ):
            logger.debug("an eventually consistent read missed a write; reading again")
            record = self._read(sid, True)[0]
        return record

    def create(
        self,
        sid: str,
        data: t.Mapping[str, t.Any],
        lifetime: int,
        *,
        created_at: int | None = None,
        client: Client | None = None,
    ) -> bool:
        """Store a new session, if the id is unused: one PutItem.

        :param created_at: when the session was created, if before now (a
            rotation moves a session to a new id, keeping its creation).
        :param client: the browser's user agent and address, to record.
        :return: ``False`` if an item with that id exists already.
        :raises SessionTooLarge: before writing.
        """
        key = self.key(sid)
        payload = self.layout.codec.encode(key, data)
        now = int(time.time())
        created = now if created_at is None else created_at
        expires_at = self.layout.expires_at(now, lifetime, created)
        write_id = new_write_id()
        item = self.layout.new_item(
            key,
            payload,
            self.layout.uid(data),
            now,
            expires_at,
            write_id,
            created_at=created,
            client=client,
        )
        try:
            self.gateway.call(
                "PutItem",
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            return self.conflict(key, exc, write_id) is None
        return True

    def save(
        self,
        sid: str,
        data: t.Mapping[str, t.Any],
        *,
        version: int,
        changed: t.Collection[str],
        removed: t.Collection[str],
        lifetime: int,
        created_at: int,
    ) -> tuple[int, str] | None:
        """Write a changed session read at ``version``: one UpdateItem.

        The write succeeds only if the item still exists at ``version``. On a
        conflict the item is re-read (strongly consistent), the keys this
        request ``changed`` and ``removed`` are applied to it again and the
        write is retried, at most :data:`MAX_SAVE_ATTEMPTS` times; from the
        second conflict on, after a random pause that grows with each one.

        If the session was rotated meanwhile (another tab's request moved it
        to a new id), the changes follow it to the new id.

        :return: the version written and the id it was written under, or
            ``None`` if the session was deleted meanwhile (nothing is written
            then: a logout is never undone).
        :raises SessionTooLarge: before writing.
        :raises SessionBackendError: DynamoDB failed, or the races never ended.
        """
        key = self.key(sid)
        for attempt in range(MAX_SAVE_ATTEMPTS):
            current = self.conditional_update(key, data, version, lifetime, created_at)
            if current is None:
                return version + 1, sid
            if isinstance(current, Moved):
                moved = rotation.unseal(sid, current.sealed)
                if moved is None:
                    return None
                record = self._read(moved, True)[0]
                sid = moved if record is None else record.moved_to or moved
                key = self.key(sid)
                current = record or GONE
            elif current is not GONE and attempt:
                # Lost again: back off, then merge into a fresh read. Pausing
                # between the read and the write would only let more writes in.
                time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
                current = self._read(sid, True)[0] or GONE
            if current is GONE:
                return None
            assert isinstance(current, Record)
            logger.debug("session changed meanwhile, merging (attempt %d)", attempt + 1)
            data = merge(current.data, data, changed, removed)
            version = current.version
            created_at = current.created_at
        raise SessionBackendError(
            "the session was changed by too many concurrent requests",
            operation="UpdateItem",
        )

    def touch(self, sid: str, lifetime: int, created_at: int) -> str | None:
        """Push an existing session's expiry: one UpdateItem.

        Only ``expires`` and ``written`` change (so the user index is not
        written). Repeating it changes nothing more, so a retried touch needs
        no ``write_id``. A session rotated meanwhile is touched under its new
        id.

        :return: the id touched, or ``None`` if the session no longer exists.
        """
        now = int(time.time())
        update = self.layout.touch(
            now, self.layout.expires_at(now, lifetime, created_at)
        )
        try:
            self.gateway.call(
                "UpdateItem",
                TableName=self.table,
                Key={"id": {"S": self.key(sid)}},
                UpdateExpression=update.expression,
                ConditionExpression=update.condition,
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            item = t.cast("Item | None", exc.response.get("Item"))
            sealed = None if item is None else self.layout.successor(item, now)
            moved = None if sealed is None else rotation.unseal(sid, sealed)
            if moved is None:
                return None
            return self.touch(moved, lifetime, created_at)
        return sid

    def delete(self, sid: str) -> Item | None:
        """Delete a session: one DeleteItem. A missing session is no error.

        :return: the item deleted, if there was one.
        """
        return self.delete_key(self.key(sid))

    # -- helpers ------------------------------------------------------------

    def delete_key(self, key: str) -> Item | None:
        response = self.gateway.call(
            "DeleteItem",
            TableName=self.table,
            Key={"id": {"S": key}},
            ReturnValues="ALL_OLD",
        )
        return t.cast("Item | None", response.get("Attributes"))

    def conditional_update(
        self,
        key: str,
        data: t.Mapping[str, t.Any],
        version: int,
        lifetime: int,
        created_at: int,
    ) -> Record | object | None:
        """One conditional write; ``None`` on success, else what is stored."""
        payload = self.layout.codec.encode(key, data)
        now = int(time.time())
        uid = self.layout.uid(data)
        expires_at = self.layout.expires_at(now, lifetime, created_at)
        check_size(key, payload, expires_at, now, created_at, version + 1, uid=uid)
        write_id = new_write_id()
        update = self.layout.update(payload, uid, now, expires_at, write_id=write_id)
        return self.update_at_version(key, update, version, write_id)

    def update_at_version(
        self, key: str, update: Update, version: int, write_id: str
    ) -> Record | object | None:
        """One UpdateItem of an item still at ``version``, carrying ``write_id``.

        :return: ``None`` on success, else what is stored (:meth:`conflict`).
        """
        update.values[":v"] = {"N": str(version)}
        try:
            self.gateway.call(
                "UpdateItem",
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression=update.expression,
                ConditionExpression=at_version(version),
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            return self.conflict(key, exc, write_id)
        return None

    def conflict(
        self, key: str, exc: ClientError, write_id: str
    ) -> Record | object | None:
        """What is stored now, after a write's condition failed.

        :return: ``None`` if what is stored is the write itself (it was
            applied, its answer lost, and its retry failed the condition),
            ``GONE`` if nothing usable is stored, else the stored session.
        """
        if error_code(exc) != "ConditionalCheckFailedException":
            raise exc
        item = t.cast("Item | None", exc.response.get("Item"))
        if item is None:  # a server that does not return it: read it
            item = self._get_item(key, consistent=True)
        if write_id_of(item) == write_id:
            logger.info("a retried write had been applied already")
            return None
        sealed = None if item is None else self.layout.successor(item, time.time())
        if sealed is not None:
            return Moved(sealed)
        record = None if item is None else self._record(item)
        if record is None:
            logger.info("the session was deleted meanwhile; its changes are dropped")
            return GONE
        return record

    def _read(self, sid: str, consistent: bool) -> tuple[Record | None, bool]:
        """One GetItem of a session (two when it was rotated, within the grace).

        An expired session (or one past ``max_age``) is refused and deleted,
        if it is still as it was read (one conditional DeleteItem), so that it
        is reported ended once; with ``encrypt``, one stored in clear or sealed
        with an older key is sealed anew (:mod:`.read_repair`).

        :return: the session, or ``None`` if missing, retired, expired or
            corrupt; and whether an item was found.
        """
        key = self.key(sid)
        item = self._get_item(key, consistent)
        if item is None:
            return None, False
        now = time.time()
        sealed = self.layout.successor(item, now)
        if sealed is not None:
            moved = rotation.unseal(sid, sealed)
            record = None if moved is None else self._read(moved, True)[0]
            if moved is None or record is None:
                return None, True
            logger.debug("the session was rotated; following it to its new id")
            return dataclasses.replace(record, moved_to=record.moved_to or moved), True
        if not retired(item) and self.layout.expired(item, now):
            read_repair.end_expired(self, key, item)
            return None, True
        return read_repair.reseal(self, key, self.layout.record(item, now)), True

    def _get_item(self, key: str, consistent: bool) -> Item | None:
        """One GetItem of a stored key: the item as stored, if any."""
        response = self.gateway.call(
            "GetItem",
            TableName=self.table,
            Key={"id": {"S": key}},
            ConsistentRead=consistent,
        )
        return t.cast("Item | None", response.get("Item"))

    def _record(self, item: Item) -> Record | None:
        return self.layout.record(item, time.time())
