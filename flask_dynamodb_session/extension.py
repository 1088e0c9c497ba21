"""The extension form: ``DynamoDBSession(app)`` or ``ext.init_app(app)``."""

from __future__ import annotations

import typing as t

from .cli import dynamo_session
from .interface import DynamoDBSessionInterface

if t.TYPE_CHECKING:
    from flask import Flask

#: The key of ``app.extensions`` the extension registers under.
EXTENSION_KEY = "dynamodb_session"


class DynamoDBSession:
    """Store an app's sessions in DynamoDB.

    ``init_app`` reads and checks every ``SESSION_DYNAMODB_*`` config key at
    once (a keyword option given here wins over its key; the keys are listed
    in :doc:`/configuration`) and ``SECRET_KEY``, which it requires, and
    raises :class:`~.exceptions.ConfigurationError` naming the first bad one.
    Flask's own keys (``SECRET_KEY_FALLBACKS``, ``SESSION_COOKIE_*``,
    ``SESSION_REFRESH_EACH_REQUEST``, ``PERMANENT_SESSION_LIFETIME``) keep
    their meaning.

    Any other ``SESSION_*`` key (a misspelt one, or Flask-Session's) is
    named in one :class:`UserWarning`, with the key it resembles.

    It then sets ``app.session_interface``, registers
    ``app.extensions["dynamodb_session"]`` (the interface) and adds the
    ``flask dynamo-session`` command group. No DynamoDB call is made.

    :param app: the app to set up now, if any.
    :param options: keyword options for :class:`.DynamoDBSessionInterface`.
    """

    def __init__(self, app: Flask | None = None, **options: t.Any) -> None:
        #: The interface every app set up by this extension uses.
        self.interface = DynamoDBSessionInterface(**options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Check the config and install the session interface on ``app``.

        :raises RuntimeError: the extension is already registered on ``app``.
        :raises ConfigurationError: a config key has a bad value.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-dynamodb-session is already registered on this app; call"
                " init_app once per app"
            )
        # Reads and checks every option, then SECRET_KEY.
        self.interface.get_signer(app)
        app.session_interface = self.interface
        app.extensions[EXTENSION_KEY] = self.interface
        if "dynamo-session" not in app.cli.commands:
            app.cli.add_command(dynamo_session)
