"""The warning about ``SESSION_*`` config keys that nothing reads.

A misspelt key (``SESSION_DYNAMODB_TABEL``) or one of Flask-Session's
(``SESSION_TYPE``, ``SESSION_KEY_PREFIX``) would otherwise be ignored in
silence. :func:`warn_unknown_keys` names every such key of an app in one
:class:`UserWarning`, once per app, with the closest known key or what
replaces a Flask-Session key.
"""

from __future__ import annotations

import difflib
import typing as t
import warnings
import weakref

from .options import CONFIG_KEYS

if t.TYPE_CHECKING:
    from flask import Flask

#: Flask's own session keys (older Flask versions lack some of them).
FLASK_KEYS = frozenset(
    {
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_DOMAIN",
        "SESSION_COOKIE_PATH",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_SAMESITE",
        "SESSION_COOKIE_PARTITIONED",
        "SESSION_REFRESH_EACH_REQUEST",
    }
)

#: Flask-Session's keys, and what to do instead of each.
FLASK_SESSION_KEYS = {
    "SESSION_TYPE": "not needed, the session interface is this package's",
    "SESSION_KEY_PREFIX": "use SESSION_DYNAMODB_KEY_PREFIX",
    "SESSION_DYNAMODB": "use SESSION_DYNAMODB_CLIENT with a low-level client,"
    " such as resource.meta.client",
    "SESSION_PERMANENT": "set session.permanent = True in a view,"
    " for PERMANENT_SESSION_LIFETIME",
    "SESSION_USE_SIGNER": "not needed, the session cookie is always signed"
    " with SECRET_KEY",
    "SESSION_ID_LENGTH": "not needed, session ids are always 256 random bits",
    "SESSION_SERIALIZATION_FORMAT": "not needed, sessions are stored as JSON",
    "SESSION_CLEANUP_N_REQUESTS": "not needed, DynamoDB's TTL deletes expired"
    " sessions (or run `flask dynamo-session delete-expired`)",
}

#: The beginnings of Flask-Session's keys for its other backends.
OTHER_BACKENDS = (
    "SESSION_REDIS",
    "SESSION_MEMCACHED",
    "SESSION_CACHELIB",
    "SESSION_FILE_",
    "SESSION_MONGODB",
    "SESSION_SQLALCHEMY",
)

#: The apps warned about already, whichever interface serves them.
_warned: weakref.WeakSet[Flask] = weakref.WeakSet()


def warn_unknown_keys(app: Flask) -> None:
    """Warn once per app about its ``SESSION_*`` keys that nothing reads."""
    if app in _warned:
        return
    _warned.add(app)
    message = describe_unknown_keys(app.config, app.default_config)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=2)


def describe_unknown_keys(
    config: t.Mapping[str, t.Any], flask_defaults: t.Mapping[str, t.Any]
) -> str | None:
    """The warning about the unknown ``SESSION_*`` keys of ``config``, if any.

    :param config: the app's config.
    :param flask_defaults: Flask's default config, whose keys are known.
    """
    known = {*FLASK_KEYS, *CONFIG_KEYS.values()}
    known.update(key for key in flask_defaults if key.startswith("SESSION_"))
    unknown = sorted(
        key for key in config if key.startswith("SESSION_") and key not in known
    )
    if not unknown:
        return None
    described = "; ".join(_describe(key, known) for key in unknown)
    return f"flask-dynamodb-session ignores these config keys: {described}"


def _describe(key: str, known: t.Collection[str]) -> str:
    if key in FLASK_SESSION_KEYS:
        return f"{key} (Flask-Session's: {FLASK_SESSION_KEYS[key]})"
    if key.startswith(OTHER_BACKENDS):
        return f"{key} (Flask-Session's, for another backend)"
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
    if close:
        return f"{key} (did you mean {close[0]}?)"
    return key
