"""A short audit trail of each user's sessions, from the package's signals.

:func:`connect` subscribes an app's :class:`AuditTrail` to
:data:`~flask_dynamodb_session.session_created`,
:data:`~flask_dynamodb_session.session_rotated` and
:data:`~flask_dynamodb_session.session_ended`, sent by that app (inside its
requests). The trail keeps, in memory, the last :data:`MAX_EVENTS` events of
each user, for the devices page: never a session id (a working cookie), only
the end of the session's handle, enough to tell sessions apart.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import typing as t
from datetime import datetime, timezone

from flask_dynamodb_session import session_created, session_ended, session_rotated

if t.TYPE_CHECKING:
    from flask import Flask

__all__ = ["MAX_EVENTS", "AuditTrail", "Event", "connect", "short_handle", "trail_of"]

#: Events kept per user, the newest.
MAX_EVENTS = 20
#: Users whose events are kept, the most recently active.
MAX_USERS = 1000
#: Characters of a handle shown: its end, which ``key_prefix`` does not change.
HANDLE_CHARS = 10
#: Where the app keeps its trail, in ``app.extensions``.
EXTENSION = "example_app.audit"

Kind = t.Literal["created", "rotated", "ended"]

#: What each ``reason`` of ``session_ended`` means to the user.
REASONS = {
    "logout": "logged out",
    "revoked": "logged out from another device",
    "evicted": "logged out by a newer login (device limit)",
    "expired": "expired",
}


def short_handle(handle: str) -> str:
    """The end of a session's handle, to show: ``"...3f9a0c2b1e"``."""
    return f"...{handle[-HANDLE_CHARS:]}"


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened to one of a user's sessions."""

    #: When the app was told.
    at: datetime
    kind: Kind
    #: The session's handle, shortened.
    handle: str
    #: ``session_rotated``: the handle it had before, shortened.
    old_handle: str | None = None
    #: ``session_ended``: why.
    reason: str | None = None

    @property
    def text(self) -> str:
        """The event in words."""
        if self.kind == "created":
            return f"Session {self.handle} started"
        if self.kind == "rotated":
            return f"Session {self.old_handle} moved to a new id: {self.handle}"
        why = REASONS.get(self.reason or "", self.reason or "ended")
        return f"Session {self.handle} ended: {why}"


class AuditTrail:
    """The last :data:`MAX_EVENTS` events of each user; safe under threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: collections.OrderedDict[str, collections.deque[Event]] = (
            collections.OrderedDict()
        )

    def record(self, user_id: str | int | None, event: Event) -> None:
        """Keep ``event`` for the user; an anonymous session's is dropped."""
        if user_id is None:
            return
        key = str(user_id)
        with self._lock:
            events = self._users.pop(key, None)
            if events is None:
                events = collections.deque(maxlen=MAX_EVENTS)
            events.append(event)
            self._users[key] = events
            while len(self._users) > MAX_USERS:
                self._users.popitem(last=False)

    def events_of(self, user_id: str | int) -> list[Event]:
        """The user's events, newest first."""
        with self._lock:
            return list(reversed(self._users.get(str(user_id), ())))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def connect(app: Flask, shared: AuditTrail | None = None) -> AuditTrail:
    """Give ``app`` a trail, fed by the lifecycle signals it sends.

    :param shared: another app's trail, to record this app's events in too
        (the API's sessions belong to the same users as the shop's); else a
        new trail.
    """
    trail = AuditTrail() if shared is None else shared
    app.extensions[EXTENSION] = trail

    @session_created.connect_via(app)
    def created(
        sender: Flask, *, handle: str, user_id: str | int | None, **extra: object
    ) -> None:
        trail.record(user_id, Event(_now(), "created", short_handle(handle)))

    @session_rotated.connect_via(app)
    def rotated(
        sender: Flask,
        *,
        handle: str,
        old_handle: str,
        user_id: str | int | None,
        **extra: object,
    ) -> None:
        event = Event(
            _now(), "rotated", short_handle(handle), old_handle=short_handle(old_handle)
        )
        trail.record(user_id, event)

    @session_ended.connect_via(app)
    def ended(
        sender: Flask,
        *,
        handle: str,
        user_id: str | int | None,
        reason: str,
        **extra: object,
    ) -> None:
        event = Event(_now(), "ended", short_handle(handle), reason=reason)
        trail.record(user_id, event)

    return trail


def trail_of(app: Flask) -> AuditTrail:
    """The trail :func:`connect` gave ``app``."""
    return t.cast(AuditTrail, app.extensions[EXTENSION])
