"""Server-side Flask sessions stored in Amazon DynamoDB."""

from __future__ import annotations

from ._version import __version__
from .exceptions import (
    ConfigurationError,
    SessionBackendError,
    SessionError,
    SessionTooLarge,
)
from .extension import DynamoDBSession
from .interface import DynamoDBSessionInterface
from .session import ServerSideSession
from .signals import (
    dynamodb_called,
    session_created,
    session_ended,
    session_rotated,
)
from .store import SessionStore
from .users import UserSession

__all__ = [
    "ConfigurationError",
    "DynamoDBSession",
    "DynamoDBSessionInterface",
    "ServerSideSession",
    "SessionBackendError",
    "SessionError",
    "SessionStore",
    "SessionTooLarge",
    "UserSession",
    "__version__",
    "dynamodb_called",
    "session_created",
    "session_ended",
    "session_rotated",
]
