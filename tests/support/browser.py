"""Headless Chromium driven by selenium: one :class:`Browser` a device.

Each browser has a profile of its own (its own ``--user-data-dir``, so its
own cookies). Every check of a page waits for it (:meth:`Browser.eventually`,
:meth:`Browser.wait_until`): a click, a form sent, a redirect change the
page some time after the driver returns. It needs Debian's ``chromium`` and
``chromium-driver`` packages and selenium: :func:`chromium_paths` skips the
test without them, or fails it under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
import typing as t

import pytest

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

__all__ = ["WAIT", "Browser", "chromium_paths"]

T = t.TypeVar("T")

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
#: Seconds a page may take to load, on a loaded machine.
PAGE_TIMEOUT = 60
#: Seconds a page may take to show what a check waits for.
WAIT = 30
#: How often a wait looks again, in seconds.
POLL = 0.05
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

    def reload(self) -> None:
        self.driver.refresh()

    def find(self, selector: str) -> WebElement:
        return self.driver.find_element(CSS, selector)

    def find_all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(CSS, selector)

    def wait_until(self, condition: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Whether ``condition()`` became true within ``timeout`` seconds."""
        from selenium.common.exceptions import (
            StaleElementReferenceException,
            TimeoutException,
        )
        from selenium.webdriver.support.wait import WebDriverWait

        wait = WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=POLL,
            ignored_exceptions=(StaleElementReferenceException,),
        )
        try:
            wait.until(lambda driver: condition())
        except TimeoutException:
            return False
        return True

    def eventually(self, read: Callable[[], T], expected: object) -> T:
        """Read the page until ``read()`` gives ``expected``, for up to
        :data:`WAIT` seconds; return what it gave last, for the test to check.
        """
        seen: list[T] = []

        def settled() -> bool:
            seen[:] = [read()]
            return seen[0] == expected

        self.wait_until(settled)
        return seen[0] if seen else read()

    def wait_for_clock(self, moment: float) -> None:
        """Wait until the wall clock reaches ``moment`` (epoch seconds), for
        an interval of the app to pass; bounded by the interval and
        :data:`WAIT`."""
        timeout = max(0.0, moment - time.time()) + WAIT
        assert self.wait_until(lambda: time.time() >= moment, timeout)

    def text(self, selector: str) -> str:
        """The text of the first element ``selector`` finds, or ``""``."""
        found = self.find_all(selector)
        return found[0].text if found else ""

    def cookie(self) -> str | None:
        """The value of the session cookie this profile holds, or ``None``."""
        cookie = self.driver.get_cookie("session")
        return None if cookie is None else str(cookie["value"])

    def cookies(self) -> dict[str, str]:
        """Every cookie this profile holds for the page's site, by name."""
        return {
            str(cookie["name"]): str(cookie["value"])
            for cookie in self.driver.get_cookies()
        }

    def stored(self, key: str) -> str | None:
        """The value the page's ``sessionStorage`` keeps under ``key``."""
        value = self.driver.execute_script(
            "return window.sessionStorage.getItem(arguments[0]);", key
        )
        return None if value is None else str(value)

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

    def summaries(self) -> list[str]:
        """What each row of the devices page says of its device."""
        return [row.text for row in self.find_all("table.devices .device-summary")]

    def events(self) -> list[tuple[str, str | None]]:
        """The devices page's recent activity: (kind, reason), newest first."""
        return [
            (
                (item.get_attribute("class") or "").split()[-1],
                item.get_attribute("data-reason"),
            )
            for item in self.find_all("ul.audit li.event")
        ]

    @property
    def path(self) -> str:
        """The path of the page shown, after any redirect."""
        url = self.driver.current_url
        return "/" + url.split("/", 3)[3]

    def quit(self) -> None:
        self.driver.quit()
