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
