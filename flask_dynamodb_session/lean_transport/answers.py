"""Reading DynamoDB's answers: the fast path for a success, and checksums.

A successful answer's JSON becomes the dict botocore would make of it (blobs
decoded); any other answer goes to botocore's own parser. The ``x-amz-crc32``
header of an answer is checked against its body; a call whose last answer
never matches fails, on the lean client and (with
:func:`refuse_corrupt_answers`) on a boto3 client.
"""

from __future__ import annotations

import base64
import json
import typing as t
import zlib

from botocore.exceptions import ChecksumError

from .http_connection import Response

_decode = json.JSONDecoder().decode
_ATTRIBUTE_MAPS = ("Item", "Attributes")


def checksum_error(response: Response, attempts: int) -> ChecksumError:
    expected = response.headers.get("x-amz-crc32", "")
    error = ChecksumError(
        checksum_type="crc32",
        expected_checksum=expected,
        actual_checksum=str(zlib.crc32(response.content)),
    )
    t.cast(t.Any, error).retry_attempts = attempts - 1
    return error


def refuse_corrupt_answers(client: t.Any) -> None:
    """Make a boto3 DynamoDB client fail a call whose last answer's
    ``x-amz-crc32`` does not match its body, as the lean client does.

    botocore retries such an answer, but returns the last one as a success
    when the attempts run out; with this the call raises
    :class:`~botocore.exceptions.ChecksumError` instead. Registering it twice
    changes nothing.
    """
    client.meta.events.register(
        "after-call.dynamodb",
        _check_crc32_after_call,
        unique_id="flask-dynamodb-session-crc32",
    )


def _check_crc32_after_call(http_response: t.Any, **kwargs: t.Any) -> None:
    response = Response(
        http_response.status_code, http_response.headers, http_response.content
    )
    if response.status_code < 300 and not crc32_ok(response):
        parsed = kwargs.get("parsed") or {}
        retries = parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        raise checksum_error(response, int(retries) + 1)


def crc32_ok(response: Response) -> bool:
    checksum = response.headers.get("x-amz-crc32")
    if checksum is None:
        return True
    try:
        return zlib.crc32(response.content) == int(checksum)
    except ValueError:
        return False


def parse_success(
    response: Response, members: frozenset[str]
) -> dict[str, t.Any] | None:
    """The fast path: a 2xx JSON body to botocore's dict, or ``None``.

    Attribute maps get their blobs decoded; every other member of the output
    holds JSON primitives only, which botocore passes on as they are.
    """
    try:
        data = _decode(response.content.decode())
    except ValueError:
        return None
    if type(data) is not dict:
        return None
    parsed: dict[str, t.Any] = {}
    try:
        for name, value in data.items():
            if value is None or name not in members:
                continue
            if name in _ATTRIBUTE_MAPS:
                value = _decode_map(value)
            elif name == "ItemCollectionMetrics" and "ItemCollectionKey" in value:
                value = dict(
                    value, ItemCollectionKey=_decode_map(value["ItemCollectionKey"])
                )
            parsed[name] = value
    except (AttributeError, TypeError, ValueError, KeyError):
        return None  # not the shape DynamoDB answers: the slow path judges it
    headers = response.headers
    metadata = {"HTTPStatusCode": response.status_code, "HTTPHeaders": headers}
    request_id = headers.get("x-amzn-requestid")
    if request_id is not None:
        metadata = {"RequestId": request_id, **metadata}
    parsed["ResponseMetadata"] = metadata
    return parsed


def _decode_map(attributes: dict[str, t.Any]) -> dict[str, t.Any]:
    return {name: _decode_value(value) for name, value in attributes.items()}


def _decode_value(value: dict[str, t.Any]) -> dict[str, t.Any]:
    if "S" in value or "N" in value:
        return value
    if "B" in value:
        return {"B": base64.b64decode(value["B"])}
    if "M" in value:
        return {"M": _decode_map(value["M"])}
    if "L" in value:
        return {"L": [_decode_value(item) for item in value["L"]]}
    if "BS" in value:
        return {"BS": [base64.b64decode(item) for item in value["BS"]]}
    return value
