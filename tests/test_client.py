"""Tests of :mod:`flask_dynamodb_session.client`: the client's config and bounds."""

from __future__ import annotations

import selectors
import socket
import threading
import time
import typing as t

import pytest
from botocore.config import Config

from flask_dynamodb_session import SessionBackendError
from flask_dynamodb_session.client import (
    CONNECT_TIMEOUT,
    DEFAULT_CONFIG,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
    build_client,
    client_config,
)
from flask_dynamodb_session.settings import resolve
from flask_dynamodb_session.store import SessionStore

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

#: Seconds of slack on top of a computed bound, for a loaded machine.
SLACK = 3.0


def retry_backoff_bound(attempts: int) -> float:
    """The longest back-off botocore's standard mode waits in a DynamoDB call.

    Before retry ``n`` it waits a random part of ``0.025 * 2 ** (n - 1)``
    seconds after a timeout or a connection error.
    """
    return sum(0.025 * (1 << retry) for retry in range(attempts - 1))


def effective_config(
    botocore_config: Config | None, *, admin: bool = False
) -> dict[str, t.Any]:
    """The options of a client built with ``botocore_config``, as botocore has them.

    :param admin: of the client for the table's life and the CLI, not of the
        request path.
    """
    settings = resolve({"region_name": "eu-west-1", "botocore_config": botocore_config})
    client = build_client(settings, admin=admin)
    try:
        return dict(vars(client.meta.config))
    finally:
        client.close()


class SilentServer:
    """A TCP server on ``127.0.0.1`` that accepts connections and never answers.

    It counts the connections it accepted and the HTTP requests that arrived
    on them (a request is a header block ending in an empty line; the JSON
    body of a DynamoDB call holds no line breaks).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._received: dict[socket.socket, bytes] = {}
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        #: Connections accepted so far.
        self.connections = 0

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 as ``endpoint_url``."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        """HTTP requests received so far, over all connections."""
        with self._lock:
            return sum(data.count(b"\r\n\r\n") for data in self._received.values())

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            t.cast(socket.socket, key.fileobj).close()
        self._selector.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = t.cast(socket.socket, key.fileobj)
                if sock is self._listener:
                    self._accept()
                else:
                    self._read(sock)

    def _accept(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except BlockingIOError:
            return
        connection.setblocking(False)
        self._selector.register(connection, selectors.EVENT_READ)
        with self._lock:
            self.connections += 1
            self._received[connection] = b""

    def _read(self, connection: socket.socket) -> None:
        try:
            data = connection.recv(65536)
        except (BlockingIOError, ConnectionError):
            data = b""
        if not data:
            self._selector.unregister(connection)
            connection.close()
            return
        with self._lock:
            self._received[connection] += data


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speak to the loopback server directly, whatever the environment says."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


#: The ``transport`` option of each transport the tests run on.
OPTION = {"boto3": "boto3", "lean": "auto"}


def timed_load(store: SessionStore) -> float:
    """Seconds ``store.load`` took to fail with a :class:`SessionBackendError`."""
    started = time.monotonic()
    with pytest.raises(SessionBackendError) as info:
        store.load("a session id")
    elapsed = time.monotonic() - started
    assert info.value.operation == "GetItem"
    return elapsed


# -- the config ---------------------------------------------------------------


def test_default_config() -> None:
    config = effective_config(None)
    assert config["retries"] == {"mode": "standard", "total_max_attempts": 3}
    assert (config["connect_timeout"], config["read_timeout"]) == (1, 1)
    assert (CONNECT_TIMEOUT, READ_TIMEOUT, MAX_ATTEMPTS) == (1, 1, 3)
    assert config["max_pool_connections"] == 32
    assert config["tcp_keepalive"] is True
    assert config["user_agent"].startswith("flask-dynamodb-session/")


def test_table_life_and_the_cli_wait_longer() -> None:
    config = effective_config(None, admin=True)
    assert (config["connect_timeout"], config["read_timeout"]) == (2, 10)
    assert config["retries"] == {"mode": "standard", "total_max_attempts": 3}
    config = effective_config(Config(read_timeout=30), admin=True)
    assert config["read_timeout"] == 30


def test_the_given_config_is_merged_over_the_defaults() -> None:
    config = effective_config(Config(read_timeout=4, max_pool_connections=8))
    assert (config["connect_timeout"], config["read_timeout"]) == (1, 4)
    assert config["max_pool_connections"] == 8
    assert config["retries"] == {"mode": "standard", "total_max_attempts": 3}
    assert config["user_agent"].startswith("flask-dynamodb-session/")


@pytest.mark.parametrize(
    ("retries", "expected"),
    [
        ({"total_max_attempts": 5}, {"mode": "standard", "total_max_attempts": 5}),
        # A botocore config's max_attempts counts the retries.
        ({"max_attempts": 1}, {"mode": "standard", "total_max_attempts": 2}),
        ({"mode": "adaptive"}, {"mode": "adaptive", "total_max_attempts": 3}),
        (
            {"mode": "legacy", "total_max_attempts": 2},
            {"mode": "legacy", "total_max_attempts": 2},
        ),
    ],
)
def test_retries_are_merged_key_by_key(
    retries: dict[str, t.Any], expected: dict[str, t.Any]
) -> None:
    config = effective_config(Config(retries=retries))  # type: ignore[arg-type]
    assert config["retries"] == expected


def test_no_config_means_the_defaults() -> None:
    assert client_config(None) is DEFAULT_CONFIG


def test_the_defaults_are_left_alone() -> None:
    client_config(Config(retries={"total_max_attempts": 9}, read_timeout=9))
    assert DEFAULT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 3}  # type: ignore[attr-defined]
    assert DEFAULT_CONFIG.read_timeout == READ_TIMEOUT  # type: ignore[attr-defined]


# -- over the wire: a DynamoDB that never answers ---------------------------------


@pytest.mark.server
def test_a_hung_dynamodb_fails_a_read_within_the_bound(
    silent_server: SilentServer, transport: str
) -> None:
    store = SessionStore(
        resolve(
            {
                "endpoint_url": silent_server.endpoint_url,
                "region_name": "us-east-1",
                "transport": OPTION[transport],
            }
        )
    )
    try:
        elapsed = timed_load(store)
    finally:
        store.close()

    bound = MAX_ATTEMPTS * READ_TIMEOUT + retry_backoff_bound(MAX_ATTEMPTS)
    assert bound == pytest.approx(3.075)
    assert MAX_ATTEMPTS * READ_TIMEOUT <= elapsed <= bound + SLACK
    assert silent_server.requests == MAX_ATTEMPTS
    assert silent_server.connections == MAX_ATTEMPTS


@pytest.mark.server
def test_a_longer_read_timeout_is_honoured(
    silent_server: SilentServer, transport: str
) -> None:
    read_timeout = 1.5
    store = SessionStore(
        resolve(
            {
                "endpoint_url": silent_server.endpoint_url,
                "region_name": "us-east-1",
                "transport": OPTION[transport],
                "botocore_config": Config(read_timeout=read_timeout),
            }
        )
    )
    try:
        elapsed = timed_load(store)
    finally:
        store.close()

    # The read timeout is the given one; the attempts are still the default's.
    bound = MAX_ATTEMPTS * read_timeout + retry_backoff_bound(MAX_ATTEMPTS)
    assert MAX_ATTEMPTS * read_timeout <= elapsed <= bound + SLACK
    assert silent_server.requests == MAX_ATTEMPTS


@pytest.mark.server
def test_fewer_attempts_are_honoured(
    silent_server: SilentServer, transport: str
) -> None:
    store = SessionStore(
        resolve(
            {
                "endpoint_url": silent_server.endpoint_url,
                "region_name": "us-east-1",
                "transport": OPTION[transport],
                "botocore_config": Config(retries={"total_max_attempts": 1}),
            }
        )
    )
    try:
        elapsed = timed_load(store)
    finally:
        store.close()

    assert READ_TIMEOUT <= elapsed <= READ_TIMEOUT + SLACK
    assert silent_server.requests == 1
