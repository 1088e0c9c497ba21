"""Smoke test of the benchmark: its call counting, for this package only.

Runs every scenario of ``benchmarks/scenarios.py`` against dynalite, on both
transports, and checks the DynamoDB calls of each request exactly, as the
server counted them (botocore's event hooks never see the lean transport's
calls). No timing, and no Flask-Session (not a test dependency).
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import apps, report, scenarios  # noqa: E402
from benchmarks.dynalite import (  # noqa: E402
    CallCounter,
    CountingDynalite,
    local_environment,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.server

#: The calls of one request of each scenario: the fewest that do the job.
EXPECTED: dict[str, dict[str, int]] = {
    "untouched_no_cookie": {},
    "untouched_cookie": {},
    "static": {},
    "tampered": {},
    "read": {"GetItem": 1},
    "change": {"GetItem": 1, "UpdateItem": 1},
    "repeated_read": {"GetItem": 1},
    "clear": {"DeleteItem": 1},
}


@pytest.fixture(scope="module")
def dynalite() -> Iterator[CountingDynalite]:
    """A counting dynalite of this module's own, with both tables.

    Module-scoped, so the dummy credentials are set here: the clients are
    built before any function-scoped fixture runs.
    """
    with pytest.MonkeyPatch.context() as env:
        for name, value in local_environment().items():
            env.setenv(name, value)
        with CountingDynalite() as server:
            for subject in report.OURS:
                server.create_table(apps.TABLES[subject])
            yield server


@pytest.fixture(scope="module", params=report.OURS)
def ours(
    request: pytest.FixtureRequest, dynalite: CountingDynalite
) -> Iterator[apps.Subject]:
    """This package's benchmark app, on each transport."""
    subject = apps.build_subject(request.param, dynalite.endpoint_url)
    try:
        yield subject
    finally:
        subject.close()


@pytest.fixture
def counter(dynalite: CountingDynalite) -> CallCounter:
    return CallCounter(dynalite.counts_url)


def test_every_scenario_has_a_target() -> None:
    names = {s.name for s in scenarios.SCENARIOS}
    assert names == set(EXPECTED)
    assert set(scenarios.BUDGET) == names
    assert set(report.EXPECTED_CALLS) == names


def test_transport_is_the_one_asked_for(ours: apps.Subject) -> None:
    lean = ours.name == "auto"
    assert ours.item_client == ("LeanClient" if lean else "DynamoDB")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_calls_per_request(ours: apps.Subject, counter: CallCounter, name: str) -> None:
    counts = scenarios.count_calls(ours, scenarios.BY_NAME[name], counter, iterations=2)
    assert counts == [EXPECTED[name]] * 2
    assert all(scenarios.within_budget(name, c) for c in counts)


def test_expected_calls_match_the_report() -> None:
    assert report.EXPECTED_CALLS == EXPECTED


def test_read_blocks_make_one_getitem_per_read(
    ours: apps.Subject, counter: CallCounter
) -> None:
    blocks = scenarios.ReadBlocks({ours.name: ours}, counter, chunk=5)
    figures = blocks.measure_round(12)[ours.name]
    assert figures["calls"] == {"GetItem": 12}


def test_counts_see_every_client(
    dynalite: CountingDynalite, counter: CallCounter
) -> None:
    client = dynalite.client()
    try:
        client.list_tables()
        client.get_item(TableName=apps.TABLES["auto"], Key={"id": {"S": "missing"}})
    finally:
        client.close()
    assert counter.take() == {"ListTables": 1, "GetItem": 1}
    assert counter.take() == {}


def test_budget_check_refuses_extra_calls() -> None:
    assert not scenarios.within_budget("untouched_cookie", {"GetItem": 1})
    assert not scenarios.within_budget("read", {"GetItem": 1, "UpdateItem": 1})
    assert not scenarios.within_budget("change", {"GetItem": 1, "PutItem": 2})
    assert not scenarios.within_budget("clear", {"GetItem": 2, "DeleteItem": 1})
    assert scenarios.within_budget("change", {"GetItem": 1, "PutItem": 1})
