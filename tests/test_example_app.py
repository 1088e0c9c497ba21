"""The example app's pages, with Flask's test client, on a moto table."""

from __future__ import annotations

import base64
import re
import time
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from flask import session

from example_app import DEFAULTS, ENV_KEYS, config_from_env, create_app
from example_app.__main__ import browser_url
from example_app.api import HEADER, api_of
from example_app.audit import short_handle, trail_of
from example_app.backend import choose_backend
from example_app.devices import ago, describe_device
from example_app.views import (
    format_ago,
    format_from_now,
    format_minute_utc,
    format_money,
    format_utc,
)
from flask_dynamodb_session.options import CONFIG_KEYS

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from werkzeug.test import TestResponse

    from flask_dynamodb_session import DynamoDBSessionInterface, SessionStore
    from tests.support.apps import CallCounter

DAY = 86400


@pytest.fixture
def user_index() -> bool:
    """The tables have the index of users' sessions, as the example app's."""
    return True


@pytest.fixture
def app(options: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The example app on the tests' moto server, over each transport."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    config = {CONFIG_KEYS[name]: value for name, value in options.items()}
    return create_app({"SECRET_KEY": "example secret", **config})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def interface(app: Flask) -> DynamoDBSessionInterface:
    return t.cast("DynamoDBSessionInterface", app.session_interface)


def store(app: Flask) -> SessionStore:
    return interface(app).store_for(app)


def sid(app: Flask, client: FlaskClient) -> str:
    """The session id in the client's cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    return interface(app).get_signer(app).unsign(cookie.value).decode("ascii")


def set_cookies(response: TestResponse) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def login(
    client: FlaskClient,
    name: str = "alice",
    *,
    follow_redirects: bool = False,
    **form: str,
) -> TestResponse:
    return client.post(
        "/login", data={"name": name, **form}, follow_redirects=follow_redirects
    )


# -- anonymous visitors --------------------------------------------------------


def test_first_visit_stores_nothing(client: FlaskClient, calls: CallCounter) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "Your cart is empty." in response.text
    assert set_cookies(response) == []
    assert calls.take() == {}


def test_static_files_cost_no_call(client: FlaskClient, calls: CallCounter) -> None:
    client.post("/cart/tea")
    calls.reset()
    response = client.get("/static/style.css")
    assert response.status_code == 200
    response.close()
    assert calls.take() == {}


def test_cart_grows_in_place_without_session_modified(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    modified: list[bool] = []

    @app.after_request
    def record(response: t.Any) -> t.Any:
        modified.append(session.modified)
        return response

    client.post("/cart/tea")
    calls.reset()
    client.post("/cart/tea")
    assert modified == [True, False]
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    client.post("/cart/mug")
    assert store(app).get(sid(app, client)) == {"cart": ["tea", "tea", "mug"]}
    page = client.get("/").text
    assert 'data-product="tea">2<' in page
    assert 'data-product="mug">1<' in page
    assert "Your cart is empty." not in page


def test_remove_from_cart(app: Flask, client: FlaskClient) -> None:
    client.post("/cart/tea")
    client.post("/cart/honey")
    response = client.post("/cart/tea/remove", follow_redirects=True)
    assert 'data-product="tea"' not in response.text
    assert store(app).get(sid(app, client)) == {"cart": ["honey"]}


def test_unknown_product_is_404(client: FlaskClient) -> None:
    assert client.post("/cart/caviar").status_code == 404
    assert client.get_cookie("session") is None


# -- login ---------------------------------------------------------------------


def test_login_regenerates_the_id_and_keeps_the_cart(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/cart/tea")
    before = sid(app, client)
    response = login(client)
    assert response.status_code == 302
    after = sid(app, client)
    assert after != before
    assert store(app).get(before) is None
    stored = store(app).get(after)
    assert stored is not None
    assert stored["user"] == "alice"
    assert stored["cart"] == ["tea"]


def test_login_needs_a_name(client: FlaskClient) -> None:
    response = login(client, name="  ")
    assert response.status_code == 400
    assert "Enter a name" in response.text
    assert set_cookies(response) == []


def test_login_page_when_logged_in(client: FlaskClient) -> None:
    assert "Remember me" in client.get("/login").text
    login(client)
    assert "You are logged in as <strong>alice</strong>" in client.get("/login").text


def test_flash_is_shown_once(client: FlaskClient) -> None:
    response = login(client, follow_redirects=True)
    assert "Welcome, alice!" in response.text
    assert "Logged in as <strong>alice</strong>" in response.text
    again = client.get("/")
    assert "Welcome, alice!" not in again.text
    assert "Logged in as <strong>alice</strong>" in again.text


def test_login_escapes_the_name(client: FlaskClient) -> None:
    page = login(client, name="<b>bob</b>", follow_redirects=True).text
    assert "<b>bob</b>" not in page
    assert "&lt;b&gt;bob&lt;/b&gt;" in page


# -- remember me ---------------------------------------------------------------


def test_remember_me_sets_a_cookie_with_expires(
    app: Flask, client: FlaskClient
) -> None:
    response = login(client, remember="on")
    [cookie] = set_cookies(response)
    assert "Expires=" in cookie
    record = store(app).items.load(sid(app, client))
    assert record is not None
    lifetime = DEFAULTS["PERMANENT_SESSION_LIFETIME"].total_seconds()
    assert abs(record.expires_at - (time.time() + lifetime)) < 60


def test_without_remember_me_the_cookie_ends_with_the_browser(
    app: Flask, client: FlaskClient
) -> None:
    response = login(client)
    [cookie] = set_cookies(response)
    assert "Expires=" not in cookie
    record = store(app).items.load(sid(app, client))
    assert record is not None
    assert abs(record.expires_at - (time.time() + 14 * DAY)) < 60


def test_remember_toggle(app: Flask, client: FlaskClient) -> None:
    login(client)
    response = client.post("/remember", data={"remember": "on"})
    assert response.location == "/session"
    assert "Expires=" in set_cookies(response)[0]
    page = client.get("/session").text
    assert "Forget me when the browser closes" in page
    response = client.post("/remember", data={"remember": "off"})
    assert "Expires=" not in set_cookies(response)[0]
    assert "Remember me for 30 days" in client.get("/session").text


def test_remember_needs_a_login(client: FlaskClient) -> None:
    response = client.post("/remember", data={"remember": "on"})
    assert response.location == "/login"
    assert set_cookies(response) == []


# -- the session page ----------------------------------------------------------


def test_session_page_shows_the_stored_expiry(app: Flask, client: FlaskClient) -> None:
    login(client, remember="on")
    record = store(app).items.load(sid(app, client))
    assert record is not None
    page = client.get("/session").text
    assert f'data-epoch="{record.expires_at}"' in page
    assert format_utc(record.expires_at) in page
    assert store(app).key(sid(app, client)) in page
    assert sid(app, client) not in page
    assert "kept until" in page


def test_session_page_without_a_session(client: FlaskClient) -> None:
    response = client.get("/session")
    assert "Nothing is stored for you" in response.text
    assert set_cookies(response) == []


# -- logout --------------------------------------------------------------------


def test_logout_deletes_the_item_and_the_cookie(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    login(client, remember="on")
    client.post("/cart/mug")
    old_sid = sid(app, client)
    old_cookie = client.get_cookie("session")
    assert old_cookie is not None
    calls.reset()
    response = client.post("/logout")
    assert calls.take() == {"DeleteItem": 1}
    assert response.location == "/logged-out"
    [deleted] = set_cookies(response)
    assert deleted.startswith("session=;")
    assert "Expires=Thu, 01 Jan 1970" in deleted
    assert client.get_cookie("session") is None
    assert store(app).get(old_sid) is None
    page = client.get("/logged-out")
    assert "Logged out" in page.text
    assert set_cookies(page) == []

    replay = app.test_client()
    replay.set_cookie("session", old_cookie.value)
    page = replay.get("/")
    assert "alice" not in page.text
    assert "Your cart is empty." in page.text


# -- helpers -------------------------------------------------------------------


def test_config_from_env() -> None:
    taken = {
        "SESSION_DYNAMODB_TABLE": "shop-sessions",
        "SESSION_DYNAMODB_TRANSPORT": "boto3",
        "SESSION_DYNAMODB_USER_KEY": "account",
        "SESSION_DYNAMODB_MAX_SESSIONS": "5",
        "SESSION_DYNAMODB_ROTATE_AFTER": "2",
        "SESSION_DYNAMODB_ROTATION_GRACE": "60",
        "SESSION_DYNAMODB_RECORD_CLIENT": "false",
    }
    left_out = {
        "SESSION_DYNAMODB_ENDPOINT_URL": "",  # empty: as if not set
        "SESSION_DYNAMODB_CLIENT": "not a client",  # an object, never text
        "HOME": "/root",
    }
    assert config_from_env({**taken, **left_out}) == taken


#: The config keys of ours the example app does not take from the
#: environment, and why: every other one it does.
NOT_FROM_ENV = {
    "SESSION_DYNAMODB_CLIENT": "a boto3 client, not text",
    "SESSION_DYNAMODB_BOTO3_SESSION": "a boto3 session, not text",
    "SESSION_DYNAMODB_BOTOCORE_CONFIG": "a botocore Config, not text",
    "SESSION_DYNAMODB_ID_HEADER": "the shop's pages use the cookie; its API"
    " sets the header itself",
}


def test_every_option_given_as_text_is_read_from_the_environment() -> None:
    from_env = set(ENV_KEYS) - {"SECRET_KEY"}
    assert from_env == set(CONFIG_KEYS.values()) - set(NOT_FROM_ENV)


def test_encryption_from_the_environment(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = b"1" * 32, b"2" * 32
    keys = f"{base64.b64encode(first).decode()}, {base64.b64encode(second).decode()}"
    monkeypatch.setenv("SESSION_DYNAMODB_ENCRYPT", "true")
    monkeypatch.setenv("SESSION_DYNAMODB_ENCRYPTION_KEYS", keys)
    app = create_app({"SECRET_KEY": "x", "SESSION_DYNAMODB_CLIENT": dynamodb})
    settings = interface(app).settings_for(app)
    assert settings.encrypt is True
    assert settings.encryption_keys == (first, second)


def test_every_environment_key_is_an_option() -> None:
    assert set(ENV_KEYS) - {"SECRET_KEY"} <= set(CONFIG_KEYS.values())
    assert set(DEFAULTS) - {
        "PERMANENT_SESSION_LIFETIME",
        "SESSION_COOKIE_SAMESITE",
    } <= (set(ENV_KEYS))


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, ("auto", "user", 3, 900, 30, True)),
        (
            {
                "SESSION_DYNAMODB_TRANSPORT": "boto3",
                "SESSION_DYNAMODB_MAX_SESSIONS": "5",
                "SESSION_DYNAMODB_ROTATE_AFTER": "2",
                "SESSION_DYNAMODB_ROTATION_GRACE": "60",
                "SESSION_DYNAMODB_RECORD_CLIENT": "false",
            },
            ("boto3", "user", 5, 2, 60, False),
        ),
    ],
    ids=["defaults", "from-the-environment"],
)
def test_the_lifecycle_settings(
    dynamodb: DynamoDBClient,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    expected: tuple[t.Any, ...],
) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    app = create_app({"SECRET_KEY": "x", "SESSION_DYNAMODB_CLIENT": dynamodb})
    settings = interface(app).settings_for(app)
    assert (
        settings.transport,
        settings.user_key,
        settings.max_sessions,
        settings.rotate_after,
        settings.rotation_grace,
        settings.record_client,
    ) == expected


def test_environment_config_reaches_the_app(
    dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_DYNAMODB_TTL", "3600")
    monkeypatch.setenv("SECRET_KEY", "from the environment")
    app = create_app({"SESSION_DYNAMODB_CLIENT": dynamodb})
    assert app.secret_key == "from the environment"
    assert interface(app).settings_for(app).ttl == 3600


def test_a_random_secret_key_without_one(
    dynamodb: DynamoDBClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"SESSION_DYNAMODB_CLIENT": dynamodb})
    assert len(app.secret_key or "") == 64
    assert "SECRET_KEY is not set" in caplog.text


@pytest.mark.parametrize(
    ("environ", "backend"),
    [
        ({}, "embedded"),
        ({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}, "embedded"),
        ({"AWS_REGION": "eu-west-1"}, "embedded"),
        ({"AWS_ACCESS_KEY_ID": "x", "AWS_DEFAULT_REGION": "eu-west-1"}, "aws"),
        ({"AWS_PROFILE": "dev", "SESSION_DYNAMODB_REGION": "eu-west-1"}, "aws"),
        ({"SESSION_DYNAMODB_ENDPOINT_URL": "http://localhost:8000"}, "endpoint"),
        (
            {
                "SESSION_DYNAMODB_ENDPOINT_URL": "http://localhost:8000",
                "AWS_PROFILE": "dev",
                "AWS_REGION": "eu-west-1",
            },
            "endpoint",
        ),
    ],
)
def test_choose_backend(environ: dict[str, str], backend: str) -> None:
    assert choose_backend(environ) == backend


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:5000/"),
        ("0.0.0.0", "http://127.0.0.1:5000/"),
        ("::", "http://[::1]:5000/"),
        ("example.test", "http://example.test:5000/"),
    ],
)
def test_browser_url(host: str, url: str) -> None:
    assert browser_url(host, 5000) == url


def test_formats() -> None:
    assert format_money(1250) == "12.50"
    assert format_money(5) == "0.05"
    assert format_utc(0) == "1970-01-01 00:00:00 UTC"
    now = int(time.time())
    assert format_from_now(now + 2 * DAY + 3600 + 30).startswith("in 2 days, 1 hours")
    assert format_from_now(now + 7200 + 120 + 5) == "in 2 hours, 2 minutes"
    assert format_from_now(now + 185).startswith("in 3 minutes")
    assert format_from_now(now - 3) in ("3 s ago", "4 s ago")


# -- your devices --------------------------------------------------------------

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LAPTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)
DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ADDRESS = "203.0.113.7"
HANDLE = re.compile(r'name="handle" value="([^"]+)"')
TAG = re.compile(r"<[^>]+>")


def device(
    app: Flask, user_agent: str, name: str = "alice", address: str = ADDRESS
) -> FlaskClient:
    """A browser of its own, at ``address``, logged in as ``name``."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    browser.post("/login", data={"name": name}, headers={"User-Agent": user_agent})
    return browser


def rows(page: str) -> list[str]:
    """The device names of the devices page, in order, "*" after this one's."""
    found = re.findall(
        r'<tr class="device( current)?"[^>]*>\s*<td>\s*'
        r'<span class="device-summary"><span class="device-name">([^<]*)<',
        page,
    )
    return [f"{name}*" if current else name for current, name in found]


def summaries(page: str) -> list[str]:
    """What each row of the devices page says of its device, as text."""
    found = re.findall(r'<span class="device-summary">(.*?)</span></span>', page, re.S)
    return [" ".join(TAG.sub("", summary).split()) for summary in found]


def logged_in(browser: FlaskClient) -> bool:
    return "Logged in as" in browser.get("/").text


def test_login_records_the_browser_and_its_address(app: Flask) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    phone = device(app, PHONE)
    stored_data = store(app).get(sid(app, phone))
    assert stored_data is not None
    assert "user_agent" not in stored_data
    [stored] = store(app).sessions_of("alice")
    assert stored.user_agent == PHONE
    assert stored.ip == ADDRESS
    assert before <= stored.created_at <= datetime.now(timezone.utc)


def test_devices_page_lists_the_users_sessions(app: Flask, calls: CallCounter) -> None:
    phone = device(app, PHONE)
    device(app, DESKTOP, name="bob")
    laptop = device(app, LAPTOP)
    calls.reset()
    page = laptop.get("/devices")
    assert page.status_code == 200
    counts = calls.take()
    assert counts["Query"] == 1
    assert counts["BatchGetItem"] == 1
    # Most recently active first: here all in the same second, in any order.
    assert sorted(rows(page.text)) == ["Firefox on Windows*", "Safari on iOS"]
    assert page.text.count('class="this-device"') == 1
    assert '<a href="/devices">Your devices</a>' in page.text
    [phone_handle] = HANDLE.findall(page.text)
    assert phone_handle == store(app).key(sid(app, phone))
    assert sid(app, phone) not in page.text
    assert sid(app, laptop) not in page.text
    assert sorted(rows(phone.get("/devices").text)) == [
        "Firefox on Windows",
        "Safari on iOS*",
    ]


def test_devices_page_says_browser_address_and_last_seen(app: Flask) -> None:
    laptop = device(app, FIREFOX_LINUX)
    page = laptop.get("/devices").text
    assert summaries(page) == [f"Firefox on Linux, {ADDRESS}, last seen just now"]
    assert "this device" in page


def test_an_address_not_recorded(
    options: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_DYNAMODB_RECORD_CLIENT", "false")
    config = {CONFIG_KEYS[name]: value for name, value in options.items()}
    app = create_app({"SECRET_KEY": "example secret", **config})
    laptop = device(app, FIREFOX_LINUX)
    [stored] = store(app).sessions_of("alice")
    assert (stored.user_agent, stored.ip) == (None, None)
    page = laptop.get("/devices").text
    assert summaries(page) == [
        "Unknown browser, address not recorded, last seen just now"
    ]


def test_devices_need_a_login(app: Flask, client: FlaskClient) -> None:
    assert client.get("/devices").location == "/login"
    for path in (
        "/devices/logout",
        "/devices/logout-others",
        "/devices/logout-everywhere",
    ):
        response = client.post(path, data={"handle": "x"})
        assert response.location == "/login"
    assert client.get_cookie("session") is None
    assert "Your devices" not in client.get("/").text


def test_log_out_one_device(app: Flask) -> None:
    phone = device(app, PHONE)
    laptop = device(app, LAPTOP)
    phone_sid = sid(app, phone)
    [handle] = HANDLE.findall(laptop.get("/devices").text)
    response = laptop.post(
        "/devices/logout", data={"handle": handle}, follow_redirects=True
    )
    assert "That device is logged out." in response.text
    assert rows(response.text) == ["Firefox on Windows*"]
    assert store(app).get(phone_sid) is None
    assert not logged_in(phone)
    assert logged_in(laptop)


def test_log_out_this_device_from_its_row(app: Flask) -> None:
    laptop = device(app, LAPTOP)
    laptop_sid = sid(app, laptop)
    handle = store(app).key(laptop_sid)
    response = laptop.post("/devices/logout", data={"handle": handle})
    assert response.location == "/logged-out"
    assert laptop.get_cookie("session") is None
    assert store(app).get(laptop_sid) is None


def test_another_users_handle_is_refused(app: Flask) -> None:
    alice = device(app, PHONE)
    alice_sid = sid(app, alice)
    bob = device(app, DESKTOP, name="bob")
    for handle in (store(app).key(alice_sid), "", "no such handle"):
        response = bob.post(
            "/devices/logout", data={"handle": handle}, follow_redirects=True
        )
        assert "That device is not logged in as you" in response.text
    assert store(app).get(alice_sid) is not None
    assert logged_in(alice)
    assert logged_in(bob)


def test_log_out_other_devices(app: Flask) -> None:
    phone = device(app, PHONE)
    desktop = device(app, DESKTOP)
    bob = device(app, DESKTOP, name="bob")
    laptop = device(app, LAPTOP)
    response = laptop.post("/devices/logout-others", follow_redirects=True)
    assert "Logged out 2 other devices." in response.text
    assert rows(response.text) == ["Firefox on Windows*"]
    assert not logged_in(phone)
    assert not logged_in(desktop)
    assert logged_in(laptop)
    assert logged_in(bob)
    again = laptop.post("/devices/logout-others", follow_redirects=True)
    assert "No other device was logged in." in again.text


def test_log_out_everywhere(app: Flask) -> None:
    phone = device(app, PHONE)
    bob = device(app, DESKTOP, name="bob")
    laptop = device(app, LAPTOP)
    laptop_sid = sid(app, laptop)
    response = laptop.post("/devices/logout-everywhere")
    assert response.location == "/logged-out?everywhere=1"
    [deleted] = set_cookies(response)
    assert deleted.startswith("session=;")
    assert store(app).get(laptop_sid) is None
    page = laptop.get(response.location)
    assert "Every session of yours was deleted" in page.text
    assert set_cookies(page) == []
    assert not logged_in(phone)
    assert not logged_in(laptop)
    assert logged_in(bob)
    assert store(app).sessions_of("alice") == []


def test_a_fourth_login_logs_out_one_device(app: Flask) -> None:
    first = [device(app, agent) for agent in (PHONE, LAPTOP, DESKTOP)]
    bob = device(app, DESKTOP, name="bob")
    handles = {store(app).key(sid(app, browser)) for browser in first}
    newest = device(app, FIREFOX_LINUX)
    # The least recently active goes; here all were active in the same
    # second, so any one of the three.
    left = [browser for browser in first if logged_in(browser)]
    assert len(left) == 2
    [evicted] = handles - {store(app).key(sid(app, browser)) for browser in left}
    assert len(store(app).sessions_of("alice")) == 3
    page = newest.get("/devices").text
    assert len(rows(page)) == 3
    assert "Firefox on Linux*" in rows(page)
    assert f"Session {short_handle(evicted)} ended: logged out by a newer" in page
    assert logged_in(newest)
    assert logged_in(bob)


def test_the_activity_of_the_signed_in_user(app: Flask) -> None:
    phone = device(app, PHONE)
    phone_sid = sid(app, phone)
    phone_handle = short_handle(store(app).key(phone_sid))
    laptop = device(app, LAPTOP)
    bob = device(app, DESKTOP, name="bob")
    bob_handle = short_handle(store(app).key(sid(app, bob)))
    laptop.post("/devices/logout-others")
    page = laptop.get("/devices").text
    activity = page[page.index("Recent activity") :]
    assert f"Session {phone_handle} started" in activity
    ended = f"Session {phone_handle} ended: logged out from another device"
    assert ended in activity
    assert bob_handle not in activity
    assert phone_sid not in page
    assert sid(app, laptop) not in page
    bob_page = bob.get("/devices").text
    assert f"Session {bob_handle} started" in bob_page
    assert phone_handle not in bob_page


def test_device_formats() -> None:
    now = datetime.now(timezone.utc)
    assert format_ago(now) == "just now"
    assert ago(now - timedelta(seconds=9), now) == "just now"
    assert ago(now - timedelta(seconds=42), now) == "42 seconds ago"
    assert ago(now - timedelta(seconds=61), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=2, seconds=59), now) == "2 minutes ago"
    assert ago(now - timedelta(hours=5), now) == "5 hours ago"
    assert ago(now - timedelta(days=1, hours=23), now) == "1 day ago"
    assert ago(now - timedelta(days=30), now) == "30 days ago"
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert format_minute_utc(moment) == "2026-03-04 05:06 UTC"
    assert format_utc(moment) == "2026-03-04 05:06:07 UTC"


# -- the API: the session id in a header, no cookie ------------------------------


def api(
    client: FlaskClient,
    method: str,
    path: str,
    token: str | None = None,
    **kwargs: t.Any,
) -> TestResponse:
    """Call the API at ``/api{path}``, with ``token`` in its header if given."""
    headers = {**kwargs.pop("headers", {})}
    if token is not None:
        headers[HEADER] = token
    return client.open(f"/api{path}", method=method, headers=headers, **kwargs)


def token_of(response: TestResponse) -> str:
    """The value the response answers in the API's header."""
    value = response.headers.get(HEADER)
    assert value is not None
    return value


def answer_of(response: TestResponse) -> dict[str, t.Any]:
    """The JSON object the API answered."""
    data = response.get_json()
    assert isinstance(data, dict)
    return data


def api_sid(app: Flask, token: str) -> str:
    """The session id a token of the API carries."""
    api_app = api_of(app)
    return interface(api_app).get_signer(api_app).unsign(token).decode("ascii")


def api_login(client: FlaskClient, name: str = "alice", **kwargs: t.Any) -> str:
    """Log in through the API; return the token it answers."""
    response = api(client, "POST", "/login", json={"name": name}, **kwargs)
    assert response.status_code == 200
    return token_of(response)


def forged(token: str) -> str:
    """``token`` with its session id changed, its signature left as it was."""
    return ("b" if token[0] == "a" else "a") + token[1:]


TEA = {"product": "tea", "name": "Green tea, 100 g", "quantity": 1}


def test_the_api_is_a_second_app_on_the_same_table(app: Flask) -> None:
    api_app = api_of(app)
    assert api_app is not app
    settings = interface(api_app).settings_for(api_app)
    assert settings.id_header == HEADER
    assert settings.table == interface(app).settings_for(app).table
    assert interface(app).settings_for(app).id_header is None
    assert api_app.secret_key == app.secret_key


def test_api_session_travels_in_the_header(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    response = api(client, "POST", "/login", json={"name": " alice "})
    assert response.status_code == 200
    assert response.json == {"user": "alice", "cart": []}
    token = token_of(response)
    assert "Set-Cookie" not in response.headers
    assert HEADER in response.headers["Vary"]
    assert response.headers["Access-Control-Expose-Headers"] == HEADER
    assert client.get_cookie("session") is None
    assert store(app).get(api_sid(app, token)) == {"user": "alice"}

    response = api(client, "POST", "/cart", token, json={"product": "tea"})
    assert response.json == {"user": "alice", "cart": [TEA]}
    assert "Set-Cookie" not in response.headers
    assert token_of(response) == token
    assert store(app).get(api_sid(app, token)) == {"user": "alice", "cart": ["tea"]}

    # The header is all a client needs: another one, with no cookie jar in
    # common, reads the same session with it.
    other = app.test_client()
    calls.reset()
    response = api(other, "GET", "/me", token)
    assert response.json == {"user": "alice", "cart": [TEA]}
    assert calls.take() == {"GetItem": 1}
    assert HEADER in response.headers["Vary"]
    assert HEADER not in response.headers  # nothing new to answer
    assert response.headers["Access-Control-Expose-Headers"] == HEADER
    assert api(other, "GET", "/me").json == {"user": None, "cart": []}
    assert client.get_cookie("session") is None
    assert other.get_cookie("session") is None


def test_the_api_reads_no_cookie_and_sets_none(app: Flask, client: FlaskClient) -> None:
    login(client, "bob")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert api(client, "GET", "/me").json == {"user": None, "cart": []}

    response = api(client, "POST", "/login", json={"name": "alice"})
    assert "Set-Cookie" not in response.headers
    token = token_of(response)
    assert token != cookie.value
    after = client.get_cookie("session")
    assert after is not None
    assert after.value == cookie.value
    assert "Logged in as <strong>bob</strong>" in client.get("/").text
    assert api(client, "GET", "/me", token).json == {"user": "alice", "cart": []}


def test_api_logout_answers_an_empty_header(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    token = api_login(client)
    api(client, "POST", "/cart", token, json={"product": "tea"})
    sid_of_token = api_sid(app, token)
    calls.reset()
    response = api(client, "POST", "/logout", token)
    assert calls.take() == {"DeleteItem": 1}
    assert response.status_code == 200
    assert response.json == {"user": None, "cart": []}
    assert response.headers[HEADER] == ""
    assert HEADER in response.headers["Vary"]
    assert response.headers["Access-Control-Expose-Headers"] == HEADER
    assert "Set-Cookie" not in response.headers
    assert store(app).get(sid_of_token) is None

    # The deleted session's token is worth nothing; the client is told to
    # drop it.
    replay = api(app.test_client(), "GET", "/me", token)
    assert replay.json == {"user": None, "cart": []}
    assert replay.headers[HEADER] == ""


def test_a_tampered_api_header_is_a_fresh_session(
    app: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    token = api_login(client)
    for value in (forged(token), token.split(".")[0], "not-signed"):
        calls.reset()
        response = api(client, "GET", "/me", value)
        assert response.json == {"user": None, "cart": []}
        assert calls.take() == {}
        assert HEADER not in response.headers

    response = api(client, "POST", "/cart", forged(token), json={"product": "mug"})
    answer = answer_of(response)
    assert answer["user"] is None
    assert [line["product"] for line in answer["cart"]] == ["mug"]
    fresh = token_of(response)
    assert fresh not in (token, forged(token))
    assert api_sid(app, fresh) != api_sid(app, token)
    assert api(client, "GET", "/me", token).json == {"user": "alice", "cart": []}


def test_api_errors_are_json(client: FlaskClient, calls: CallCounter) -> None:
    long_name = "x" * 41
    for method, path, payload, status in (
        ("POST", "/login", {"name": "  "}, 400),
        ("POST", "/login", {"name": long_name}, 400),
        ("POST", "/login", ["alice"], 400),
        ("POST", "/cart", {"product": "caviar"}, 404),
        ("POST", "/cart", {"product": ["tea"]}, 404),
        ("GET", "/login", None, 405),
        ("GET", "/nowhere", None, 404),
    ):
        response = api(client, method, path, json=payload)
        assert response.status_code == status, (method, path, payload)
        assert isinstance(answer_of(response)["error"], str)
        assert response.headers["Access-Control-Expose-Headers"] == HEADER
        assert HEADER not in response.headers
        assert "Set-Cookie" not in response.headers
    refused = answer_of(api(client, "POST", "/login", json={}))
    assert refused == {"error": "Enter a name of 1 to 40 characters."}
    allowed = api(client, "GET", "/login").headers["Allow"]
    assert set(allowed.split(", ")) == {"OPTIONS", "POST"}
    assert calls.take() == {}


def test_api_login_keeps_the_cart_under_a_new_id(
    app: Flask, client: FlaskClient
) -> None:
    response = api(client, "POST", "/cart", json={"product": "tea"})
    anonymous = token_of(response)
    assert response.json == {"user": None, "cart": [TEA]}
    response = api(client, "POST", "/login", anonymous, json={"name": "alice"})
    token = token_of(response)
    assert api_sid(app, token) != api_sid(app, anonymous)
    assert response.json == {"user": "alice", "cart": [TEA]}
    assert store(app).get(api_sid(app, anonymous)) is None
    assert api(client, "GET", "/me", anonymous).json == {"user": None, "cart": []}


def test_api_sessions_are_the_users_devices(app: Flask) -> None:
    phone = device(app, PHONE)
    script = app.test_client()
    token = api_login(script, headers={"User-Agent": LAPTOP})
    handle = store(app).key(api_sid(app, token))
    page = phone.get("/devices").text
    assert sorted(rows(page)) == ["Firefox on Windows", "Safari on iOS*"]
    assert f"Session {short_handle(handle)} started" in page
    assert [event.kind for event in trail_of(app).events_of("alice")] == [
        "created",
        "created",
    ]

    phone.post("/devices/logout-others")
    assert api(script, "GET", "/me", token).json == {"user": None, "cart": []}
    assert logged_in(phone)


def test_the_api_demo_page(client: FlaskClient, calls: CallCounter) -> None:
    response = client.get("/api-demo")
    assert response.status_code == 200
    page = response.text
    assert 'data-api="/api"' in page
    assert f'data-header="{HEADER}"' in page
    assert 'src="/static/api-demo.js"' in page
    for product in ("tea", "mug", "honey"):
        assert f'class="api-add" data-product="{product}"' in page
    assert set_cookies(response) == []
    assert '<a href="/api-demo">API demo</a>' in client.get("/").text
    script = client.get("/static/api-demo.js")
    assert script.status_code == 200
    assert 'credentials: "omit"' in script.text
    assert "sessionStorage" in script.text
    script.close()
    assert calls.take() == {}


#: Real User-Agent headers and what the devices page calls them.
USER_AGENTS = [
    (FIREFOX_LINUX, "Firefox on Linux"),
    (LAPTOP, "Firefox on Windows"),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101"
        " Firefox/127.0",
        "Firefox on macOS",
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0",
        "Firefox on Android",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
        "Firefox on iOS",
    ),
    (DESKTOP, "Chrome on Linux"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome on Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML,"
        " like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome on macOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/126.0.0.0 Mobile Safari/537.36",
        "Chrome on Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71"
        " Mobile Safari/537.36",
        "Chrome on Android",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        "Chrome on iOS",
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome on ChromeOS",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/126.0.0.0 Safari/537.36",
        "Chrome on Linux",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        "Edge on Windows",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0.0.0",
        "Edge on Android",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.0 EdgiOS/126.2592.56 Mobile/15E148"
        " Safari/605.1.15",
        "Edge on iOS",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045",
        "Edge on Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
        "Opera on Windows",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/125.0.0.0 Mobile Safari/537.36 OPR/82.0.0.0",
        "Opera on Android",
    ),
    (
        "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
        "Opera on Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "Safari on macOS",
    ),
    (PHONE, "Safari on iOS"),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
        " like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari on iOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148",
        "Unknown browser on iOS",
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Unknown browser",
    ),
    ("curl/8.5.0", "Unknown browser"),
    ("python-requests/2.32.3", "Unknown browser"),
    ("", "Unknown browser"),
    (None, "Unknown browser"),
]


@pytest.mark.parametrize(("user_agent", "name"), USER_AGENTS)
def test_describe_device(user_agent: str | None, name: str) -> None:
    assert describe_device(user_agent) == name
