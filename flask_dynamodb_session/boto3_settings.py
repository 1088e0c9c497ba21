"""What the lean transport takes from a boto3 DynamoDB client, or why it can't.

botocore stays the authority on everything outside the hot loop: a lean
client is built from a ready boto3 client and calls what it would call, as
it would, with the settings it resolved (from its ``Config``, the
environment, the config file):

- the credentials object, frozen on every call, so that refreshable
  credentials refresh when botocore would refresh them (a session token is
  sent);
- the region and the endpoint URL: a custom ``endpoint_url``,
  ``AWS_ENDPOINT_URL_DYNAMODB``, FIPS and dual-stack settings. Where botocore
  would call an account-based endpoint (``<account>.ddb.<region>``, when
  the credentials carry an account id), the regional endpoint is called;
- TLS verification and the CA bundle, connect and read timeouts, socket
  options (``tcp_keepalive``), ``max_pool_connections`` (idle sockets kept);
- the retry mode and attempt count: botocore's own retry handler of the
  ``standard`` or ``legacy`` mode is built for the lean client, with a retry
  quota of its own, as each botocore client has.

Differences, by design: parameters are not validated before sending
(DynamoDB's ``ValidationException`` answers a malformed call); event hooks
registered on the boto3 client do not run for lean calls; the
``User-Agent`` is the config's ``user_agent`` with ``user_agent_extra`` and
``user_agent_appid``, fixed for the client's life. Settings DynamoDB ignores
(``s3``, SigV4a, auth scheme preferences, request compression and checksums)
change nothing.

A client with a setting the lean client cannot honour gets no lean client:
a proxy (from its config or the environment), a client certificate, a
signature version other than SigV4 (``UNSIGNED`` included), the adaptive
retry mode, endpoint discovery, ``account_id_endpoint_mode="required"``, an
endpoint URL with a path, a protocol other than JSON, or an HTTP layer other
than botocore's own.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import types
import typing as t
from urllib.parse import urlsplit

from botocore import UNSIGNED, loaders, retryhandler, translate
from botocore.discovery import EndpointDiscoveryHandler
from botocore.httpsession import URLLib3Session, create_urllib3_context, get_cert_path
from botocore.retries import standard

if t.TYPE_CHECKING:
    from botocore.credentials import Credentials
    from botocore.model import ServiceModel

#: ``needs_retry(**kwargs)`` of a botocore retry handler, called with the
#: keyword arguments of botocore's ``needs-retry`` event: the delay before
#: the next attempt, or ``None`` or ``False`` for no retry.
NeedsRetry = t.Callable[..., t.Any]
#: ``release_retry_quota(context, http_response)`` of the standard mode.
AfterCall = t.Callable[..., None]

_SIGV4 = "aws.auth#sigv4"


@dataclasses.dataclass(frozen=True)
class LeanSettings:
    """Everything a lean client needs, as a boto3 client resolved it."""

    endpoint_url: str
    region: str
    signing_name: str
    credentials: Credentials | None
    service_model: ServiceModel
    #: The client's ``exceptions``: the classes its errors are raised as.
    exceptions: t.Any
    needs_retry: NeedsRetry
    after_call: AfterCall | None
    #: Whether even a first answer is shown to the retry handler (it notes
    #: ``MaxAttemptsReached`` when a call may make one attempt only).
    check_first_answer: bool
    connect_timeout: float | None
    read_timeout: float | None
    max_connections: int
    #: The TLS settings of an ``https`` endpoint.
    ssl_context: ssl.SSLContext | None
    socket_options: tuple[tuple[int, int, int], ...]
    user_agent: str


def resolve(client: t.Any) -> LeanSettings | str:
    """The settings of a lean client standing in for ``client``.

    Makes no network call.

    :param client: a boto3 (or botocore) DynamoDB client.
    :return: the settings, or why a lean client cannot honour ``client``'s.
    """
    reason = _unsupported(client)
    if reason is not None:
        return reason
    meta, config = client.meta, client.meta.config
    retries = dict(config.retries or {})
    single_attempt = retries.get("total_max_attempts") == 1
    check_first_answer = single_attempt and retries.get("mode") == "standard"
    handlers = _retry_handlers(meta.service_model, retries)
    if isinstance(handlers, str):
        return handlers
    http_session = client._endpoint.http_session
    context = None
    if meta.endpoint_url.startswith("https:"):
        try:
            context = ssl_context(http_session._verify)
        except (OSError, ValueError) as exc:  # botocore fails on the first call
            return f"the CA bundle {http_session._verify!r} cannot be loaded: {exc}"
    return LeanSettings(
        endpoint_url=meta.endpoint_url,
        region=meta.region_name,
        signing_name=meta.service_model.signing_name,
        credentials=client._request_signer._credentials,
        service_model=meta.service_model,
        exceptions=client.exceptions,
        needs_retry=handlers[0],
        after_call=handlers[1],
        check_first_answer=check_first_answer,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_connections=config.max_pool_connections,
        ssl_context=context,
        socket_options=tuple(http_session._socket_options),
        user_agent=_user_agent(config),
    )


def _unsupported(client: t.Any) -> str | None:
    """Why a lean client cannot stand in for ``client``, or ``None``."""
    meta: t.Any = getattr(client, "meta", None)
    service_model = getattr(meta, "service_model", None)
    if service_model is None or service_model.service_name != "dynamodb":
        return "not a botocore DynamoDB client"
    if service_model.protocol != "json":
        return f"the {service_model.protocol!r} protocol"
    if service_model.metadata.get("auth", [_SIGV4]) != [_SIGV4]:
        return f"the auth schemes {service_model.metadata['auth']!r}"
    endpoint = getattr(client, "_endpoint", None)
    http_session: t.Any = getattr(endpoint, "http_session", None)
    session_type: type = type(http_session)
    if session_type is not URLLib3Session:
        return "an HTTP session other than botocore's URLLib3Session"
    url = meta.endpoint_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.path.strip("/") or parts.query:
        return f"the endpoint URL {url!r}"
    if http_session._proxy_config.proxy_url_for(url + "/"):
        return "a proxy"
    if http_session._cert_file or meta.config.client_cert:
        return "a client certificate"
    signer = getattr(client, "_request_signer", None)
    version = getattr(signer, "_signature_version", None)
    if version is UNSIGNED or version != "v4":
        return f"signature version {version!r}"
    if _discovers_endpoints(client):
        return "endpoint discovery"
    if meta.config.account_id_endpoint_mode == "required":
        return "account_id_endpoint_mode='required'"
    return None


def _discovers_endpoints(client: t.Any) -> bool:
    """Whether botocore attached endpoint discovery to the client.

    The option is resolved at client creation and kept nowhere but in the
    handlers it registers, so those are looked for.
    """
    emitter = getattr(client.meta.events, "_emitter", None)
    handlers = getattr(emitter, "_handlers", None)
    if handlers is None:  # cannot tell: assume the worst
        return True
    found = handlers.prefix_search("before-parameter-build.dynamodb.GetItem")
    return any(
        isinstance(getattr(handler, "__self__", None), EndpointDiscoveryHandler)
        for handler in found
    )


def _retry_handlers(
    service_model: ServiceModel, retries: dict[str, t.Any]
) -> tuple[NeedsRetry, AfterCall | None] | str:
    """A new botocore retry handler of the mode and attempts ``retries`` set."""
    mode = retries.get("mode", "standard")
    if mode == "standard":
        registered: dict[str, t.Any] = {}

        def register(event_name: str, handler: t.Any, **kwargs: t.Any) -> None:
            registered[event_name.split(".", 1)[0]] = handler

        # botocore wires its handler to a client's events; give it a stand-in.
        events = types.SimpleNamespace(register=register)
        meta = types.SimpleNamespace(service_model=service_model, events=events)
        standard.register_retry_handler(
            t.cast(t.Any, types.SimpleNamespace(meta=meta)),
            retries.get("total_max_attempts"),
        )
        return registered["needs-retry"], registered["after-call"]
    if mode == "legacy":
        if "total_max_attempts" in retries:
            retries["max_attempts"] = retries.pop("total_max_attempts") - 1
        data = loaders.create_loader().load_data("_retry")
        prefix = service_model.endpoint_prefix
        config = translate.build_retry_config(
            prefix, data.get("retry", {}), data.get("definitions", {}), retries
        )
        return retryhandler.create_retry_handler(config, prefix), None
    return f"retry mode {mode!r}"


def ssl_context(verify: bool | str | None) -> ssl.SSLContext:
    """TLS settings as botocore's HTTP session applies its ``verify``.

    :param verify: ``False`` to skip verification; ``True`` for botocore's
        default CA bundle; or the path of a CA bundle file or directory.
    """
    context: ssl.SSLContext = create_urllib3_context()
    if verify:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        path: str = get_cert_path(t.cast(t.Any, verify)) or ""
        if os.path.isdir(path):
            context.load_verify_locations(capath=path)
        else:
            context.load_verify_locations(cafile=path)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _user_agent(config: t.Any) -> str:
    parts = [config.user_agent or "", config.user_agent_extra or ""]
    if config.user_agent_appid:
        parts.append(f"app/{config.user_agent_appid}")
    return " ".join(part for part in parts if part)
