"""What a request costs on DynamoDB: capacity units, dollars, storage.

The counting dynalite (:mod:`benchmarks.dynalite`) adds
``"ReturnConsumedCapacity": "TOTAL"`` to every item call it serves and
records the ``ConsumedCapacity`` of each answer, whichever client made the
call; this module reads those units around each measured request. dynalite
computes them by DynamoDB's published rules: a read is
``ceil(size / 4 KB)`` units, half of that when eventually consistent (a
missing item costs as a 4 KB one); a write is ``ceil(size / 1 KB)`` units,
the larger of the item before and after. A conditional write that fails
consumes write units on DynamoDB but gets no capacity from dynalite: those
are counted apart and must be zero here.

The subjects: this package (``transport="auto"``) with ``consistent_read``
``True``, ``"auto"`` and ``False``, and Flask-Session 0.8. Against dynalite
no replica ever lags, so ``"auto"`` never needs its strongly consistent
second read: its GetItems per request equal ``True``'s.
"""

from __future__ import annotations

import math
import random
import typing as t

from . import apps, scenarios

if t.TYPE_CHECKING:
    from .dynalite import CallCounter, Capacity, CapacityMeter, CountingDynalite

#: The cost subjects: this package in each read mode, and Flask-Session.
SUBJECTS = ("read_true", "read_auto", "read_false", "flask_session")
#: ``consistent_read`` of this package's cost subjects.
MODES: dict[str, bool | str] = {
    "read_true": True,
    "read_auto": "auto",
    "read_false": False,
}
TITLES = {
    "read_true": "this package, ``consistent_read=True`` (default)",
    "read_auto": 'this package, ``consistent_read="auto"``',
    "read_false": "this package, ``consistent_read=False``",
    "flask_session": "Flask-Session 0.8",
}
SHORT_TITLES = {
    "read_true": "True",
    "read_auto": '"auto"',
    "read_false": "False",
    "flask_session": "Flask-Session",
}
#: The scenarios whose cost is shown, in order.
SCENARIOS = (
    "read",
    "repeated_read",
    "change",
    "untouched_cookie",
    "static",
    "tampered",
    "new_session",
    "clear",
)
#: The mixed workload, as the gunicorn workload sends it.
MIX = {"read": 60, "change": 20, "untouched": 20}
_MIX_STEPS = {
    "read": scenarios.BY_NAME["read"].request,
    "change": scenarios.BY_NAME["change"].request,
    "untouched": scenarios.BY_NAME["untouched_cookie"].request,
}
#: DynamoDB on-demand prices (us-east-1, Standard table class, since
#: 1 November 2024), dollars per million request units and per GB-month.
WRITE_PRICE = 0.625
READ_PRICE = 0.125
STORAGE_PRICE = 0.25
PRICES: dict[str, t.Any] = {
    "region": "us-east-1",
    "table_class": "Standard",
    "since": "1 November 2024",
    "write_per_million_units": WRITE_PRICE,
    "read_per_million_units": READ_PRICE,
    "storage_per_gb_month": STORAGE_PRICE,
}
#: Bytes DynamoDB adds to every item, and every index entry, for storage.
ITEM_OVERHEAD = 100
#: Bytes in the GB of storage prices.
GIGABYTE = 2**30
#: The worked example: requests per second, for a 30-day month.
EXAMPLE_RATE = 1_000
SECONDS_PER_MONTH = 30 * 24 * 3600
#: Where this package's and Flask-Session's items are sized.
SIZING_TABLES = {"ours": "bench_size_ours", "flask_session": "bench_size_flask_session"}


class Costs(t.TypedDict):
    """The capacity of one kind of request, per request."""

    requests: int
    calls: dict[str, float]
    read_units: float
    write_units: float
    eventual_reads: float
    consistent_reads: float
    #: Item calls whose answer carried no capacity (must be 0).
    unmeasured_calls: int
    failed_writes: int
    dollars_per_million: float


def dollars_per_million(read_units: float, write_units: float) -> float:
    """On-demand dollars per million requests of these units each."""
    return read_units * READ_PRICE + write_units * WRITE_PRICE


def build_subjects(endpoint_url: str) -> dict[str, apps.Subject]:
    """The cost subjects, on the tables of the benchmark."""
    built = {
        name: apps.build_subject("auto", endpoint_url, consistent_read=mode)
        for name, mode in MODES.items()
    }
    built["flask_session"] = apps.build_subject("flask_session", endpoint_url)
    return built


def costs_of(
    capacity: t.Sequence[Capacity], calls: t.Sequence[t.Mapping[str, int]]
) -> Costs:
    """Per-request figures of some requests' capacity and calls."""
    requests = len(capacity)
    units: dict[str, float] = {}
    measured: dict[str, int] = {}
    failed = 0
    eventual = consistent = 0
    for taken in capacity:
        for operation, value in taken["units"].items():
            units[operation] = units.get(operation, 0) + value
        for operation, count in taken["measured"].items():
            measured[operation] = measured.get(operation, 0) + count
        failed += sum(taken["failed_writes"].values())
        eventual += taken["reads"].get("eventual", 0)
        consistent += taken["reads"].get("consistent", 0)
    total_calls: dict[str, int] = {}
    for counts in calls:
        for operation, count in counts.items():
            total_calls[operation] = total_calls.get(operation, 0) + count
    item_calls = sum(total_calls.get(op, 0) for op in ("GetItem", *_WRITE_CALLS))
    read_units = units.get("GetItem", 0) / requests
    write_units = sum(units.get(op, 0) for op in _WRITE_CALLS) / requests
    return {
        "requests": requests,
        "calls": {op: count / requests for op, count in sorted(total_calls.items())},
        "read_units": read_units,
        "write_units": write_units,
        "eventual_reads": eventual / requests,
        "consistent_reads": consistent / requests,
        "unmeasured_calls": item_calls - sum(measured.values()),
        "failed_writes": failed,
        "dollars_per_million": dollars_per_million(read_units, write_units),
    }


_WRITE_CALLS = ("PutItem", "UpdateItem", "DeleteItem")


def measure_scenario(
    subject: apps.Subject,
    scenario: scenarios.Scenario,
    counter: CallCounter,
    meter: CapacityMeter,
    iterations: int,
) -> Costs:
    """Calls and capacity of the measured request of ``scenario``."""
    browser = scenarios.prepare(subject, scenario)
    capacity = []
    calls = []
    for _ in range(iterations):
        for step in scenario.before:
            step(browser)
        counter.take()
        meter.take()
        scenario.request(browser)
        calls.append(counter.take())
        capacity.append(meter.take())
    return costs_of(capacity, calls)


def measure_mix(
    subject: apps.Subject,
    counter: CallCounter,
    meter: CapacityMeter,
    requests: int,
    seed: int = 1,
) -> Costs:
    """Capacity per request of the mixed workload, through the test client.

    One browser logs in (not measured), then sends ``requests`` requests
    (a multiple of 100): each hundred is 60 reads, 20 changes and 20
    untouched requests in a shuffled order, the mix of the gunicorn
    workload, exactly.
    """
    if requests % 100:
        raise ValueError(f"{requests} requests is not a multiple of 100")
    browser = scenarios.prepare(subject, scenarios.BY_NAME["change"])
    rng = random.Random(seed)
    hundred = [kind for kind, share in MIX.items() for _ in range(share)]
    counter.take()
    meter.take()
    capacity = []
    calls = []
    for _ in range(requests // 100):
        rng.shuffle(hundred)
        for kind in hundred:
            _MIX_STEPS[kind](browser)
            calls.append(counter.take())
            capacity.append(meter.take())
    return costs_of(capacity, calls)


def attribute_size(value: t.Mapping[str, t.Any]) -> int:
    """The size of one attribute value by DynamoDB's published rules."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "B":
        return len(content)
    if kind == "N":
        digits = content.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k) + attribute_size(v) for k, v in content.items())
    raise ValueError(f"no size rule for attribute type {kind}")


def item_size(item: t.Mapping[str, t.Mapping[str, t.Any]]) -> int:
    """Bytes of an item as DynamoDB counts them: names plus values."""
    return sum(
        len(name.encode("utf-8")) + attribute_size(value)
        for name, value in item.items()
    )


def storage_dollars_per_million(size: int) -> float:
    """Storage dollars a month of a million items of ``size`` bytes."""
    stored = (size + ITEM_OVERHEAD) * 1_000_000
    return stored / GIGABYTE * STORAGE_PRICE


def _only_item(dynalite: CountingDynalite, table: str) -> dict[str, t.Any]:
    client = dynalite.client()
    try:
        items = client.scan(TableName=table)["Items"]
    finally:
        client.close()
    if len(items) != 1:
        raise RuntimeError(f"{table} holds {len(items)} items, not one")
    return dict(items[0])


def _sized(item: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    size = item_size(item)
    return {
        "bytes": size,
        "attributes": sorted(item),
        "write_units": math.ceil(size / 1024),
        "read_units": math.ceil(size / 4096),
        "storage_dollars_per_million_per_month": storage_dollars_per_million(size),
    }


def measure_storage(dynalite: CountingDynalite) -> dict[str, t.Any]:
    """The stored size of a typical and of a bigger session, and its index entry.

    Each subject logs in (with :data:`~benchmarks.apps.SAMPLE`, then with
    :data:`~benchmarks.apps.LARGE_SAMPLE`) and changes its session once on
    a table of its own, whose one item is then read back and sized. This
    package runs with ``user_key="user_id"``, so its items carry the ``uid``
    of the per-user sessions feature; the ``uid-index`` (keys only) holds
    the item's ``id`` and ``uid`` plus DynamoDB's 100 bytes per entry.
    """
    sizes: dict[str, dict[str, t.Any]] = {}
    index_keys: dict[str, t.Any] = {}
    for owner, table in SIZING_TABLES.items():
        dynalite.create_table(table, exist_ok=True)
        if owner == "ours":
            subject = apps.build_subject(
                "auto", dynalite.endpoint_url, table=table, user_key="user_id"
            )
        else:
            subject = apps.build_subject(
                "flask_session", dynalite.endpoint_url, table=table
            )
        try:
            browser = scenarios.Browser(subject.app.test_client())
            for kind, login in (("typical", "/login"), ("cart_of_20", "/login-large")):
                browser.request("POST", login)
                browser.request("POST", "/change")
                item = _only_item(dynalite, table)
                sizes[f"{owner}_{kind}"] = _sized(item)
                if owner == "ours" and kind == "typical":
                    index_keys = {"id": item["id"], "uid": item["uid"]}
                browser.request("POST", "/clear")
        finally:
            subject.close()
    index_entry = item_size(index_keys) + ITEM_OVERHEAD
    return {
        "items": sizes,
        "index_entry": {
            "bytes": index_entry,
            "storage_dollars_per_million_per_month": storage_dollars_per_million(
                index_entry - ITEM_OVERHEAD
            ),
            "write_units": math.ceil(index_entry / 1024),
        },
    }


def measure(
    dynalite: CountingDynalite,
    counter: CallCounter,
    meter: CapacityMeter,
    iterations: int,
    mix_requests: int,
) -> dict[str, t.Any]:
    """Capacity per request of each scenario and of the mix, and storage."""
    subjects = build_subjects(dynalite.endpoint_url)
    try:
        per_scenario = {}
        mixed = {}
        for name, subject in subjects.items():
            print(f"measuring capacity units: {TITLES[name]}")
            per_scenario[name] = {
                scenario: measure_scenario(
                    subject, scenarios.BY_NAME[scenario], counter, meter, iterations
                )
                for scenario in SCENARIOS
            }
            mixed[name] = measure_mix(subject, counter, meter, mix_requests)
    finally:
        for subject in subjects.values():
            subject.close()
    print("measuring the size of stored sessions")
    storage = measure_storage(dynalite)
    return {
        "prices": dict(PRICES),
        "iterations": iterations,
        "mix_requests": mix_requests,
        "mix": dict(MIX),
        "subjects": dict(TITLES),
        "scenarios": per_scenario,
        "mixed": mixed,
        "storage": storage,
        "example": example(mixed),
    }


def example(mixed: t.Mapping[str, Costs]) -> dict[str, t.Any]:
    """The monthly bill of :data:`EXAMPLE_RATE` mixed requests a second."""
    requests = EXAMPLE_RATE * SECONDS_PER_MONTH
    millions = requests / 1_000_000
    return {
        "requests_per_second": EXAMPLE_RATE,
        "days": SECONDS_PER_MONTH // 86_400,
        "requests": requests,
        "dollars": {
            name: {
                "reads": millions * costs["read_units"] * READ_PRICE,
                "writes": millions * costs["write_units"] * WRITE_PRICE,
                "total": millions * costs["dollars_per_million"],
            }
            for name, costs in mixed.items()
        },
    }
