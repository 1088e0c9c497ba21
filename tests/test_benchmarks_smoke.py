"""Smoke test of the benchmark: its call counting and its capacity units,
for this package only.

Runs every scenario of ``benchmarks/scenarios.py`` against dynalite, on both
transports, and checks the DynamoDB calls of each request exactly, as the
server counted them (botocore's event hooks never see the lean transport's
calls); then the capacity units the server reported for each request, in
each ``consistent_read`` mode. No timing, and no Flask-Session (not a test
dependency).
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from benchmarks import apps, cost, report, run, scenarios
from benchmarks.dynalite import (
    CallCounter,
    CapacityMeter,
    CountingDynalite,
    local_environment,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.server

#: The calls of one request of each scenario: the fewest that do the job, as
#: the report states them.
EXPECTED = report.EXPECTED_CALLS


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


def test_transport_is_the_one_asked_for(ours: apps.Subject) -> None:
    lean = ours.name == "auto"
    assert ours.item_client == ("LeanClient" if lean else "DynamoDB")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_calls_per_request(ours: apps.Subject, counter: CallCounter, name: str) -> None:
    counts = scenarios.count_calls(ours, scenarios.BY_NAME[name], counter, iterations=2)
    assert counts == [EXPECTED[name]] * 2
    assert all(scenarios.within_budget(name, c) for c in counts)


@pytest.fixture(scope="module")
def encrypted(dynalite: CountingDynalite) -> Iterator[apps.Subject]:
    """This package's benchmark app with encryption at rest."""
    dynalite.create_table(apps.TABLES["encrypted"])
    subject = apps.build_subject("encrypted", dynalite.endpoint_url)
    try:
        yield subject
    finally:
        subject.close()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_encryption_adds_no_call(
    encrypted: apps.Subject, counter: CallCounter, name: str
) -> None:
    counts = scenarios.count_calls(
        encrypted, scenarios.BY_NAME[name], counter, iterations=2
    )
    assert counts == [EXPECTED[name]] * 2
    assert encrypted.item_client == "LeanClient"


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


#: Read and write units of one request of each scenario, strongly consistent
#: (``consistent_read=True``): the benchmark's items are under 1 KB.
UNITS: dict[str, tuple[float, float]] = {
    "untouched_no_cookie": (0, 0),
    "untouched_cookie": (0, 0),
    "static": (0, 0),
    "tampered": (0, 0),
    "new_session": (0, 1),
    "read": (1, 0),
    "change": (1, 1),
    "repeated_read": (1, 0),
    "clear": (0, 1),
}


@pytest.fixture(scope="module", params=list(cost.MODES))
def mode(
    request: pytest.FixtureRequest, dynalite: CountingDynalite
) -> Iterator[apps.Subject]:
    """This package's benchmark app in each ``consistent_read`` mode."""
    subject = apps.build_subject(
        "auto", dynalite.endpoint_url, consistent_read=cost.MODES[request.param]
    )
    subject.name = request.param
    try:
        yield subject
    finally:
        subject.close()


@pytest.fixture
def meter(dynalite: CountingDynalite) -> CapacityMeter:
    return CapacityMeter(dynalite.capacity_url)


def test_every_scenario_has_units() -> None:
    assert set(UNITS) == set(EXPECTED)
    assert set(cost.SCENARIOS) <= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capacity_of_each_request(
    mode: apps.Subject, counter: CallCounter, meter: CapacityMeter, name: str
) -> None:
    costs = cost.measure_scenario(
        mode, scenarios.BY_NAME[name], counter, meter, iterations=2
    )
    assert costs["calls"] == {op: float(n) for op, n in EXPECTED[name].items()}
    assert costs["unmeasured_calls"] == 0
    assert costs["failed_writes"] == 0
    read_units, write_units = UNITS[name]
    eventual = mode.name != "read_true"
    assert costs["read_units"] == (read_units / 2 if eventual else read_units)
    assert costs["write_units"] == write_units
    reads = EXPECTED[name].get("GetItem", 0)
    assert costs["eventual_reads"] == (reads if eventual else 0)
    assert costs["consistent_reads"] == (0 if eventual else reads)


def test_capacity_is_reported_for_every_item_call(
    dynalite: CountingDynalite, meter: CapacityMeter
) -> None:
    table = apps.TABLES["auto"]
    client = dynalite.client()
    try:
        client.put_item(
            TableName=table,
            Item={"id": {"S": "capacity"}, "data": {"B": b"x" * 1500}},
        )
        client.get_item(TableName=table, Key={"id": {"S": "capacity"}})
        client.get_item(
            TableName=table, Key={"id": {"S": "capacity"}}, ConsistentRead=True
        )
        client.delete_item(TableName=table, Key={"id": {"S": "capacity"}})
        client.list_tables()
    finally:
        client.close()
    taken = meter.take()
    # 1,500 bytes of data: two write units, one read unit (half eventually).
    assert taken["units"] == {"PutItem": 2, "GetItem": 1.5, "DeleteItem": 2}
    assert taken["measured"] == {"PutItem": 1, "GetItem": 2, "DeleteItem": 1}
    assert taken["reads"] == {"consistent": 1, "eventual": 1}
    assert taken["failed_writes"] == {}


def test_failed_conditional_writes_are_counted_apart(
    dynalite: CountingDynalite, meter: CapacityMeter
) -> None:
    client = dynalite.client()
    try:
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.delete_item(
                TableName=apps.TABLES["auto"],
                Key={"id": {"S": "never written"}},
                ConditionExpression="attribute_exists(id)",
            )
    finally:
        client.close()
    taken = meter.take()
    assert taken["failed_writes"] == {"DeleteItem": 1}
    assert taken["units"] == {}


def test_auto_reads_at_half_the_units_of_true(
    dynalite: CountingDynalite, counter: CallCounter, meter: CapacityMeter
) -> None:
    mixed = {}
    for name, consistent_read in cost.MODES.items():
        subject = apps.build_subject(
            "auto", dynalite.endpoint_url, consistent_read=consistent_read
        )
        try:
            mixed[name] = cost.measure_mix(subject, counter, meter, requests=100)
        finally:
            subject.close()
    strong, auto = mixed["read_true"], mixed["read_auto"]
    # 60 reads and 20 changes read once each; the 20 changes write.
    assert strong["calls"] == {"GetItem": 0.8, "UpdateItem": 0.2}
    assert auto["calls"] == strong["calls"]
    assert (strong["read_units"], strong["write_units"]) == (0.8, 0.2)
    assert (auto["read_units"], auto["write_units"]) == (0.4, 0.2)
    assert (auto["eventual_reads"], auto["consistent_reads"]) == (0.8, 0)
    assert mixed["read_false"]["read_units"] == 0.4
    figures = {"mixed": mixed}
    assert report.auto_on_target(figures)
    figures["mixed"] = {**mixed, "read_auto": strong}
    assert not report.auto_on_target(figures)


def test_item_size_follows_dynamodb_rules() -> None:
    item: dict[str, dict[str, t.Any]] = {
        "id": {"S": "sess:ab"},  # 2 + 7
        "data": {"B": b"12345"},  # 4 + 5
        "expires": {"N": "1700000000"},  # 7 + (2 significant digits: 1 + 1)
        "version": {"N": "12345"},  # 7 + (3 + 1)
    }
    assert cost.item_size(item) == 9 + 9 + 9 + 11


def test_dollars_per_million_at_on_demand_prices() -> None:
    assert cost.dollars_per_million(1, 0) == 0.125
    assert cost.dollars_per_million(0, 1) == 0.625
    assert cost.dollars_per_million(0.4, 0.2) == pytest.approx(0.175)
    # 100 bytes of overhead: a million 0-byte items are 100 MB.
    assert cost.storage_dollars_per_million(0) == pytest.approx(100e6 / 2**30 * 0.25)


@pytest.mark.parametrize(
    "argv",
    [["--quick"], ["--cost"], ["--cost", "--cost-iterations", "9"], ["--rounds", "2"]],
)
def test_a_partial_run_never_writes_the_kept_results(argv: list[str]) -> None:
    assert run.parse_args(argv).output_dir == run.SCRATCH_OUTPUT


def test_a_whole_run_writes_the_kept_results() -> None:
    assert run.parse_args([]).output_dir == run.HERE
    assert (run.HERE / "results.json").exists()


def test_the_output_directory_can_be_named(tmp_path: Path) -> None:
    argv = ["--cost", "--output-dir", str(tmp_path)]
    assert run.parse_args(argv).output_dir == tmp_path
