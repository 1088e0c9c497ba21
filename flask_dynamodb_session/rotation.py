"""Sealing a rotated session's new id so that only its old id opens it.

A rotation retires the old item with the new id in it, for the grace during
which another tab's request may still carry the old id. The table must never
hold a usable session id, so the new id is stored XOR-ed with a pad derived
from the old id by HMAC-SHA256: the table holds only the old id's SHA-256
(its key), from which the pad cannot be derived. Each old id seals exactly
one new id, so the pad is never reused.
"""

from __future__ import annotations

import base64
import hmac

_LABEL = b"flask-dynamodb-session successor"


def _pad(old_sid: str) -> bytes:
    return hmac.digest(old_sid.encode("ascii"), _LABEL, "sha256")


def seal(old_sid: str, new_sid: str) -> bytes:
    """The new id, sealed with a pad of the old id (32 bytes)."""
    raw = base64.urlsafe_b64decode(new_sid + "=")
    return bytes(a ^ b for a, b in zip(raw, _pad(old_sid), strict=True))


def unseal(old_sid: str, sealed: bytes) -> str | None:
    """The new id a sealed value holds, or ``None`` if it holds none."""
    if len(sealed) != 32:
        return None
    raw = bytes(a ^ b for a, b in zip(sealed, _pad(old_sid), strict=True))
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
