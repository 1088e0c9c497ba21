"""The rows of the "Your devices" page, from the sessions the store lists.

With the ``record_client`` option the package stores, when a session is
first stored (at login), the browser's raw ``User-Agent`` header and its
address. :func:`describe_device` turns the header into a short name, only
to show it: ``"Firefox on Linux"``; :func:`ago` says how long ago the
session was last used: ``"2 minutes ago"``.
"""

from __future__ import annotations

import dataclasses
import typing as t
from datetime import datetime

from .audit import short_handle

if t.TYPE_CHECKING:
    from flask_dynamodb_session import UserSession

__all__ = ["UNKNOWN_BROWSER", "Device", "ago", "describe_device"]

UNKNOWN_BROWSER = "Unknown browser"
#: Browsers by a token of their User-Agent, most specific first: Edge and
#: Opera also say "Chrome", Chrome (and HeadlessChrome) also says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("OPiOS/", "Opera"),
    ("Opera", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
#: Operating systems by a token of the User-Agent, most specific first:
#: iPhones say "like Mac OS X", Android and ChromeOS say "Linux".
SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("iPod", "iOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
#: Seconds within which a last visit is "just now".
RECENT = 10
#: Units of :func:`ago`, largest first.
UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def describe_device(user_agent: str | None) -> str:
    """A short name for the browser and system a User-Agent header names:
    ``"Firefox on Linux"``, ``"Safari on iOS"``, ``"Unknown browser"``.

    Made for display only: a User-Agent says what the browser chooses to say.

    :param user_agent: the header as the browser sent it, or ``None``.
    """
    text = user_agent or ""
    browser = next((name for token, name in BROWSERS if token in text), None)
    system = next((name for token, name in SYSTEMS if token in text), None)
    name = browser or UNKNOWN_BROWSER
    return f"{name} on {system}" if system else name


def ago(moment: datetime, now: datetime) -> str:
    """How long before ``now`` a moment was: ``"just now"``,
    ``"2 minutes ago"``, ``"1 day ago"``."""
    seconds = int((now - moment).total_seconds())
    if seconds < RECENT:
        return "just now"
    for unit, size in UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


@dataclasses.dataclass(frozen=True)
class Device:
    """One session of the user, as a row of the devices page."""

    #: What the store deletes it by (never the session id).
    handle: str
    #: ``"Firefox on Linux"``.
    name: str
    #: The address it logged in from, ``None`` if not recorded.
    ip: str | None
    #: When the user logged in there.
    signed_in_at: datetime
    #: When the session was last written.
    last_seen: datetime
    #: When the session ends unless used again.
    expires_at: datetime
    #: Whether it is the session of the browser asking.
    current: bool

    @property
    def short_handle(self) -> str:
        """The end of the handle, as the activity list shows it."""
        return short_handle(self.handle)

    @classmethod
    def of(cls, user_session: UserSession) -> Device:
        """The row for one of the sessions ``store.sessions_of`` lists."""
        return cls(
            handle=user_session.handle,
            name=describe_device(user_session.user_agent),
            ip=user_session.ip,
            signed_in_at=user_session.created_at,
            last_seen=user_session.last_seen,
            expires_at=user_session.expires_at,
            current=user_session.current,
        )
