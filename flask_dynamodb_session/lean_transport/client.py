"""The lean DynamoDB client: item calls without botocore's per-call overhead.

:class:`LeanClient` sends ``GetItem``, ``PutItem``, ``UpdateItem`` and
``DeleteItem`` as signed HTTP requests of its own (:mod:`.sigv4` over
:mod:`.http_connection`) and spends a small fraction of the CPU a boto3 call
does. It takes what boto3's low-level client takes (the same keyword
arguments, binary values as ``bytes``) and answers as it does: the same
response dicts (``bytes`` for ``B``, ``ResponseMetadata`` with
``RetryAttempts``, ``ConsumedCapacity`` when asked), the same ``ClientError``
subclasses with the same error codes and fields (the stored ``Item`` of a
condition failure), the same botocore exceptions for connection failures and
missing credentials.

:func:`lean_client_for` builds one from a ready boto3 client, with the
settings that client resolved (:mod:`.client_settings` says which, and which
settings keep the calls on boto3). Retries are decided by botocore's own
retry handler of the client's mode: the same retryable errors (throttling
and transient codes, 5xx, connection errors, read timeouts, ``x-amz-crc32``
mismatches), attempt count, jittered back-off honouring
``x-amz-retry-after``, and retry quota. Error answers are parsed by
botocore's own parser; only successful answers take the fast path.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import typing as t

from botocore.exceptions import (
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.parsers import create_parser

from .answers import checksum_error, crc32_ok, parse_success
from .call_hooks import OPERATIONS
from .client_settings import LeanSettings, read_settings
from .connection_pool import ConnectionPool
from .http_connection import Response
from .sigv4 import CONTENT_TYPE, SigV4Signer, amz_date, host_header

if t.TYPE_CHECKING:
    from botocore.model import OperationModel

logger = logging.getLogger(__name__)


_NO_CONTEXT: dict[str, t.Any] = {}


class LeanClient:
    """DynamoDB's four item calls over signed HTTP, answering like boto3.

    Build one with :func:`lean_client_for` (or :meth:`from_boto3`); it is
    safe to share between threads.

    :param settings: what the boto3 client it stands in for resolved.
    """

    def __init__(self, settings: LeanSettings) -> None:
        #: The kept-alive connections to the endpoint.
        self.pool = ConnectionPool(
            settings.endpoint_url,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_connections=settings.max_connections,
            ssl_context=settings.ssl_context,
            socket_options=settings.socket_options,
        )
        host = host_header(settings.endpoint_url)
        #: Signs for the endpoint's host, the region and the signing name.
        self.signer = SigV4Signer(host, settings.region, settings.signing_name)
        self.settings = settings
        #: Called with the back-off delay in seconds before each retry.
        self.sleep: t.Callable[[float], None] = time.sleep
        self._parser = create_parser(settings.service_model.protocol)
        agent = f"User-Agent: {settings.user_agent}\r\n" if settings.user_agent else ""
        prefix = settings.service_model.metadata["targetPrefix"]
        self._operations: dict[str, tuple[OperationModel, str, str, frozenset[str]]]
        self._operations = {}
        for name in OPERATIONS:
            model = settings.service_model.operation_model(name)
            target = f"{prefix}.{name}"
            head = (
                f"POST / HTTP/1.1\r\nHost: {host}\r\n"
                f"X-Amz-Target: {target}\r\nContent-Type: {CONTENT_TYPE}\r\n"
                f"Accept-Encoding: identity\r\n{agent}"
            )
            output = model.output_shape
            members = frozenset(() if output is None else output.members)
            self._operations[name] = (model, target, head, members)

    @classmethod
    def from_boto3(cls, client: t.Any) -> LeanClient | None:
        """Same as :func:`lean_client_for`."""
        return lean_client_for(client)

    def get_item(self, **kwargs: t.Any) -> dict[str, t.Any]:
        """``GetItem``, as ``client.get_item`` takes and answers it."""
        return self.call("GetItem", kwargs)

    def put_item(self, **kwargs: t.Any) -> dict[str, t.Any]:
        """``PutItem``, as ``client.put_item`` takes and answers it."""
        return self.call("PutItem", kwargs)

    def update_item(self, **kwargs: t.Any) -> dict[str, t.Any]:
        """``UpdateItem``, as ``client.update_item`` takes and answers it."""
        return self.call("UpdateItem", kwargs)

    def delete_item(self, **kwargs: t.Any) -> dict[str, t.Any]:
        """``DeleteItem``, as ``client.delete_item`` takes and answers it."""
        return self.call("DeleteItem", kwargs)

    def close(self) -> None:
        """Close the idle connections."""
        self.pool.close()

    def call(self, operation: str, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Send one operation, retrying as the retry handler decides.

        :raises botocore.exceptions.ClientError: the service refused the call;
            its ``response`` has ``ResponseMetadata.RetryAttempts``.
        :raises botocore.exceptions.BotoCoreError: no credentials, or the
            endpoint could not be reached after the last attempt; then the
            exception also has a ``retry_attempts`` attribute, which boto3's
            do not.
        """
        model, target, head, members = self._operations[operation]
        body = _encode(params).encode()
        check_first = self.settings.check_first_answer
        context = _NO_CONTEXT
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self.pool.request(self._request(head, target, body))
            except (ConnectionError, HTTPClientError) as exc:
                outcome: tuple[Response, dict[str, t.Any]] | None = None
                caught: Exception | None = exc
            else:
                caught = None
                parsed = None
                if 200 <= response.status_code < 300 and crc32_ok(response):
                    parsed = parse_success(response, members)
                if parsed is not None and attempts == 1 and not check_first:
                    return self._done(parsed, response, attempts, context)
                # Past the first attempt the retry handler sees every answer,
                # as in botocore: it won't retry a success, but notes in it
                # that the attempts ran out.
                if parsed is None:
                    outcome, caught = self._parse_any(response, model)
                else:
                    outcome = (response, parsed)
            if context is _NO_CONTEXT:
                context = {}
            if not self._retry(model, attempts, outcome, caught, context):
                break
        if outcome is None:
            assert caught is not None
            t.cast(t.Any, caught).retry_attempts = attempts - 1
            raise caught
        response, parsed = outcome
        self._done(parsed, response, attempts, context)
        if response.status_code < 300 and not crc32_ok(response):
            # Every attempt's answer was corrupt: never a success.
            raise checksum_error(response, attempts)
        if response.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            raise self.settings.exceptions.from_code(code)(parsed, operation)
        return parsed

    def _retry(
        self,
        model: OperationModel,
        attempts: int,
        outcome: tuple[Response, dict[str, t.Any]] | None,
        caught: Exception | None,
        context: dict[str, t.Any],
    ) -> bool:
        """Ask the retry handler, as botocore's endpoint does; sleep if told."""
        delay = self.settings.needs_retry(
            response=outcome,
            endpoint=None,
            operation=model,
            attempts=attempts,
            caught_exception=caught,
            request_dict={"context": context},
        )
        if delay is None or delay is False:
            return False
        self.sleep(delay)
        return True

    def _request(self, head: str, target: str, body: bytes) -> bytes:
        if self.settings.credentials is None:
            raise NoCredentialsError()
        credentials = self.settings.credentials.get_frozen_credentials()
        stamp = amz_date()
        authorization = self.signer.authorization(credentials, target, body, stamp)
        token = credentials.token
        token_line = f"X-Amz-Security-Token: {token}\r\n" if token else ""
        if not (authorization + token_line[:-2]).isprintable():
            # A credential read with a line break (a key file's last line,
            # say) must not end the head early: refuse it, as boto3 does.
            raise HTTPClientError(
                endpoint_url=self.pool.url,
                error=ValueError("the credentials hold a control character"),
            )
        return (
            f"{head}X-Amz-Date: {stamp}\r\n{token_line}"
            f"Authorization: {authorization}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def _done(
        self,
        parsed: dict[str, t.Any],
        response: Response,
        attempts: int,
        context: dict[str, t.Any],
    ) -> dict[str, t.Any]:
        metadata = parsed.setdefault("ResponseMetadata", {})
        metadata["RetryAttempts"] = attempts - 1
        after_call = self.settings.after_call
        if after_call is not None and 200 <= response.status_code < 300:
            after_call(context=context, http_response=response)
        return parsed

    def _parse_any(
        self, response: Response, model: OperationModel
    ) -> tuple[tuple[Response, dict[str, t.Any]] | None, Exception | None]:
        """An answer parsed (the slow path), or the error it is: an answer
        that is encoded (compressed) or cannot be parsed is a failed attempt,
        as a broken connection is."""
        encoding = response.headers.get("content-encoding", "identity").lower()
        if encoding not in ("", "identity"):
            error = ValueError(f"the answer is {encoding}-encoded; identity was asked")
            return None, HTTPClientError(endpoint_url=self.pool.url, error=error)
        try:
            return (response, self._parse(response, model)), None
        except Exception as exc:  # botocore's parsers raise many kinds
            logger.debug("an unparsable DynamoDB answer: %r", exc)
            return None, HTTPClientError(endpoint_url=self.pool.url, error=exc)

    def _parse(self, response: Response, model: OperationModel) -> dict[str, t.Any]:
        """Parse any response exactly as botocore does (the slow path)."""
        response_dict = {
            "status_code": response.status_code,
            "headers": response.headers,
            "body": response.content,
            "context": {},
        }
        parsed: dict[str, t.Any] = self._parser.parse(
            response_dict,
            model.output_shape,  # type: ignore[arg-type]
        )
        if response.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            service = self.settings.service_model
            shape = None if code is None else service.shape_for_error_code(code)
            if shape is not None:
                parsed.update(self._parser.parse(response_dict, shape))
        return parsed


def _blob(value: object) -> str:
    """A blob's JSON form: base64, as botocore sends it."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not a DynamoDB parameter type")


#: Parameters are trees of dicts and lists, never cyclic: no cycle check.
_encode = json.JSONEncoder(
    separators=(",", ":"), default=_blob, check_circular=False
).encode


def lean_client_for(client: t.Any) -> LeanClient | None:
    """A :class:`LeanClient` that calls what ``client`` would call, as it would.

    Makes no network call.

    :param client: a boto3 (or botocore) DynamoDB client.
    :return: ``None`` if the client has a setting or an event handler the
        lean client cannot honour (the reason is logged at debug level), or
        if anything about the client cannot be read as expected, such as a
        botocore internal renamed or of another type (logged as a warning).
        The caller then keeps the boto3 client.
    """
    try:
        settings = read_settings(client)
        if isinstance(settings, str):
            logger.debug("DynamoDB item calls stay on boto3: %s", settings)
            return None
        return LeanClient(settings)
    except Exception as exc:  # whatever botocore changed, boto3 still works
        logger.warning(
            "DynamoDB item calls stay on boto3: the boto3 client's settings"
            " cannot be read as expected (%s: %s)",
            type(exc).__name__,
            exc,
        )
        return None
