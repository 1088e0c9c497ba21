"""Options: keyword over config key over default, each checked by name."""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask

from flask_dynamodb_session import ConfigurationError, DynamoDBSessionInterface
from flask_dynamodb_session.option_checks import (
    MAX_CAPACITY,
    MAX_KEY_PREFIX_BYTES,
    MAX_SECONDS,
)
from flask_dynamodb_session.options import CONFIG_KEYS, Settings, resolve

#: The options whose default is ``None``: a keyword ``None`` means the default.
OPTIONAL = ["region_name", "endpoint_url", "client", "boto3_session", "botocore_config"]


def short_id(value: object) -> str:
    """A test id that stays readable for values of thousands of characters."""
    text = str(value)
    return text if len(text) <= 40 else f"{text[:12]}...({len(text)} chars)"


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
        "SESSION_DYNAMODB_AUTO_CREATE": "TRUE",
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
        # Values out of any sane range, or not numbers at all.
        ("SESSION_DYNAMODB_TTL", "inf"),
        ("SESSION_DYNAMODB_TTL", float("inf")),
        ("SESSION_DYNAMODB_TTL", "-inf"),
        ("SESSION_DYNAMODB_TTL", 10**400),
        ("SESSION_DYNAMODB_TTL", "1" + "0" * 400),
        ("SESSION_DYNAMODB_TTL", "1e40"),
        ("SESSION_DYNAMODB_TTL", 1e40),
        ("SESSION_DYNAMODB_TTL", MAX_SECONDS + 1),
        ("SESSION_DYNAMODB_TTL", timedelta.max),
        ("SESSION_DYNAMODB_TTL", float("nan")),
        ("SESSION_DYNAMODB_TTL", "nan"),
        ("SESSION_DYNAMODB_TOUCH_AFTER", "inf"),
        ("SESSION_DYNAMODB_TOUCH_AFTER", 10**400),
        ("SESSION_DYNAMODB_TOUCH_AFTER", "1e40"),
        ("SESSION_DYNAMODB_TOUCH_AFTER", timedelta(days=3651)),
        ("SESSION_DYNAMODB_READ_CAPACITY", 10**400),
        ("SESSION_DYNAMODB_READ_CAPACITY", "9" * 5000),
        ("SESSION_DYNAMODB_READ_CAPACITY", MAX_CAPACITY + 1),
        ("SESSION_DYNAMODB_READ_CAPACITY", float("inf")),
        ("SESSION_DYNAMODB_READ_CAPACITY", float("nan")),
        ("SESSION_DYNAMODB_READ_CAPACITY", "1e3"),
        ("SESSION_DYNAMODB_READ_CAPACITY", "-5"),
        ("SESSION_DYNAMODB_WRITE_CAPACITY", True),
        ("SESSION_DYNAMODB_WRITE_CAPACITY", "\u0665"),
        ("SESSION_DYNAMODB_KEY_PREFIX", b"app1:"),
        ("SESSION_DYNAMODB_KEY_PREFIX", ["app1:"]),
        ("SESSION_DYNAMODB_KEY_PREFIX", "x" * (MAX_KEY_PREFIX_BYTES + 1)),
        ("SESSION_DYNAMODB_KEY_PREFIX", "\u00e9" * (MAX_KEY_PREFIX_BYTES // 2 + 1)),
        ("SESSION_DYNAMODB_KEY_PREFIX", "app\ud800:"),
        ("SESSION_DYNAMODB_TABLE", "my sessions"),
        ("SESSION_DYNAMODB_TABLE", "x" * 256),
        ("SESSION_DYNAMODB_REGION", "eu west 1"),
        ("SESSION_DYNAMODB_REGION", 5),
        ("SESSION_DYNAMODB_ENDPOINT_URL", "localhost:8000"),
        ("SESSION_DYNAMODB_ENDPOINT_URL", 8000),
        ("SESSION_DYNAMODB_CLIENT", "not a client"),
        ("SESSION_DYNAMODB_BOTO3_SESSION", "default"),
        ("SESSION_DYNAMODB_BOTOCORE_CONFIG", {"read_timeout": 1}),
    ],
    ids=short_id,
)
def test_bad_config_value_names_the_key(key: str, value: t.Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve({}, {key: value})
    assert info.value.key == key
    assert key in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ttl", "inf"),
        ("ttl", 10**400),
        ("ttl", "1e40"),
        ("touch_after", float("inf")),
        ("touch_after", 10**400),
        ("touch_after", "1e40"),
    ],
    ids=short_id,
)
def test_lifetimes_past_ten_years_are_refused(name: str, value: t.Any) -> None:
    with pytest.raises(ConfigurationError, match=r"at most 10 years") as info:
        DynamoDBSessionInterface(**{name: value})
    assert info.value.key == CONFIG_KEYS[name]


@pytest.mark.parametrize("name", ["ttl", "touch_after"])
def test_ten_years_is_allowed(name: str) -> None:
    settings = resolve({name: timedelta(days=3650)})
    assert getattr(settings, name) == MAX_SECONDS == 10 * 365 * 24 * 3600
    assert getattr(resolve({name: f"{MAX_SECONDS}.0"}), name) == MAX_SECONDS


def test_capacity_bounds() -> None:
    settings = resolve({"read_capacity": MAX_CAPACITY, "write_capacity": " 1 "})
    assert (settings.read_capacity, settings.write_capacity) == (MAX_CAPACITY, 1)


def test_a_long_key_prefix_within_the_key_limit() -> None:
    prefix = "x" * MAX_KEY_PREFIX_BYTES
    assert resolve({"key_prefix": prefix}).key_prefix == prefix
    assert MAX_KEY_PREFIX_BYTES + 64 == 2048


@pytest.mark.parametrize("name", OPTIONAL)
def test_none_is_the_default_of_an_optional_option(name: str) -> None:
    assert getattr(resolve({name: None}), name) is None
    DynamoDBSessionInterface(**{name: None})


def test_none_keywords_are_accepted_together() -> None:
    interface = DynamoDBSessionInterface(
        endpoint_url=None,
        region_name=None,
        client=None,
        boto3_session=None,
        botocore_config=None,
    )
    assert interface.store.settings == Settings()


def test_a_none_keyword_leaves_the_config_key_in_force() -> None:
    config = {
        "SESSION_DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:8000",
        "SESSION_DYNAMODB_REGION": "eu-west-1",
    }
    settings = resolve({"endpoint_url": None, "region_name": None}, config)
    assert settings.endpoint_url == "http://127.0.0.1:8000"
    assert settings.region_name == "eu-west-1"


def test_none_is_no_value_for_an_option_with_a_default() -> None:
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_TTL"):
        DynamoDBSessionInterface(ttl=None)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("region_name", "", None),
        ("endpoint_url", "", None),
        ("endpoint_url", "http://[::1]:8000", "http://[::1]:8000"),
        ("endpoint_url", "https://dynamodb.eu-west-1.amazonaws.com", None),
        ("table", "my-app.sessions_v2", None),
        ("key_prefix", "\u00e9" * (MAX_KEY_PREFIX_BYTES // 2), None),
    ],
)
def test_good_values_pass(name: str, value: t.Any, expected: t.Any) -> None:
    assert getattr(resolve({name: value}), name) == (
        value if expected is None and value else expected
    )


def test_the_optional_objects_are_type_checked() -> None:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name="eu-west-1")
    client = session.client("dynamodb")
    config = Config(read_timeout=3)
    settings = resolve(
        {"client": client, "boto3_session": session, "botocore_config": config}
    )
    assert settings.client is client
    assert settings.boto3_session is session
    assert settings.botocore_config is config
    other = session.client("s3")
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_CLIENT"):
        resolve({"client": other})
    with pytest.raises(ConfigurationError, match="SESSION_DYNAMODB_CLIENT"):
        resolve({"client": session.resource("dynamodb")})
    client.close()
    other.close()


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
    assert interface.store_for(app).gateway.admin_client is not None
    assert app.test_client().get("/nothing").status_code == 404


def test_missing_region_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    interface = DynamoDBSessionInterface()
    with pytest.raises(ConfigurationError) as info:
        _ = interface.store.gateway.admin_client
    assert str(info.value) == (
        "SESSION_DYNAMODB_REGION must be set (or AWS_REGION / AWS_DEFAULT_REGION"
        " in the environment)"
    )


def test_endpoint_without_region_uses_a_local_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    interface = DynamoDBSessionInterface(endpoint_url="http://127.0.0.1:9")
    client = interface.store.gateway.admin_client
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


def test_one_client_per_app_and_one_outside_apps() -> None:
    interface = DynamoDBSessionInterface(region_name="eu-west-1")
    app = Flask(__name__)
    with app.app_context():
        first = interface.store.gateway.admin_client
    with app.app_context():
        assert interface.store.gateway.admin_client is first
    assert interface.store_for(app).gateway.admin_client is first
    detached = interface.store.gateway.admin_client
    assert interface.store.gateway.admin_client is detached


def test_client_is_built_once_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from flask_dynamodb_session import client as client_module
    from flask_dynamodb_session import gateway as store_module

    built: list[bool] = []
    real_build = client_module.build_client

    def slow_build(settings: Settings, *, admin: bool = False) -> t.Any:
        built.append(admin)
        threading.Event().wait(0.05)
        return real_build(settings, admin=admin)

    monkeypatch.setattr(store_module, "build_client", slow_build)
    interface = DynamoDBSessionInterface(region_name="eu-west-1")
    store = interface.store
    clients: list[object] = []
    item_clients: list[object] = []

    def use() -> None:
        clients.append(store.gateway.admin_client)
        item_clients.append(store.gateway.item_client)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One client for the table's life, one for the request path.
    assert sorted(built) == [False, True]
    assert all(client is clients[0] for client in clients)
    assert all(client is item_clients[0] for client in item_clients)


def test_client_is_built_from_a_given_boto3_session() -> None:
    import boto3

    session = boto3.session.Session(region_name="ap-southeast-2")
    interface = DynamoDBSessionInterface(boto3_session=session)
    client = interface.store.gateway.admin_client
    assert client.meta.region_name == "ap-southeast-2"


def test_a_given_client_is_used_as_it_is() -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="sa-east-1")
    interface = DynamoDBSessionInterface(client=client)
    assert interface.store.gateway.admin_client is client
    client.close()
