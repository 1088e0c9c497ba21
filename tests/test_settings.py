"""Options: keyword over config key over default, each checked by name."""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask

from flask_dynamodb_session import ConfigurationError, DynamoDBSessionInterface
from flask_dynamodb_session.settings import CONFIG_KEYS, Settings, resolve


def test_defaults() -> None:
    settings = resolve({}, {})
    assert settings == Settings()
    assert settings.table == "sessions"
    assert settings.ttl == 14 * 24 * 3600
    assert settings.touch_after == 10
    assert settings.consistent_read is True
    assert settings.auto_create is False
    assert (settings.read_capacity, settings.write_capacity) == (5, 5)
    assert settings.billing_mode == "PROVISIONED"
    assert settings.key_prefix == ""


def test_config_keys_are_read() -> None:
    config = {
        "SESSION_DYNAMODB_TABLE": "web-sessions",
        "SESSION_DYNAMODB_REGION": "eu-west-1",
        "SESSION_DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:8000",
        "SESSION_DYNAMODB_TTL": timedelta(hours=1),
        "SESSION_DYNAMODB_TOUCH_AFTER": "30",
        "SESSION_DYNAMODB_CONSISTENT_READ": "false",
        "SESSION_DYNAMODB_AUTO_CREATE": "yes",
        "SESSION_DYNAMODB_READ_CAPACITY": "7",
        "SESSION_DYNAMODB_WRITE_CAPACITY": 9,
        "SESSION_DYNAMODB_BILLING_MODE": "pay_per_request",
        "SESSION_DYNAMODB_KEY_PREFIX": "shop:",
    }
    settings = resolve({}, config)
    assert settings.table == "web-sessions"
    assert settings.region_name == "eu-west-1"
    assert settings.endpoint_url == "http://127.0.0.1:8000"
    assert settings.ttl == 3600
    assert settings.touch_after == 30
    assert settings.consistent_read is False
    assert settings.auto_create is True
    assert (settings.read_capacity, settings.write_capacity) == (7, 9)
    assert settings.billing_mode == "PAY_PER_REQUEST"
    assert settings.key_prefix == "shop:"


def test_keyword_wins_over_config() -> None:
    settings = resolve({"table": "mine"}, {"SESSION_DYNAMODB_TABLE": "theirs"})
    assert settings.table == "mine"


def test_every_option_has_a_config_key() -> None:
    assert set(CONFIG_KEYS) == set(Settings.__dataclass_fields__)
    assert all(key.startswith("SESSION_DYNAMODB_") for key in CONFIG_KEYS.values())


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SESSION_DYNAMODB_TTL", -1),
        ("SESSION_DYNAMODB_TTL", 0),
        ("SESSION_DYNAMODB_TTL", "forever"),
        ("SESSION_DYNAMODB_TTL", True),
        ("SESSION_DYNAMODB_TTL", [1]),
        ("SESSION_DYNAMODB_TOUCH_AFTER", -0.5),
        ("SESSION_DYNAMODB_TOUCH_AFTER", float("nan")),
        ("SESSION_DYNAMODB_BILLING_MODE", "ON_DEMAND"),
        ("SESSION_DYNAMODB_BILLING_MODE", 5),
        ("SESSION_DYNAMODB_READ_CAPACITY", 0),
        ("SESSION_DYNAMODB_WRITE_CAPACITY", "lots"),
        ("SESSION_DYNAMODB_WRITE_CAPACITY", 2.5),
        ("SESSION_DYNAMODB_CONSISTENT_READ", "maybe"),
        ("SESSION_DYNAMODB_AUTO_CREATE", 2),
        ("SESSION_DYNAMODB_TABLE", "x"),
        ("SESSION_DYNAMODB_TABLE", 42),
        ("SESSION_DYNAMODB_KEY_PREFIX", 3),
    ],
)
def test_bad_config_value_names_the_key(key: str, value: t.Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve({}, {key: value})
    assert info.value.key == key
    assert key in str(info.value)
    assert repr(value) in str(info.value)


def test_bad_keyword_value_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_TTL"):
        DynamoDBSessionInterface(ttl=-5)


def test_unknown_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match="'tabel'"):
        DynamoDBSessionInterface(tabel="sessions")


def test_config_is_read_once_per_app() -> None:
    interface = DynamoDBSessionInterface()
    app = Flask(__name__)
    app.config["SESSION_DYNAMODB_TABLE"] = "first"
    assert interface.settings_for(app).table == "first"
    app.config["SESSION_DYNAMODB_TABLE"] = "second"
    assert interface.settings_for(app).table == "first"
    other = Flask(__name__)
    other.config["SESSION_DYNAMODB_TABLE"] = "other"
    assert interface.settings_for(other).table == "other"


def test_construction_and_import_make_no_network_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import botocore.endpoint

    def refuse(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise AssertionError("network call")

    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", refuse)
    interface = DynamoDBSessionInterface(region_name="us-east-1")
    app = Flask(__name__)
    app.secret_key = "s"
    app.session_interface = interface
    assert interface.store_for(app).client is not None
    assert app.test_client().get("/nothing").status_code == 404


def test_missing_region_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    interface = DynamoDBSessionInterface()
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_REGION"):
        _ = interface.store.client


def test_endpoint_without_region_uses_a_local_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    interface = DynamoDBSessionInterface(endpoint_url="http://127.0.0.1:9")
    client = interface.store.client
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


def test_client_has_standard_retries_and_timeouts() -> None:
    from botocore.config import Config

    interface = DynamoDBSessionInterface(
        region_name="eu-west-1", botocore_config=Config(read_timeout=1)
    )
    config = vars(interface.store.client.meta.config)
    assert config["retries"] == {"mode": "standard", "total_max_attempts": 4}
    assert config["connect_timeout"] == 2
    assert config["read_timeout"] == 1
    assert config["user_agent"].startswith("flask-dynamodb-session/")


def test_one_client_per_interface() -> None:
    interface = DynamoDBSessionInterface(region_name="eu-west-1")
    app = Flask(__name__)
    with app.app_context():
        first = interface.store.client
    assert interface.store.client is first
    assert interface.store_for(app).client is first


def test_client_is_built_once_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from flask_dynamodb_session import client as client_module
    from flask_dynamodb_session import store as store_module

    built: list[object] = []
    real_build = client_module.build_client

    def slow_build(settings: Settings) -> t.Any:
        built.append(settings)
        threading.Event().wait(0.05)
        return real_build(settings)

    monkeypatch.setattr(store_module, "build_client", slow_build)
    interface = DynamoDBSessionInterface(region_name="eu-west-1")
    store = interface.store
    clients: list[object] = []
    threads = [
        threading.Thread(target=lambda: clients.append(store.client)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert all(client is clients[0] for client in clients)


def test_client_is_built_from_a_given_boto3_session() -> None:
    import boto3

    session = boto3.session.Session(region_name="ap-southeast-2")
    interface = DynamoDBSessionInterface(boto3_session=session)
    client = interface.store.client
    assert client.meta.region_name == "ap-southeast-2"


def test_a_given_client_is_used_as_it_is() -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="sa-east-1")
    interface = DynamoDBSessionInterface(client=client)
    assert interface.store.client is client
    client.close()
