"""The devices page in a real browser: headless Chromium driven by selenium.

``python -m example_app`` runs as a real HTTP server on its embedded
DynamoDB, as the README's quick start starts it. Two browser profiles (two
``--user-data-dir``: two devices, each with its own cookies) log in as the
same user; the second sees both on "Your devices" and logs the first out,
which finds itself logged out on its next page.

It needs Debian's ``chromium`` and ``chromium-driver`` packages and selenium.
Without them the test is skipped, except with ``CI=true`` in the
environment, where a missing browser fails it. The test saves a screenshot
of the devices page in its temporary directory; with
``EXAMPLE_DEVICES_SCREENSHOT=path`` it also copies it there (that is how
``docs/devices.png`` was made).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import typing as t
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    from tests.support.example import ExampleServer

T = t.TypeVar("T")

pytestmark = pytest.mark.server

#: How to get what the test needs, said when something is missing.
INSTALL = (
    "install Debian's chromium and chromium-driver"
    " (apt install chromium chromium-driver) and selenium"
    " (pip install -e '.[test]')"
)
#: Headless, and nothing that reaches out to the network by itself.
CHROMIUM_ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--window-size=1000,760",
)
#: Seconds a page may take to load.
PAGE_TIMEOUT = 20
#: Seconds a page may take to show what a check waits for.
WAIT = 15
#: selenium's way of finding an element by a CSS selector.
CSS = "css selector"


def chromium_paths() -> tuple[str, str]:
    """The Chromium and ChromeDriver executables.

    Skips the test if either, or selenium, is missing; under ``CI=true``
    fails it instead.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    missing = [
        name
        for name, found in (
            ("chromium", chromium),
            ("chromedriver", chromedriver),
            ("selenium", importlib.util.find_spec("selenium")),
        )
        if not found
    ]
    if chromium is None or chromedriver is None or missing:
        reason = f"{', '.join(missing)} not found: {INSTALL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs the browser test to run; {reason}")
        pytest.skip(reason)
    return chromium, chromedriver


class Browser:
    """One headless Chromium with a profile of its own: one device.

    :param chromium: the browser's executable.
    :param chromedriver: the driver's executable.
    :param profile: the profile directory, new and empty.
    """

    def __init__(self, chromium: str, chromedriver: str, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in CHROMIUM_ARGUMENTS:
            options.add_argument(argument)
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(
            executable_path=chromedriver,
            log_output=str(profile.with_name(f"{profile.name}-chromedriver.log")),
        )
        self.driver: WebDriver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(PAGE_TIMEOUT)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, selector: str) -> WebElement:
        return self.driver.find_element(CSS, selector)

    def find_all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(CSS, selector)

    def eventually(self, read: Callable[[], T], expected: object) -> T:
        """Read the page until ``read()`` gives ``expected``, for up to
        :data:`WAIT` seconds; return what it gave last, for the test to check.

        A click, a form sent, a redirect: the page changes some time after
        the driver returns, so every check of a page waits for it.
        """
        from selenium.common.exceptions import (
            StaleElementReferenceException,
            TimeoutException,
        )
        from selenium.webdriver.support.wait import WebDriverWait

        seen: list[T] = []

        def settled(driver: WebDriver) -> bool:
            seen[:] = [read()]
            return seen[0] == expected

        wait = WebDriverWait(
            self.driver,
            WAIT,
            poll_frequency=0.05,
            ignored_exceptions=(StaleElementReferenceException,),
        )
        with contextlib.suppress(TimeoutException):
            wait.until(settled)
        return seen[0] if seen else read()

    def text(self, selector: str) -> str:
        """The text of the first element ``selector`` finds, or ``""``."""
        found = self.find_all(selector)
        return found[0].text if found else ""

    def log_in(self, url: str, name: str) -> None:
        """Fill in and send the login form; wait until the page shows ``name``."""
        self.open(f"{url}login")
        self.find("form.login input[name=name]").send_keys(name)
        self.find("form.login button[type=submit]").click()
        assert self.eventually(self.user, name) == name

    def user(self) -> str | None:
        """Who the page says is logged in, or ``None``."""
        shown = self.find_all("header .user strong")
        return shown[0].text if shown else None

    def devices(self) -> list[tuple[str, bool]]:
        """The rows of the devices page: the device and whether it is this one."""
        return [
            (
                row.find_element(CSS, ".device-name").text,
                "current" in (row.get_attribute("class") or "").split(),
            )
            for row in self.find_all("table.devices tr.device")
        ]

    @property
    def path(self) -> str:
        """The path of the page shown, after any redirect."""
        url = self.driver.current_url
        return "/" + url.split("/", 3)[3]

    def quit(self) -> None:
        self.driver.quit()


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


def save_screenshot(browser: Browser, path: Path) -> None:
    """Save the page's body as a PNG at ``path``, and where the environment
    asks."""
    assert browser.find("body").screenshot(str(path))
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    copy_to = os.environ.get("EXAMPLE_DEVICES_SCREENSHOT")
    if copy_to:
        shutil.copyfile(path, copy_to)


#: The devices page of either device once both logged in: (device, this one).
BOTH = [("Headless Chrome on Linux", False), ("Headless Chrome on Linux", True)]


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
    assert laptop.driver.get_cookie("session") != phone.driver.get_cookie("session")

    phone.open(f"{url}devices")
    assert phone.eventually(lambda: phone.text("h1"), "Your devices") == "Your devices"
    assert phone.eventually(lambda: sorted(phone.devices()), BOTH) == BOTH
    assert phone.text("tr.current .this-device") == "this device"
    save_screenshot(phone, tmp_path / "devices.png")

    phone.find("tr.device:not(.current) button[type=submit]").click()
    flash = "That device is logged out."
    assert phone.eventually(lambda: flash in phone.text(".flashes"), True)
    assert phone.path == "/devices"
    assert phone.eventually(phone.devices, [BOTH[1]]) == [BOTH[1]]

    laptop.open(url)
    assert laptop.eventually(laptop.user, None) is None
    assert laptop.find_all("header a[href='/login']")
    laptop.open(f"{url}devices")
    assert laptop.eventually(lambda: laptop.path, "/login") == "/login"

    phone.open(url)
    assert phone.eventually(phone.user, "alice") == "alice"

    assert example_server.interrupt() == 0, example_server.output
    assert "Traceback" not in example_server.output
