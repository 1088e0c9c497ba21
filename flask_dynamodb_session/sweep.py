"""Deleting expired sessions now: ``flask dynamo-session delete-expired``.

For tables without TTL, or to purge before TTL gets to it (it can take
days). Every call goes through the table's :class:`~.gateway.Gateway`, so a
failure arrives as the package's own
:class:`~.exceptions.SessionBackendError` or
:class:`~.exceptions.ConfigurationError`.

The IAM permissions it needs on the table: ``Scan`` and ``BatchWriteItem``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import decimal
import logging
import math
import queue
import re
import threading
import time
import typing as t
from datetime import datetime

from .batches import MAX_BATCH_ATTEMPTS, backoff_delay
from .exceptions import SessionBackendError
from .layout import DIGEST_LENGTH, retired

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        ScanInputTypeDef,
        WriteRequestTypeDef,
    )

    from .events import Events
    from .gateway import Gateway

logger = logging.getLogger(__name__)

#: BatchWriteItem takes at most this many requests.
BATCH_SIZE = 25
#: Items one Scan page reads, by default.
PAGE_SIZE = 1000
#: Threads :func:`delete_expired` runs at most, whatever the segment count.
MAX_THREADS = 16


@dataclasses.dataclass(frozen=True)
class ExpiredSweep:
    """What :meth:`.SessionStore.delete_expired` found and did (so far, for
    ``progress``)."""

    #: Items the scan read, of every app sharing the table.
    scanned: int = 0
    #: Expired sessions found (of this gateway's ``key_prefix``).
    expired: int = 0
    #: Expired sessions deleted; 0 in a dry run.
    deleted: int = 0
    #: Nothing was deleted: ``expired`` says how many would have been.
    dry_run: bool = False
    #: Unix epoch seconds: a session expiring at or before it counts as expired.
    cutoff: int = 0
    #: Scan segments the table was read in.
    segments: int = 1

    def add(self, scanned: int, expired: int, deleted: int) -> ExpiredSweep:
        """These totals plus the counts of one more page."""
        return dataclasses.replace(
            self,
            scanned=self.scanned + scanned,
            expired=self.expired + expired,
            deleted=self.deleted + deleted,
        )


def delete_expired(
    gateway: Gateway,
    *,
    segments: int = 4,
    page_size: int = PAGE_SIZE,
    dry_run: bool = False,
    now: float | datetime | None = None,
    progress: t.Callable[[ExpiredSweep], object] | None = None,
    max_backoff: float = 5.0,
    events: Events | None = None,
) -> ExpiredSweep:
    """Delete every expired session now, without waiting for DynamoDB's TTL.

    The table is read by a parallel Scan (``segments`` segments, each in a
    thread of its own, up to :data:`MAX_THREADS`), ``page_size`` items a page,
    fetching only ``id`` and ``expires``. Only this gateway's sessions count:
    keys that are exactly ``key_prefix`` followed by the 64 hex digits of a
    session id's digest, so the sessions of another app sharing the table
    are kept, even where its prefix starts with this one (``app10`` and
    ``app1``). The server filters on ``expires``, the prefix and the key's
    length, and each item is checked again here, hex digits included, before
    it is deleted with BatchWriteItem, 25 at a time. Items DynamoDB leaves
    unprocessed are sent again after an exponential back-off with jitter,
    at most :data:`MAX_BATCH_ATTEMPTS` times. (BatchWriteItem takes no
    condition: a session whose expiry a request pushed back between the scan
    and the delete is deleted all the same.)

    :param gateway: the session gateway whose table to sweep.
    :param segments: parallel scan segments.
    :param page_size: items a Scan page reads at most.
    :param dry_run: count the expired sessions, delete none.
    :param now: Unix epoch seconds or an aware datetime; a session expiring
        at or before it is deleted. Defaults to the current time.
    :param progress: called with the running totals after every page, in the
        caller's thread.
    :param max_backoff: the longest wait between two attempts of a batch, in
        seconds.
    :param events: the store's signals, to report each session deleted as
        ended (``"expired"``); items retired by a move to a new id are no
        sessions and are not reported.
    :return: the final counts.
    :raises ValueError: ``segments`` or ``page_size`` below 1, or a naive
        ``now``.
    :raises SessionBackendError: DynamoDB failed, or kept items unprocessed.
    """
    if segments < 1:
        raise ValueError("segments must be at least 1")
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    cutoff = _cutoff(now)
    _ = gateway.admin_client  # a configuration error surfaces here, not in a thread
    sweeper = _Sweeper(gateway, cutoff, segments, page_size, dry_run, max_backoff)
    sweeper.events = events
    totals = ExpiredSweep(dry_run=dry_run, cutoff=cutoff, segments=segments)
    threads = min(segments, MAX_THREADS)
    with concurrent.futures.ThreadPoolExecutor(
        threads, thread_name_prefix="delete-expired"
    ) as pool:
        futures = [pool.submit(sweeper.sweep, number) for number in range(segments)]
        try:
            finished = 0
            while finished < segments:
                page = sweeper.pages.get()
                if page is None:
                    finished += 1
                    continue
                totals = totals.add(*page)
                if progress is not None:
                    progress(totals)
        finally:
            sweeper.stop.set()
    for future in futures:
        future.result()
    logger.info(
        "swept table %s: %d items scanned, %d expired, %d deleted",
        gateway.table,
        totals.scanned,
        totals.expired,
        totals.deleted,
    )
    return totals


class _Sweeper:
    """The work of one :func:`delete_expired` call, shared by its threads."""

    def __init__(
        self,
        gateway: Gateway,
        cutoff: int,
        segments: int,
        page_size: int,
        dry_run: bool,
        max_backoff: float,
    ) -> None:
        self.gateway = gateway
        self.cutoff = cutoff
        self.segments = segments
        self.page_size = page_size
        self.dry_run = dry_run
        self.max_backoff = max_backoff
        self.prefix = gateway.settings.key_prefix
        self.key_pattern = re.compile(
            re.escape(self.prefix) + f"[0-9a-f]{{{DIGEST_LENGTH}}}"
        )
        #: Counts of each page (scanned, expired, deleted); ``None`` when a
        #: segment is done.
        self.pages: queue.SimpleQueue[tuple[int, int, int] | None] = queue.SimpleQueue()
        #: Set when the sweep ends early: the other segments stop after
        #: their current page.
        self.stop = threading.Event()
        #: Reports the sessions deleted, if set.
        self.events: Events | None = None

    def sweep(self, segment: int) -> None:
        """Scan one segment page by page, deleting what has expired."""
        try:
            request = self._scan_request(segment)
            while not self.stop.is_set():
                page = self.gateway.call("Scan", **request)
                expired = [
                    item for item in page.get("Items", ()) if self._expired(item)
                ]
                keys = [{"id": item["id"]} for item in expired]
                deleted = 0 if self.dry_run else self._delete(keys)
                if deleted and self.events is not None:
                    for item in expired:
                        if not retired(item):
                            self.events.ended(item["id"]["S"], "expired", item=item)
                self.pages.put((page.get("ScannedCount", 0), len(keys), deleted))
                last_key = page.get("LastEvaluatedKey")
                if not last_key:
                    return
                request["ExclusiveStartKey"] = last_key
        except BaseException:
            self.stop.set()
            raise
        finally:
            self.pages.put(None)

    def _scan_request(self, segment: int) -> ScanInputTypeDef:
        condition = "#e <= :cutoff"
        values: dict[str, AttributeValueTypeDef] = {":cutoff": {"N": str(self.cutoff)}}
        if self.prefix:
            condition += " AND begins_with(#i, :prefix)"
            values[":prefix"] = {"S": self.prefix}
        if self.prefix.isascii():
            # size() of a string: characters and bytes agree for ASCII only.
            condition += " AND size(#i) = :length"
            values[":length"] = {"N": str(len(self.prefix) + DIGEST_LENGTH)}
        request: ScanInputTypeDef = {
            "TableName": self.gateway.table,
            "ProjectionExpression": "#i, #e, #u, #r",
            "FilterExpression": condition,
            "ExpressionAttributeNames": {
                "#i": "id",
                "#e": "expires",
                "#u": "uid",
                "#r": "retired",
            },
            "ExpressionAttributeValues": values,
            "Limit": self.page_size,
        }
        if self.gateway.settings.encrypt:
            # The user id of an ended session is in its sealed data only.
            request["ProjectionExpression"] += ", #d"
            request["ExpressionAttributeNames"] = {
                **request["ExpressionAttributeNames"],
                "#d": "data",
            }
        if self.segments > 1:
            request["Segment"] = segment
            request["TotalSegments"] = self.segments
        return request

    def _expired(self, item: t.Mapping[str, t.Any]) -> bool:
        """Check again what the server's filter let through."""
        try:
            key = item["id"]["S"]
            expires_at = decimal.Decimal(item["expires"]["N"])
        except (KeyError, TypeError, ArithmeticError):
            return False
        return expires_at <= self.cutoff and bool(self.key_pattern.fullmatch(key))

    def _delete(self, keys: list[dict[str, t.Any]]) -> int:
        for start in range(0, len(keys), BATCH_SIZE):
            self._delete_batch(keys[start : start + BATCH_SIZE])
        return len(keys)

    def _delete_batch(self, keys: list[dict[str, t.Any]]) -> None:
        requests: list[WriteRequestTypeDef] = [
            {"DeleteRequest": {"Key": key}} for key in keys
        ]
        for attempt in range(MAX_BATCH_ATTEMPTS):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self.max_backoff))
            response = self.gateway.call(
                "BatchWriteItem",
                RequestItems={self.gateway.table: requests},
            )
            unprocessed = response.get("UnprocessedItems", {}).get(self.gateway.table)
            if not unprocessed:
                return
            logger.debug("%d deletes left unprocessed, retrying", len(unprocessed))
            requests = t.cast("list[WriteRequestTypeDef]", unprocessed)
        raise SessionBackendError(
            f"DynamoDB left deletes unprocessed after {MAX_BATCH_ATTEMPTS}"
            f" BatchWriteItem attempts ({len(requests)} pending; the table is"
            " throttled); try again later or with fewer segments",
            operation="BatchWriteItem",
        )


def _cutoff(now: float | datetime | None) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime")
        return math.floor(now.timestamp())
    return math.floor(now)
