"""The rows of the "Your devices" page, from the sessions the store lists.

At login the app keeps the browser's ``User-Agent`` header and the time in
the session (``user_agent``, ``signed_in_at``); :func:`describe_device` turns
the header into a short name such as ``"Chrome on Linux"``.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from datetime import datetime, timezone

if t.TYPE_CHECKING:
    from flask_dynamodb_session import UserSession

__all__ = ["Device", "describe_device"]

#: Browsers by a token of their User-Agent, most specific first: Edge and
#: Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("HeadlessChrome/", "Headless Chrome"),
    ("Chromium/", "Chromium"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
#: Operating systems by a token of the User-Agent: iPhones say "like Mac OS
#: X", Android says "Linux".
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
#: The first product token of a User-Agent that no rule above names
#: (``curl/8.5.0`` -> ``curl``).
PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,29}")


def describe_device(user_agent: str | None) -> str:
    """A short name for the browser and system a User-Agent header names.

    ``"Chrome on Linux"``, ``"Safari on iPhone"``; the first product token
    for anything else (``"curl"``); ``"Unknown device"`` for nothing.

    :param user_agent: the header as the browser sent it, or ``None``.
    """
    if not user_agent:
        return "Unknown device"
    browser = next((name for token, name in BROWSERS if token in user_agent), None)
    system = next((name for token, name in SYSTEMS if token in user_agent), None)
    if browser is None:
        match = PRODUCT.match(user_agent.strip())
        browser = match.group(0) if match else "Unknown browser"
    return f"{browser} on {system}" if system else browser


def _epoch_datetime(value: object) -> datetime | None:
    """An epoch-seconds int kept in the session as an aware UTC datetime."""
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return None


@dataclasses.dataclass(frozen=True)
class Device:
    """One session of the user, as a row of the devices page."""

    #: What the store deletes it by (never the session id).
    handle: str
    #: ``"Chrome on Linux"``.
    name: str
    #: When the user logged in there.
    signed_in_at: datetime
    #: When the session was last written.
    last_seen: datetime
    #: When the session ends unless used again.
    expires_at: datetime
    #: Whether it is the session of the browser asking.
    current: bool

    @classmethod
    def of(cls, user_session: UserSession) -> Device:
        """The row for one of the sessions ``store.sessions_of`` lists."""
        data = user_session.data
        user_agent = data.get("user_agent")
        return cls(
            handle=user_session.handle,
            name=describe_device(user_agent if isinstance(user_agent, str) else None),
            signed_in_at=_epoch_datetime(data.get("signed_in_at"))
            or user_session.created_at,
            last_seen=user_session.last_seen,
            expires_at=user_session.expires_at,
            current=user_session.current,
        )
