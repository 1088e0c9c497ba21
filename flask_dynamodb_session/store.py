"""The session store: what ``interface.store`` is.

:class:`SessionStore` puts one table's parts together: a
:class:`~.gateway.Gateway` that sends every call, the
:class:`~.session_items.SessionItems` of the request path, and what an app or
an admin tool does to the table as a whole: create it (:mod:`.table`), sweep
its expired sessions (:mod:`.sweep`), list or end the sessions of one user
(:mod:`.users`). Those modules take the gateway or the items; none of them
imports this one.
"""

from __future__ import annotations

import logging
import time
import typing as t
from datetime import timedelta

from . import sweep, table, users
from .codec import Codec
from .events import Events
from .gateway import Gateway
from .item_size import check_size
from .layout import MAX_VERSION, retired
from .session_items import SessionItems

if t.TYPE_CHECKING:
    from .codec import SecretKeys
    from .options import Settings
    from .sweep import ExpiredSweep
    from .table import TableSetup
    from .users import UserSession

logger = logging.getLogger(__name__)


class SessionStore:
    """The sessions of one DynamoDB table, for use outside a request too.

    ``get(sid)``, ``set(sid, data, lifetime=None)``, ``delete(sid)``,
    ``create_table()``, ``delete_expired()``; with the ``user_key`` option,
    ``sessions_of(user_id)``, ``revoke(handle)`` and ``revoke_user(user_id)``.
    Constructing one makes no network call.

    :param settings: the resolved options (table, client, prefix, ...).
    :param secret_keys: returns the app's ``SECRET_KEY`` and its fallbacks,
        to derive encryption keys from when ``encryption_keys`` is not given
        (the interface passes its app's).
    """

    def __init__(
        self, settings: Settings, *, secret_keys: SecretKeys | None = None
    ) -> None:
        #: The options this store was built with.
        self.settings = settings
        #: How ``data`` and ``uid`` are stored: sealed and hashed with ``encrypt``.
        self.codec = Codec(settings, secret_keys)
        #: Sends every DynamoDB call of this store.
        self.gateway = Gateway(settings)
        self.gateway.sender = self
        self.gateway.on_missing_table = self._create_missing_table
        #: Sends the lifecycle signals of this store's sessions.
        self.events = Events(settings, sender=self, codec=self.codec)
        #: The reads and writes of the request path.
        self.items = SessionItems(self.gateway, self.events, self.codec)

    @property
    def table(self) -> str:
        """The table name."""
        return self.settings.table

    def key(self, sid: str) -> str:
        """The stored key (a user session's handle) of a session id."""
        return self.items.key(sid)

    def get(self, sid: str) -> dict[str, t.Any] | None:
        """The contents of a session, or ``None`` if it is missing or expired.

        :param sid: the session id (``session.sid``).
        """
        record = self.items.load(sid)
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
        payload = self.codec.encode(key, data)
        now = int(time.time())
        layout = self.items.layout
        uid = layout.uid(data)
        check_size(key, payload, now + duration, now, now, MAX_VERSION, uid=uid)
        update = layout.update(payload, uid, now, now + duration, keep_created=True)
        self.gateway.call(
            "UpdateItem",
            TableName=self.table,
            Key={"id": {"S": key}},
            UpdateExpression=update.expression,
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
        )

    def delete(self, sid: str) -> None:
        """Delete a session ("log this session out everywhere"): one DeleteItem.

        A missing session is no error.
        """
        item = self.items.delete(sid)
        if item is not None and not retired(item):
            self.events.ended(self.key(sid), "revoked", item=item)

    def create_table(
        self,
        *,
        read_capacity: int | None = None,
        write_capacity: int | None = None,
        billing_mode: str | None = None,
        wait: bool = True,
    ) -> TableSetup:
        """Create the table if it is missing, wait for it, and turn on TTL.

        Idempotent: an existing table is left as it is (only TTL is turned
        on, and with the ``user_key`` option the index of users' sessions
        added if it is missing). The table has one hash key, ``id`` of type
        S; with ``user_key``, also the index ``uid-index``.

        :param read_capacity: provisioned reads; default from the options.
        :param write_capacity: provisioned writes; default from the options.
        :param billing_mode: ``"PROVISIONED"`` or ``"PAY_PER_REQUEST"``;
            default from the options.
        :param wait: wait until the table (and its index) is ``ACTIVE``.
        :return: what was done.
        """
        return table.create_table(
            self.gateway,
            read_capacity=read_capacity,
            write_capacity=write_capacity,
            billing_mode=billing_mode,
            wait=wait,
        )

    def delete_expired(self, **options: t.Any) -> ExpiredSweep:
        """Delete every expired session now, without waiting for DynamoDB's TTL.

        The table is read by a parallel Scan that fetches only each item's
        key and expiry; only this store's sessions (its ``key_prefix``)
        count, and they are deleted with BatchWriteItem, 25 at a time. Each
        deleted session is reported by
        :data:`~flask_dynamodb_session.signals.session_ended` (``"expired"``).

        :param options: ``segments`` (parallel scan segments, default 4),
            ``page_size`` (items a Scan page reads at most), ``dry_run``
            (count, delete nothing), ``now`` (Unix epoch seconds or an aware
            datetime: what expired at or before it is deleted; default: now),
            ``progress`` (called with the running totals after every page),
            ``max_backoff`` (the longest wait, in seconds, before sending
            unprocessed items again).
        :return: the counts.
        """
        return sweep.delete_expired(self.gateway, events=self.events, **options)

    def sessions_of(
        self, user_id: str | int, *, current_sid: str | None = None
    ) -> list[UserSession]:
        """The user's live sessions, most recently active first.

        One Query of the index plus one BatchGetItem per 100 sessions.
        Sessions past their expiry or ``max_age`` are left out. Needs the
        ``user_key`` option and the table's index (``create_table`` adds it).

        :param user_id: the id the sessions hold under ``user_key``.
        :param current_sid: the id of the session to mark
            :attr:`~.UserSession.current` (the caller's own).
        :raises ConfigurationError: ``user_key`` is not set, or the table
            has no index.
        """
        return users.sessions_of(self.items, user_id, current_sid=current_sid)

    def revoke(self, handle: str, *, user_id: str | int | None = None) -> bool:
        """Delete one session by its handle (only the user's, given ``user_id``).

        With ``user_id`` the delete is conditional on the session being that
        user's, so a handle posted by a browser can end only its own user's
        sessions.

        :param handle: a :attr:`.UserSession.handle`.
        :param user_id: the user the session must belong to.
        :return: ``False`` if the session was not there, or not the user's.
        """
        return users.revoke(self.items, handle, user_id=user_id)

    def revoke_user(self, user_id: str | int, *, keep_sid: str | None = None) -> int:
        """Delete every session of a user but ``keep_sid``'s; return how many.

        "Log out everywhere", or with ``keep_sid`` "log out other devices":
        one Query of the index, then one DeleteItem per session.

        :param user_id: the id the sessions hold under ``user_key``.
        :param keep_sid: the id of a session to keep (the caller's own).
        :raises ConfigurationError: ``user_key`` is not set, or the table
            has no index.
        """
        return users.revoke_user(self.items, user_id, keep_sid=keep_sid)

    def close(self) -> None:
        """Close the clients this store built (a client given to it stays open)."""
        self.gateway.close()

    def _create_missing_table(self) -> None:
        """``auto_create``: the gateway found the table missing."""
        logger.info("creating the session table %s", self.table)
        setup = self.create_table()
        if setup.ttl == "UNSUPPORTED":
            logger.warning(
                "the DynamoDB server does not support TTL; expired sessions of"
                " table %s stay until `flask dynamo-session delete-expired` runs",
                self.table,
            )


def seconds(value: int | float | timedelta) -> int:
    """Whole seconds of a lifetime given as a number or a timedelta."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)
