"""The session items: every read and write of a session lives here.

The item store knows nothing of Flask. It turns a session id into the stored key
(``key_prefix`` + SHA-256 of the id, so a leaked table gives no working
cookie), a session dict into an item and back, and a DynamoDB failure into a
:class:`~.exceptions.SessionBackendError`.

The item's attributes, and how a session becomes one, are in
:mod:`.records`.

The IAM permissions the running app needs on the table: ``GetItem``,
``PutItem``, ``UpdateItem``, ``DeleteItem`` (plus ``CreateTable``,
``DescribeTable`` and ``UpdateTimeToLive`` with ``auto_create``, see
:mod:`.table`). The table's life and sweeps are not here: :mod:`.table` and
:mod:`.maintenance` use an item store, and :class:`.store.SessionStore` puts
them together.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
import time
import typing as t
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from . import serialization
from .client import NO_REGION, build_client
from .exceptions import (
    ConfigurationError,
    SessionBackendError,
    error_code,
)
from .records import (
    MAX_VERSION,
    WRITE_ID_SIZE,
    Item,
    Layout,
    Record,
    check_size,
    merge,
    seconds,
    write_id_of,
)
from .signals import dynamodb_called
from .transport import LeanClient, lean_client_for, refuse_corrupt_answers

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from .settings import Settings

logger = logging.getLogger(__name__)

_T = t.TypeVar("_T")


#: The client of the item calls: boto3's, or the lean one (same methods).
ItemClient: t.TypeAlias = "DynamoDBClient | LeanClient"


#: How many times a save re-reads and re-applies its changes after losing a
#: version race before it gives up with a :class:`SessionBackendError`.
MAX_SAVE_ATTEMPTS = 16

#: The item is still there at version ``:v``. An item written without a
#: version (by hand, or by another tool) is at version 0.
_AT_VERSION = "#v = :v"
_AT_NO_VERSION = "attribute_exists(id) AND (attribute_not_exists(#v) OR #v = :v)"


class ItemStore:
    """Reads and writes the session items of one DynamoDB table.

    Its clients are built on first use, once, under a lock; constructing a
    store makes no network call. The four item calls (``GetItem``,
    ``PutItem``, ``UpdateItem``, ``DeleteItem``) go through
    :attr:`item_client`: the lean transport (:mod:`.transport`) with the
    ``transport`` option ``"auto"``, where it can honour every setting, else
    boto3. Everything else (:mod:`.table`, :mod:`.maintenance`, the CLI) uses
    :attr:`client`, always boto3. A ``client`` option is used as it is for
    both.

    :param settings: the resolved options (table, client, prefix, ...).
    """

    def __init__(self, settings: Settings) -> None:
        #: The options this store was built with.
        self.settings = settings
        self._client: DynamoDBClient | None = settings.client
        self._item_client: ItemClient | None = settings.client
        #: The boto3 client the lean transport was built from, if any.
        self._item_source: DynamoDBClient | None = None
        #: How sessions become items, and back.
        self.layout = Layout(settings)
        self._lock = threading.RLock()
        #: ``auto_create`` has made sure the table exists.
        self.table_ready = False

    @property
    def client(self) -> DynamoDBClient:
        """The low-level boto3 client for the table's life, scans and the CLI."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = build_client(self.settings, admin=True)
                client = self._client
        return client

    @property
    def item_client(self) -> ItemClient:
        """The client of the four item calls: lean, or boto3."""
        client = self._item_client
        if client is None:
            with self._lock:
                if self._item_client is None:
                    self._item_client = self._build_item_client()
                client = self._item_client
        return client

    def _build_item_client(self) -> ItemClient:
        source = build_client(self.settings)
        self._item_source = source
        if self.settings.transport == "auto":
            lean = lean_client_for(source)
            if lean is not None:
                return lean
        refuse_corrupt_answers(source)
        return source

    @property
    def table(self) -> str:
        """The table name."""
        return self.settings.table

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
            self._call(
                "PutItem",
                self.item_client.put_item,
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
        expires_at = self.layout.expires_at(now, lifetime, created_at)
        try:
            self._call(
                "UpdateItem",
                self.item_client.update_item,
                TableName=self.table,
                Key={"id": {"S": self.key(sid)}},
                UpdateExpression="SET #e = :e, #w = :w",
                ConditionExpression="attribute_exists(#d)",
                ExpressionAttributeNames={
                    "#e": "expires",
                    "#w": "written",
                    "#d": "data",
                },
                ExpressionAttributeValues={
                    ":e": {"N": str(expires_at)},
                    ":w": {"N": str(now)},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- outside a request --------------------------------------------------

    def get(self, sid: str) -> dict[str, t.Any] | None:
        """The contents of a session, or ``None`` if it is missing or expired.

        :param sid: the session id (``session.sid``).
        """
        record = self.load(sid)
        return None if record is None else record.data

    def set(
        self,
        sid: str,
        data: t.Mapping[str, t.Any],
        lifetime: int | float | timedelta | None = None,
    ) -> None:
        """Store a session's contents, replacing what is there.

        :param sid: the session id.
        :param data: the new contents.
        :param lifetime: seconds or a timedelta; defaults to the ``ttl`` option.
        :raises SessionTooLarge: before writing.
        """
        duration = self.settings.ttl if lifetime is None else seconds(lifetime)
        if duration <= 0:
            raise ValueError("lifetime must be positive")
        key = self.key(sid)
        payload = serialization.encode(data)
        now = int(time.time())
        uid = self.layout.uid(data)
        check_size(key, payload, now + duration, now, now, MAX_VERSION, uid=uid)
        update = self.layout.update(
            payload, uid, now, now + duration, keep_created=True
        )
        self._call(
            "UpdateItem",
            self.item_client.update_item,
            TableName=self.table,
            Key={"id": {"S": key}},
            UpdateExpression=update.expression,
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
        )

    def delete(self, sid: str) -> None:
        """Delete a session ("log this session out everywhere"): one DeleteItem.

        A missing session is no error.

        :param sid: the session id.
        """
        self._delete_key(self.key(sid))

    def close(self) -> None:
        """Close the clients this store built (a client given to it stays open)."""
        with self._lock:
            built = [self._client, self._item_client, self._item_source]
            self._client = self._item_client = self.settings.client
            self._item_source = None
        given = self.settings.client
        for client in {
            id(c): c for c in built if c is not None and c is not given
        }.values():
            client.close()

    # -- helpers ------------------------------------------------------------

    def _delete_key(self, key: str) -> None:
        self._call(
            "DeleteItem",
            self.item_client.delete_item,
            TableName=self.table,
            Key={"id": {"S": key}},
        )

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
            self._call(
                "UpdateItem",
                self.item_client.update_item,
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression=update.expression,
                ConditionExpression=_AT_VERSION if version else _AT_NO_VERSION,
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
            self._call(
                "UpdateItem",
                self.item_client.update_item,
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression=update.expression,
                ConditionExpression=_AT_VERSION if version else _AT_NO_VERSION,
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
        response = self._call(
            "GetItem",
            self.item_client.get_item,
            TableName=self.table,
            Key={"id": {"S": key}},
            ConsistentRead=consistent,
        )
        return response.get("Item")

    def _record(self, item: Item) -> Record | None:
        return self.layout.record(item, time.time())

    def _call(
        self,
        operation: str,
        method: t.Callable[..., _T],
        *,
        passthrough: t.Collection[str] = (),
        **kwargs: t.Any,
    ) -> _T:
        """Call DynamoDB, translating failures into the package's errors.

        A condition failure, a validation error (a bug, not an outage) and the
        error codes in ``passthrough`` propagate unchanged as ``ClientError``;
        a missing table is created first with ``auto_create``.
        """
        try:
            if operation in ITEM_OPERATIONS and dynamodb_called.receivers:
                return self._observed(operation, method, kwargs)
            return method(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code in _PASSTHROUGH or code in passthrough:
                raise
            if (
                code == "ResourceNotFoundException"
                and self._may_create(operation)
                and self._create_missing_table()
            ):
                return self._call(operation, method, passthrough=passthrough, **kwargs)
            raise SessionBackendError(
                _describe(operation, code, self.table), operation=operation
            ) from exc
        except NoRegionError as exc:
            raise ConfigurationError(
                "SESSION_DYNAMODB_REGION", None, NO_REGION
            ) from exc
        except BotoCoreError as exc:
            raise SessionBackendError(
                f"DynamoDB {operation} failed: {exc}", operation=operation
            ) from exc

    def _observed(
        self, operation: str, method: t.Callable[..., _T], kwargs: dict[str, t.Any]
    ) -> _T:
        """Make one call and send :data:`.signals.dynamodb_called` about it."""
        started = time.perf_counter()
        error: str | None = None
        metadata: t.Mapping[str, t.Any] = {}
        try:
            response = method(**kwargs)
            metadata = t.cast("dict[str, t.Any]", response).get("ResponseMetadata", {})
            return response
        except ClientError as exc:
            error = error_code(exc) or "ClientError"
            metadata = exc.response.get("ResponseMetadata", {})
            raise
        except BotoCoreError as exc:
            error = type(exc).__name__
            metadata = {"RetryAttempts": getattr(exc, "retry_attempts", None)}
            raise
        finally:
            retries = metadata.get("RetryAttempts")
            if retries is None:  # botocore tells nothing after connection errors
                retries = self._max_attempts() - 1
            dynamodb_called.send(
                self,
                operation=operation,
                table=self.table,
                duration=time.perf_counter() - started,
                attempts=int(retries) + 1,
                error=error,
            )

    def _max_attempts(self) -> int:
        source = self._item_source or self.item_client
        config = getattr(getattr(source, "meta", None), "config", None)
        retries = getattr(config, "retries", None) or {}
        return int(retries.get("total_max_attempts", 1))

    def _create_missing_table(self) -> bool:
        """Create the missing table (``auto_create``); ``True`` if it now exists.

        An item store only reads and writes items: it cannot, and says so.
        :class:`.store.SessionStore`, which knows the table's life, can.
        """
        return False

    def _may_create(self, operation: str) -> bool:
        return (
            self.settings.auto_create
            and not self.table_ready
            and operation in ITEM_OPERATIONS
        )


_GONE = object()


def new_write_id() -> str:
    """A random ``write_id``: 64 bits, as hex."""
    return secrets.token_hex(WRITE_ID_SIZE // 2)


#: The calls of the request path.
ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem"})
_PASSTHROUGH = frozenset({"ConditionalCheckFailedException", "ValidationException"})


def _describe(operation: str, code: str, table: str) -> str:
    if code == "ResourceNotFoundException":
        return (
            f"the session table {table!r} does not exist; create it with"
            " `flask dynamo-session create-table` or set SESSION_DYNAMODB_AUTO_CREATE"
        )
    return f"DynamoDB {operation} failed: {code or 'unknown error'}"
