"""DynamoDBSession: init_app checks config, installs the interface, once."""

from __future__ import annotations

import typing as t
import warnings

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


# -- config keys nothing reads ---------------------------------------------------

#: Typos of our keys, and Flask-Session's keys, beside keys that are known.
STRAY_CONFIG = {
    "SESSION_DYNAMODB_TABEL": "shop",
    "SESSION_DYNAMODB_REGION_NAME": "eu-west-1",
    "SESSION_TYPE": "dynamodb",
    "SESSION_KEY_PREFIX": "shop:",
    "SESSION_PERMANENT": False,
    "SESSION_USE_SIGNER": True,
    "SESSION_DYNAMODB": object(),
    "SESSION_REDIS": object(),
    "SESSION_WHATEVER": 1,
    # Known: Flask's own, and ours (Flask-Session's table key is ours too).
    "SESSION_COOKIE_NAME": "shop",
    "SESSION_COOKIE_PARTITIONED": False,
    "SESSION_REFRESH_EACH_REQUEST": True,
    "SESSION_DYNAMODB_TABLE": "shop-sessions",
    "SESSION_DYNAMODB_TTL": 60,
}


def unknown_keys_message(caught: list[t.Any]) -> str:
    """The one warning about unknown keys among ``caught``."""
    messages = [str(w.message) for w in caught if "config keys" in str(w.message)]
    assert len(messages) == 1, messages
    return messages[0]


def test_init_app_warns_once_about_every_unknown_session_key() -> None:
    app = new_app(**STRAY_CONFIG)
    with pytest.warns(UserWarning, match="ignores these config keys") as caught:
        DynamoDBSession(app)
    message = unknown_keys_message(caught.list)
    assert message == (
        "flask-dynamodb-session ignores these config keys:"
        " SESSION_DYNAMODB (Flask-Session's: use SESSION_DYNAMODB_CLIENT with a"
        " low-level client, such as resource.meta.client);"
        " SESSION_DYNAMODB_REGION_NAME (did you mean SESSION_DYNAMODB_REGION?);"
        " SESSION_DYNAMODB_TABEL (did you mean SESSION_DYNAMODB_TABLE?);"
        " SESSION_KEY_PREFIX (Flask-Session's: use SESSION_DYNAMODB_KEY_PREFIX);"
        " SESSION_PERMANENT (Flask-Session's: set session.permanent = True in a"
        " view, for PERMANENT_SESSION_LIFETIME);"
        " SESSION_REDIS (Flask-Session's, for another backend);"
        " SESSION_TYPE (Flask-Session's: not needed, the session interface is"
        " this package's);"
        " SESSION_USE_SIGNER (Flask-Session's: not needed, the session cookie is"
        " always signed with SECRET_KEY);"
        " SESSION_WHATEVER"
    )
    client = app.test_client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.get("/nowhere").status_code == 404
        DynamoDBSession().init_app(new_app(SESSION_COOKIE_SECURE=True))


def test_the_explicit_form_warns_when_it_first_serves_the_app() -> None:
    app = new_app(SESSION_DYNAMODB_TABEL="shop")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app.session_interface = DynamoDBSessionInterface()
    client = app.test_client()
    with pytest.warns(UserWarning, match=r"SESSION_DYNAMODB_TABEL \(did you mean"):
        client.get("/nowhere")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.get("/nowhere")
        # Another interface serving the same app says nothing more.
        DynamoDBSessionInterface().settings_for(app)
