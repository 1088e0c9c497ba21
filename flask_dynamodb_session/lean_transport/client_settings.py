"""What the lean transport takes from a boto3 DynamoDB client, or why it can't.

botocore stays the authority on everything outside the hot loop: a lean
client is built from a ready boto3 client and calls what it would call, as
it would, with the settings it resolved (from its ``Config``, the
environment, the config file):

- the credentials object, frozen on every call, so that refreshable
  credentials refresh when botocore would refresh them (a session token is
  sent);
- the endpoint URL, signing region and signing name, resolved as botocore
  resolves them on every call, from the client's endpoint ruleset: a custom
  ``endpoint_url``, ``AWS_ENDPOINT_URL_DYNAMODB``, FIPS and dual-stack
  settings, GovCloud and China, and region names such as ``"local"``
  (DynamoDB Local's ``http://localhost:8000``, signed for ``us-east-1``).
  Where botocore would call an account-based endpoint
  (``<account>.ddb.<region>``, when the credentials carry an account id),
  the regional endpoint is called: the account id is never looked up, so
  building a lean client fetches no credentials. The URL scheme is
  compared case-insensitively;
- TLS verification and the CA bundle, connect and read timeouts, socket
  options (``tcp_keepalive``), ``max_pool_connections`` (idle sockets kept);
- the retry mode and attempt count: botocore's own retry handler of the
  ``standard`` or ``legacy`` mode is built for the lean client, with a retry
  quota of its own, as each botocore client has.

Differences, by design: parameters are not validated before sending
(DynamoDB's ``ValidationException`` answers a malformed call); the
``User-Agent`` is the config's ``user_agent`` with ``user_agent_extra`` and
``user_agent_appid``, fixed for the client's life. Settings DynamoDB ignores
(``s3``, SigV4a, auth scheme preferences, request compression and checksums)
change nothing.

A client the lean client cannot stand in for exactly gets no lean client,
and its calls stay on boto3:

- a setting it cannot honour: a proxy (from its config or the environment),
  a client certificate, a signature version other than SigV4 (``UNSIGNED``
  included), the adaptive retry mode, endpoint discovery,
  ``account_id_endpoint_mode="required"``, an endpoint URL with a path or
  one that cannot be resolved, a protocol other than JSON, or an HTTP layer
  other than botocore's own;
- a value bound for the request head (the ``User-Agent`` from
  ``user_agent``, ``user_agent_extra`` and ``user_agent_appid``, the
  endpoint URL, the signing region and name) with anything but printable
  ASCII: a CR or LF there would add headers (boto3 then refuses the call);
- a handler of an item call's events that botocore did not register
  (``before-send``, ``before-call``, ``after-call`` and the others a call
  emits), which the lean client would bypass: moto's mock while active (its
  hook is on every client once moto is imported), botocore's ``Stubber``,
  tracing, a user's hook; and a botocore function of the call path that
  something replaced, as aws-xray-sdk, OpenTelemetry and ddtrace do.

:func:`read_settings` raises if a botocore internal it reads is missing or not of
the type expected; :func:`.transport.lean_client_for` keeps boto3 then too.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import ssl
import types
import typing as t
from urllib.parse import urlsplit

from botocore import UNSIGNED, loaders, retryhandler, translate
from botocore.exceptions import BotoCoreError
from botocore.hooks import HierarchicalEmitter
from botocore.httpsession import URLLib3Session, create_urllib3_context, get_cert_path
from botocore.regions import EndpointResolverBuiltins
from botocore.retries import standard

from . import call_hooks

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
#: Anything but printable ASCII.
_UNSAFE = re.compile(r"[^\x20-\x7e]")


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


def read_settings(client: t.Any) -> LeanSettings | str:
    """The settings of a lean client standing in for ``client``.

    Makes no network call.

    :param client: a boto3 (or botocore) DynamoDB client.
    :return: the settings, or why a lean client cannot honour ``client``'s.
    :raises Exception: a botocore internal is missing or not of the type
        expected (:func:`.transport.lean_client_for` then keeps boto3).
    """
    reason = _unsupported(client)
    if reason is not None:
        return reason
    endpoint = _endpoint(client)
    if isinstance(endpoint, str):
        return endpoint
    endpoint_url, region, signing_name = endpoint
    meta, config = client.meta, client.meta.config
    user_agent = _user_agent(config)
    reason = _unsafe_in_head(
        {
            "endpoint URL": endpoint_url,
            "signing region": region,
            "signing name": signing_name,
            "User-Agent": user_agent,
        }
    )
    if reason is not None:
        return reason
    http_session = client._endpoint.http_session
    parts = urlsplit(endpoint_url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or parts.path.strip("/") or parts.query:
        return f"the endpoint URL {endpoint_url!r}"
    endpoint_url = f"{scheme}://{parts.netloc}"
    if http_session._proxy_config.proxy_url_for(endpoint_url + "/"):
        return "a proxy"
    retries = dict(config.retries or {})
    single_attempt = retries.get("total_max_attempts") == 1
    check_first_answer = single_attempt and retries.get("mode") == "standard"
    handlers = _retry_handlers(meta.service_model, retries)
    if isinstance(handlers, str):
        return handlers
    context = None
    if scheme == "https":
        verify: bool | str = _expect(http_session._verify, (bool, str), "verify")
        try:
            context = ssl_context(verify)
        except (OSError, ValueError) as exc:  # botocore fails on the first call
            return f"the CA bundle {verify!r} cannot be loaded: {exc}"
    return LeanSettings(
        endpoint_url=endpoint_url,
        region=region,
        signing_name=signing_name,
        credentials=_credentials(client._request_signer._credentials),
        service_model=meta.service_model,
        exceptions=client.exceptions,
        needs_retry=handlers[0],
        after_call=handlers[1],
        check_first_answer=check_first_answer,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_connections=config.max_pool_connections,
        ssl_context=context,
        socket_options=_socket_options(http_session._socket_options),
        user_agent=user_agent,
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
    cert_file: str | tuple[str, str] | None = _expect(
        http_session._cert_file, (str, tuple, type(None)), "cert_file"
    )
    if cert_file or meta.config.client_cert:
        return "a client certificate"
    version = client._request_signer._signature_version
    if version is UNSIGNED or version != "v4":
        return f"signature version {version!r}"
    if call_hooks.discovers_endpoints(client):
        return "endpoint discovery"
    if meta.config.account_id_endpoint_mode == "required":
        return "account_id_endpoint_mode='required'"
    return call_hooks.call_hooks(client) or call_hooks.patched_call_path(client)


def _endpoint(client: t.Any) -> tuple[str, str, str] | str:
    """The endpoint URL, signing region and signing name of an item call.

    Resolved as botocore resolves them on every call, from the client's
    endpoint ruleset (where FIPS, dual-stack, China, GovCloud, a custom
    endpoint and region names such as ``"local"`` are decided), except that
    an account-based endpoint is never chosen: the account id is not looked
    up, so no credentials are fetched.
    """
    signer = client._request_signer
    region = _expect(signer.region_name, str, "the signer's region")
    signing_name = _expect(signer.signing_name, str, "the signer's signing name")
    resolver = client._ruleset_resolver
    if resolver is None:  # botocore then uses the client's endpoint
        return (
            _expect(client.meta.endpoint_url, str, "endpoint_url"),
            region,
            signing_name,
        )
    isolated = copy.copy(resolver)
    isolated._builtins = {
        **resolver._builtins,
        EndpointResolverBuiltins.ACCOUNT_ID: None,
        EndpointResolverBuiltins.ACCOUNT_ID_ENDPOINT_MODE: "disabled",
    }
    isolated._event_emitter = HierarchicalEmitter()
    operation = client.meta.service_model.operation_model(call_hooks.OPERATIONS[0])
    try:
        endpoint = isolated.construct_endpoint(operation, {}, {})
        schemes = endpoint.properties.get("authSchemes")
        auth_type, signing = (
            (None, {})
            if schemes is None
            else isolated.auth_schemes_to_signing_ctx(schemes)
        )
    except BotoCoreError as exc:
        return f"the endpoint cannot be resolved: {exc}"
    if auth_type not in (None, "v4"):
        return f"the auth scheme {auth_type!r} of the endpoint"
    return (
        _expect(endpoint.url, str, "the resolved endpoint"),
        signing.get("region", region),
        signing.get("signing_name", signing_name),
    )


def _unsafe_in_head(values: dict[str, str]) -> str | None:
    """Why one of ``values``, bound for the request head, is unsafe there.

    Only printable ASCII is let through: a CR or LF would end the header
    line, and boto3's HTTP layer refuses or encodes other characters
    differently.
    """
    for what, value in values.items():
        if _UNSAFE.search(value):
            return f"a control or non-ASCII character in the {what} {value!r}"
    return None


def _expect(value: t.Any, kinds: type | tuple[type, ...], what: str) -> t.Any:
    """``value``, if of one of the types expected of ``what``."""
    if not isinstance(value, kinds):
        raise TypeError(f"{what} is a {type(value).__name__}")
    return value


def _credentials(credentials: t.Any) -> Credentials | None:
    if credentials is not None and not callable(
        getattr(credentials, "get_frozen_credentials", None)
    ):
        raise TypeError(f"the credentials are a {type(credentials).__name__}")
    return t.cast("Credentials | None", credentials)


def _socket_options(options: t.Any) -> tuple[tuple[int, int, int], ...]:
    listed: list[t.Any] | tuple[t.Any, ...] = _expect(
        options, (list, tuple), "socket_options"
    )
    checked = tuple(tuple(option) for option in listed)
    for option in checked:
        if len(option) != 3 or not all(isinstance(part, int) for part in option):
            raise TypeError(f"the socket option {option!r}")
    return t.cast("tuple[tuple[int, int, int], ...]", checked)


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
