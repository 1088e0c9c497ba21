"""What a session item holds, and how a session becomes one and back.

Nothing here calls DynamoDB: :mod:`.session_items` makes the calls with what this
module builds. An item has these attributes:

``id`` (S)
    the hash key: ``key_prefix`` + hex SHA-256 of the session id.
``data`` (B)
    the encoded session (:mod:`.serialization`), sealed with ``encrypt``.
``expires`` (N)
    Unix epoch seconds, an integer; the table's TTL attribute. Checked on
    every read, since TTL deletion lags by up to days.
``version`` (N)
    raised by one on every data write; conditional writes compare it.
``written`` (N)
    Unix epoch seconds of the last write, for ``touch_after``.
``created`` (N)
    Unix epoch seconds the session was created (or regenerated, at login),
    for ``max_age``. An item without it counts from ``written``.
``uid`` (S)
    with the ``user_key`` option: ``key_prefix`` + the user id as text (a
    keyed hash of it with ``encrypt``), while the session's data holds that
    key; the hash key of the ``uid-index``.
``issued`` (N)
    Unix epoch seconds this id was issued, for ``rotate_after``: the
    creation, or the last rotation (an item without it counts from
    ``created``).
``user_agent`` (S), ``ip`` (S)
    with ``record_client``: the browser's raw ``User-Agent`` (at most 256
    characters) and address when the session was first stored.
``write_id`` (S)
    random, new with every write of the request path: a write whose answer
    was lost, and whose retry then fails its condition, recognises itself by
    it instead of taking its own earlier success for another request's
    change.

An item whose session moved to a new id (``regenerate()``, rotation) is
retired, not deleted: it keeps its ``id``, ``version`` (raised) and
``write_id``, gains ``retired`` (N, when), loses ``data`` and ``uid``, and
``expires`` is the moment it was retired. It reads as missing; TTL or the
expired sweep removes it. That lets the write that retired it recognise its
own success when it has to be retried. A rotation also leaves ``next`` (B):
the new id, sealed with a key derived from the old id (:mod:`.rotation`),
and keeps the item until the end of ``rotation_grace``, so that a request
still holding the old id finds the session; only the old id opens it.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t

from . import serialization
from .codec import Codec
from .item_size import check_size

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from .options import Settings

logger = logging.getLogger(__name__)

Item = t.Mapping[str, "AttributeValueTypeDef"]
Values = dict[str, "AttributeValueTypeDef"]

#: A stored key is ``key_prefix`` followed by exactly this many lowercase hex
#: digits (the SHA-256 digest of the session id).
DIGEST_LENGTH = 64
#: The largest version a write that does not read it is sized for.
MAX_VERSION = 2**53

_ONE: AttributeValueTypeDef = {"N": "1"}


@dataclasses.dataclass(frozen=True)
class Record:
    """A session as the table holds it."""

    #: The session's contents.
    data: dict[str, t.Any]
    #: The version the data was read at.
    version: int
    #: Unix epoch seconds after which the session is gone.
    expires_at: int
    #: Unix epoch seconds of the last write.
    written_at: int
    #: The stored bytes ``data`` was decoded from.
    payload: bytes = dataclasses.field(repr=False, default=b"")
    #: Unix epoch seconds the session was created (``written_at`` for items
    #: written before sessions had a creation time).
    created_at: int = 0
    #: Unix epoch seconds its id was issued (``created_at`` if not recorded).
    issued_at: int = 0
    #: The browser's ``User-Agent`` when the session was first stored.
    user_agent: str | None = None
    #: The browser's address when the session was first stored.
    ip: str | None = None
    #: The id the session lives under now, when it was read through the id
    #: it was rotated from.
    moved_to: str | None = None
    #: With ``encrypt``: stored in clear, or sealed with an older key.
    outdated: bool = False


@dataclasses.dataclass(frozen=True)
class Update:
    """The parts of an ``UpdateItem`` of a session item."""

    expression: str
    names: dict[str, str]
    values: Values
    #: The condition it needs, if any (with its names and values above).
    condition: str | None = None


def at_version(version: int) -> str:
    """The condition of a write to an item still at version ``:v`` (an item
    written without a version, by hand or by another tool, is at 0)."""
    if version:
        return "#v = :v"
    return "attribute_exists(id) AND (attribute_not_exists(#v) OR #v = :v)"


class Layout:
    """Builds the items of one store's options, and reads them back.

    :param settings: the store's options (``key_prefix``, ``user_key``,
        ``max_age``).
    :param codec: how ``data`` and ``uid`` are stored (with ``encrypt``).
    """

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.codec = Codec(settings) if codec is None else codec
        self.table = settings.table
        self.key_prefix = settings.key_prefix
        self.user_key = settings.user_key
        self.max_age = settings.max_age

    def uid(self, data: t.Mapping[str, t.Any]) -> str | None:
        """The ``uid`` of a session's data: ``None`` if it holds no user id."""
        if self.user_key is None:
            return None
        user = data.get(self.user_key)
        if user is None or user == "":
            return None
        if isinstance(user, bool) or not isinstance(user, (str, int)):
            logger.warning(
                "the session key %r holds a %s, not a str or int user id; the"
                " session is not listed among the user's sessions",
                self.user_key,
                type(user).__name__,
            )
            return None
        return self.codec.uid(user)

    def expires_at(self, now: int, lifetime: int, created_at: int) -> int:
        """When a session written ``now`` expires: ``lifetime`` from now, but
        never past ``created_at + max_age``."""
        expires_at = now + lifetime
        if self.max_age is not None:
            expires_at = min(expires_at, created_at + self.max_age)
        return expires_at

    def new_item(
        self,
        key: str,
        payload: bytes,
        uid: str | None,
        now: int,
        expires_at: int,
        write_id: str,
        *,
        created_at: int | None = None,
        client: Client | None = None,
    ) -> dict[str, AttributeValueTypeDef]:
        """A new session's item, issued ``now``, at version 1.

        :param created_at: when the session was created, if before (a
            rotation keeps it).
        :param client: the browser's user agent and address, to record.
        """
        created = now if created_at is None else created_at
        extra = 0 if client is None else len(client.user_agent) + len(client.ip) + 12
        check_size(key, payload, expires_at, now, created, 1, uid=uid, extra=extra)
        item: dict[str, AttributeValueTypeDef] = {
            "id": {"S": key},
            "data": {"B": payload},
            "expires": {"N": str(expires_at)},
            "written": {"N": str(now)},
            "created": {"N": str(created)},
            "issued": {"N": str(now)},
            "version": {"N": "1"},
            "write_id": {"S": write_id},
        }
        if uid is not None:
            item["uid"] = {"S": uid}
        if client is not None:
            if client.user_agent:
                item["user_agent"] = {"S": client.user_agent}
            if client.ip:
                item["ip"] = {"S": client.ip}
        return item

    def update(
        self,
        payload: bytes,
        uid: str | None,
        now: int,
        expires_at: int,
        *,
        keep_created: bool = False,
        write_id: str | None = None,
    ) -> Update:
        """The update that writes a session's data and raises its version.

        :param keep_created: set ``created`` to ``now`` if the item has none
            (a write that replaces whatever is stored).
        :param write_id: the ``write_id`` of a conditional write.
        """
        names = {"#d": "data", "#e": "expires", "#w": "written", "#v": "version"}
        values: Values = {
            ":d": {"B": payload},
            ":e": {"N": str(expires_at)},
            ":w": {"N": str(now)},
            ":one": _ONE,
        }
        sets = ["#d = :d", "#e = :e", "#w = :w"]
        if write_id is not None:
            names["#i"] = "write_id"
            values[":i"] = {"S": write_id}
            sets.append("#i = :i")
        if keep_created:
            names["#c"] = "created"
            sets.append("#c = if_not_exists(#c, :w)")
        removes = ""
        if self.user_key is not None:
            names["#u"] = "uid"
            if uid is None:
                removes = " REMOVE #u"
            else:
                values[":u"] = {"S": uid}
                sets.append("#u = :u")
        expression = f"SET {', '.join(sets)}{removes} ADD #v :one"
        return Update(expression, names, values)

    def touch(self, now: int, expires_at: int) -> Update:
        """The update that pushes a session's expiry, and only that (so the
        user index is not written); it needs the session still there."""
        return Update(
            "SET #e = :e, #w = :w",
            {"#e": "expires", "#w": "written", "#d": "data"},
            {":e": {"N": str(expires_at)}, ":w": {"N": str(now)}},
            condition="attribute_exists(#d)",
        )

    def retirement(
        self,
        now: int,
        write_id: str,
        *,
        successor: bytes | None = None,
        until: int | None = None,
    ) -> Update:
        """The update that retires an item whose session moved to a new id.

        It raises the version (so that a request still holding the old id
        can no longer write), drops the data and the ``uid``, and marks the
        item expired ``now``, or, with a ``successor`` (the sealed new id of
        a rotation), at ``until``, the end of the grace.
        """
        names = {
            "#d": "data",
            "#e": "expires",
            "#w": "written",
            "#v": "version",
            "#i": "write_id",
            "#r": "retired",
        }
        values: Values = {
            ":w": {"N": str(now)},
            ":e": {"N": str(now if until is None else until)},
            ":i": {"S": write_id},
            ":one": _ONE,
        }
        sets = "#e = :e, #w = :w, #r = :w, #i = :i"
        if successor is not None:
            names["#n"] = "next"
            values[":n"] = {"B": successor}
            sets += ", #n = :n"
        removes = "#d"
        if self.user_key is not None:
            names["#u"] = "uid"
            removes = "#d, #u"
        expression = f"SET {sets} REMOVE {removes} ADD #v :one"
        return Update(expression, names, values)

    def successor(self, item: Item, now: float) -> bytes | None:
        """The sealed new id a rotated item leads to, while its grace lasts."""
        sealed = item.get("next")
        if sealed is None or "B" not in sealed:
            return None
        try:
            if int(item["expires"]["N"]) <= now:
                return None
        except (KeyError, ValueError):
            return None
        return bytes(sealed["B"])

    def expired(self, item: Item, now: float) -> bool:
        """Whether a stored session is past ``expires`` or ``max_age``."""
        try:
            expires_at = int(item["expires"]["N"])
            written_at = int(item.get("written", {"N": "0"})["N"])
            created_at = int(item.get("created", {"N": str(written_at)})["N"])
        except (KeyError, ValueError):
            return False  # malformed: :meth:`record` says so
        if expires_at <= now:
            return True
        return self.max_age is not None and created_at + self.max_age <= now

    def record(self, item: Item, now: float) -> Record | None:
        """The session an item holds; ``None`` if expired, retired, too old or
        corrupt."""
        if retired(item):
            logger.debug("the session moved to a new id")
            return None
        try:
            expires_at = int(item["expires"]["N"])
            version = int(item.get("version", {"N": "0"})["N"])
            written_at = int(item.get("written", {"N": "0"})["N"])
            created_at = int(item.get("created", {"N": str(written_at)})["N"])
            payload = item["data"]["B"]
        except (KeyError, ValueError) as exc:
            logger.warning(
                "ignoring a malformed session item in %s: %r", self.table, exc
            )
            return None
        if expires_at <= now:
            logger.debug("the session has expired")
            return None
        if self.max_age is not None and created_at + self.max_age <= now:
            logger.debug("the session has passed its max_age")
            return None
        try:
            payload, current = self.codec.open(_text(item, "id") or "", bytes(payload))
            data = serialization.decode(payload)
        except serialization.DecodeError as exc:
            logger.warning(
                "ignoring undecodable session data in %s: %s", self.table, exc
            )
            return None
        issued_at = int(item.get("issued", {"N": str(created_at)})["N"])
        return Record(
            data,
            version,
            expires_at,
            written_at,
            payload,
            created_at,
            issued_at,
            _text(item, "user_agent"),
            _text(item, "ip"),
            outdated=not current,
        )


@dataclasses.dataclass(frozen=True)
class Client:
    """What ``record_client`` keeps of the browser that first stored a session."""

    #: The raw ``User-Agent`` header, cut to :data:`MAX_USER_AGENT` characters.
    user_agent: str
    #: The address the request came from (``request.remote_addr``).
    ip: str


#: The most characters of a ``User-Agent`` that are stored.
MAX_USER_AGENT = 256


def retired(item: Item) -> bool:
    """Whether an item is retired: its session moved to a new id."""
    return "retired" in item or ("data" not in item and "write_id" in item)


def _text(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else value.get("S")


def write_id_of(item: Item | None) -> str | None:
    """The ``write_id`` of a stored item, if any."""
    if item is None:
        return None
    value = item.get("write_id")
    return None if value is None else value.get("S")
