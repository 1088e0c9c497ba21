"""Sending the lifecycle signals of one store's sessions.

:class:`Events` turns what the store did (a session stored, moved, ended)
into :data:`.signals.session_created`, :data:`.signals.session_rotated` and
:data:`.signals.session_ended`, once the write succeeded. Nothing is
computed, not even the user id, when a signal has no receivers.
"""

from __future__ import annotations

import logging
import typing as t

from .codec import Codec
from .exceptions import ConfigurationError
from .serialization import DecodeError
from .signals import session_created, session_ended, session_rotated

if t.TYPE_CHECKING:
    from .layout import Item
    from .options import Settings

logger = logging.getLogger(__name__)

#: Why a session ended.
Reason = t.Literal["logout", "revoked", "evicted", "expired"]


class Events:
    """The lifecycle signals of one store.

    :param settings: the store's options (``user_key``, ``key_prefix``).
    :param sender: the default sender (the store).
    :param codec: how the store's items hold ``data`` and ``uid``.
    """

    def __init__(
        self, settings: Settings, sender: object, codec: Codec | None = None
    ) -> None:
        self.user_key = settings.user_key
        self.key_prefix = settings.key_prefix
        self.codec = Codec(settings) if codec is None else codec
        #: Returns the sender of the next signal: the store, or the Flask app
        #: inside one of its requests (the interface sets this).
        self.sender: t.Callable[[], object] = lambda: sender

    def created(self, handle: str, data: t.Mapping[str, t.Any]) -> None:
        """A new session was first stored under ``handle``."""
        if session_created.receivers:
            session_created.send(
                self.sender(), handle=handle, user_id=self.user_of(data)
            )

    def rotated(
        self, handle: str, old_handle: str, data: t.Mapping[str, t.Any]
    ) -> None:
        """A session moved from ``old_handle`` to ``handle``."""
        if session_rotated.receivers:
            session_rotated.send(
                self.sender(),
                handle=handle,
                old_handle=old_handle,
                user_id=self.user_of(data),
            )

    def ended(
        self,
        handle: str,
        reason: Reason,
        *,
        data: t.Mapping[str, t.Any] | None = None,
        item: Item | None = None,
    ) -> None:
        """A session ended; its data, or its stored item, tells the user."""
        if not session_ended.receivers:
            return
        user_id = self.user_of(data) if data is not None else self.user_of_item(item)
        session_ended.send(self.sender(), handle=handle, user_id=user_id, reason=reason)

    def user_of(self, data: t.Mapping[str, t.Any] | None) -> str | int | None:
        """The user id a session's data holds, if ``user_key`` is set."""
        if self.user_key is None or data is None:
            return None
        user = data.get(self.user_key)
        if isinstance(user, bool) or not isinstance(user, (str, int)) or user == "":
            return None
        return user

    def user_of_item(self, item: Item | None) -> str | int | None:
        """The user id of a stored item: from its data, else its ``uid``
        (unless ``encrypt`` stores a hash there)."""
        if self.user_key is None or item is None:
            return None
        payload = item.get("data", {}).get("B")
        if payload is not None:
            key = item.get("id", {}).get("S", "")
            try:
                return self.user_of(self.codec.decode(key, bytes(payload)))
            except (DecodeError, ConfigurationError):
                logger.debug("the ended session's data cannot be decoded")
        uid = item.get("uid", {}).get("S")
        if self.codec.encrypt or uid is None or not uid.startswith(self.key_prefix):
            return None
        return uid[len(self.key_prefix) :]
