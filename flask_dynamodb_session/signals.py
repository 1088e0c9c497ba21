"""The package's signal: every DynamoDB call of the request path, observed.

botocore's event hooks (and the tracing libraries that patch them) see only
calls made through boto3. This signal is sent whatever the transport, so
metrics and tracing work the same on both.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent after every ``GetItem``, ``PutItem``, ``UpdateItem`` and
#: ``DeleteItem`` the session store makes (requests, and ``interface.store``'s
#: ``get``, ``set`` and ``delete``), whether it succeeded or failed. The
#: sender is the :class:`~.store.SessionStore`; the keyword arguments are
#: ``operation`` (``"GetItem"``...), ``table`` (the table name), ``duration``
#: (seconds, a float, retries included), ``attempts`` (how many times the call
#: was sent) and ``error`` (the DynamoDB error code, the name of the
#: connection error, or ``None``). Without receivers it costs nothing
#: measurable.
dynamodb_called = _signals.signal("dynamodb-called")

#: Sent once a new session was first stored. Keyword arguments: ``handle``
#: (the session's stored key, never its id) and ``user_id`` (the id under the
#: ``user_key`` option, when set and known, else ``None``). The sender is the
#: Flask app inside a request, else the store whose method was called.
session_created = _signals.signal("session-created")
#: Sent once a session moved to a new id (``regenerate()``, or rotation
#: under ``rotate_after``), after the write. Keyword arguments as
#: :data:`session_created`, plus ``old_handle``.
session_rotated = _signals.signal("session-rotated")
#: Sent once a session ended, after the write. Keyword arguments as
#: :data:`session_created`, plus ``reason``: ``"logout"`` (the app cleared
#: it), ``"revoked"`` (``revoke``, ``revoke_user``, ``delete``), ``"evicted"``
#: (the ``max_sessions`` limit), ``"expired"`` (a read refused it as expired
#: or past ``max_age`` and deleted it, ``delete_expired`` removed it, or the
#: table's TTL did, as :func:`.streams.report_expired` reports).
session_ended = _signals.signal("session-ended")
