"""What a test does to a boto3 client behind the code under test: answers of
its own instead of the server's, failures, one call at a time."""

from __future__ import annotations

import json
import threading
import typing as t

from botocore.awsrequest import AWSResponse, HTTPHeaders

if t.TYPE_CHECKING:
    import pytest
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["fail", "fake_response", "serialize_calls"]


def fake_response(
    client: DynamoDBClient,
    operation: str,
    respond: t.Callable[[dict[str, t.Any]], dict[str, t.Any] | None],
) -> t.Callable[[], None]:
    """Answer ``operation`` with ``respond(params)`` instead of the server.

    ``respond`` returns a parsed response (an ``Error`` one fails the call),
    or ``None`` to let the call through. Returns a function that undoes it.
    """

    def before_call(params: dict[str, t.Any], **kwargs: t.Any) -> t.Any:
        parsed = respond(json.loads(params["body"]))
        if parsed is None:
            return None
        status = 400 if "Error" in parsed else 200
        parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status})
        return AWSResponse("http://fake", status, HTTPHeaders(), None), parsed

    event = f"before-call.dynamodb.{operation}"
    client.meta.events.register(event, before_call)
    return lambda: client.meta.events.unregister(event, before_call)


def fail(
    client: DynamoDBClient, operation: str, code: str, message: str = ""
) -> t.Callable[[], None]:
    """Make every ``operation`` of ``client`` fail with error ``code``.

    Returns a function that undoes it.
    """
    error = {"Error": {"Code": code, "Message": message}}
    return fake_response(client, operation, lambda params: dict(error))


def serialize_calls(client: DynamoDBClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let one Scan or BatchWriteItem of ``client`` run at a time.

    moto's in-process backend is not thread-safe: a Scan iterating over a
    table while another thread deletes from it fails with "dictionary
    changed size during iteration". DynamoDB has no such problem.
    """
    lock = threading.Lock()
    for name in ("scan", "batch_write_item"):
        method = getattr(client, name)

        def locked(*args: t.Any, _method: t.Any = method, **kwargs: t.Any) -> t.Any:
            with lock:
                return _method(*args, **kwargs)

        monkeypatch.setattr(client, name, locked)
