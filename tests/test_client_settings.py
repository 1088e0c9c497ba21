"""What a lean client takes from a boto3 client, and what keeps calls on boto3.

No server is needed: building a client, boto3's or lean, calls nothing.
"""

from __future__ import annotations

import logging
import types
import typing as t

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.httpsession import where

from flask_dynamodb_session.lean_transport import LeanClient, lean_client_for
from flask_dynamodb_session.lean_transport.client_settings import (
    read_settings as resolve,
)


def build(**options: t.Any) -> tuple[t.Any, LeanClient | None]:
    """A boto3 client of eu-west-1 with dummy keys, and its lean client."""
    config = options.pop("config", None)
    session = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="eu-west-1"
    )
    client = session.client("dynamodb", config=config, **options)
    return client, lean_client_for(client)


def test_endpoint_region_timeouts_and_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    _, lean = build(
        config=Config(connect_timeout=1.5, read_timeout=2.5, max_pool_connections=7)
    )
    assert lean is not None
    assert lean.pool.url == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert lean.signer.host == "dynamodb.eu-west-1.amazonaws.com"
    assert lean.signer.region == "eu-west-1"
    assert (lean.pool.connect_timeout, lean.pool.read_timeout) == (1.5, 2.5)
    assert lean.pool.max_connections == 7
    assert lean.pool.ssl_context is not None
    assert lean.pool.ssl_context.check_hostname
    _, fips = build(config=Config(use_fips_endpoint=True))
    assert fips is not None
    assert fips.pool.host == "dynamodb-fips.eu-west-1.amazonaws.com"
    _, dual = build(config=Config(use_dualstack_endpoint=True))
    assert dual is not None
    assert dual.pool.host == "dynamodb.eu-west-1.api.aws"
    _, unverified = build(verify=False)
    assert unverified is not None
    assert unverified.pool.ssl_context is not None
    assert not unverified.pool.ssl_context.check_hostname
    _, bundled = build(verify=where())
    assert bundled is not None
    assert bundled.pool.ssl_context is not None
    assert bundled.pool.ssl_context.get_ca_certs()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8123")
    _, local = build()
    assert local is not None
    assert (local.pool.url, local.signer.host) == (
        "http://localhost:8123/",
        "localhost:8123",
    )


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"config": Config(proxies={"https": "http://proxy.example:3128"})}, "a proxy"),
        ({"config": Config(client_cert="/tmp/cert.pem")}, "a client certificate"),
        ({"config": Config(retries={"mode": "adaptive"})}, "retry mode 'adaptive'"),
        ({"config": Config(signature_version=UNSIGNED)}, "signature version"),
        ({"config": Config(endpoint_discovery_enabled=True)}, "endpoint discovery"),
        (
            {"config": Config(account_id_endpoint_mode="required")},
            "account_id_endpoint_mode",
        ),
    ],
)
def test_settings_it_cannot_honour_select_boto3(
    options: dict[str, t.Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, "flask_dynamodb_session.lean_transport.client"):
        client, lean = build(**options)
    assert lean is None
    assert reason in caplog.text
    client.close()


def test_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert build()[1] is None
    monkeypatch.setenv("NO_PROXY", "amazonaws.com")
    assert build()[1] is not None


def test_other_settings_are_accepted() -> None:
    config = Config(  # type: ignore[call-arg]
        parameter_validation=False,
        tcp_keepalive=True,
        user_agent_extra="extra/1",
        user_agent_appid="myapp",
        s3={"addressing_style": "path"},
        proxies={},
    )
    _, lean = build(config=config)
    assert lean is not None
    assert "extra/1" in lean._operations["GetItem"][2]
    assert "app/myapp" in lean._operations["GetItem"][2]


def test_not_a_dynamodb_client() -> None:
    client = boto3.session.Session(region_name="eu-west-1").client(
        "sqs", aws_access_key_id="k", aws_secret_access_key="s"
    )
    assert lean_client_for(client) is None
    assert LeanClient.from_boto3(object()) is None


def test_an_endpoint_url_with_a_path_selects_boto3() -> None:
    client, lean = build(endpoint_url="http://localhost:4566/dynamodb")
    assert lean is None
    assert resolve(client) == "the endpoint URL 'http://localhost:4566/dynamodb'"
    assert build(endpoint_url="http://localhost:4566/")[1] is not None


def test_an_unusual_http_layer_selects_boto3() -> None:
    client, _ = build()
    client._endpoint.http_session = object()
    assert resolve(client) == "an HTTP session other than botocore's URLLib3Session"


def test_settings_taken() -> None:
    client, _ = build(
        config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    settings = resolve(client)
    assert not isinstance(settings, str)
    assert settings.region == "eu-west-1"
    assert settings.signing_name == "dynamodb"
    assert settings.check_first_answer
    assert settings.credentials is not None
    assert settings.credentials.get_frozen_credentials().access_key == "k"
    assert settings.exceptions is client.exceptions


def stand_in(**model: t.Any) -> t.Any:
    """Something shaped like a client, with the given service model fields."""
    fields = {"service_name": "dynamodb", "protocol": "json", "metadata": {}, **model}
    return types.SimpleNamespace(
        meta=types.SimpleNamespace(service_model=types.SimpleNamespace(**fields))
    )


def test_a_protocol_or_auth_it_does_not_speak_selects_boto3() -> None:
    assert resolve(stand_in(protocol="smithy-rpc-v2-cbor")) == (
        "the 'smithy-rpc-v2-cbor' protocol"
    )
    assert resolve(stand_in(metadata={"auth": ["aws.auth#sigv4a"]})) == (
        "the auth schemes ['aws.auth#sigv4a']"
    )


def test_event_handlers_it_cannot_inspect_count_as_endpoint_discovery() -> None:
    client, _ = build()
    client.meta.events = types.SimpleNamespace()
    assert resolve(client) == "endpoint discovery"


def test_a_ca_bundle_that_cannot_be_loaded_selects_boto3(tmp_path: t.Any) -> None:
    missing = str(tmp_path / "missing.pem")
    client, lean = build(verify=missing)
    assert lean is None
    reason = resolve(client)
    assert isinstance(reason, str)
    assert reason.startswith(f"the CA bundle {missing!r} cannot be loaded")


def test_no_tls_settings_for_http() -> None:
    client, _ = build(endpoint_url="http://localhost:8000")
    settings = resolve(client)
    assert not isinstance(settings, str)
    assert settings.ssl_context is None
