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

import hashlib
import logging
import random
import secrets
import time
import typing as t

from botocore.exceptions import ClientError

from . import serialization
from .exceptions import SessionBackendError, error_code
from .layout import (
    WRITE_ID_SIZE,
    Item,
    Layout,
    Record,
    at_version,
    check_size,
    merge,
    write_id_of,
)

if t.TYPE_CHECKING:
    from .gateway import Gateway

logger = logging.getLogger(__name__)


#: How many times a save re-reads and re-applies its changes after losing a
#: version race before it gives up with a :class:`SessionBackendError`.
MAX_SAVE_ATTEMPTS = 16


class SessionItems:
    """Reads and writes the session items of one table.

    Constructing it makes no network call.

    :param gateway: the gateway of the table, which sends every call.
    """

    def __init__(self, gateway: Gateway) -> None:
        #: Sends the calls.
        self.gateway = gateway
        #: The options of the table's store.
        self.settings = gateway.settings
        #: The table name.
        self.table = gateway.table
        #: How sessions become items, and back.
        self.layout = Layout(gateway.settings)

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
        key = self.key(sid)
        if mode != "auto":
            return self._read(key, bool(mode))
        record = self._read(key, False)
        if record is None or record.version < min_version:
            logger.debug("an eventually consistent read missed a write; reading again")
            record = self._read(key, True)
        return record

    def create(self, sid: str, data: t.Mapping[str, t.Any], lifetime: int) -> bool:
        """Store a new session, if the id is unused: one PutItem.

        :return: ``False`` if an item with that id exists already.
        :raises SessionTooLarge: before writing.
        """
        key = self.key(sid)
        payload = serialization.encode(data)
        now = int(time.time())
        expires_at = self.layout.expires_at(now, lifetime, now)
        write_id = new_write_id()
        item = self.layout.new_item(
            key, payload, self.layout.uid(data), now, expires_at, write_id
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
            return self._conflict(key, exc, write_id) is None
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
    ) -> int | None:
        """Write a changed session read at ``version``: one UpdateItem.

        The write succeeds only if the item still exists at ``version``. On a
        conflict the item is re-read (strongly consistent), the keys this
        request ``changed`` and ``removed`` are applied to it again and the
        write is retried, at most :data:`MAX_SAVE_ATTEMPTS` times; from the
        second conflict on, after a random pause that grows with each one.

        :return: the version written, or ``None`` if the session was deleted
            meanwhile (nothing is written then: a logout is never undone).
        :raises SessionTooLarge: before writing.
        :raises SessionBackendError: DynamoDB failed, or the races never ended.
        """
        key = self.key(sid)
        for attempt in range(MAX_SAVE_ATTEMPTS):
            current = self._conditional_update(key, data, version, lifetime, created_at)
            if current is None:
                return version + 1
            if current is not _GONE and attempt:
                # Lost again: back off, then merge into a fresh read. Pausing
                # between the read and the write would only let more writes in.
                time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
                current = self.load(sid, consistent=True) or _GONE
            if current is _GONE:
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

    def supersede(
        self,
        old_sid: str,
        new_sid: str,
        data: t.Mapping[str, t.Any],
        *,
        version: int,
        changed: t.Collection[str],
        removed: t.Collection[str],
        lifetime: int,
    ) -> int | None:
        """Retire ``old_sid`` in favour of ``new_sid``, already created with ``data``.

        The old item is retired (:meth:`.records.Layout.retirement`) only if
        it is still at ``version``: one UpdateItem. If another request changed
        it meanwhile, that change is
        merged into the new item (this request's ``changed`` and ``removed``
        keys applied over it, as :meth:`save` does) and the retirement
        retried. If the old item is gone (logged out meanwhile), the new one
        is deleted too, so a logout is never undone.

        :return: the version of the new item, or ``None`` if the session was
            logged out meanwhile.
        :raises SessionBackendError: DynamoDB failed, or the races never ended.
        """
        old_key, new_key = self.key(old_sid), self.key(new_sid)
        new_version = 1
        created_at = int(time.time())
        for attempt in range(MAX_SAVE_ATTEMPTS):
            current = self._retire(old_key, version)
            if current is None:
                return new_version
            if current is _GONE:
                break
            assert isinstance(current, Record)
            if attempt:
                time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
            logger.debug("the replaced session changed meanwhile, merging")
            data = merge(current.data, data, changed, removed)
            version = current.version
            if (
                self._conditional_update(
                    new_key, data, new_version, lifetime, created_at
                )
                is not None
            ):
                break  # nobody else knows the new id: deleted by an admin
            new_version += 1
        else:
            raise SessionBackendError(
                "the session was changed by too many concurrent requests",
                operation="UpdateItem",
            )
        self._delete_key(new_key)
        return None

    def touch(self, sid: str, lifetime: int, created_at: int) -> bool:
        """Push an existing session's expiry: one UpdateItem.

        Only ``expires`` and ``written`` change (so the user index is not
        written). Repeating it changes nothing more, so a retried touch needs
        no ``write_id``.

        :return: ``False`` if the session no longer exists (or moved to a new
            id).
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
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete(self, sid: str) -> None:
        """Delete a session: one DeleteItem. A missing session is no error."""
        self._delete_key(self.key(sid))

    # -- helpers ------------------------------------------------------------

    def _delete_key(self, key: str) -> None:
        self.gateway.call("DeleteItem", TableName=self.table, Key={"id": {"S": key}})

    def _conditional_update(
        self,
        key: str,
        data: t.Mapping[str, t.Any],
        version: int,
        lifetime: int,
        created_at: int,
    ) -> Record | object | None:
        """One conditional write; ``None`` on success, else what is stored."""
        payload = serialization.encode(data)
        now = int(time.time())
        uid = self.layout.uid(data)
        expires_at = self.layout.expires_at(now, lifetime, created_at)
        check_size(key, payload, expires_at, now, created_at, version + 1, uid=uid)
        write_id = new_write_id()
        update = self.layout.update(payload, uid, now, expires_at, write_id=write_id)
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
            return self._conflict(key, exc, write_id)
        return None

    def _retire(self, key: str, version: int) -> Record | object | None:
        """Retire an item still at ``version``: its session moved to a new id.

        :return: ``None`` on success, else what is stored now.
        """
        write_id = new_write_id()
        update = self.layout.retirement(int(time.time()), write_id)
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
            return self._conflict(key, exc, write_id)
        return None

    def _conflict(
        self, key: str, exc: ClientError, write_id: str
    ) -> Record | object | None:
        """What is stored now, after a write's condition failed.

        :return: ``None`` if what is stored is the write itself (it was
            applied, its answer lost, and its retry failed the condition),
            ``_GONE`` if nothing usable is stored, else the stored session.
        """
        if error_code(exc) != "ConditionalCheckFailedException":
            raise exc
        item = t.cast("Item | None", exc.response.get("Item"))
        if item is None:  # a server that does not return it: read it
            item = self._get_item(key, consistent=True)
        if write_id_of(item) == write_id:
            logger.info("a retried write had been applied already")
            return None
        record = None if item is None else self._record(item)
        if record is None:
            logger.info("the session was deleted meanwhile; its changes are dropped")
            return _GONE
        return record

    def _read(self, key: str, consistent: bool) -> Record | None:
        """One GetItem of a stored key; ``None`` if missing, expired or corrupt."""
        item = self._get_item(key, consistent)
        return None if item is None else self._record(item)

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


_GONE = object()


def new_write_id() -> str:
    """A random ``write_id``: 64 bits, as hex."""
    return secrets.token_hex(WRITE_ID_SIZE // 2)
