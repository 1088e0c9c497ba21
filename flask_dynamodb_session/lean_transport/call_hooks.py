"""What, on a boto3 client, the lean transport would bypass.

botocore emits events around every call; a handler of those events may
change what is sent, where, or what is answered (moto's active mock and
botocore's ``Stubber`` answer in place of the service; tracing records the
call), and tracing libraries may wrap botocore's own functions instead. A
lean client sends its calls without any of that, so a client carrying such
a handler, or used through such a wrapper, keeps its calls on boto3.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing as t

from botocore.discovery import EndpointDiscoveryHandler
from botocore.httpsession import URLLib3Session

#: The calls a lean client makes.
OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
#: The events botocore emits for each call (``before-endpoint-resolution``
#: aside, which names no operation).
_CALL_EVENTS = (
    "provide-client-params",
    "before-parameter-build",
    "before-call",
    "request-created",
    "choose-signer",
    "before-sign",
    "before-send",
    "response-received",
    "needs-retry",
    "before-parse",
    "after-call",
    "after-call-error",
)


def discovers_endpoints(client: t.Any) -> bool:
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


def call_hooks(client: t.Any) -> str | None:
    """A handler of an item call's events that botocore did not register.

    Such a handler may change what is sent, where, or what is answered
    (moto's active mock and botocore's ``Stubber`` answer in place of the
    service; tracing records the call): the lean client would bypass it.
    moto's hook, registered on every client once moto is imported, counts
    only while a mock is active.
    """
    handlers = client.meta.events._emitter._handlers
    service = client.meta.service_model.service_id.hyphenize()
    names = [f"before-endpoint-resolution.{service}"] + [
        f"{event}.{service}.{operation}"
        for event in _CALL_EVENTS
        for operation in OPERATIONS
    ]
    for name in names:
        for handler in handlers.prefix_search(name):
            if not _botocores_own(handler) and not _inactive_mock(handler):
                module, qualname = _origin(handler)
                event = name.split(".", 1)[0]
                return f"a {event} handler: {module}.{qualname}"
    return None


def patched_call_path(client: t.Any) -> str | None:
    """A botocore function of the call path that something replaced.

    Tracing libraries (aws-xray-sdk, OpenTelemetry, ddtrace) wrap these
    instead of registering event handlers; the lean client would bypass
    them.
    """
    endpoint_type = type(client._endpoint)
    functions = [
        (type(client), "_make_api_call"),
        (endpoint_type, "make_request"),
        (endpoint_type, "prepare_request"),
        (endpoint_type, "_send"),
        (URLLib3Session, "send"),
    ]
    for owner, name in functions:
        function = inspect.getattr_static(owner, name)
        if type(function) is not types.FunctionType or not _in_botocore(
            function.__module__
        ):
            return f"botocore's {name} patched (as tracing does)"
    return None


def _botocores_own(handler: t.Any) -> bool:
    """Whether botocore registered ``handler`` (its ``Stubber`` aside)."""
    module = _origin(handler)[0]
    return _in_botocore(module) and module != "botocore.stub"


def _in_botocore(module: str) -> bool:
    return module == "botocore" or module.startswith("botocore.")


def _inactive_mock(handler: t.Any) -> bool:
    """Whether ``handler`` is moto's hook while no moto mock is active."""
    kind = type(handler)
    return (
        kind.__name__ == "BotocoreStubber"
        and kind.__module__.startswith("moto.")
        and getattr(handler, "enabled", None) is False
    )


def _origin(handler: t.Any) -> tuple[str, str]:
    """The module and qualified name of a function, method or callable."""
    while isinstance(handler, functools.partial):
        handler = handler.func
    if not (inspect.isfunction(handler) or inspect.ismethod(handler)):
        handler = type(handler)
    module = getattr(handler, "__module__", None)
    name = getattr(handler, "__qualname__", None)
    return str(module), str(name)
