"""The one door to DynamoDB: every call of the package goes through a gateway.

A :class:`Gateway` serves one table. It owns the clients (built on first
use, never at construction), sends a call, turns a DynamoDB failure into the
package's own exception, and reports each call of the request path with
:data:`.signals.dynamodb_called`. Whoever reads or writes the table (the
session items, the table's life, the sweep, a user's sessions) takes a
gateway; nothing else calls a client.

The four item calls (``GetItem``, ``PutItem``, ``UpdateItem``,
``DeleteItem``) go over the item client: the lean transport
(:mod:`.lean_transport`) with the ``transport`` option ``"auto"``, where it
can honour every setting, else boto3. Everything else (creating the table,
TTL, scans, batch calls, the CLI) uses the admin client, always boto3, with
longer timeouts. A ``client`` option is used as it is for both.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from .client import NO_REGION, build_client
from .exceptions import ConfigurationError, SessionBackendError, error_code
from .failures import missing_table, no_credentials, where
from .lean_transport import LeanClient, lean_client_for, refuse_corrupt_answers
from .signals import dynamodb_called

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.waiter import TableExistsWaiter

    from .options import Settings

logger = logging.getLogger(__name__)

#: The client of the item calls: boto3's, or the lean one (same methods).
ItemClient: t.TypeAlias = "DynamoDBClient | LeanClient"

#: The calls of the request path, and the client method of each call.
ITEM_OPERATIONS = {
    "GetItem": "get_item",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
}
#: The admin calls, and the client method of each.
ADMIN_OPERATIONS = {
    "BatchGetItem": "batch_get_item",
    "BatchWriteItem": "batch_write_item",
    "CreateTable": "create_table",
    "DescribeTable": "describe_table",
    "DescribeTimeToLive": "describe_time_to_live",
    "Query": "query",
    "Scan": "scan",
    "UpdateTable": "update_table",
    "UpdateTimeToLive": "update_time_to_live",
}
#: Error codes a caller handles itself: they propagate as ``ClientError``.
_PASSTHROUGH = frozenset({"ConditionalCheckFailedException", "ValidationException"})


class Gateway:
    """Sends the DynamoDB calls of one table.

    Thread-safe; constructing one makes no network call.

    :param settings: the resolved options (table, client, endpoint...).
    """

    def __init__(self, settings: Settings) -> None:
        #: The options this gateway was built with.
        self.settings = settings
        #: The table every call is about.
        self.table = settings.table
        #: The sender of :data:`.signals.dynamodb_called` (the store that
        #: owns this gateway sets itself).
        self.sender: object = self
        #: Called once when an item call finds the table missing and the
        #: ``auto_create`` option is on; it creates the table.
        self.on_missing_table: t.Callable[[], None] | None = None
        self._admin_client: DynamoDBClient | None = settings.client
        self._item_client: ItemClient | None = settings.client
        #: The boto3 client the lean transport was built from, if any.
        self._item_source: DynamoDBClient | None = None
        self._table_ready = False
        self._lock = threading.RLock()

    # -- clients ---------------------------------------------------------------

    @property
    def admin_client(self) -> DynamoDBClient:
        """The boto3 client of the table's life, scans and the CLI."""
        client = self._admin_client
        if client is None:
            with self._lock:
                if self._admin_client is None:
                    self._admin_client = build_client(self.settings, admin=True)
                client = self._admin_client
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
        # After the lean decision: this handler would itself select boto3.
        refuse_corrupt_answers(source)
        return source

    def table_exists_waiter(self) -> TableExistsWaiter:
        """boto3's waiter for the table to be ``ACTIVE`` (admin client)."""
        return self.admin_client.get_waiter("table_exists")

    def close(self) -> None:
        """Close the clients this gateway built (a client given stays open)."""
        with self._lock:
            built = [self._admin_client, self._item_client, self._item_source]
            self._admin_client = self._item_client = self.settings.client
            self._item_source = None
        given = self.settings.client
        unique = {id(c): c for c in built if c is not None and c is not given}
        for client in unique.values():
            client.close()

    # -- calls -------------------------------------------------------------------

    def call(
        self, operation: str, *, passthrough: t.Collection[str] = (), **params: t.Any
    ) -> t.Any:
        """Send one call and return boto3's answer.

        A condition failure, a validation error (a bug, not an outage) and
        the error codes in ``passthrough`` propagate unchanged as
        ``ClientError``; a missing table is created first with
        ``auto_create``; any other failure is a
        :class:`~.exceptions.SessionBackendError`.

        :param operation: the DynamoDB operation, e.g. ``"GetItem"``.
        :param params: its parameters, as boto3 takes them.
        """
        return self._call(operation, passthrough, params, may_create=True)

    def _call(
        self,
        operation: str,
        passthrough: t.Collection[str],
        params: dict[str, t.Any],
        *,
        may_create: bool,
    ) -> t.Any:
        try:
            if operation in ITEM_OPERATIONS:
                method = getattr(self.item_client, ITEM_OPERATIONS[operation])
                if dynamodb_called.receivers:
                    return self._observed(operation, method, params)
            else:
                method = getattr(self.admin_client, ADMIN_OPERATIONS[operation])
            return method(**params)
        except ClientError as exc:
            code = error_code(exc)
            if code in _PASSTHROUGH or code in passthrough:
                raise
            if (
                code == "ResourceNotFoundException"
                and may_create
                and self._ensure_table(operation)
            ):  # once: a table deleted again is an error, not a loop
                return self._call(operation, passthrough, params, may_create=False)
            raise SessionBackendError(
                self.describe_failure(operation, code), operation=operation
            ) from exc
        except NoRegionError as exc:
            raise ConfigurationError(
                "SESSION_DYNAMODB_REGION", None, NO_REGION, shown=False
            ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            endpoint = (
                where(self._client_of(operation))[1] or self.settings.endpoint_url
            )
            raise SessionBackendError(
                no_credentials(exc, endpoint), operation=operation
            ) from exc
        except BotoCoreError as exc:
            raise SessionBackendError(
                f"DynamoDB {operation} failed: {exc}", operation=operation
            ) from exc

    def _ensure_table(self, operation: str) -> bool:
        """Create the missing table, once per gateway (``auto_create``).

        :return: whether the call may be sent again: the table was created
            now, or by another thread in the meantime.
        """
        create = self.on_missing_table
        if (
            create is None
            or not self.settings.auto_create
            or operation not in ITEM_OPERATIONS
        ):
            return False
        with self._lock:
            if not self._table_ready:  # else another thread just made it
                create()
                self._table_ready = True
        return True

    def _observed(
        self, operation: str, method: t.Callable[..., t.Any], params: dict[str, t.Any]
    ) -> t.Any:
        """Make one call and send :data:`.signals.dynamodb_called` about it."""
        started = time.perf_counter()
        error: str | None = None
        metadata: t.Mapping[str, t.Any] = {}
        try:
            response = method(**params)
            metadata = response.get("ResponseMetadata", {})
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
                self.sender,
                operation=operation,
                table=self.table,
                duration=time.perf_counter() - started,
                attempts=int(retries) + 1,
                error=error,
            )

    def describe_failure(self, operation: str, code: str) -> str:
        """What a call refused with error ``code`` means, for the log and the
        exception: a missing table is named with the region and endpoint
        the call went to."""
        if code == "ResourceNotFoundException":
            region, endpoint = where(self._client_of(operation))
            return missing_table(self.table, region, endpoint)
        return f"DynamoDB {operation} failed: {code or 'unknown error'}"

    def _client_of(self, operation: str) -> t.Any:
        """The client that sends ``operation``, if it was built."""
        if operation in ITEM_OPERATIONS:
            return self._item_client
        return self._admin_client

    def _max_attempts(self) -> int:
        source = self._item_source or self.item_client
        config = getattr(getattr(source, "meta", None), "config", None)
        retries = getattr(config, "retries", None) or {}
        return int(retries.get("total_max_attempts", 1))
