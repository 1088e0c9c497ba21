"""DynamoDBSession: init_app checks config, installs the interface, once."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, session

from flask_dynamodb_session import (
    ConfigurationError,
    DynamoDBSession,
    DynamoDBSessionInterface,
)

if t.TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def new_app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="secret", **config)
    return app


def test_init_app_installs_the_interface(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = new_app()
    extension = DynamoDBSession(app, **options)
    assert app.session_interface is extension.interface
    assert app.extensions["dynamodb_session"] is extension.interface
    assert "dynamo-session" in app.cli.commands

    @app.post("/")
    def index() -> str:
        session["a"] = 1
        return ""

    @app.get("/")
    def read() -> str:
        return str(session["a"])

    client = app.test_client()
    client.post("/")
    assert client.get("/").text == "1"


def test_factory_form_serves_several_apps(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    extension = DynamoDBSession(**options)
    first = new_app(SESSION_DYNAMODB_KEY_PREFIX="a:")
    second = new_app(SESSION_DYNAMODB_KEY_PREFIX="b:")
    extension.init_app(first)
    extension.init_app(second)
    assert extension.interface.settings_for(first).key_prefix == "a:"
    assert extension.interface.settings_for(second).key_prefix == "b:"


def test_second_registration_is_refused() -> None:
    app = new_app()
    DynamoDBSession(app)
    with pytest.raises(RuntimeError, match="already registered"):
        DynamoDBSession(app)


def test_init_app_checks_config_at_once() -> None:
    app = new_app(SESSION_DYNAMODB_BILLING_MODE="FREE")
    with pytest.raises(ConfigurationError) as info:
        DynamoDBSession(app)
    assert info.value.key == "SESSION_DYNAMODB_BILLING_MODE"
    assert "FREE" in str(info.value)
    assert "dynamodb_session" not in app.extensions


def test_init_app_requires_a_secret_key() -> None:
    app = Flask(__name__)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        DynamoDBSession(app)


def test_keyword_options_win_over_config() -> None:
    app = new_app(SESSION_DYNAMODB_TABLE="from-config")
    extension = DynamoDBSession(app, table="from-keyword")
    assert extension.interface.settings_for(app).table == "from-keyword"


def test_extension_stores_no_app() -> None:
    app = new_app()
    extension = DynamoDBSession(app)
    assert not any(value is app for value in vars(extension).values())
    assert isinstance(extension.interface, DynamoDBSessionInterface)
    assert not any(value is app for value in vars(extension.interface).values())


def test_init_app_refuses_fallbacks_given_as_one_string() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="new", SECRET_KEY_FALLBACKS="old")
    with pytest.raises(ConfigurationError, match="SECRET_KEY_FALLBACKS"):
        DynamoDBSession(app)
    assert "dynamodb_session" not in app.extensions
