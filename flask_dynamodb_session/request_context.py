"""What the interface reads from, and does to, the current request.

The session a request opened (kept on ``request.environ``, for the end of a
failed request), the browser that made it (for ``record_client``), the
sender of the lifecycle signals, the app's secret keys (for encryption at
rest), and the 503 that replaces a response whose session could not be
saved.
"""

from __future__ import annotations

import typing as t

from flask import current_app, has_request_context
from flask import request as current_request

from .cookies import fallback_keys
from .layout import MAX_USER_AGENT, Client
from .session import ServerSideSession

if t.TYPE_CHECKING:
    import weakref

    from flask import Flask, Response

    from .exceptions import SessionBackendError
    from .store import SessionStore

#: The WSGI environ key under which the interface leaves the session it
#: opened, for the end of a failed request.
ENVIRON_KEY = "flask_dynamodb_session.session"


def replace_with_error(response: Response, error: SessionBackendError) -> None:
    """Turn a response into the 503 of ``error``, from clean headers.

    Nothing of the response it replaces survives: no cookie, no
    ``Content-Encoding``, ``ETag``, ``Cache-Control`` or
    ``Content-Disposition``; the page is :class:`.SessionBackendError`'s
    generic one and is not cacheable.
    """
    response.headers.clear()
    response.status_code = error.code or 503
    response.direct_passthrough = False
    response.set_data(error.get_body())
    for name, value in error.get_headers():
        response.headers[name] = value


def block_save_on_error(
    sender: object, exception: BaseException, **extra: t.Any
) -> None:
    """A request that ended in an unhandled exception saves nothing.

    Connected to ``got_request_exception`` for each app an interface serves.
    Only the session :meth:`DynamoDBSessionInterface.open_session` opened for
    this request is blocked: a null session, or one another session interface
    opened, is left alone.
    """
    if not has_request_context():
        return
    session = current_request.environ.get(ENVIRON_KEY)
    if isinstance(session, ServerSideSession):
        session.block_save()


def signal_sender(
    app: weakref.ref[Flask], store: SessionStore
) -> t.Callable[[], object]:
    """The sender of a store's lifecycle signals: the app inside one of its
    requests, else the store."""

    def sender() -> object:
        if has_request_context():
            current = current_app._get_current_object()  # type: ignore[attr-defined]
            if current is app():
                return current
        return store

    return sender


def secret_keys_of(app: weakref.ref[Flask]) -> t.Callable[[], tuple[t.Any, ...]]:
    """The app's ``SECRET_KEY``, then each of its ``SECRET_KEY_FALLBACKS``,
    read anew on each call (none once the app is gone, or without a key).

    :raises ConfigurationError: ``SECRET_KEY_FALLBACKS`` is a single string.
    """

    def secret_keys() -> tuple[t.Any, ...]:
        current = app()
        if current is None:
            return ()
        config = current.config
        secret_key = config.get("SECRET_KEY")
        if not secret_key:
            return ()
        if not config.get("SECRET_KEY_FALLBACKS"):  # the usual case, read per call
            return (secret_key,)
        return (secret_key, *(key for key in fallback_keys(current) if key))

    return secret_keys


def client_of_request() -> Client:
    """The browser of the current request, as ``record_client`` stores it."""
    agent = current_request.headers.get("User-Agent", "")
    return Client(agent[:MAX_USER_AGENT], current_request.remote_addr or "")
