"""The session store: the items of a table, and the table's life.

:class:`SessionStore` is what ``interface.store`` is. It reads and writes
sessions as :class:`.items.ItemStore` does, and adds what an app or an admin
tool does to the table as a whole: create it (:mod:`.table`), sweep its
expired sessions (:mod:`.maintenance`), and list or end the sessions of one
user (:mod:`.users`).
"""

from __future__ import annotations

import logging
import typing as t

from . import maintenance, table, users
from .items import ItemStore

if t.TYPE_CHECKING:
    from .maintenance import ExpiredSweep
    from .table import TableSetup
    from .users import UserSession

logger = logging.getLogger(__name__)


class SessionStore(ItemStore):
    """Reads and writes sessions in one DynamoDB table, and looks after the table.

    Outside a request it is ``interface.store``: ``get(sid)``,
    ``set(sid, data, lifetime=None)``, ``delete(sid)``, ``create_table()``,
    ``delete_expired()``; with the ``user_key`` option, ``sessions_of(user_id)``,
    ``revoke(handle)`` and ``revoke_user(user_id)``. Constructing one makes
    no network call.

    :param settings: the resolved options (table, client, prefix, ...).
    """

    def create_table(
        self,
        *,
        read_capacity: int | None = None,
        write_capacity: int | None = None,
        billing_mode: str | None = None,
        wait: bool = True,
    ) -> TableSetup:
        """Create the table if it is missing, wait for it, and turn on TTL.

        Idempotent; see :func:`.table.create_table`.
        """
        return table.create_table(
            self,
            read_capacity=read_capacity,
            write_capacity=write_capacity,
            billing_mode=billing_mode,
            wait=wait,
        )

    def wait_until_active(self, delay: int = 1, max_attempts: int = 300) -> None:
        """Poll DescribeTable until the table is ``ACTIVE``."""
        table.wait_until_active(self, delay=delay, max_attempts=max_attempts)

    def enable_ttl(self) -> str:
        """Turn on TTL on ``expires``; see :func:`.table.enable_ttl`."""
        return table.enable_ttl(self)

    def delete_expired(self, **options: t.Any) -> ExpiredSweep:
        """Delete every expired session now; see :func:`.maintenance.delete_expired`."""
        return maintenance.delete_expired(self, **options)

    def sessions_of(
        self, user_id: str | int, *, current_sid: str | None = None
    ) -> list[UserSession]:
        """The user's live sessions, most recently active first.

        One Query of the index plus one BatchGetItem per 100 sessions; see
        :func:`.users.sessions_of`.
        """
        return users.sessions_of(self, user_id, current_sid=current_sid)

    def revoke(self, handle: str, *, user_id: str | int | None = None) -> bool:
        """Delete one session by its handle (only the user's, given ``user_id``).

        See :func:`.users.revoke`.
        """
        return users.revoke(self, handle, user_id=user_id)

    def revoke_user(self, user_id: str | int, *, keep_sid: str | None = None) -> int:
        """Delete every session of a user but ``keep_sid``'s; return how many.

        See :func:`.users.revoke_user`.
        """
        return users.revoke_user(self, user_id, keep_sid=keep_sid)

    def ensure_table(self) -> None:
        """Create the table once per process (``auto_create``), thread-safely."""
        with self._lock:
            if self.table_ready:
                return
            logger.info("creating the session table %s", self.table)
            setup = self.create_table()
            if setup.ttl == "unsupported":
                logger.warning(
                    "the DynamoDB server does not support TTL; expired"
                    " sessions of table %s stay until `flask dynamo-session"
                    " delete-expired` runs",
                    self.table,
                )
            self.table_ready = True

    def _create_missing_table(self) -> bool:
        self.ensure_table()
        return True
