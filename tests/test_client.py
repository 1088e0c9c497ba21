"""Tests of :mod:`flask_dynamodb_session.client`: the client's config and bounds."""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

import pytest
from botocore.config import Config
from setuptools.config.setupcfg import read_configuration

import flask_dynamodb_session
from flask_dynamodb_session import SessionBackendError
from flask_dynamodb_session.client import (
    CONNECT_TIMEOUT,
    DEFAULT_CONFIG,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
    build_client,
    client_config,
)
from flask_dynamodb_session.options import resolve
from flask_dynamodb_session.store import SessionStore
from tests.support.proxy import DynamoProxy, Fault

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient

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


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speak to the loopback server directly, whatever the environment says."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def silent_server() -> Iterator[DynamoProxy]:
    """A server on ``127.0.0.1`` that accepts connections and never answers:
    the test proxy with nothing behind it, every request left hanging. It
    counts the connections it accepted and the requests that arrived."""
    with DynamoProxy() as server:
        server.fail(Fault.hang())
        yield server


#: The ``transport`` option of each transport the tests run on.
OPTION = {"boto3": "boto3", "lean": "auto"}


def timed_load(store: SessionStore) -> float:
    """Seconds ``store.load`` took to fail with a :class:`SessionBackendError`."""
    started = time.monotonic()
    with pytest.raises(SessionBackendError) as info:
        store.items.load("a session id")
    elapsed = time.monotonic() - started
    assert info.value.operation == "GetItem"
    return elapsed


def hung_load(server: DynamoProxy, transport: str, **options: t.Any) -> float:
    """Seconds a store of ``server`` took to fail a load over ``transport``."""
    store = SessionStore(
        resolve(
            {
                "endpoint_url": server.endpoint_url,
                "region_name": "us-east-1",
                "transport": OPTION[transport],
                **options,
            }
        )
    )
    try:
        return timed_load(store)
    finally:
        store.close()


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
    silent_server: DynamoProxy, transport: str
) -> None:
    elapsed = hung_load(silent_server, transport)

    bound = MAX_ATTEMPTS * READ_TIMEOUT + retry_backoff_bound(MAX_ATTEMPTS)
    assert bound == pytest.approx(3.075)
    assert MAX_ATTEMPTS * READ_TIMEOUT <= elapsed <= bound + SLACK
    assert silent_server.count() == MAX_ATTEMPTS
    assert silent_server.connections == MAX_ATTEMPTS


@pytest.mark.server
def test_a_longer_read_timeout_is_honoured(
    silent_server: DynamoProxy, transport: str
) -> None:
    read_timeout = 1.5
    elapsed = hung_load(
        silent_server, transport, botocore_config=Config(read_timeout=read_timeout)
    )

    # The read timeout is the given one; the attempts are still the default's.
    bound = MAX_ATTEMPTS * read_timeout + retry_backoff_bound(MAX_ATTEMPTS)
    assert MAX_ATTEMPTS * read_timeout <= elapsed <= bound + SLACK
    assert silent_server.count() == MAX_ATTEMPTS


@pytest.mark.server
def test_fewer_attempts_are_honoured(
    silent_server: DynamoProxy, transport: str
) -> None:
    elapsed = hung_load(
        silent_server,
        transport,
        botocore_config=Config(retries={"total_max_attempts": 1}),
    )

    assert READ_TIMEOUT <= elapsed <= READ_TIMEOUT + SLACK
    assert silent_server.count() == 1


# -- the version ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_defined_once() -> None:
    """``__version__`` is the version setuptools builds the package as, and
    the one CHANGES.rst begins with."""
    metadata = read_configuration(str(ROOT / "setup.cfg"))["metadata"]
    assert metadata["version"] == flask_dynamodb_session.__version__
    changes = (ROOT / "CHANGES.rst").read_text(encoding="utf-8").splitlines()
    assert changes[0] == f"Version {flask_dynamodb_session.__version__}"
    agent = effective_config(None)["user_agent"]
    assert agent.startswith(
        f"flask-dynamodb-session/{flask_dynamodb_session.__version__} "
    )


def test_the_user_agent_sent_names_the_version(
    client: FlaskClient, proxy: DynamoProxy
) -> None:
    """On either transport, the calls carry the package's version."""
    proxy.reset()
    assert client.post("/set/user/alice").status_code == 200
    (call,) = proxy.calls
    agent = call.headers["user-agent"]
    assert agent.startswith(
        f"flask-dynamodb-session/{flask_dynamodb_session.__version__} "
    ), agent
