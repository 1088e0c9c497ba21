"""A bounded load test: gunicorn, 2 workers x 4 threads, over dynalite.

Clients on threads of the test process increment counters in their sessions
through the load app (:func:`tests.support.apps.create_load_app`), served by
gunicorn, whose sessions live in a
DynamoDB-compatible server on 127.0.0.1:

- each client its own session and counter: every counter must end exactly
  at the number of increments;
- all clients one session, each its own key: the writes of different
  processes to one item must all persist (the key-level merge). Under such
  contention a save may give up after its bounded retries with a 503 and
  ``Retry-After``, having written nothing: the clients then wait and send
  the increment again, as a well-behaved client would, so a 503 that did
  write something would show as a counter past its end.

Run with ``-s`` to see the figures, for example::

    .venv/bin/python -m pytest -s -p no:cacheprovider tests/test_load.py
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.servers import HOST, REPO_ROOT, DynamoServer, free_port
from tests.support.tables import unique_table
from tests.support.wire import Browser, one_request_at_a_time

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = [pytest.mark.slow, pytest.mark.server]

#: Concurrent clients, and the increments each makes.
CLIENTS = 8
INCREMENTS = 50
#: Seconds a request, gunicorn's start and one whole run may take.
REQUEST_TIMEOUT = 15
START_TIMEOUT = 30
RUN_TIMEOUT = 60
#: How often one increment is sent again after a 503 before it is an error.
RETRIES = 5


class Gunicorn:
    """gunicorn serving the load app on a free loopback port.

    :param endpoint_url: the DynamoDB server the app uses.
    :param table: the session table.
    """

    def __init__(self, endpoint_url: str, table: str) -> None:
        self.port = free_port()
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=2",
            "--threads=4",
            f"--bind={HOST}:{self.port}",
            f"--pythonpath={REPO_ROOT}",
            "--no-control-socket",
            "--graceful-timeout=5",
            "--timeout=30",
            "--log-level=warning",
            "tests.support.apps:create_load_app()",
        ]
        self.env = {
            **os.environ,
            "LOAD_ENDPOINT_URL": endpoint_url,
            "LOAD_TABLE": table,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        self.env.pop("AWS_PROFILE", None)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: t.IO[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        # Closed in __exit__.
        self._log = tempfile.TemporaryFile(prefix="gunicorn-")
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=REPO_ROOT,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        """What gunicorn and the app printed so far."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                with Browser(self.port, timeout=2) as browser:
                    if browser.get("/health").status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"gunicorn did not answer on port {self.port}:\n{self.output()}"
        )


@dataclasses.dataclass
class Figures:
    """What one run did."""

    name: str
    requests: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    unavailable: int = 0
    lost_updates: int = 0
    wall_time: float = 0.0

    def report(self) -> None:
        rate = self.requests / self.wall_time if self.wall_time else 0.0
        print(
            f"\nload {self.name}: {self.requests} requests, {len(self.errors)}"
            f" errors, {self.unavailable} retried 503s, {self.lost_updates} lost"
            f" updates, {self.wall_time:.2f} s wall time ({rate:.0f} requests/s)"
        )


#: The shared servers the load runs against. dynalite only, to keep the run
#: short: moto's server runs in this process, sharing its interpreter with the
#: clients, and under one lock
#: (:func:`tests.support.wire.one_request_at_a_time`); with it the run takes
#: about a minute instead of ten seconds. Add ``"moto"`` here to run it too.
LOAD_SERVERS = ["dynalite"]


@pytest.fixture(scope="module", params=LOAD_SERVERS)
def site(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """A session table on a shared server, and gunicorn using it."""
    server: DynamoServer = request.getfixturevalue(f"{request.param}_server")
    with one_request_at_a_time(server):
        table = unique_table()
        server.create_table(table)
        with Gunicorn(server.endpoint_url, table) as gunicorn:
            yield server.name, gunicorn.port
        server.delete_table(table)


def run(figures: Figures, client: Callable[[int, float], Figures]) -> None:
    """Run ``client(number, deadline)`` on :data:`CLIENTS` threads at once."""
    start = time.monotonic()
    deadline = start + RUN_TIMEOUT
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS), [deadline] * CLIENTS))
    figures.wall_time = time.monotonic() - start
    for result in results:
        figures.requests += result.requests
        figures.errors.extend(result.errors)
        figures.unavailable += result.unavailable


def increment(browser: Browser, name: str, deadline: float) -> Figures:
    """``POST /incr/<name>`` :data:`INCREMENTS` times, checking each answer.

    A 503 with ``Retry-After`` is waited out and sent again.
    """
    figures = Figures(name)
    for expected in range(1, INCREMENTS + 1):
        for _ in range(RETRIES):
            if time.monotonic() > deadline:
                figures.errors.append("the run took too long")
                return figures
            figures.requests += 1
            try:
                reply = browser.post(f"/incr/{name}")
            except OSError as exc:
                figures.errors.append(repr(exc))
                break
            retry_after = reply.headers.get("Retry-After")
            if reply.status == 503 and retry_after is not None:
                figures.unavailable += 1
                time.sleep(float(retry_after))
                continue
            if reply.status != 200:
                figures.errors.append(f"{reply.status}: {reply.body[:200]!r}")
            elif reply.body != str(expected).encode():
                figures.errors.append(f"{name} is {reply.body!r}, not {expected}")
            break
        else:
            figures.errors.append(f"{RETRIES} times 503")
    return figures


def counters(port: int, cookie: str | None) -> dict[str, int]:
    with Browser(port, cookie, timeout=REQUEST_TIMEOUT) as browser:
        reply = browser.get("/counters")
    assert reply.status == 200
    return t.cast("dict[str, int]", reply.json())


def test_each_client_increments_its_own_session(site: tuple[str, int]) -> None:
    name, port = site
    figures = Figures(f"{name}, {CLIENTS} clients x {INCREMENTS}, own sessions")
    cookies: dict[int, str | None] = {}

    def client(number: int, deadline: float) -> Figures:
        with Browser(port, keep_alive=True, timeout=REQUEST_TIMEOUT) as browser:
            result = increment(browser, "n", deadline)
        cookies[number] = browser.cookie
        return result

    run(figures, client)
    finals = [counters(port, cookies[n]).get("n", 0) for n in range(CLIENTS)]
    figures.lost_updates = sum(INCREMENTS - final for final in finals)
    figures.report()
    assert figures.errors == []
    assert figures.unavailable == 0
    assert figures.requests == CLIENTS * INCREMENTS
    assert finals == [INCREMENTS] * CLIENTS
    assert len(set(cookies.values())) == CLIENTS


def test_clients_share_one_session(site: tuple[str, int]) -> None:
    name, port = site
    figures = Figures(f"{name}, {CLIENTS} clients x {INCREMENTS}, one session")
    with Browser(port, timeout=REQUEST_TIMEOUT) as browser:
        assert browser.post("/incr/start").status == 200
    shared = browser.cookie
    assert shared

    def client(number: int, deadline: float) -> Figures:
        with Browser(port, shared, keep_alive=True, timeout=REQUEST_TIMEOUT) as browser:
            result = increment(browser, f"c{number}", deadline)
        if browser.cookie != shared:
            result.errors.append("the session cookie changed")
        return result

    run(figures, client)
    final = counters(port, shared)
    figures.lost_updates = sum(
        INCREMENTS - final.get(f"c{n}", 0) for n in range(CLIENTS)
    )
    figures.report()
    assert figures.errors == []
    assert figures.requests == CLIENTS * INCREMENTS + figures.unavailable
    # Bounded retries may run out now and then, but not for one request in ten.
    assert figures.unavailable * 10 <= CLIENTS * INCREMENTS
    assert final == {"start": 1} | {f"c{n}": INCREMENTS for n in range(CLIENTS)}
