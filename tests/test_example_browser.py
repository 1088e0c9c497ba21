"""The devices page and the session lifecycle in a real browser: headless
Chromium driven by selenium (:mod:`tests.support.browser`).

``python -m example_app`` runs as a real HTTP server on its embedded
DynamoDB, as the README's quick start starts it (with a short rotation
interval where a test needs one). Browser profiles (each its own
``--user-data-dir``: a device with its own cookies) log in as the same user:

- the second of two sees both on "Your devices" and logs the first out,
  which finds itself logged out on its next page;
- two tabs of one profile stay logged in across a rotation of the session
  id, also a tab whose request still carries the old cookie;
- a fourth login logs out the least recently active of the first three
  (the app's limit of 3 devices);
- the "API demo" page's script logs in, fills a cart and logs out through
  the app's JSON API, its session carried in the ``X-Session-Id`` header and
  kept in ``sessionStorage`` across a reload, while the browser's cookie jar
  holds nothing of it (and a cookie session of the shop's pages stays as it
  was).

It needs Debian's ``chromium`` and ``chromium-driver`` packages and selenium.
Without them the test is skipped, except with ``CI=true`` in the
environment, where a missing browser fails it. The first test saves a
screenshot of the devices page in its temporary directory; with
``EXAMPLE_DEVICES_SCREENSHOT=path`` it also copies it there (that is how
``docs/devices.png`` was made).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import typing as t

import pytest
import requests

from tests.support.browser import Browser, chromium_paths
from tests.support.example import ExampleServer

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.server

#: Seconds after which the rotation test's server moves a session to a new id.
ROTATE_AFTER = 2
#: Seconds the old id still leads to the session, in the rotation test.
ROTATION_GRACE = 30


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[t.Callable[[str], Browser]]:
    """Starts browsers, each on a new profile named by its argument; quits them."""
    chromium, chromedriver = chromium_paths()
    started: list[Browser] = []

    def start(name: str) -> Browser:
        profile = tmp_path / f"profile-{name}"
        profile.mkdir()
        browser = Browser(chromium, chromedriver, profile)
        started.append(browser)
        return browser

    try:
        yield start
    finally:
        for browser in started:
            browser.quit()


@pytest.fixture
def rotating_server(tmp_path: Path) -> Iterator[ExampleServer]:
    """The example app rotating session ids every :data:`ROTATE_AFTER` s."""
    workdir = tmp_path / "rotating-server"
    workdir.mkdir()
    server = ExampleServer(
        workdir,
        {
            "SESSION_DYNAMODB_ROTATE_AFTER": str(ROTATE_AFTER),
            "SESSION_DYNAMODB_ROTATION_GRACE": str(ROTATION_GRACE),
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.kill()


def save_screenshot(browser: Browser, path: Path) -> None:
    """Save the page's body as a PNG at ``path``, and where the environment
    asks."""
    assert browser.find("body").screenshot(str(path))
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    copy_to = os.environ.get("EXAMPLE_DEVICES_SCREENSHOT")
    if copy_to:
        shutil.copyfile(path, copy_to)


def stopped_cleanly(server: ExampleServer) -> None:
    assert server.interrupt() == 0, server.output
    assert "Traceback" not in server.output


#: The devices page of either device once both logged in: (device, this one).
BOTH = [("Chrome on Linux", False), ("Chrome on Linux", True)]
#: What the devices page says of a headless Chromium of this machine.
SUMMARY = re.compile(
    r"Chrome on Linux, 127\.0\.0\.1, last seen (just now|\d\d? seconds ago)"
)


def described(summaries: list[str]) -> bool:
    """Whether the devices page describes two such browsers."""
    return len(summaries) == 2 and all(SUMMARY.fullmatch(s) for s in summaries)


def test_log_out_another_device(
    browsers: t.Callable[[str], Browser],
    example_server: ExampleServer,
    tmp_path: Path,
) -> None:
    url = example_server.url
    assert "index of users: created" in example_server.stdout
    laptop = browsers("laptop")
    phone = browsers("phone")

    laptop.log_in(url, "alice")
    phone.log_in(url, "alice")
    assert laptop.cookie() != phone.cookie()

    phone.open(f"{url}devices")
    assert phone.eventually(lambda: phone.text("h1"), "Your devices") == "Your devices"
    assert phone.eventually(lambda: sorted(phone.devices()), BOTH) == BOTH
    assert phone.text("tr.current .this-device") == "this device"
    assert phone.eventually(lambda: described(phone.summaries()), True)
    save_screenshot(phone, tmp_path / "devices.png")

    phone.find("tr.device:not(.current) button[type=submit]").click()
    flash = "That device is logged out."
    assert phone.eventually(lambda: flash in phone.text(".flashes"), True)
    assert phone.path == "/devices"
    assert phone.eventually(phone.devices, [BOTH[1]]) == [BOTH[1]]
    assert ("ended", "revoked") in phone.events()

    laptop.open(url)
    assert laptop.eventually(laptop.user, None) is None
    assert laptop.find_all("header a[href='/login']")
    laptop.open(f"{url}devices")
    assert laptop.eventually(lambda: laptop.path, "/login") == "/login"

    phone.open(url)
    assert phone.eventually(phone.user, "alice") == "alice"
    stopped_cleanly(example_server)


def test_two_tabs_across_a_rotation(
    browsers: t.Callable[[str], Browser], rotating_server: ExampleServer
) -> None:
    url = rotating_server.url
    browser = browsers("laptop")
    browser.log_in(url, "alice")
    first_tab = browser.driver.current_window_handle
    browser.driver.switch_to.new_window("tab")
    second_tab = browser.driver.current_window_handle
    browser.open(url)
    assert browser.eventually(browser.user, "alice") == "alice"
    before = browser.driver.get_cookie("session")
    assert before is not None
    # The id was issued before this moment; rotation is due an interval after.
    browser.wait_for_clock(time.time() + ROTATE_AFTER + 1)

    browser.driver.switch_to.window(first_tab)
    browser.reload()
    assert browser.eventually(browser.user, "alice") == "alice"
    assert browser.wait_until(lambda: browser.cookie() not in (None, before["value"]))

    # The second tab's request left before the rotation: it carries the old
    # cookie, is served within the grace, and is given the new cookie.
    browser.driver.switch_to.window(second_tab)
    browser.driver.add_cookie(
        {
            "name": "session",
            "value": before["value"],
            "path": "/",
            "httpOnly": True,
            "sameSite": "Lax",
        }
    )
    assert browser.cookie() == before["value"]
    browser.reload()
    assert browser.eventually(browser.user, "alice") == "alice"
    assert browser.wait_until(lambda: browser.cookie() not in (None, before["value"]))

    for tab in (first_tab, second_tab):
        browser.driver.switch_to.window(tab)
        browser.reload()
        assert browser.eventually(browser.user, "alice") == "alice"

    browser.open(f"{url}devices")
    assert browser.eventually(browser.devices, [BOTH[1]]) == [BOTH[1]]
    assert browser.eventually(lambda: ("rotated", None) in browser.events(), True)
    assert "ended" not in {kind for kind, reason in browser.events()}
    stopped_cleanly(rotating_server)


def test_a_fourth_device_logs_out_the_least_recently_active(
    browsers: t.Callable[[str], Browser], example_server: ExampleServer
) -> None:
    url = example_server.url
    devices = [browsers(f"device-{number}") for number in range(1, 5)]
    first, *others = devices
    first.log_in(url, "alice")
    # Sessions record their last activity in whole seconds: the others' is
    # later for sure from the next second on.
    first.wait_for_clock(int(time.time()) + 1)
    for device in others:
        device.log_in(url, "alice")

    first.open(url)
    assert first.eventually(first.user, None) is None
    first.open(f"{url}devices")
    assert first.eventually(lambda: first.path, "/login") == "/login"
    for device in others:
        device.open(url)
        assert device.eventually(device.user, "alice") == "alice"

    newest = others[-1]
    newest.open(f"{url}devices")
    three = [("Chrome on Linux", False)] * 2 + [("Chrome on Linux", True)]
    assert newest.eventually(lambda: sorted(newest.devices()), three) == three
    assert newest.eventually(lambda: ("ended", "evicted") in newest.events(), True)
    stopped_cleanly(example_server)


# -- the API demo page: the session in a header, no cookie ------------------------

#: The header the API carries the session id in.
HEADER = "X-Session-Id"
#: Where the page's script keeps the API's session id, in ``sessionStorage``.
TOKEN_KEY = "api-demo-session"
NOBODY = "Not logged in"


def api_user(browser: Browser) -> str:
    """What the API demo page says of its API session."""
    return browser.text("#api-user")


def api_message(browser: Browser) -> str:
    return browser.text("#api-message")


def api_cart(browser: Browser) -> dict[str, int]:
    """The cart the API demo page shows: product id -> quantity."""
    return {
        item.get_attribute("data-product") or "": int(
            item.find_element("css selector", ".quantity").text
        )
        for item in browser.find_all("#api-cart li[data-product]")
    }


def api_log_in(browser: Browser, name: str) -> None:
    browser.find("#api-login input[name=name]").send_keys(name)
    browser.find("#api-login button[type=submit]").click()
    expected = f"Logged in as {name}"
    assert browser.eventually(lambda: api_user(browser), expected) == expected


def fill_cart(browser: Browser, products: t.Sequence[str]) -> dict[str, int]:
    """Add each product in turn through the page, each after the last is
    shown; return the cart."""
    cart: dict[str, int] = {}
    for product in products:
        cart[product] = cart.get(product, 0) + 1
        browser.find(f"button.api-add[data-product={product}]").click()
        assert browser.eventually(lambda: api_cart(browser), cart) == cart
    return cart


def api_me(url: str, token: str) -> requests.Response:
    """``GET /api/me`` with ``token`` in the header, outside the browser."""
    with requests.Session() as http:
        http.trust_env = False
        return http.get(f"{url}api/me", headers={HEADER: token}, timeout=10)


def test_the_api_demo_keeps_its_session_in_a_header(
    browsers: t.Callable[[str], Browser], example_server: ExampleServer
) -> None:
    url = example_server.url
    browser = browsers("script")
    browser.open(f"{url}api-demo")
    assert browser.eventually(lambda: api_user(browser), NOBODY) == NOBODY
    assert browser.stored(TOKEN_KEY) is None

    api_log_in(browser, "alice")
    welcome = "Welcome, alice!"
    assert browser.eventually(lambda: api_message(browser), welcome) == welcome
    assert browser.wait_until(lambda: bool(browser.stored(TOKEN_KEY)))
    token = browser.stored(TOKEN_KEY)
    assert token
    cart = fill_cart(browser, ["tea", "tea", "mug"])
    assert browser.eventually(lambda: browser.stored(TOKEN_KEY), token) == token

    # The token is the session: outside the browser it reads the same one.
    answer = api_me(url, token)
    assert answer.json()["user"] == "alice"
    assert {line["product"]: line["quantity"] for line in answer.json()["cart"]} == (
        cart
    )
    assert answer.headers["Access-Control-Expose-Headers"] == HEADER
    assert "Set-Cookie" not in answer.headers

    # The reloaded page (no message yet) asks the API with the kept token.
    browser.reload()
    assert browser.eventually(lambda: api_message(browser), "") == ""
    expected = "Logged in as alice"
    assert browser.eventually(lambda: api_user(browser), expected) == expected
    assert browser.eventually(lambda: api_cart(browser), cart) == cart
    assert browser.eventually(lambda: browser.stored(TOKEN_KEY), token) == token
    # Only the demo page and the API were used: no cookie at all.
    assert browser.eventually(browser.cookies, {}) == {}

    browser.find("#api-logout button[type=submit]").click()
    said = "Logged out."
    assert browser.eventually(lambda: api_message(browser), said) == said
    assert browser.eventually(lambda: api_user(browser), NOBODY) == NOBODY
    assert browser.eventually(lambda: api_cart(browser), {}) == {}
    assert browser.eventually(lambda: browser.stored(TOKEN_KEY), None) is None
    replay = api_me(url, token)
    assert replay.json() == {"user": None, "cart": []}
    assert replay.headers[HEADER] == ""

    browser.reload()
    assert browser.eventually(lambda: api_message(browser), "") == ""
    assert browser.eventually(lambda: api_user(browser), NOBODY) == NOBODY
    assert browser.eventually(lambda: api_cart(browser), {}) == {}
    assert browser.eventually(browser.cookies, {}) == {}
    stopped_cleanly(example_server)


def test_the_api_session_beside_the_shops_cookie(
    browsers: t.Callable[[str], Browser], example_server: ExampleServer
) -> None:
    url = example_server.url
    browser = browsers("both")
    browser.log_in(url, "bob")
    assert browser.wait_until(lambda: list(browser.cookies()) == ["session"])
    shop_cookies = browser.cookies()

    browser.open(f"{url}api-demo")
    assert browser.eventually(browser.user, "bob") == "bob"
    assert browser.eventually(lambda: api_user(browser), NOBODY) == NOBODY
    api_log_in(browser, "alice")
    cart = fill_cart(browser, ["honey"])
    assert browser.wait_until(lambda: bool(browser.stored(TOKEN_KEY)))
    token = browser.stored(TOKEN_KEY)
    assert token
    assert token != shop_cookies["session"]
    assert browser.eventually(browser.cookies, shop_cookies) == shop_cookies

    browser.reload()
    assert browser.eventually(lambda: api_message(browser), "") == ""
    assert browser.eventually(lambda: api_cart(browser), cart) == cart
    expected = "Logged in as alice"
    assert browser.eventually(lambda: api_user(browser), expected) == expected
    assert browser.eventually(browser.user, "bob") == "bob"
    browser.find("#api-logout button[type=submit]").click()
    assert browser.eventually(lambda: api_user(browser), NOBODY) == NOBODY

    browser.open(url)
    assert browser.eventually(browser.user, "bob") == "bob"
    assert browser.eventually(browser.cookies, shop_cookies) == shop_cookies
    stopped_cleanly(example_server)
