"""Run dynalite (an in-memory DynamoDB in Node.js) as a separate process.

The benchmark needs the database outside the measured Python process, so
that the client CPU it reports is the client's alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import typing as t
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if t.TYPE_CHECKING:
    from types import TracebackType

    from mypy_boto3_dynamodb import DynamoDBClient

#: The only address anything here listens on or connects to.
HOST = "127.0.0.1"
#: The repository root; ``node_modules`` is looked for there.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: dynalite accepts any credentials; these keep boto3 away from real ones.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_SETUP_CONFIG = Config(
    region_name="us-east-1",
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=1,
    read_timeout=5,
    proxies={},
)


def local_environment() -> dict[str, str]:
    """Environment variables that point boto3 at nothing but loopback.

    Dummy credentials and region (any real ones are overridden: only dynalite
    is spoken to), no instance metadata lookups, and no proxy for
    ``127.0.0.1``.
    """
    no_proxy = ",".join(
        part for part in (os.environ.get("NO_PROXY"), HOST, "localhost") if part
    )
    return {**DUMMY_CREDENTIALS, "NO_PROXY": no_proxy, "no_proxy": no_proxy}


def free_port() -> int:
    """A TCP port of ``127.0.0.1`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def dynalite_version(repo_root: Path = REPO_ROOT) -> str:
    """The version of the dynalite in ``node_modules``."""
    package = repo_root / "node_modules" / "dynalite" / "package.json"
    try:
        return str(json.loads(package.read_text("utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


class Dynalite:
    """A dynalite server on a free port of ``127.0.0.1``; a context manager.

    :param repo_root: the directory holding ``node_modules``.
    :raises RuntimeError: dynalite is not installed (run ``npm install``).
    """

    def __init__(self, repo_root: Path = REPO_ROOT) -> None:
        self.executable = repo_root / "node_modules" / ".bin" / "dynalite"
        if not self.executable.exists():
            raise RuntimeError(
                f"{self.executable} does not exist: run `npm install` in {repo_root}"
            )
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: t.IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 as ``endpoint_url``."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The process id of the running server."""
        assert self._process is not None, "dynalite is not running"
        return self._process.pid

    def start(self, timeout: float = 20.0) -> None:
        """Start the server and wait until it answers ``ListTables``."""
        # Closed by stop(): it must outlive this method.
        self._log = tempfile.TemporaryFile(prefix="dynalite-")  # noqa: SIM115
        command = [str(self.executable), "--host", HOST, "--port", str(self.port)]
        for option in ("--createTableMs", "--deleteTableMs", "--updateTableMs"):
            command += [option, "0"]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (if it runs) and wait for it to exit."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def client(self) -> DynamoDBClient:
        """A new low-level client of this server, for setting up; close it."""
        client: DynamoDBClient = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="benchmark",
            aws_secret_access_key="benchmark",
            config=_SETUP_CONFIG,
        )
        return client

    def create_table(self, name: str) -> None:
        """Create a session table (hash key ``id``, on demand) if it is missing."""
        client = self.client()
        try:
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        try:
            client.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
        finally:
            client.close()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while True:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"dynalite exited: {self._output()}")
                try:
                    client.list_tables(Limit=1)
                except (BotoCoreError, ClientError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"dynalite did not answer within {timeout:g} s:"
                            f" {self._output()}"
                        ) from None
                    time.sleep(0.05)
                else:
                    return
        finally:
            client.close()

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace").strip() or "(no output)"

    def __enter__(self) -> Dynalite:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
