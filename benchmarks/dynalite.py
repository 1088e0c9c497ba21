"""dynalite for the benchmark, counting the DynamoDB calls it serves.

The server itself is the test suite's
:class:`~tests.support.servers.DynaliteServer` (one helper starts the servers
of the tests and of the benchmark; it needs no pytest): a separate Node.js
process on ``127.0.0.1``, so that the CPU measured
in the Python process is the client's alone. :class:`CountingDynalite` runs
it through ``counting_dynalite.js``, which counts every request by the
operation of its ``X-Amz-Target`` header before dynalite handles it. Calls
are counted at the server, so every client is seen alike: boto3, boto3's
resource layer (Flask-Session) and this package's lean transport, which
botocore's event hooks never see.
"""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

from benchmarks.loadgen import get_json
from tests.support.servers import (
    HOST,
    REPO_ROOT,
    DynaliteServer,
    free_port,
)

__all__ = [
    "HOST",
    "REPO_ROOT",
    "CallCounter",
    "CapacityMeter",
    "CountingDynalite",
    "dynalite_version",
    "free_port",
    "local_environment",
]

#: The script that runs dynalite with its request counts.
SCRIPT = Path(__file__).resolve().parent / "counting_dynalite.js"
#: Where the script answers the counts so far.
COUNTS_PATH = "/_counts"
#: Where the script answers the capacity units consumed so far.
CAPACITY_PATH = "/_capacity"
#: dynalite accepts any credentials; these keep boto3 away from real ones.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def local_environment() -> dict[str, str]:
    """Environment variables that point boto3 at nothing but loopback.

    Dummy credentials and region (any real ones are overridden: only dynalite
    is spoken to), no instance metadata lookups, and no proxy for
    ``127.0.0.1`` (a proxy would also keep this package's item calls on
    boto3).
    """
    no_proxy = ",".join(
        part for part in (os.environ.get("NO_PROXY"), HOST, "localhost") if part
    )
    return {**DUMMY_CREDENTIALS, "NO_PROXY": no_proxy, "no_proxy": no_proxy}


def dynalite_version(repo_root: Path = REPO_ROOT) -> str:
    """The version of the dynalite in ``node_modules``."""
    package = repo_root / "node_modules" / "dynalite" / "package.json"
    try:
        return str(json.loads(package.read_text("utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def fetch_counts(counts_url: str) -> dict[str, int]:
    """The calls a counting dynalite served so far, by operation.

    :param counts_url: ``http://host:port/_counts``
        (:attr:`CountingDynalite.counts_url`).
    """
    counts: dict[str, int] = get_json(counts_url)
    return counts


def difference(
    after: t.Mapping[str, int], before: t.Mapping[str, int]
) -> dict[str, int]:
    """The calls counted between two snapshots, by operation (none at 0)."""
    calls = {op: count - before.get(op, 0) for op, count in after.items()}
    return {op: count for op, count in calls.items() if count}


class CountingDynalite(DynaliteServer):
    """dynalite that counts the requests it serves, by operation.

    A context manager, as every :class:`~tests.support.servers.DynamoServer`
    is.
    """

    name = "counting dynalite"

    @property
    def command(self) -> list[str]:
        """dynalite's command line, run through ``counting_dynalite.js``."""
        return ["node", str(SCRIPT), *super().command[1:]]

    @property
    def counts_url(self) -> str:
        """Where the counts so far are answered."""
        return f"{self.endpoint_url}{COUNTS_PATH}"

    @property
    def capacity_url(self) -> str:
        """Where the capacity units consumed so far are answered."""
        return f"{self.endpoint_url}{CAPACITY_PATH}"

    def counts(self) -> dict[str, int]:
        """Every call served since the server started, by operation."""
        return fetch_counts(self.counts_url)


class CallCounter:
    """The calls a counting dynalite served between two :meth:`take`\\ s."""

    def __init__(self, counts_url: str) -> None:
        self.counts_url = counts_url
        self._last = fetch_counts(counts_url)

    def take(self) -> dict[str, int]:
        """The calls since the last ``take`` (or creation), by operation."""
        now = fetch_counts(self.counts_url)
        calls = difference(now, self._last)
        self._last = now
        return calls


class Capacity(t.TypedDict):
    """What the item calls consumed, as the server reported it."""

    #: Capacity units (``ConsumedCapacity.CapacityUnits``), by operation.
    units: dict[str, float]
    #: Answers that reported a capacity, by operation.
    measured: dict[str, int]
    #: GetItems by consistency: ``consistent`` and ``eventual``.
    reads: dict[str, int]
    #: Conditional writes that failed, by operation (DynamoDB charges them;
    #: dynalite reports no capacity for them).
    failed_writes: dict[str, int]


def fetch_capacity(capacity_url: str) -> Capacity:
    """The capacity a counting dynalite's item calls consumed so far.

    :param capacity_url: ``http://host:port/_capacity``
        (:attr:`CountingDynalite.capacity_url`).
    """
    capacity: Capacity = get_json(capacity_url)
    return capacity


class CapacityMeter:
    """The capacity consumed between two :meth:`take`\\ s."""

    def __init__(self, capacity_url: str) -> None:
        self.capacity_url = capacity_url
        self._last = fetch_capacity(capacity_url)

    def take(self) -> Capacity:
        """The capacity since the last ``take`` (or creation)."""
        now = fetch_capacity(self.capacity_url)
        last, self._last = self._last, now
        return {
            "units": _changed(now["units"], last["units"]),
            "measured": _changed(now["measured"], last["measured"]),
            "reads": {
                kind: now["reads"][kind] - last["reads"].get(kind, 0)
                for kind in now["reads"]
            },
            "failed_writes": _changed(now["failed_writes"], last["failed_writes"]),
        }


def _changed(
    after: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """What grew between two snapshots of totals, by key (none at 0)."""
    grown = {key: value - before.get(key, 0) for key, value in after.items()}
    return {key: value for key, value in grown.items() if value}
