"""The lean transport: DynamoDB's four item calls as signed HTTP of our own.

A boto3 call costs about 1 ms of client CPU, more than all of Flask's work on
a request; this subsystem sends ``GetItem``, ``PutItem``, ``UpdateItem`` and
``DeleteItem`` for a fraction of that, answering exactly as boto3 does. It
imports nothing else of the package. Its parts:

:mod:`.client`
    :class:`LeanClient`, the item calls with botocore's retry rules, and
    :func:`lean_client_for`, which builds one from a boto3 client or says
    why it cannot.
:mod:`.answers`
    the fast path of a successful answer, and the ``x-amz-crc32`` check.
:mod:`.call_hooks`
    what on a boto3 client the lean transport would bypass.
:mod:`.client_settings`
    what a lean client takes from a boto3 client (credentials, endpoint,
    TLS, timeouts, retries), or the reason it must step aside.
:mod:`.sigv4`
    AWS Signature Version 4 for DynamoDB's JSON requests.
:mod:`.http_connection`
    HTTP/1.1 over kept-alive sockets, one answer per request, bounded.
"""

from __future__ import annotations

from .answers import refuse_corrupt_answers
from .client import LeanClient, lean_client_for

__all__ = ["LeanClient", "lean_client_for", "refuse_corrupt_answers"]
