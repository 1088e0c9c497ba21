"""The cookie's value: a signed session id, and the version last written.

The browser holds ``<id>[.<version>].<signature>``: the id is 43 URL-safe
characters (256 random bits); with ``consistent_read="auto"`` the version
this browser last wrote follows it, so that a stale eventually consistent
read can be told. The whole is signed with itsdangerous (HMAC-SHA256 of a
key derived from ``SECRET_KEY``, with this package's salt); a value signed
with a key of ``SECRET_KEY_FALLBACKS`` is still accepted.
"""

from __future__ import annotations

import hashlib
import logging
import re
import typing as t

from itsdangerous import BadSignature, Signer

from .exceptions import ConfigurationError

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.sessions import SessionInterface

logger = logging.getLogger(__name__)

#: Signed cookie values hold an id of this form: 43 URL-safe characters.
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
#: A signed cookie value: the id, and the version this browser last wrote
#: (written with ``consistent_read="auto"``, read whatever the option).
COOKIE_PATTERN = re.compile(rf"({SID_PATTERN.pattern})(?:\.([1-9][0-9]{{0,15}}))?")


def fallback_keys(app: Flask) -> tuple[t.Any, ...]:
    """The app's ``SECRET_KEY_FALLBACKS``, checked.

    :raises ConfigurationError: it is a single string, not a list of keys.
    """
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
    if isinstance(fallbacks, (str, bytes)):
        raise ConfigurationError(
            "SECRET_KEY_FALLBACKS",
            None,
            "must be a list of old keys, not a single string",
            shown=False,
        )
    return tuple(fallbacks)


class CookieSigner:
    """Signs and reads the cookie values of one app.

    The itsdangerous signer is built once and rebuilt only when the app's
    keys change.

    :param salt: the salt of the signature, so that it means nothing
        elsewhere.
    """

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self._signer: Signer | None = None
        self._keys: tuple[t.Any, ...] = ()

    def signer(self, app: Flask) -> Signer:
        """The signer of ``SECRET_KEY``, accepting ``SECRET_KEY_FALLBACKS`` too.

        :raises ConfigurationError: ``SECRET_KEY`` is not set, or
            ``SECRET_KEY_FALLBACKS`` is not a list of keys.
        """
        if not app.secret_key:
            raise ConfigurationError(
                "SECRET_KEY", None, "must be set to sign session cookies", shown=False
            )
        keys = (*fallback_keys(app), app.secret_key)
        if self._signer is None or keys != self._keys:
            self._signer = Signer(
                list(keys),
                salt=self.salt,
                key_derivation="hmac",
                digest_method=hashlib.sha256,
            )
            self._keys = keys
        return self._signer

    def read(self, app: Flask, value: str | None) -> tuple[str | None, int]:
        """The session id and version a cookie value carries.

        :return: ``(None, 0)`` for a missing, unsigned, tampered or malformed
            value: the request gets a new session.
        :raises ConfigurationError: the app's keys are unusable.
        """
        signer = self.signer(app)  # a bad key is an error even without a cookie
        if not value:
            return None, 0
        try:
            payload = signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            logger.debug("ignoring a session cookie with a bad signature")
            return None, 0
        match = COOKIE_PATTERN.fullmatch(payload)
        if match is None:
            return None, 0
        return match[1], int(match[2] or 0)

    def write(self, app: Flask, sid: str, version: int | None = None) -> str:
        """The signed cookie value of ``sid`` (and ``version``, if given)."""
        payload = sid if version is None else f"{sid}.{version}"
        return self.signer(app).sign(payload).decode("ascii")


def cookie_options(interface: SessionInterface, app: Flask) -> dict[str, t.Any]:
    """The attributes of the session cookie, from Flask's config as the
    interface's ``get_cookie_*`` methods read it."""
    options: dict[str, t.Any] = {
        "domain": interface.get_cookie_domain(app),
        "path": interface.get_cookie_path(app),
        "secure": interface.get_cookie_secure(app),
        "samesite": interface.get_cookie_samesite(app),
        "httponly": interface.get_cookie_httponly(app),
    }
    partitioned = getattr(interface, "get_cookie_partitioned", None)
    if partitioned is not None and partitioned(app):
        options["partitioned"] = True
    return options
