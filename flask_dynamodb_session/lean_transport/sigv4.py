"""AWS Signature Version 4 for DynamoDB's JSON requests, with a cached key.

A request of the lean transport is always ``POST /`` with no query string and
signs these headers, and only these: ``content-type``, ``host``,
``x-amz-date``, ``x-amz-security-token`` (when the credentials carry a session
token) and ``x-amz-target``. For such a request the ``Authorization`` header
is byte for byte the one :class:`botocore.auth.SigV4Auth` computes.

What makes it cheap: the signing key (four chained HMACs of the secret) is
derived once per secret, day, region and service and then reused, the
canonical request is filled into a template made once per signer, and the
timestamp string is made once per second.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
import typing as t
from urllib.parse import urlsplit

#: The content type of every DynamoDB request.
CONTENT_TYPE = "application/x-amz-json-1.0"

_ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Credentials(t.Protocol):
    """What a signer needs of botocore's ``ReadOnlyCredentials``."""

    @property
    def access_key(self) -> str | None: ...

    @property
    def secret_key(self) -> str | None: ...

    @property
    def token(self) -> str | None: ...


#: The clock timestamps are taken from (Unix time).
clock = time.time


@functools.lru_cache(maxsize=16)
def signing_key(secret_key: str | None, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key of a secret for one day, region and service.

    Cached: a process signs with a handful of secrets a day at most.

    :param date: ``YYYYMMDD``, the first eight characters of the timestamp.
    """
    key = hmac.digest(f"AWS4{secret_key}".encode(), date.encode(), "sha256")
    key = hmac.digest(key, region.encode(), "sha256")
    key = hmac.digest(key, service.encode(), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


def host_header(url: str) -> str:
    """The ``Host`` header of a URL as botocore signs it.

    Lowercase, without user info, with the port only when it is not the
    scheme's default, an IPv6 address in brackets.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


_last_stamp: tuple[int, str] = (0, "")


def amz_date(now: float | None = None) -> str:
    """The ``X-Amz-Date`` timestamp (``YYYYMMDDTHHMMSSZ``, UTC) of ``now``.

    :param now: Unix time; the current time by default, whose string is
        made once per second.
    """
    global _last_stamp
    if now is not None:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    second = int(clock())
    last = _last_stamp
    if last[0] == second:
        return last[1]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
    _last_stamp = (second, stamp)
    return stamp


class SigV4Signer:
    """Signs DynamoDB requests to one host, region and service.

    :param host: the ``Host`` header sent (see :func:`host_header`).
    :param region: the signing region.
    :param service: the signing name, ``"dynamodb"``.
    """

    def __init__(self, host: str, region: str, service: str = "dynamodb") -> None:
        self.host = host
        self.region = region
        self.service = service
        self._scope = f"/{region}/{service}/aws4_request"
        head = f"POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\nx-amz-date:"
        self._canonical_head = head

    def authorization(
        self,
        credentials: Credentials,
        target: str,
        body: bytes,
        stamp: str,
    ) -> str:
        """The ``Authorization`` header of one request.

        :param credentials: frozen credentials; their token, if any, must be
            sent as ``X-Amz-Security-Token``.
        :param target: the ``X-Amz-Target`` header sent.
        :param body: the request body sent.
        :param stamp: the ``X-Amz-Date`` header sent (:func:`amz_date`).
        """
        token = credentials.token
        if token:
            token_line = f"x-amz-security-token:{' '.join(token.split())}\n"
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        else:
            token_line = ""
            signed = "content-type;host;x-amz-date;x-amz-target"
        canonical = (
            f"{self._canonical_head}{stamp}\n{token_line}"
            f"x-amz-target:{target}\n\n{signed}\n"
            f"{hashlib.sha256(body).hexdigest()}"
        )
        date = stamp[:8]
        scope = date + self._scope
        to_sign = (
            f"{_ALGORITHM}\n{stamp}\n{scope}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        key = signing_key(credentials.secret_key, date, self.region, self.service)
        signature = hmac.digest(key, to_sign.encode(), "sha256").hex()
        return (
            f"{_ALGORITHM} Credential={credentials.access_key}/{scope},"
            f" SignedHeaders={signed}, Signature={signature}"
        )

    def headers(
        self,
        credentials: Credentials,
        target: str,
        body: bytes,
        now: float | None = None,
    ) -> dict[str, str]:
        """Every signed header of a request, ``Authorization`` included.

        :param now: Unix time to sign at; the current time by default.
        """
        stamp = amz_date(now)
        headers = {
            "Host": self.host,
            "X-Amz-Date": stamp,
            "X-Amz-Target": target,
            "Content-Type": CONTENT_TYPE,
        }
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        headers["Authorization"] = self.authorization(credentials, target, body, stamp)
        return headers
