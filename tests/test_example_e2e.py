"""The example app end to end: ``python -m example_app`` as a real HTTP server.

The app runs in a child process on its embedded DynamoDB (moto, in that
process), exactly as the README's quick start starts it, and is driven with
:mod:`requests` keeping cookies like a browser.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest
import requests

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from http.cookiejar import Cookie, CookieJar

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
#: Seconds the app may take to print its address.
STARTUP_TIMEOUT = 20.0
#: Seconds the app may take to stop after Ctrl-C.
STOP_TIMEOUT = 10.0
ADDRESS = re.compile(r"open (http://127\.0\.0\.1:\d+/)")


class ExampleServer:
    """``python -m example_app --port 0`` in a child process.

    :param workdir: where its output goes.
    """

    def __init__(self, workdir: Path) -> None:
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def environment(self, workdir: Path) -> dict[str, str]:
        """This environment without any AWS, DynamoDB or secret key setting,
        as on a fresh machine, whatever this one has configured."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "SESSION_DYNAMODB_"))
            and name != "SECRET_KEY"
        }
        env["AWS_CONFIG_FILE"] = str(workdir / "no-aws-config")
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(workdir / "no-aws-credentials")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> str:
        """Start the app and return the address it prints."""
        workdir = self.stdout_path.parent
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "example_app", "--port", "0"],
                cwd=ROOT,
                env=self.environment(workdir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = ADDRESS.search(self.stdout)
            if match:
                self.url = match.group(1)
                return self.url
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"the example app did not start:\n{self.output}")

    def interrupt(self) -> int:
        """Ctrl-C: return the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        """Make sure the process is gone, whatever happened before."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(STOP_TIMEOUT)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def output(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace")
        return f"--- stdout\n{self.stdout}--- stderr\n{stderr}"


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[ExampleServer]:
    server = ExampleServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.kill()


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
