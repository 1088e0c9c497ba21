"""The lean transport's SigV4 signatures are botocore's, byte for byte."""

from __future__ import annotations

import calendar
import datetime
import typing as t

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from flask_dynamodb_session.lean_transport import sigv4 as signing
from flask_dynamodb_session.lean_transport.sigv4 import (
    SigV4Signer as Signer,
)
from flask_dynamodb_session.lean_transport.sigv4 import (
    amz_date,
    host_header,
    signing_key,
)

#: 2024-02-29 23:59:58 UTC, a second before the day (and the key) changes.
NOW = datetime.datetime(2024, 2, 29, 23, 59, 58, tzinfo=datetime.timezone.utc)
BODY = b'{"TableName":"sessions","Key":{"id":{"S":"abc"}},"ConsistentRead":true}'
TARGET = "DynamoDB_20120810.GetItem"

PLAIN = ReadOnlyCredentials(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None
)
SESSION = ReadOnlyCredentials(
    "ASIAEXAMPLE", "c2VjcmV0/with+slashes", "FwoGZXIvYXdzEBYaDH//token+with/slash=="
)


def botocore_headers(
    url: str, credentials: ReadOnlyCredentials, region: str, when: datetime.datetime
) -> dict[str, str]:
    """The headers ``SigV4Auth`` signs and adds for the same request."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=BODY,
        headers={
            "Host": host_header(url),
            "X-Amz-Target": TARGET,
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    auth = SigV4Auth(credentials, "dynamodb", region)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "botocore.auth.get_current_datetime",
            lambda remove_tzinfo=True: when.replace(tzinfo=None),
        )
        auth.add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("credentials", [PLAIN, SESSION], ids=["keys", "token"])
@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1"),
        ("https://dynamodb.us-east-1.amazonaws.com:443", "us-east-1"),
        ("http://127.0.0.1:8000", "us-east-1"),
        ("http://LOCALHOST:80", "local"),
        ("https://dynamodb-fips.us-gov-west-1.amazonaws.com:8443", "us-gov-west-1"),
        ("http://[::1]:4566", "us-east-1"),
    ],
)
def test_headers_are_botocores(
    url: str, region: str, credentials: ReadOnlyCredentials
) -> None:
    signer = Signer(host_header(url), region)
    ours = signer.headers(credentials, TARGET, BODY, now=NOW.timestamp())
    theirs = botocore_headers(url, credentials, region, NOW)
    assert ours == theirs
    assert ("X-Amz-Security-Token" in ours) == (credentials.token is not None)


def test_host_header_is_botocores() -> None:
    from botocore.auth import _host_from_url  # type: ignore[attr-defined]

    for url in (
        "http://127.0.0.1:8000/",
        "https://Dynamodb.EU-west-1.amazonaws.com",
        "https://user:pw@example.com:443/x",
        "http://example.com:443",
        "https://[2001:db8::1]:8443",
    ):
        assert host_header(url) == _host_from_url(url)


def test_port_is_kept_only_when_not_the_default() -> None:
    assert host_header("http://127.0.0.1:8000") == "127.0.0.1:8000"
    assert host_header("http://localhost:80") == "localhost"
    assert host_header("https://example.com:443") == "example.com"
    assert host_header("https://example.com:80") == "example.com:80"


def test_signing_key_is_cached_per_secret_date_region_service() -> None:
    signing_key.cache_clear()
    credentials = PLAIN
    signer = Signer("example.com", "eu-west-1")
    for _ in range(3):
        signer.headers(credentials, TARGET, BODY, now=NOW.timestamp())
    assert signing_key.cache_info().misses == 1
    assert signing_key.cache_info().hits == 2
    # The next day, another secret, another region: each a key of its own.
    signer.headers(credentials, TARGET, BODY, now=NOW.timestamp() + 2)
    signer.headers(SESSION, TARGET, BODY, now=NOW.timestamp())
    Signer("example.com", "us-east-1").headers(
        credentials, TARGET, BODY, NOW.timestamp()
    )
    assert signing_key.cache_info().misses == 4


def test_signing_key_is_the_sigv4_derivation() -> None:
    # The example of AWS's SigV4 documentation.
    key = signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == (
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    )


def test_a_new_day_signs_with_a_new_scope() -> None:
    signer = Signer("example.com", "eu-west-1")
    before = signer.headers(PLAIN, TARGET, BODY, now=NOW.timestamp())
    after = signer.headers(PLAIN, TARGET, BODY, now=NOW.timestamp() + 2)
    assert "/20240229/eu-west-1/dynamodb/aws4_request" in before["Authorization"]
    assert "/20240301/eu-west-1/dynamodb/aws4_request" in after["Authorization"]
    tomorrow = NOW + datetime.timedelta(seconds=2)
    theirs = botocore_headers("https://example.com", PLAIN, "eu-west-1", tomorrow)
    assert after == theirs


def test_amz_date_is_made_once_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [calendar.timegm((2030, 1, 2, 3, 4, 5)) + 0.25]
    monkeypatch.setattr(signing, "clock", lambda: clock[0])
    first = amz_date()
    assert first == "20300102T030405Z"
    clock[0] += 0.5
    assert amz_date() is first
    clock[0] += 0.5
    assert amz_date() == "20300102T030406Z"
    assert amz_date(0) == "19700101T000000Z"


def test_body_changes_the_signature() -> None:
    signer = Signer("example.com", "eu-west-1")

    def signature(body: bytes) -> str:
        headers: dict[str, t.Any] = signer.headers(PLAIN, TARGET, body, NOW.timestamp())
        return str(headers["Authorization"]).rsplit("=", 1)[1]

    assert signature(BODY) != signature(BODY + b" ")
