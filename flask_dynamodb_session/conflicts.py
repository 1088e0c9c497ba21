"""What a conditional write of a session can find instead of what it read.

:data:`GONE` (the session was deleted: logged out or revoked), :class:`Moved`
(it was rotated to a new id), or another request's version of it, into which
:func:`merge` re-applies this request's changes. A ``write_id``
(:func:`new_write_id`) lets a retried write recognise itself.
"""

from __future__ import annotations

import dataclasses
import secrets
import typing as t

from .item_size import WRITE_ID_SIZE


def merge(
    stored: t.Mapping[str, t.Any],
    mine: t.Mapping[str, t.Any],
    changed: t.Collection[str],
    removed: t.Collection[str],
) -> dict[str, t.Any]:
    """Re-apply one request's key-level changes over what is stored now."""
    merged = dict(stored)
    for name in removed:
        merged.pop(name, None)
    for name in changed:
        if name in mine:
            merged[name] = mine[name]
    return merged


GONE = object()


@dataclasses.dataclass(frozen=True)
class Moved:
    """What a write found instead of its session: rotated to a new id."""

    sealed: bytes


def new_write_id() -> str:
    """A random ``write_id``: 64 bits, as hex."""
    return secrets.token_hex(WRITE_ID_SIZE // 2)
