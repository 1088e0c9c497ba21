"""Moving a session to a new id: ``regenerate()`` at login, and rotation.

The new item is created first (:meth:`.SessionItems.create`), then
:func:`supersede` retires the old one, only if it is still as this request
read it; a change another request made meanwhile is merged into the new
item, and a logout that came first wins. A rotation's retired item leads to
the new id, sealed (:mod:`.rotation`), for the grace.
"""

from __future__ import annotations

import logging
import random
import time
import typing as t

from . import rotation
from .conflicts import GONE, Moved, merge, new_write_id
from .exceptions import SessionBackendError
from .layout import Record
from .session_items import MAX_SAVE_ATTEMPTS

if t.TYPE_CHECKING:
    from .session_items import SessionItems

logger = logging.getLogger(__name__)


def supersede(
    items: SessionItems,
    old_sid: str,
    new_sid: str,
    data: t.Mapping[str, t.Any],
    *,
    version: int,
    changed: t.Collection[str],
    removed: t.Collection[str],
    lifetime: int,
    created_at: int | None = None,
    grace: int | None = None,
) -> int | None:
    """Retire ``old_sid`` in favour of ``new_sid``, already created with ``data``.

    With a ``grace`` (a rotation), the old item leads to the new id, for
    that many seconds, to whoever holds the old id.

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
    old_key, new_key = items.key(old_sid), items.key(new_sid)
    new_version = 1
    created_at = int(time.time()) if created_at is None else created_at
    successor = None if grace is None else rotation.seal(old_sid, new_sid)
    for attempt in range(MAX_SAVE_ATTEMPTS):
        current = retire(items, old_key, version, successor, grace)
        if current is None:
            return new_version
        if isinstance(current, Moved):
            # Rotated meanwhile by another request: supersede its new id.
            moved = rotation.unseal(old_sid, current.sealed)
            record = None if moved is None else items.load(moved, consistent=True)
            if moved is None or record is None:
                break
            old_sid = record.moved_to or moved
            old_key = items.key(old_sid)
            if successor is not None:
                successor = rotation.seal(old_sid, new_sid)
            current = record
        if current is GONE:
            break
        assert isinstance(current, Record)
        if attempt:
            time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
        logger.debug("the replaced session changed meanwhile, merging")
        data = merge(current.data, data, changed, removed)
        version = current.version
        if (
            items.conditional_update(new_key, data, new_version, lifetime, created_at)
            is not None
        ):
            break  # nobody else knows the new id: deleted by an admin
        new_version += 1
    else:
        raise SessionBackendError(
            "the session was changed by too many concurrent requests",
            operation="UpdateItem",
        )
    items.delete_key(new_key)
    return None


def retire(
    items: SessionItems,
    key: str,
    version: int,
    successor: bytes | None,
    grace: int | None,
) -> Record | object | None:
    """Retire an item still at ``version``: its session moved to a new id.

    :param successor: the sealed new id, for a rotation's ``grace``.
    :return: ``None`` on success, else what is stored now.
    """
    write_id = new_write_id()
    now = int(time.time())
    until = None if grace is None else now + grace
    update = items.layout.retirement(now, write_id, successor=successor, until=until)
    return items.update_at_version(key, update, version, write_id)
