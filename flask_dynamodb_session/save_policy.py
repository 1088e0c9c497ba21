"""What to write at the end of a request: a plan, decided here, carried out
by the interface.

The rules, in order:

- a session the request never used: nothing (no call, no cookie);
- an empty session: delete what it leaves behind (its stored item, and the
  ids ``regenerate()`` left), and the cookie if there was one;
- a new session: store it (and retire the one it replaces);
- changed keys, nested changes included: write them;
- unchanged, but the app set ``session.modified = True`` itself: push its
  expiry (a failure fails the request, as a failed write would); a key set
  to the value it held is no change;
- read and unchanged: push its expiry when ``SESSION_REFRESH_EACH_REQUEST``
  is on and the last write is at least ``touch_after`` old (a failure only
  logs: the request read what it needed);
- read through the id it was rotated from: set the new id's cookie;
- anything else: nothing.

Before that, a stored session whose id is older than ``rotate_after`` is
moved to a new id (:func:`rotation_due`); it then saves as a new session.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from .session import ServerSideSession

#: What the interface does with the session at the end of a request.
Action = t.Literal["skip", "clear", "create", "update", "touch", "refresh", "cookie"]


@dataclasses.dataclass(frozen=True)
class SavePlan:
    """What to write for one request's session."""

    action: Action
    #: Keys set or changed (``"update"``).
    changed: frozenset[str] = frozenset()
    #: Keys removed (``"update"``).
    removed: frozenset[str] = frozenset()
    #: Session ids whose items to delete (``"clear"``).
    stale_sids: tuple[str, ...] = ()
    #: The browser's cookie must be deleted (``"clear"``).
    delete_cookie: bool = False


SKIP = SavePlan("skip")


def plan_save(
    session: ServerSideSession,
    *,
    refresh_each_request: bool,
    touch_after: int,
    now: float,
) -> SavePlan:
    """Decide what to write for ``session`` at the end of its request.

    :param refresh_each_request: Flask's ``SESSION_REFRESH_EACH_REQUEST``.
    :param touch_after: the ``touch_after`` option, in seconds.
    :param now: the current Unix time.
    """
    if not session.used or session.save_blocked:
        return SKIP
    if not dict.__len__(session):
        return _plan_clear(session)
    if session.new:
        return SavePlan("create")
    changed, removed = session.changes()
    if changed or removed:
        return SavePlan("update", frozenset(changed), frozenset(removed))
    if session.save_requested:
        return SavePlan("touch")
    record = session.record
    assert record is not None
    if refresh_each_request and now - record.written_at >= touch_after:
        return SavePlan("refresh")
    if session.moved:  # read through its rotated id: give the new one
        return SavePlan("cookie")
    return SKIP


def rotation_due(
    session: ServerSideSession, rotate_after: int | None, now: float
) -> bool:
    """Whether a stored session's id is old enough to move to a new one."""
    if rotate_after is None or not session.used or session.save_blocked:
        return False
    record = session.record
    if record is None or session.new or not dict.__len__(session):
        return False
    return now - record.issued_at >= rotate_after


def _plan_clear(session: ServerSideSession) -> SavePlan:
    stale = list(session.discarded)
    if session.predecessor is not None:
        stale.append(session.predecessor)
    elif session.record is not None:
        stale.append(session.sid)
    if not stale and not session.cookie_stale:
        return SKIP
    return SavePlan("clear", stale_sids=tuple(stale), delete_cookie=True)
