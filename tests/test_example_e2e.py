"""The example app end to end: ``python -m example_app`` as a real HTTP server.

The app runs in a child process on its embedded DynamoDB (moto, in that
process), exactly as the README's quick start starts it, and is driven with
:mod:`requests` keeping cookies like a browser.
"""

from __future__ import annotations

import re
import time
import typing as t

import pytest
import requests

if t.TYPE_CHECKING:
    from http.cookiejar import Cookie, CookieJar

    from tests.support.example import ExampleServer

pytestmark = pytest.mark.server


def browser() -> requests.Session:
    """A cookie-keeping client that ignores any proxy of the environment."""
    http = requests.Session()
    http.trust_env = False
    return http


def cookies_of(http: requests.Session) -> list[Cookie]:
    """The cookies a session keeps, with their attributes."""
    jar: CookieJar = http.cookies
    return list(jar)


def quantity(page: str, product: str) -> int:
    match = re.search(rf'data-product="{product}">(\d+)<', page)
    return int(match.group(1)) if match else 0


def test_whole_flow(example_server: ExampleServer) -> None:
    url = example_server.url
    assert "Embedded DynamoDB (moto)" in example_server.stdout
    assert "Table 'sessions' created" in example_server.stdout

    with browser() as http:
        page = http.get(url, timeout=10)
        assert page.status_code == 200
        assert "Log in" in page.text
        assert not http.cookies

        page = http.post(f"{url}login", data={"name": "alice"}, timeout=10)
        assert page.url == url
        assert "Welcome, alice!" in page.text
        [cookie] = cookies_of(http)
        assert cookie.name == "session"
        assert cookie.expires is None

        http.post(f"{url}cart/tea", timeout=10)
        page = http.post(f"{url}cart/tea", timeout=10)
        assert quantity(page.text, "tea") == 2
        assert "Welcome, alice!" not in page.text

        page = http.post(f"{url}remember", data={"remember": "on"}, timeout=10)
        assert page.url == f"{url}session"
        [cookie] = cookies_of(http)
        assert cookie.expires is not None
        assert abs(cookie.expires - (time.time() + 30 * 86400)) < 120

        page = http.get(f"{url}session", timeout=10)
        match = re.search(r'class="expires" data-epoch="(\d+)"', page.text)
        assert match is not None
        assert abs(int(match.group(1)) - (time.time() + 30 * 86400)) < 120
        assert "kept until" in page.text

        old_cookie = http.cookies["session"]
        with browser() as other_browser:
            other_browser.cookies.set("session", old_cookie)
            page = other_browser.get(url, timeout=10)
            assert "Logged in as <strong>alice</strong>" in page.text

        page = http.post(f"{url}logout", timeout=10)
        assert page.url == f"{url}logged-out"
        assert "Logged out" in page.text
        assert "session" not in http.cookies

    with browser() as replay:
        replay.cookies.set("session", old_cookie)
        page = replay.get(url, timeout=10)
        assert page.status_code == 200
        assert "alice" not in page.text
        assert "Log in" in page.text
        assert quantity(page.text, "tea") == 0
        page = replay.get(f"{url}session", timeout=10)
        assert "Nothing is stored for you" in page.text

    assert example_server.interrupt() == 0, example_server.output
    assert " * Stopped" in example_server.stdout
    assert "Traceback" not in example_server.output
