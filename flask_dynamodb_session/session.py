"""The session object: a dict loaded on first use, that knows what changed.

:class:`ServerSideSession` is what :data:`flask.session` is during a request.
It knows nothing of boto3: it is given a ``loader`` that returns the stored
:class:`~.store.Record` (or ``None``), and calls it the first time its
contents, id or ``new`` flag are looked at. Until then a request that only
passes through the session costs no DynamoDB call.
"""

from __future__ import annotations

import logging
import secrets
import typing as t

from flask.sessions import SessionMixin

from . import serialization
from .exceptions import SessionBackendError

if t.TYPE_CHECKING:
    from .layout import Record

    Loader = t.Callable[[str], Record | None]

logger = logging.getLogger(__name__)

_T = t.TypeVar("_T")
_MISSING: t.Any = object()

#: Bytes of randomness in a session id (256 bits).
SID_BYTES = 32


def new_sid() -> str:
    """A fresh session id: 256 random bits from :mod:`secrets`, URL-safe."""
    return secrets.token_urlsafe(SID_BYTES)


class ServerSideSession(dict[str, t.Any], SessionMixin):
    """A session whose contents live in DynamoDB.

    Behaves as a ``dict``. Changes to nested values
    (``session["cart"].append(item)``) are found at the end of the request
    without setting :attr:`modified`.

    :param sid: the id from a validly signed cookie, or ``None`` for a new
        session.
    :param loader: reads the stored session of an id.
    """

    #: ``True`` once the contents were looked at (Flask also sets it).
    accessed: bool

    def __init__(self, sid: str | None, loader: Loader | None = None) -> None:
        super().__init__()
        self.accessed = False
        self._modified = False
        #: The app set :attr:`modified` itself: save even if nothing changed.
        self.save_requested = False
        self._loader = loader
        self._sid = sid if sid is not None else new_sid()
        self._new = sid is None
        self._loaded = sid is None or loader is None
        #: The stored record the contents came from, if any.
        self.record: Record | None = None
        #: Ids whose stored items the save must delete (``clear``).
        self.discarded: list[str] = []
        #: The stored id :meth:`regenerate` replaced: the save deletes it only
        #: if it is still there, unchanged since it was read.
        self.predecessor: str | None = None
        #: Set when the save must not happen (backend failure, unhandled error).
        self.save_blocked = False
        #: The contents were looked at or changed during this request.
        self.used = False
        #: The cookie's id was validly signed but the table did not have it.
        self.cookie_stale = False
        #: The session is moving to a new id by rotation (not a login): it
        #: keeps its creation time, and its old id leads to it for a while.
        self.rotating = False
        #: The cookie carries an id the session was rotated from: the
        #: response must carry the new one.
        self.moved = False

    # -- state -------------------------------------------------------------

    @property
    def modified(self) -> bool:
        """Set by every direct change; nested changes are found at save time.

        Setting it to ``True`` yourself saves the session at the end of the
        request even if nothing in it changed (its expiry pushed, its cookie
        set again). Setting a key to the value it already holds changes
        nothing: such a session is saved as any session that was only read.
        """
        return self._modified

    @modified.setter
    def modified(self, value: bool) -> None:
        self._modified = value
        self.save_requested = value

    @property
    def sid(self) -> str:
        """The session id, once the table confirmed it (loads the session)."""
        self._load()
        return self._sid

    @property
    def new(self) -> bool:  # type: ignore[override]
        """``True`` if the session is not stored yet (loads the session)."""
        self._load()
        return self._new

    @property
    def loaded(self) -> bool:
        """``True`` if the contents are known: read, or new and empty."""
        return self._loaded

    def regenerate(self) -> None:
        """Give the session a new id, keeping its data; call it at login.

        When the request ends the session is stored under the new id, then
        the old item is retired (it holds no data and reads as no session),
        and the new cookie set. If the old session
        was logged out meanwhile (deleted), the new one is deleted too: a
        logout is never undone. If another request changed it meanwhile, its
        changes are merged as a normal save would.
        """
        self._load()
        if not self._new:
            # :attr:`record` stays: the save compares with it to merge.
            self.predecessor = self._sid
            self._new = True
        self._sid = new_sid()
        self._modified = True

    def rotate(self) -> None:
        """Move the session to a new id as rotation does (not a login)."""
        self.regenerate()
        self.rotating = True

    def follow(self, sid: str) -> None:
        """The session was found rotated to ``sid`` while it was saved."""
        if sid != self._sid:
            self._sid = sid
            self.moved = True

    def block_save(self) -> None:
        """Make sure nothing of this request's changes is stored."""
        self.save_blocked = True

    def changes(self) -> tuple[set[str], set[str]]:
        """The keys set (or changed in place) and the keys removed since loading."""
        if self.record is None:
            return set(dict.keys(self)), set()
        original = serialization.decode(self.record.payload)
        current = dict(self.items())
        changed = {
            name
            for name, value in current.items()
            if name not in original or not _same(original[name], value)
        }
        removed = set(original) - set(current)
        return changed, removed

    # -- loading -----------------------------------------------------------

    def _load(self) -> None:
        self.accessed = True
        self.used = True
        if self._loaded:
            return
        assert self._loader is not None
        try:
            record = self._loader(self._sid)
        except Exception as exc:
            self.save_blocked = True
            if isinstance(exc, SessionBackendError):
                logger.error("the session could not be read: %s", exc)
            raise
        self._loaded = True
        if record is None:
            self._sid = new_sid()
            self._new = True
            self.cookie_stale = True
            return
        self.record = record
        if record.moved_to is not None:
            self._sid = record.moved_to
            self.moved = True
        dict.update(self, record.data)

    def _replace_sid(self) -> None:
        if not self._new:
            self.discarded.append(self._sid)
        self._sid = new_sid()
        self._new = True
        self.record = None

    # -- the dict interface, loading first ----------------------------------

    def __getitem__(self, key: str) -> t.Any:
        self._load()
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: t.Any) -> None:
        self._load()
        self._modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._load()
        self._modified = True
        super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self) -> t.Iterator[str]:
        self._load()
        return super().__iter__()

    def __reversed__(self) -> t.Iterator[str]:
        self._load()
        return super().__reversed__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def __eq__(self, other: object) -> bool:
        self._load()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self._load()
        return super().__ne__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self._loaded:
            return f"<{type(self).__name__} (not loaded)>"
        return f"<{type(self).__name__} {super().__repr__()}>"

    def __or__(self, other: t.Any) -> dict[str, t.Any]:  # type: ignore[override]
        self._load()
        return dict(self.items()) | other  # type: ignore[no-any-return]

    def __ror__(self, other: t.Any) -> dict[str, t.Any]:  # type: ignore[override]
        self._load()
        return other | dict(self.items())  # type: ignore[no-any-return]

    def __ior__(self, other: t.Any) -> ServerSideSession:  # type: ignore[override]
        self.update(other)
        return self

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self._load()
        return super().get(key, default)

    def keys(self) -> t.KeysView[str]:  # type: ignore[override]
        self._load()
        return super().keys()

    def values(self) -> t.ValuesView[t.Any]:  # type: ignore[override]
        self._load()
        return super().values()

    def items(self) -> t.ItemsView[str, t.Any]:  # type: ignore[override]
        self._load()
        return super().items()

    def pop(self, key: str, default: t.Any = _MISSING) -> t.Any:
        self._load()
        if key in dict.keys(self):
            self._modified = True
        if default is _MISSING:
            return super().pop(key)
        return super().pop(key, default)

    def popitem(self) -> tuple[str, t.Any]:
        self._load()
        self._modified = True
        return super().popitem()

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self._load()
        if key not in dict.keys(self):
            self._modified = True
        return super().setdefault(key, default)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._load()
        self._modified = True
        super().update(*args, **kwargs)

    def clear(self) -> None:
        """Empty the session; its stored item is deleted when the request ends.

        Needs no read: the old id is dropped and a fresh one used from here on,
        so a session cleared at logout and then given a flash message is a new
        session.
        """
        self.accessed = True
        self.used = True
        if not self._new:
            self._replace_sid()
            self._loaded = True
        super().clear()
        self._modified = True

    def copy(self) -> dict[str, t.Any]:
        self._load()
        return dict(self.items())


def _same(before: t.Any, after: t.Any) -> bool:
    """Equal, with the same types all the way down.

    So ``1`` -> ``True`` or ``1.0`` counts as a change. Floats are the same
    when they are stored the same: a ``nan`` is the same as another ``nan``,
    and ``-0.0`` differs from ``0.0``. The walk keeps its own stack, so no
    nesting depth exhausts Python's.
    """
    pending = [(before, after)]
    while pending:
        left, right = pending.pop()
        if type(left) is not type(right):
            return False
        if isinstance(left, dict):
            if left.keys() != right.keys():
                return False
            pending.extend((value, right[name]) for name, value in left.items())
        elif isinstance(left, (list, tuple)):
            if len(left) != len(right):
                return False
            pending.extend(zip(left, right, strict=True))
        elif isinstance(left, float):
            if float.__repr__(left) != float.__repr__(right):
                return False
        elif left != right:
            return False
    return True
