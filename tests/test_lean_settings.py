"""The lean transport calls where boto3 would, or leaves the calls to boto3.

The endpoint, signing region and signing name of a lean client are proven
equal to what botocore itself sends (a ``before-send`` hook on a twin boto3
client records it without sending). Settings that would put a control
character in the request head, a boto3 client whose internals are not as
expected, and event handlers that change how a call is sent or answered
(moto's active mock, botocore's ``Stubber``, tracing, a user's hook) keep the
item calls on boto3: logged once, never a 500. A region is taken from
``AWS_REGION`` when botocore finds none.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import types
import typing as t
from urllib.parse import urlsplit

import boto3
import botocore.client
import botocore.endpoint
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.exceptions import NoRegionError
from botocore.httpsession import URLLib3Session
from botocore.stub import Stubber
from moto import mock_aws

from flask_dynamodb_session import DynamoDBSessionInterface
from flask_dynamodb_session.client import build_client
from flask_dynamodb_session.exceptions import ConfigurationError
from flask_dynamodb_session.lean_transport import LeanClient, lean_client_for
from flask_dynamodb_session.lean_transport.client_settings import (
    LeanSettings,
)
from flask_dynamodb_session.lean_transport.client_settings import (
    read_settings as resolve,
)
from flask_dynamodb_session.options import resolve as resolve_options
from tests.support.apps import TABLE, TEST_CONFIG, check_transport, make_app, served
from tests.support.servers import HOST, create_table

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from flask import Flask
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.proxy import DynamoProxy

#: One session for the clients of this module: building one re-reads
#: botocore's models.
_SESSION = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s")
KEY = {"id": {"S": "x"}}


def new_client(**options: t.Any) -> t.Any:
    """A boto3 DynamoDB client with dummy keys."""
    return _SESSION.client("dynamodb", **options)


class Sent(t.NamedTuple):
    """Where botocore sent a call, and what it signed it for."""

    url: str
    region: str
    signing_name: str


class _CannedBody:
    """The raw body of an answer that was never received."""

    def stream(self, **kwargs: t.Any) -> Iterator[bytes]:
        yield b"{}"


def sent(client: t.Any) -> Sent:
    """Make a ``GetItem`` with ``client`` and tell where botocore sent it.

    A ``before-send`` hook records the request and answers it in place of
    the network.
    """
    seen: list[Sent] = []

    def record(request: t.Any, **kwargs: t.Any) -> AWSResponse:
        authorization = request.headers["Authorization"]
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
        _, _, region, signing_name, _ = credential.split("/")
        seen.append(Sent(request.url, region, signing_name))
        return AWSResponse(request.url, 200, {}, _CannedBody())  # type: ignore[arg-type]

    client.meta.events.register("before-send.dynamodb.GetItem", record)
    client.get_item(TableName="t", Key=KEY)
    client.meta.events.unregister("before-send.dynamodb.GetItem", record)
    return seen[0]


def lean_target(client: t.Any) -> Sent:
    """Where the lean client built from ``client`` sends a call."""
    settings = resolve(client)
    assert isinstance(settings, LeanSettings), settings
    lean = LeanClient(settings)
    assert lean.signer.host == urlsplit(lean.pool.url).netloc
    return Sent(lean.pool.url, lean.signer.region, settings.signing_name)


# -- endpoint and signing region ------------------------------------------------

_FIPS = Config(use_fips_endpoint=True)
_DUAL_STACK = Config(use_dualstack_endpoint=True)
_FIPS_DUAL_STACK = Config(use_fips_endpoint=True, use_dualstack_endpoint=True)

ENDPOINTS = [
    pytest.param({"region_name": "us-east-1"}, {}, id="us-east-1"),
    pytest.param({"region_name": "eu-west-1"}, {}, id="eu-west-1"),
    pytest.param(
        {"region_name": "us-gov-west-1", "config": _FIPS}, {}, id="govcloud-fips"
    ),
    pytest.param(
        {"region_name": "us-gov-west-1"},
        {"AWS_USE_FIPS_ENDPOINT": "true"},
        id="govcloud-fips-from-the-environment",
    ),
    pytest.param(
        {"region_name": "us-gov-east-1", "config": _FIPS_DUAL_STACK},
        {},
        id="govcloud-fips-dual-stack",
    ),
    pytest.param({"region_name": "cn-north-1"}, {}, id="china"),
    pytest.param(
        {"region_name": "cn-north-1", "config": _DUAL_STACK}, {}, id="china-dual-stack"
    ),
    pytest.param(
        {"region_name": "eu-west-1", "config": _DUAL_STACK}, {}, id="dual-stack"
    ),
    pytest.param(
        {"region_name": "us-east-1", "config": _FIPS_DUAL_STACK},
        {},
        id="fips-dual-stack",
    ),
    pytest.param({"region_name": "eu-west-1", "use_ssl": False}, {}, id="use_ssl-off"),
    pytest.param(
        {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:8000"},
        {},
        id="endpoint_url",
    ),
    pytest.param(
        {
            "region_name": "us-gov-west-1",
            "endpoint_url": "https://dynamodb.example.com",
            "config": _FIPS,
        },
        {},
        id="endpoint_url-and-fips",
    ),
    pytest.param(
        {"region_name": "eu-west-1"},
        {"AWS_ENDPOINT_URL_DYNAMODB": "http://localhost:8123"},
        id="AWS_ENDPOINT_URL_DYNAMODB",
    ),
    pytest.param(
        {"region_name": "eu-west-1"},
        {"AWS_ENDPOINT_URL": "http://localhost:4566"},
        id="AWS_ENDPOINT_URL",
    ),
    pytest.param({"region_name": "local"}, {}, id="local"),
    pytest.param(
        {"region_name": "local", "endpoint_url": "http://127.0.0.1:8000"},
        {},
        id="local-endpoint_url",
    ),
    pytest.param(
        {"region_name": "moon-1", "endpoint_url": "http://localhost:4566"},
        {},
        id="other-region-endpoint_url",
    ),
    pytest.param(
        {"region_name": "dynalite", "endpoint_url": "https://ddb.internal:4567"},
        {},
        id="other-region-https-endpoint_url",
    ),
]


@pytest.mark.parametrize(("options", "environ"), ENDPOINTS)
def test_endpoint_and_signing_region_are_botocores(
    options: dict[str, t.Any],
    environ: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert lean_target(new_client(**options)) == sent(new_client(**options))


def test_region_local_signs_for_us_east_1() -> None:
    """botocore's ruleset sends region "local" to DynamoDB Local's address."""
    target = lean_target(new_client(region_name="local"))
    assert target == Sent("http://localhost:8000/", "us-east-1", "dynamodb")


def test_govcloud_fips_calls_the_host_boto3_calls() -> None:
    client = new_client(region_name="us-gov-west-1", config=_FIPS)
    # The client's own endpoint_url is not where its calls go.
    assert (
        client.meta.endpoint_url == "https://dynamodb-fips.us-gov-west-1.amazonaws.com"
    )
    assert lean_target(client).url == "https://dynamodb.us-gov-west-1.amazonaws.com/"


def test_an_account_based_endpoint_is_replaced_by_the_regional_one() -> None:
    account = {
        "region_name": "eu-west-1",
        "aws_access_key_id": "k",
        "aws_secret_access_key": "s",
        "aws_account_id": "123456789012",
    }
    assert sent(new_client(**account)).url == (
        "https://123456789012.ddb.eu-west-1.amazonaws.com/"
    )
    regional = sent(
        new_client(**account, config=Config(account_id_endpoint_mode="disabled"))
    )
    assert regional.url == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert lean_target(new_client(**account)) == regional


def test_resolving_the_endpoint_fetches_no_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetched: list[bool] = []

    def fetch() -> t.NoReturn:
        fetched.append(True)
        raise AssertionError("credentials fetched")

    credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="test")
    core = botocore.session.Session()
    monkeypatch.setattr(core, "get_credentials", lambda: credentials)
    client = boto3.session.Session(botocore_session=core).client(
        "dynamodb", region_name="eu-west-1"
    )
    settings = resolve(client)
    assert isinstance(settings, LeanSettings)
    assert settings.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert not fetched


def test_without_a_ruleset_the_clients_own_endpoint() -> None:
    client = new_client(region_name="eu-west-1")
    client._ruleset_resolver = None
    assert lean_target(client) == sent(new_client(region_name="eu-west-1"))


def test_an_endpoint_that_cannot_be_resolved_selects_boto3() -> None:
    unresolvable = new_client(region_name="eu-west-1")
    unresolvable._ruleset_resolver._builtins["AWS::Region"] = None
    reason = resolve(unresolvable)
    assert isinstance(reason, str)
    assert reason.startswith("the endpoint cannot be resolved")


# -- the URL scheme -------------------------------------------------------------


class RecordingServer:
    """A loopback HTTP/1.1 server answering ``200 {}`` to every request.

    A context manager; keeps the raw bytes of each request it reads.

    :param context: TLS settings to serve HTTPS with.
    """

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.context = context
        self.requests: list[bytes] = []
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            # Wakes the accepting thread (closing alone does not).
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), contextlib.ExitStack() as stack:
            stack.callback(conn.close)
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
                stack.callback(conn.close)
            self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(data) < length:
                data += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + data[:length])
            data = data[length:]
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0"
                b"\r\nContent-Length: 2\r\n\r\n{}"
            )


def test_an_upper_case_https_scheme_gets_the_ca_bundle(
    certificate: tuple[Path, Path],
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with RecordingServer(context) as server:
        client = new_client(
            region_name="eu-west-1",
            endpoint_url=f"HTTPS://localhost:{server.port}",
            verify=str(certificate[0]),
        )
        settings = resolve(client)
        assert isinstance(settings, LeanSettings)
        assert settings.ssl_context is not None
        subjects = [cert["subject"] for cert in settings.ssl_context.get_ca_certs()]
        assert subjects == [((("commonName", "localhost"),),)]
        lean = LeanClient(settings)
        try:
            assert "Item" not in lean.get_item(TableName="t", Key=KEY)
        finally:
            lean.close()
        assert len(server.requests) == 1


# -- the request head -----------------------------------------------------------

UNSAFE_CONFIGS = [
    pytest.param(Config(user_agent_extra="x\r\nX-Injected: 1"), id="extra-crlf"),
    pytest.param(Config(user_agent_extra="x\nX-Injected: 1"), id="extra-lf"),
    pytest.param(Config(user_agent="agent\rX-Injected: 1"), id="agent-cr"),
    pytest.param(
        Config(user_agent_appid="app\r\nX-Injected: 1"),  # type: ignore[call-arg]
        id="appid-crlf",
    ),
    pytest.param(Config(user_agent="agent\x00"), id="agent-nul"),
    pytest.param(Config(user_agent_extra="tab\there"), id="extra-tab"),
    pytest.param(Config(user_agent_extra="del\x7f"), id="extra-del"),
]


@pytest.mark.parametrize("config", UNSAFE_CONFIGS)
def test_a_control_character_in_a_setting_selects_boto3(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    client = new_client(region_name="eu-west-1", config=config)
    with caplog.at_level(logging.DEBUG, "flask_dynamodb_session"):
        assert lean_client_for(client) is None
    assert "a control or non-ASCII character in the User-Agent" in caplog.text


def test_a_control_character_in_the_endpoint_selects_boto3() -> None:
    client = new_client(region_name="eu-west-1", endpoint_url="http://127.0.0.1:8000")
    client._ruleset_resolver._builtins["SDK::Endpoint"] = "http://a\x0bb@127.0.0.1:8000"
    assert resolve(client) == (
        "a control or non-ASCII character in the endpoint URL"
        " 'http://a\\x0bb@127.0.0.1:8000'"
    )


@pytest.mark.server
def test_no_header_is_injected_through_the_user_agent(
    dynamodb: DynamoDBClient, proxy: DynamoProxy
) -> None:
    config = TEST_CONFIG.merge(Config(user_agent_extra="x\r\nX-Injected: 1"))
    app = make_app(**served(proxy, "lean", botocore_config=config))
    check_transport(app, "boto3")
    client = app.test_client()
    # boto3's HTTP layer refuses such a header: the session store is down.
    assert client.post("/set/a/1").status_code == 503
    assert all("x-injected" not in call.headers for call in proxy.calls)


# -- stepping aside safely ------------------------------------------------------


def _after_init(
    monkeypatch: pytest.MonkeyPatch,
    cls: type[t.Any],
    change: Callable[[t.Any], None],
) -> None:
    """Apply ``change`` to every ``cls`` object built from now on."""
    original = cls.__init__

    def init(self: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        original(self, *args, **kwargs)
        change(self)

    monkeypatch.setattr(cls, "__init__", init)


class _SignerWithoutCredentials:
    """A request signer whose ``_credentials`` has another name."""

    def __init__(self, signer: t.Any) -> None:
        self._wrapped = signer

    def __getattr__(self, name: str) -> t.Any:
        if name == "_credentials":
            raise AttributeError(name)
        return getattr(self._wrapped, name)


def _rename_socket_options(session: t.Any) -> None:
    session._socket_opts = session.__dict__.pop("_socket_options")


def _socket_options_of_another_type(session: t.Any) -> None:
    session._socket_options = None


def _rename_credentials(client: t.Any) -> None:
    if client.meta.service_model.service_name == "dynamodb":
        client._request_signer = _SignerWithoutCredentials(client._request_signer)


RENAMES = [
    pytest.param(URLLib3Session, _rename_socket_options, id="socket-options-renamed"),
    pytest.param(
        URLLib3Session, _socket_options_of_another_type, id="socket-options-type"
    ),
    pytest.param(
        botocore.client.BaseClient, _rename_credentials, id="credentials-renamed"
    ),
]


@pytest.mark.server
@pytest.mark.parametrize(("cls", "change"), RENAMES)
def test_an_unexpected_botocore_internal_serves_over_boto3(
    cls: type[t.Any],
    change: Callable[[t.Any], None],
    dynamodb: DynamoDBClient,
    proxy: DynamoProxy,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _after_init(monkeypatch, cls, change)
    app = make_app(**served(proxy, "lean"))
    client = app.test_client()
    with caplog.at_level(logging.INFO, "flask_dynamodb_session"):
        assert client.post("/set/a/1").status_code == 200
        assert client.get("/get/a").json == {"value": "1"}
        assert client.get("/get/a").json == {"value": "1"}
    check_transport(app, "boto3")
    assert proxy.count("GetItem") >= 2
    notes = [r for r in caplog.records if "stay on boto3" in r.getMessage()]
    assert len(notes) == 1
    assert notes[0].levelno == logging.WARNING


def test_any_failure_reading_the_client_selects_boto3(
    caplog: pytest.LogCaptureFixture,
) -> None:
    verify = new_client(region_name="eu-west-1")
    verify._endpoint.http_session._verify = object()
    proxies = new_client(region_name="eu-west-1")
    del proxies._endpoint.http_session._proxy_config
    signer = new_client(region_name="eu-west-1")
    signer._request_signer = types.SimpleNamespace(_signature_version="v4")
    for client in (verify, proxies, signer):
        with caplog.at_level(logging.WARNING, "flask_dynamodb_session"):
            assert lean_client_for(client) is None
    assert caplog.text.count("stay on boto3") == 3


# -- event handlers -------------------------------------------------------------


def _item_client(app: Flask) -> t.Any:
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)
    return interface.store_for(app).gateway.item_client


def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail, at once, any connection to a host other than the loopback."""
    getaddrinfo = socket.getaddrinfo

    def resolve_loopback(host: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if host not in (HOST, "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not loopback")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_loopback)


def test_an_active_mock_aws_with_no_client_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _loopback_only(monkeypatch)
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        app = make_app(table=TABLE, region_name="us-east-1")
        client = app.test_client()
        assert client.post("/set/a/1").status_code == 200
        assert client.get("/get/a").json == {"value": "1"}
        assert not isinstance(_item_client(app), LeanClient)


def test_an_active_mock_aws_selects_boto3() -> None:
    with mock_aws():
        reason = resolve(new_client(region_name="us-east-1"))
    assert isinstance(reason, str)
    assert "moto" in reason


@pytest.mark.server
def test_moto_imported_but_no_mock_active(
    dynamodb: DynamoDBClient, proxy: DynamoProxy
) -> None:
    from moto.core.models import botocore_stubber

    client = new_client(region_name="us-east-1", endpoint_url=proxy.endpoint_url)
    hooks = client.meta.events._emitter._handlers
    assert botocore_stubber in hooks.prefix_search("before-send.dynamodb.GetItem")
    assert not botocore_stubber.enabled
    lean = lean_client_for(client)
    assert lean is not None
    try:
        assert "Item" not in lean.get_item(TableName=TABLE, Key=KEY)
    finally:
        lean.close()
    assert proxy.operations() == ["GetItem"]


def test_an_active_stubber_selects_boto3() -> None:
    client = new_client(region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.activate()
    reason = resolve(client)
    assert isinstance(reason, str)
    assert "botocore.stub" in reason
    stubber.deactivate()
    assert isinstance(resolve(client), LeanSettings)


def _hook(**kwargs: t.Any) -> None:
    """A user's event handler."""


@pytest.mark.parametrize(
    "event",
    [
        "before-send",
        "before-send.dynamodb",
        "before-call.dynamodb.GetItem",
        "before-call.*.*",
        "after-call.dynamodb.PutItem",
        "provide-client-params.dynamodb.UpdateItem",
        "before-parameter-build.dynamodb.DeleteItem",
        "before-endpoint-resolution.dynamodb",
        "request-created.dynamodb",
        "before-sign.dynamodb",
        "needs-retry.dynamodb.GetItem",
    ],
)
def test_a_users_event_handler_selects_boto3(event: str) -> None:
    client = new_client(region_name="eu-west-1")
    client.meta.events.register(event, _hook)
    reason = resolve(client)
    assert isinstance(reason, str)
    assert f"{__name__}._hook" in reason


def test_a_handler_of_another_call_changes_nothing() -> None:
    client = new_client(region_name="eu-west-1")
    client.meta.events.register("before-call.dynamodb.Scan", _hook)
    client.meta.events.register("before-send.s3", _hook)
    assert isinstance(resolve(client), LeanSettings)


@pytest.mark.server
def test_a_before_send_hook_on_the_boto3_session_serves_over_boto3(
    dynamodb: DynamoDBClient, proxy: DynamoProxy
) -> None:
    seen: list[str] = []

    def trace(request: t.Any, **kwargs: t.Any) -> None:
        seen.append(request.headers["X-Amz-Target"].decode())

    session = boto3.session.Session()
    session.events.register("before-send.dynamodb", trace)
    app = make_app(**served(proxy, "lean", boto3_session=session))
    check_transport(app, "boto3")
    client = app.test_client()
    assert client.post("/set/a/1").status_code == 200
    assert client.get("/get/a").json == {"value": "1"}
    assert "DynamoDB_20120810.GetItem" in seen


def test_tracing_that_wraps_botocore_selects_boto3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As aws-xray-sdk, OpenTelemetry or ddtrace patch botocore."""
    original = botocore.client.BaseClient.__dict__["_make_api_call"]

    def traced(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return original(self, *args, **kwargs)

    client = new_client(region_name="eu-west-1")
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", traced)
    reason = resolve(client)
    assert isinstance(reason, str)
    assert "_make_api_call" in reason
    monkeypatch.undo()

    def prepare_request(self: t.Any, request: t.Any) -> t.Any:
        return request

    monkeypatch.setattr(botocore.endpoint.Endpoint, "prepare_request", prepare_request)
    reason = resolve(client)
    assert isinstance(reason, str)
    assert "prepare_request" in reason


def test_aws_xray_sdk_selects_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    xray = pytest.importorskip("aws_xray_sdk.ext.botocore.patch")
    # Undone in reverse order: the patched methods are put back and the
    # marker that stops a second patch is removed again.
    monkeypatch.setattr(
        botocore.client.BaseClient,
        "_make_api_call",
        botocore.client.BaseClient.__dict__["_make_api_call"],
    )
    monkeypatch.setattr(
        botocore.endpoint.Endpoint,
        "prepare_request",
        botocore.endpoint.Endpoint.__dict__["prepare_request"],
    )
    monkeypatch.setattr(botocore.client, "_xray_enabled", False, raising=False)
    monkeypatch.delattr(botocore.client, "_xray_enabled")
    xray.patch()
    assert lean_client_for(new_client(region_name="eu-west-1")) is None


# -- region -----------------------------------------------------------------------


@pytest.fixture
def aws_region_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``AWS_REGION`` set, as Lambda and ECS do; nothing else names a region."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")


@pytest.mark.usefixtures("aws_region_only")
def test_aws_region_is_used_when_botocore_finds_none() -> None:
    assert build_client(resolve_options({})).meta.region_name == "eu-central-1"
    admin = build_client(resolve_options({}), admin=True)
    assert admin.meta.region_name == "eu-central-1"


@pytest.mark.usefixtures("aws_region_only")
def test_aws_region_comes_before_the_local_default() -> None:
    settings = resolve_options({"endpoint_url": "http://localhost:8000"})
    assert build_client(settings).meta.region_name == "eu-central-1"


@pytest.mark.usefixtures("aws_region_only")
def test_botocores_region_comes_before_aws_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert build_client(resolve_options({})).meta.region_name == "eu-west-1"
    settings = resolve_options({"region_name": "ap-south-1"})
    assert build_client(settings).meta.region_name == "ap-south-1"


def test_no_region_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigurationError) as caught:
        build_client(resolve_options({}))
    for name in ("SESSION_DYNAMODB_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        assert name in str(caught.value)
    local = resolve_options({"endpoint_url": "http://localhost:8000"})
    assert build_client(local).meta.region_name == "us-east-1"


@pytest.mark.usefixtures("aws_region_only")
def test_an_app_with_aws_region_only_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    _loopback_only(monkeypatch)
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="eu-central-1"), TABLE)
        client = make_app(table=TABLE).test_client()
        assert client.post("/set/a/1").status_code == 200
        assert client.get("/get/a").json == {"value": "1"}


def test_no_region_at_call_time_names_both_variables() -> None:
    dynamodb = new_client(region_name="eu-west-1")

    def no_region(**kwargs: t.Any) -> t.NoReturn:
        raise NoRegionError()

    dynamodb.meta.events.register("before-call.dynamodb", no_region)
    client = make_app(client=dynamodb, table=TABLE).test_client()
    with pytest.raises(ConfigurationError) as caught:
        client.post("/set/a/1")
    for name in ("SESSION_DYNAMODB_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        assert name in str(caught.value)
