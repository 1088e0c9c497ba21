"""The exceptions raised by the package, all under :class:`SessionError`."""

from __future__ import annotations

import typing as t
from typing import Any

from markupsafe import escape
from werkzeug.exceptions import ServiceUnavailable

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from botocore.exceptions import ClientError


class SessionError(Exception):
    """Base class of every error this package raises."""


class SessionBackendError(SessionError, ServiceUnavailable):
    """DynamoDB could not be reached, or refused the call, after botocore's retries.

    It is also a :class:`~werkzeug.exceptions.ServiceUnavailable`, so an
    unhandled one becomes a ``503 Service Unavailable`` response carrying a
    ``Retry-After`` header and ``Cache-Control: no-store``. The response body
    is a generic message: what failed (the operation, the table, the error
    code) is in ``str(error)`` and the log, never in the page a browser sees.

    :param message: what failed, without any session id.
    :param operation: the DynamoDB operation that failed, if any.
    :param retry_after: seconds a client should wait before retrying.
    """

    #: The description of the 503 page: says nothing about the backend.
    public_description = (
        "The session service is temporarily unavailable. Please try again in a moment."
    )
    #: Seconds sent in the ``Retry-After`` header of the 503 response.
    retry_after: int

    def __init__(
        self, message: str, *, operation: str | None = None, retry_after: int = 1
    ) -> None:
        SessionError.__init__(self, message)
        ServiceUnavailable.__init__(self, description=message, retry_after=retry_after)
        self.operation = operation
        self.retry_after = retry_after

    def __str__(self) -> str:
        return str(self.description)

    def get_description(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, Any] | None = None,
    ) -> str:
        """The page's text: :attr:`public_description`, never the details."""
        return f"<p>{escape(self.public_description)}</p>"

    def get_headers(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, Any] | None = None,
    ) -> list[tuple[str, str]]:
        """Content type, ``Retry-After`` and ``Cache-Control: no-store``."""
        return [*super().get_headers(environ, scope), ("Cache-Control", "no-store")]


class SessionTooLarge(SessionError):
    """The session is too large to store; raised before any write.

    Either its item would pass DynamoDB's 400 KB item size limit (counted
    after compression), or its data, serialized, would pass the 16 MiB the
    package ever inflates when reading a session back.

    :param size: the size in bytes: of the item by DynamoDB's sizing rules, or
        of the serialized data.
    :param limit: the largest size allowed.
    :param what: what was measured, for the message.
    """

    def __init__(
        self, size: int, limit: int, *, what: str = "DynamoDB's item size limit"
    ) -> None:
        super().__init__(
            f"the session would take {size} bytes, over {what} of {limit} bytes;"
            " store less in the session"
        )
        self.size = size
        self.limit = limit


class ConfigurationError(SessionError, ValueError):
    """An option or config key has a value that cannot be used.

    :param key: the config key (for example ``"SESSION_DYNAMODB_TTL"``).
    :param value: the value that was rejected.
    :param reason: what a valid value looks like.
    :param shown: whether the message ends with the value (``, got ...``);
        not when the value is missing or says nothing, or is a secret.
    """

    def __init__(
        self, key: str, value: Any, reason: str, *, shown: bool = True
    ) -> None:
        super().__init__(
            f"{key} {reason}, got {value!r}" if shown else f"{key} {reason}"
        )
        self.key = key
        self.value = value


def error_code(exc: ClientError) -> str:
    """The ``Error.Code`` of a botocore ``ClientError`` (``""`` if it has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))
