"""A small shop whose sessions live in DynamoDB: the package's example app.

It shows what a Flask app gets from server-side sessions: a login that gives
the session a new id (:meth:`~flask_dynamodb_session.ServerSideSession.regenerate`),
a logout that deletes the stored session and the cookie (``session.clear()``),
a cart changed in place (``session["cart"].append(...)``, no
``session.modified``), flash messages, a "remember me" permanent session, a
page that reads the session's expiry back from the table, and a "Your
devices" page that lists the user's sessions (the ``user_key`` option and
its index) with the browser and address each logged in from
(``record_client``), logs out one of them, every other one, or all, and
shows what happened to them lately (the lifecycle signals, in
:mod:`example_app.audit`). A user keeps at most 3 sessions
(``max_sessions``: a fourth login logs out the least recently active
device), and a session moves to a new id every 15 minutes
(``rotate_after``).

The same sessions also serve a JSON API, mounted at ``/api``
(:mod:`example_app.api`), whose clients carry the session id in the
``X-Session-Id`` header instead of a cookie (the ``id_header`` option); the
"API demo" page's script uses it.

Run it with ``python -m example_app``: with no DynamoDB configured it starts
an embedded one (see :mod:`example_app.__main__`).
"""

from __future__ import annotations

import logging
import os
import secrets
import typing as t
from datetime import timedelta

from flask import Flask

from flask_dynamodb_session import DynamoDBSession

from . import api, audit, views

__all__ = ["DEFAULTS", "ENV_KEYS", "LIST_KEYS", "config_from_env", "create_app"]

logger = logging.getLogger(__name__)

#: The app's own defaults; ``create_app(config)`` and the environment win.
DEFAULTS: dict[str, t.Any] = {
    # "Remember me" keeps the session (cookie and stored item) for 30 days.
    "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
    # The forms post without a CSRF token: a Lax cookie is not sent with a
    # POST from another site.
    "SESSION_COOKIE_SAMESITE": "Lax",
    # The session key the login puts the user name under: the package keeps
    # an index of sessions by it, which the devices page lists.
    "SESSION_DYNAMODB_USER_KEY": "user",
    # "Limit 3 devices": a login that would make a fourth session of the user
    # logs out the least recently active one.
    "SESSION_DYNAMODB_MAX_SESSIONS": 3,
    # A session moves to a new id every 15 minutes of use; a request still
    # carrying the old id (another tab) is served for 30 s more.
    "SESSION_DYNAMODB_ROTATE_AFTER": 900,
    "SESSION_DYNAMODB_ROTATION_GRACE": 30,
    # Keep the browser's User-Agent and address at login, for the devices page.
    "SESSION_DYNAMODB_RECORD_CLIENT": True,
}

#: Config keys taken from environment variables of the same name: every
#: option that can be given as text (not ``SESSION_DYNAMODB_CLIENT``,
#: ``_BOTO3_SESSION`` or ``_BOTOCORE_CONFIG``, which are objects, nor
#: ``SESSION_DYNAMODB_ID_HEADER``: the shop's pages use the cookie, and its API
#: sets the header itself). The values stay strings, the package parses
#: numbers and flags itself, except the keys of :data:`LIST_KEYS`.
ENV_KEYS = (
    "SECRET_KEY",
    "SESSION_DYNAMODB_TABLE",
    "SESSION_DYNAMODB_REGION",
    "SESSION_DYNAMODB_ENDPOINT_URL",
    "SESSION_DYNAMODB_TTL",
    "SESSION_DYNAMODB_TOUCH_AFTER",
    "SESSION_DYNAMODB_MAX_AGE",
    "SESSION_DYNAMODB_CONSISTENT_READ",
    "SESSION_DYNAMODB_AUTO_CREATE",
    "SESSION_DYNAMODB_READ_CAPACITY",
    "SESSION_DYNAMODB_WRITE_CAPACITY",
    "SESSION_DYNAMODB_BILLING_MODE",
    "SESSION_DYNAMODB_KEY_PREFIX",
    "SESSION_DYNAMODB_TRANSPORT",
    "SESSION_DYNAMODB_USER_KEY",
    "SESSION_DYNAMODB_MAX_SESSIONS",
    "SESSION_DYNAMODB_ROTATE_AFTER",
    "SESSION_DYNAMODB_ROTATION_GRACE",
    "SESSION_DYNAMODB_RECORD_CLIENT",
    "SESSION_DYNAMODB_ENCRYPT",
    "SESSION_DYNAMODB_ENCRYPTION_KEYS",
)

#: Config keys whose value is a list: in the environment, its items
#: separated by commas (``SESSION_DYNAMODB_ENCRYPTION_KEYS=key1,key2``).
LIST_KEYS = frozenset({"SESSION_DYNAMODB_ENCRYPTION_KEYS"})


def config_from_env(environ: t.Mapping[str, str]) -> dict[str, t.Any]:
    """The config keys of :data:`ENV_KEYS` that are set in ``environ``.

    :param environ: usually :data:`os.environ`.
    """
    config: dict[str, t.Any] = {}
    for key in ENV_KEYS:
        value = environ.get(key)
        if not value:
            continue
        if key in LIST_KEYS:
            config[key] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            config[key] = value
    return config


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the example app, with its API mounted at ``/api``.

    Config comes from :data:`DEFAULTS`, then the environment
    (:data:`ENV_KEYS`), then ``config``. Without a ``SECRET_KEY`` a random
    one is made, which lasts as long as the process.

    :param config: config keys that win over everything else, for example
        ``SESSION_DYNAMODB_CLIENT`` in tests.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(config_from_env(os.environ))
    if config is not None:
        app.config.from_mapping(config)
    if not app.config.get("SECRET_KEY"):
        logger.warning(
            "SECRET_KEY is not set: using a random key, so session cookies"
            " stop working when this process ends (and each worker of a"
            " multi-process server would have its own key)"
        )
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    DynamoDBSession(app)
    audit.connect(app)
    app.register_blueprint(views.bp)
    api.mount(app)
    return app
