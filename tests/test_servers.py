"""Tests of the DynamoDB-compatible servers of :mod:`tests.support.servers`."""

from __future__ import annotations

import socket
import stat
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.support import servers
from tests.support.servers import DynaliteServer, DynamoServer, MotoServer, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.server

TABLE = "servers-test"


@pytest.fixture
def client(own_server: DynamoServer) -> Iterator[DynamoDBClient]:
    """A client of the test's server, closed at the end of the test."""
    dynamodb = own_server.client()
    yield dynamodb
    dynamodb.close()


def create_table(client: DynamoDBClient) -> None:
    """Create the table of these tests; return when it is ACTIVE."""
    servers.create_table(client, TABLE)


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
    own_server: DynamoServer, client: DynamoDBClient
) -> None:
    assert own_server.running
    assert own_server.endpoint_url == f"http://127.0.0.1:{own_server.port}"
    create_table(client)
    client.put_item(TableName=TABLE, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    item = client.get_item(TableName=TABLE, Key={"id": {"S": "a"}})["Item"]
    assert item == {"id": {"S": "a"}, "n": {"N": "1"}}

    port = own_server.port
    own_server.stop()
    assert not own_server.running
    assert port_is_refused(port)
    with pytest.raises(EndpointConnectionError):
        client.get_item(TableName=TABLE, Key={"id": {"S": "a"}})
    own_server.stop()  # stopping twice is harmless

    own_server.start()
    assert own_server.port == port
    # The same client reaches the new server, which is empty.
    assert client.list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as info:
        client.get_item(TableName=TABLE, Key={"id": {"S": "a"}})
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_restart_comes_back_empty_on_same_port(
    own_server: DynamoServer, client: DynamoDBClient
) -> None:
    create_table(client)
    endpoint = own_server.endpoint_url
    own_server.restart()
    assert own_server.running
    assert own_server.endpoint_url == endpoint
    assert client.list_tables()["TableNames"] == []
    create_table(client)  # the name is free again
    assert client.list_tables()["TableNames"] == [TABLE]


def test_context_manager_frees_the_port() -> None:
    with MotoServer() as server:
        assert server.running
        port = server.port
    assert not server.running
    assert port_is_refused(port)


def test_start_refuses_running_server_and_taken_port(own_server: DynamoServer) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        own_server.start()
    other = MotoServer(port=own_server.port)
    with pytest.raises(RuntimeError, match="already in use"):
        other.start()
    assert not other.running


def test_wait_ready_times_out_on_stopped_server() -> None:
    server = MotoServer()
    with pytest.raises(RuntimeError, match="did not answer ListTables"):
        server.wait_ready(0.2)


def test_client_defaults_and_config_override(own_server: DynamoServer) -> None:
    dynamodb = own_server.client(config=Config(read_timeout=1))
    try:
        config: Any = dynamodb.meta.config
        assert dynamodb.meta.region_name == "us-east-1"
        assert dynamodb.meta.endpoint_url == own_server.endpoint_url
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
