"""The size of a session item by DynamoDB's rules, checked before any write."""

from __future__ import annotations

from .exceptions import SessionTooLarge

#: DynamoDB's item size limit, in bytes.
MAX_ITEM_SIZE = 400 * 1024
#: Attribute names of every item, counted in its size.
_NAMES_SIZE = sum(
    map(
        len,
        ("id", "data", "expires", "written", "version", "created", "write_id"),
    )
)
#: Characters of a ``write_id``.
WRITE_ID_SIZE = 16
#: Bytes of the ``issued`` attribute (name and an epoch-seconds value).
_ISSUED_SIZE = len("issued") + 7


def number_size(value: int) -> int:
    """Bytes DynamoDB counts for a number, rounded up.

    One byte per two significant digits plus one; DynamoDB's storage format
    can take one byte more, depending on the exponent, so that is counted too.
    """
    digits = str(abs(value)).rstrip("0") or "0"
    return (len(digits) + 1) // 2 + 2 + (value < 0)


def item_size(key: str, payload: bytes, *numbers: int, uid: str | None = None) -> int:
    """Size of a session item by DynamoDB's rules: names plus values, in bytes."""
    size = _NAMES_SIZE + WRITE_ID_SIZE + _ISSUED_SIZE
    size += len(key.encode("utf-8")) + len(payload)
    if uid is not None:
        size += len("uid") + len(uid.encode("utf-8"))
    return size + sum(number_size(number) for number in numbers)


def check_size(
    key: str, payload: bytes, *numbers: int, uid: str | None = None, extra: int = 0
) -> None:
    """:raises SessionTooLarge: the item would pass DynamoDB's 400 KB.

    :param extra: bytes of other attributes, names included.
    """
    size = item_size(key, payload, *numbers, uid=uid) + extra
    if size > MAX_ITEM_SIZE:
        raise SessionTooLarge(size, MAX_ITEM_SIZE)
