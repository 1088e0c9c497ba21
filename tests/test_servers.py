"""Tests of the DynamoDB-compatible servers of :mod:`servers`."""

from __future__ import annotations

import socket
import stat
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from servers import DynaliteServer, DynamoServer, MotoServer, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.server

TABLE = "servers-test"


@pytest.fixture(params=[MotoServer, DynaliteServer], ids=["moto", "dynalite"])
def server(request: pytest.FixtureRequest) -> Iterator[DynamoServer]:
    """A running server of each kind, stopped at the end of the test."""
    server_class: type[DynamoServer] = request.param
    with server_class() as running:
        yield running


@pytest.fixture
def client(server: DynamoServer) -> Iterator[DynamoDBClient]:
    """A client of *server*, closed at the end of the test."""
    dynamodb = server.client()
    yield dynamodb
    dynamodb.close()


def create_table(client: DynamoDBClient, name: str = TABLE) -> None:
    """Create a table keyed by the string ``id`` and wait until it is ACTIVE."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    deadline = time.monotonic() + 5
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, f"table {name} never became ACTIVE"
        time.sleep(0.01)


def port_is_refused(port: int) -> bool:
    """Tell whether a TCP connection to *port* of 127.0.0.1 is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def test_free_port_can_be_bound() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_round_trip_stop_and_restart(
    server: DynamoServer, client: DynamoDBClient
) -> None:
    assert server.running
    assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
    create_table(client)
    client.put_item(TableName=TABLE, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    item = client.get_item(TableName=TABLE, Key={"id": {"S": "a"}})["Item"]
    assert item == {"id": {"S": "a"}, "n": {"N": "1"}}

    port = server.port
    server.stop()
    assert not server.running
    assert port_is_refused(port)
    with pytest.raises(EndpointConnectionError):
        client.get_item(TableName=TABLE, Key={"id": {"S": "a"}})
    server.stop()  # stopping twice is harmless

    server.start()
    assert server.port == port
    # The same client reaches the new server, which is empty.
    assert client.list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as info:
        client.get_item(TableName=TABLE, Key={"id": {"S": "a"}})
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_restart_comes_back_empty_on_same_port(
    server: DynamoServer, client: DynamoDBClient
) -> None:
    create_table(client)
    endpoint = server.endpoint_url
    server.restart()
    assert server.running
    assert server.endpoint_url == endpoint
    assert client.list_tables()["TableNames"] == []
    create_table(client)  # the name is free again
    assert client.list_tables()["TableNames"] == [TABLE]


def test_context_manager_frees_the_port() -> None:
    with MotoServer() as server:
        assert server.running
        port = server.port
    assert not server.running
    assert port_is_refused(port)


def test_start_refuses_running_server_and_taken_port(server: DynamoServer) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    other = MotoServer(port=server.port)
    with pytest.raises(RuntimeError, match="already in use"):
        other.start()
    assert not other.running


def test_wait_ready_times_out_on_stopped_server() -> None:
    server = MotoServer()
    with pytest.raises(RuntimeError, match="did not answer ListTables"):
        server.wait_ready(0.2)


def test_client_defaults_and_config_override(server: DynamoServer) -> None:
    dynamodb = server.client(config=Config(read_timeout=1))
    try:
        config: Any = dynamodb.meta.config
        assert dynamodb.meta.region_name == "us-east-1"
        assert dynamodb.meta.endpoint_url == server.endpoint_url
        assert config.read_timeout == 1  # overridden
        assert config.connect_timeout == 3  # kept
        # botocore's max_attempts=2 counts retries: 3 attempts in all.
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert config.proxies == {}
    finally:
        dynamodb.close()


def test_moto_servers_do_not_share_tables() -> None:
    with MotoServer() as first, MotoServer() as second:
        assert first.account_id != second.account_id
        first_client, second_client = first.client(), second.client()
        try:
            create_table(first_client)
            assert second_client.list_tables()["TableNames"] == []
            second.restart()
            assert first_client.list_tables()["TableNames"] == [TABLE]
        finally:
            first_client.close()
            second_client.close()


def test_dynalite_missing_names_npm_install(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="npm install"):
        DynaliteServer(repo_root=tmp_path)


def test_dynalite_early_exit_reports_output(tmp_path: Path) -> None:
    fake = tmp_path / "node_modules" / ".bin" / "dynalite"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'fake dynalite: no luck' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    server = DynaliteServer(repo_root=tmp_path)
    with pytest.raises(RuntimeError, match="exited with status 3") as info:
        server.start()
    assert "fake dynalite: no luck" in str(info.value)
    assert not server.running
    assert "no luck" in server.output()
