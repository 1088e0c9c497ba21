"""The results: raw figures as JSON, and a reStructuredText summary."""

from __future__ import annotations

import json
import typing as t

from . import cost
from .apps import SHORT_TITLES, SUBJECTS, TITLES
from .scenarios import BUDGET, BY_NAME, SCENARIOS, within_budget

if t.TYPE_CHECKING:
    from pathlib import Path

#: The read overhead (CPU above the cookie session's) with
#: ``transport="boto3"`` over that with ``"auto"``: at least this.
READ_OVERHEAD_TARGET = 5.0
#: Mixed-workload requests/s with ``"auto"`` over Flask-Session's: at least.
THROUGHPUT_TARGET = 3.0
#: Worker CPU per request with ``"auto"`` over the cookie session's: at most.
WORKER_CPU_TARGET = 1.4
#: Worker CPU per request with ``encrypt=True`` over without (both
#: ``"auto"``): at most.
ENCRYPTION_CPU_TARGET = 1.05
#: This package's subjects, whose calls must be exactly the targets.
OURS = ("auto", "boto3")
#: The exact calls of one request of each scenario, for this package.
EXPECTED_CALLS: dict[str, dict[str, int]] = {
    "untouched_no_cookie": {},
    "untouched_cookie": {},
    "static": {},
    "tampered": {},
    "new_session": {"PutItem": 1},
    "read": {"GetItem": 1},
    "change": {"GetItem": 1, "UpdateItem": 1},
    "repeated_read": {"GetItem": 1},
    "clear": {"DeleteItem": 1},
}


def shown(results: t.Mapping[str, t.Any]) -> list[str]:
    """The subjects a run measured (an earlier run may lack newer ones)."""
    measured = results.get("subjects", TITLES)
    return [name for name in SUBJECTS if name in measured]


_NUMBERS = {4: "Four", 5: "Five"}


def write_json(results: t.Mapping[str, t.Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", "utf-8")


def grid_table(header: t.Sequence[str], rows: t.Sequence[t.Sequence[str]]) -> str:
    """A reStructuredText grid table."""
    widths = [
        max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)
    ]

    def line(char: str) -> str:
        return "+" + "+".join(char * (width + 2) for width in widths) + "+"

    def row(cells: t.Sequence[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    lines = [line("-"), row(header), line("=")]
    for cells in rows:
        lines += [row(cells), line("-")]
    return "\n".join(lines)


def calls_text(per_iteration: t.Sequence[t.Mapping[str, int]]) -> str:
    """The calls of one request, e.g. ``GetItem + UpdateItem`` or ``0``."""
    operations = sorted({op for counts in per_iteration for op in counts})
    if not operations:
        return "0"
    if all(counts == per_iteration[0] for counts in per_iteration):
        counts = per_iteration[0]
        return " + ".join(
            op if counts[op] == 1 else f"{counts[op]} {op}" for op in operations
        )
    size = len(per_iteration)
    return ", ".join(
        f"{sum(c.get(op, 0) for c in per_iteration) / size:.2f} {op}"
        for op in operations
    )


def _per_request(calls: t.Mapping[str, int], requests: int) -> str:
    if not calls:
        return "0"
    return " + ".join(
        f"{count / requests:g} {op}" for op, count in sorted(calls.items())
    )


def calls_on_target(results: t.Mapping[str, t.Any]) -> dict[str, bool]:
    """Per scenario: both transports made exactly the target calls, always."""
    calls = results["calls"]
    return {
        name: all(
            counts == expected and within_budget(name, counts)
            for subject in OURS
            for counts in calls[subject][name]
        )
        for name, expected in EXPECTED_CALLS.items()
        if name in calls[OURS[0]]
    }


def _measured(calls: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[t.Any]:
    """The scenarios a run measured (an earlier run may lack newer ones)."""
    return [scenario for scenario in SCENARIOS if scenario.name in calls[OURS[0]]]


def reads_on_target(results: t.Mapping[str, t.Any]) -> bool:
    """Every read of the read-overhead blocks made exactly one GetItem."""
    rounds = results["read_overhead"]["rounds"]
    return all(
        figures["calls"] == {"GetItem": figures["requests"]}
        for subject in OURS
        for figures in rounds[subject]
    )


def targets(results: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Which targets the figures meet (medians of the rounds)."""
    calls = calls_on_target(results)
    overhead = float(results["read_overhead"]["overhead_ratio_boto3_to_auto"]["median"])
    ratios = results["workload"]["ratios"]
    throughput = float(ratios["rps_auto_to_flask_session"]["median"])
    worker_cpu = float(ratios["worker_cpu_auto_to_cookie"]["median"])
    met = {
        "calls": all(calls.values()) and reads_on_target(results),
        "read_overhead": overhead >= READ_OVERHEAD_TARGET,
        "throughput": throughput >= THROUGHPUT_TARGET,
        "worker_cpu": worker_cpu <= WORKER_CPU_TARGET,
    }
    encryption: dict[str, t.Any] = {}
    if "worker_cpu_encrypted_to_auto" in ratios:
        encryption_cpu = float(ratios["worker_cpu_encrypted_to_auto"]["median"])
        met["encryption_cpu"] = encryption_cpu <= ENCRYPTION_CPU_TARGET
        encryption = {
            "encryption_cpu_ratio": encryption_cpu,
            "encryption_cpu_target": ENCRYPTION_CPU_TARGET,
        }
    return {
        "calls_on_target": calls,
        "read_overhead_ratio": overhead,
        "read_overhead_target": READ_OVERHEAD_TARGET,
        "throughput_ratio": throughput,
        "throughput_target": THROUGHPUT_TARGET,
        "worker_cpu_ratio": worker_cpu,
        "worker_cpu_target": WORKER_CPU_TARGET,
        **encryption,
        "met": met,
        "all_met": all(met.values()),
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _range(figure: t.Mapping[str, t.Any], fmt: str, suffix: str = "") -> str:
    """``median (min-max)`` of a :func:`~benchmarks.run.spread` figure."""
    median = format(figure["median"], fmt) + suffix
    low, high = format(figure["min"], fmt), format(figure["max"], fmt)
    return f"{median} ({low}-{high}{suffix})"


def _rounds(figure: t.Mapping[str, t.Any], fmt: str, suffix: str = "") -> str:
    return ", ".join(format(value, fmt) + suffix for value in figure["rounds"])


def header(results: t.Mapping[str, t.Any]) -> list[str]:
    meta = results["meta"]
    versions = meta["versions"]
    machine = meta["machine"]
    clients = results.get("item_clients", {})
    encrypted = (
        ", the same with ``encrypt=True`` (encryption at rest, keys derived"
        " from ``SECRET_KEY``),"
        if "encrypted" in shown(results)
        else ""
    )
    count = _NUMBERS.get(len(shown(results)), str(len(shown(results))))
    return [
        "Benchmark results",
        "=================",
        "",
        f":Date: {meta['date']}",
        f":Command: ``{meta['command']}``, in a checkout of commit"
        f" {meta.get('revision', 'unknown')}",
        f":Machine: {machine['cpu_model']}, {machine['cores']} cores, shared by"
        " the Python processes and dynalite (load average"
        f" {machine['load_average_start']} before the run,"
        f" {machine['load_average_end']} after)",
        f":Software: Python {versions['python']}, Flask {versions['flask']},"
        f" Werkzeug {versions['werkzeug']}, boto3 {versions['boto3']}"
        f" (botocore {versions['botocore']}), Flask-Session"
        f" {versions['flask-session']}, gunicorn {versions['gunicorn']}",
        f":DynamoDB: dynalite {versions['dynalite']} (Node.js {versions['node']}),"
        " a separate process on 127.0.0.1, over HTTP",
        "",
        f"{count} subjects serve the same small app, each with its"
        " defaults: this package as ``DynamoDBSessionInterface(table=...,"
        ' endpoint_url=..., transport="auto")`` (its item calls went through'
        f" ``{clients.get('auto', '?')}``, the lean transport){encrypted} and with"
        ' ``transport="boto3"`` (through boto3\'s client,'
        f" ``{clients.get('boto3', '?')}``), ``touch_after`` 10 s in both;"
        ' Flask-Session with ``SESSION_TYPE = "dynamodb"`` and a boto3 resource in'
        " ``SESSION_DYNAMODB`` (msgpack, permanent sessions, unsigned id); and"
        " Flask's own signed cookie session. The session holds a user id, a CSRF"
        " token and a two-item cart"
        f" ({meta['session_bytes']} bytes as this package stores it). Figures"
        " given as *median (lowest-highest)* are the median and the range of"
        " the rounds.",
        "",
    ]


def summary(results: t.Mapping[str, t.Any]) -> list[str]:
    met = results["targets"]
    read = results["read_overhead"]
    ratios = results["workload"]["ratios"]
    settings = results["meta"]["settings"]
    rows = [
        [
            "DynamoDB calls per request, both transports",
            "exactly the target of every scenario (below)",
            "as targeted in every scenario"
            if met["met"]["calls"]
            else "off target (see below)",
            _yes(met["met"]["calls"]),
        ],
        [
            "read overhead (a read's CPU above the cookie session's),"
            ' "boto3" over "auto"',
            f"at least {READ_OVERHEAD_TARGET:g}x",
            _range(read["overhead_ratio_boto3_to_auto"], ".1f", "x")
            + f", {_count(settings['read_rounds'], 'round')}",
            _yes(met["met"]["read_overhead"]),
        ],
        [
            'mixed workload requests/s, "auto" over Flask-Session',
            f"at least {THROUGHPUT_TARGET:g}x",
            _range(ratios["rps_auto_to_flask_session"], ".2f", "x")
            + f", {_count(settings['rounds'], 'round')}",
            _yes(met["met"]["throughput"]),
        ],
        [
            'mixed workload worker CPU per request, "auto" over the cookie session',
            f"at most {WORKER_CPU_TARGET:g}x",
            _range(ratios["worker_cpu_auto_to_cookie"], ".2f", "x")
            + f", {_count(settings['rounds'], 'round')}",
            _yes(met["met"]["worker_cpu"]),
        ],
    ]
    if "encryption_cpu" in met["met"]:
        rows.append(
            [
                "mixed workload worker CPU per request, encrypted over not",
                f"at most {ENCRYPTION_CPU_TARGET:g}x",
                _range(ratios["worker_cpu_encrypted_to_auto"], ".3f", "x")
                + f", {_count(settings['rounds'], 'round')}",
                _yes(met["met"]["encryption_cpu"]),
            ]
        )
    return [
        "Targets",
        "-------",
        "",
        "Each ratio is taken within a round (the subjects run a few seconds"
        " apart), then the median of the rounds is compared with the target.",
        "",
        grid_table(["measure", "target", "measured", "met"], rows),
        "",
    ]


def calls_section(results: t.Mapping[str, t.Any]) -> list[str]:
    settings = results["meta"]["settings"]
    on_target = calls_on_target(results)
    rows = [
        [
            scenario.title,
            BUDGET[scenario.name],
            *(
                calls_text(results["calls"][name][scenario.name])
                for name in shown(results)
            ),
            _yes(on_target[scenario.name]),
        ]
        for scenario in _measured(results["calls"])
    ]
    return [
        "DynamoDB calls per request",
        "--------------------------",
        "",
        "Counted by the server: dynalite runs behind a small script that counts"
        " every request it receives by the operation of its ``X-Amz-Target``"
        " header, so the calls of every client are seen alike (boto3, boto3's"
        " resource layer, the lean transport, which botocore's event hooks never"
        f" see). {settings['call_iterations']} requests per scenario and"
        " subject; the last column says whether both transports of this"
        " package made exactly the target calls in every one (a change writes"
        " with UpdateItem; ``clear()`` deletes the item without reading it).",
        "",
        grid_table(
            [
                "request",
                "target",
                *(SHORT_TITLES[name] for name in shown(results)),
                "both transports on target",
            ],
            rows,
        ),
        "",
    ]


def read_section(results: t.Mapping[str, t.Any]) -> list[str]:
    read = results["read_overhead"]
    rows = []
    for name in shown(results):
        rounds = read["rounds"][name]
        calls: dict[str, int] = {}
        requests = 0
        for figures in rounds:
            requests += figures["requests"]
            for op, count in figures["calls"].items():
                calls[op] = calls.get(op, 0) + count
        overhead = read["overhead_us"].get(name)
        rows.append(
            [
                TITLES[name],
                _range(read["cpu_us"][name], ",.0f"),
                "0 (the baseline)" if overhead is None else _range(overhead, ",.0f"),
                _per_request(calls, requests),
            ]
        )
    ratio = read["overhead_ratio_boto3_to_auto"]
    return [
        "Read overhead",
        "-------------",
        "",
        f"{_count(len(read['rounds']['cookie']), 'round')}; in each, every"
        f" subject serves {read['requests_per_round']:,} read requests through"
        " Flask's test client, the subjects taking turns (in a rotating order)"
        f" every {read['chunk']} reads, and the CPU time of the Python process"
        " (``time.process_time``) is read around each run of reads; before"
        " each run the browser changes its session (not timed), so that every"
        " read comes within ``touch_after`` of the last write. dynalite's CPU"
        " is not included. The overhead is a subject's CPU per read minus the cookie"
        " session's in the same round: what the session costs above the"
        " signed cookie that Flask reads anyway. Calls per read are the"
        " server's count over all the timed reads.",
        "",
        grid_table(
            [
                "subject",
                "CPU us per read",
                "above the cookie session's (us)",
                "calls per read",
            ],
            rows,
        ),
        "",
        f'The overhead with ``transport="boto3"`` over that with ``"auto"``:'
        f" {_range(ratio, '.1f', 'x')}; by round: {_rounds(ratio, '.1f', 'x')}.",
        "",
    ]


def cpu_section(results: t.Mapping[str, t.Any]) -> list[str]:
    settings = results["meta"]["settings"]
    rows = []
    for scenario in _measured(results["cpu"]):
        cpu = [
            results["cpu"][name][scenario.name]["cpu_us_median"]
            for name in shown(results)
        ]
        rows.append([scenario.title, *(f"{value:,.0f}" for value in cpu)])
    return [
        "Client CPU per request, by scenario",
        "-----------------------------------",
        "",
        "Microseconds of CPU of the Python process per request, through"
        " Flask's test client (which costs the same for every subject), median"
        f" of {settings['cpu_iterations']} requests per scenario and subject,"
        f" each timed on its own, after {settings['cpu_warmup']} unmeasured"
        " ones. The subjects take turns request by request. Single requests"
        " are noisier than the read overhead above; mean and 90th percentile"
        " are in ``results.json``.",
        "",
        grid_table(
            ["request", *(f"{SHORT_TITLES[name]} (us)" for name in shown(results))],
            rows,
        ),
        "",
    ]


def workload_section(results: t.Mapping[str, t.Any]) -> list[str]:
    settings = results["meta"]["settings"]
    summary = results["workload"]["summary"]
    ratios = results["workload"]["ratios"]
    rows = []
    for name in shown(results):
        figures = summary[name]
        rows.append(
            [
                TITLES[name],
                _range(figures["requests_per_second"], ",.0f"),
                f"{figures['p50_ms']['median']:.1f}",
                f"{figures['p99_ms']['median']:.1f}",
                str(figures["errors"]),
                f"{figures['dynamodb_calls_per_request']['median']:.2f}",
                _range(figures["worker_cpu_us"], ",.0f"),
                f"{figures['dynalite_cpu_us']['median']:,.0f}",
                f"{figures['loadgen_cpu_us']['median']:,.0f}",
                f"{figures['others_share']['median']:.0%}",
            ]
        )
    return [
        "Mixed workload",
        "--------------",
        "",
        f"gunicorn, {settings['workers']} workers of the gthread class with"
        f" {settings['server_threads']} threads each, on 127.0.0.1; a load"
        f" generator process with {settings['client_threads']} threads, each one"
        " browser with its own session and a keep-alive connection, logs in once"
        " and then sends 60 % reads, 20 % changes and 20 % requests that do not"
        f" touch the session. {settings['warmup']:g} s of warm-up, then"
        f" {settings['duration']:g} s measured (at most"
        f" {settings['max_requests']:,} requests);"
        f" {_count(settings['rounds'], 'round')}, each running the subjects"
        " back to back in a rotating order. Everything (workers, dynalite, load"
        " generator) shares the machine's two cores, so throughput is capped by"
        " the CPU all of them spend per request; the worker CPU per request is"
        " the subject's own cost. DynamoDB calls are counted by dynalite over"
        ' the measured window. "Others": the share of the machine that'
        " processes outside the benchmark took during the window.",
        "",
        grid_table(
            [
                "subject",
                "requests/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "DynamoDB calls per request",
                "worker CPU us per request",
                "dynalite CPU us per request",
                "load generator CPU us per request",
                "others",
            ],
            rows,
        ),
        "",
        "Ratios within each round, median (lowest-highest):",
        "",
        '- requests/s, "auto" over Flask-Session:'
        f" {_range(ratios['rps_auto_to_flask_session'], '.2f', 'x')}"
        f" (rounds: {_rounds(ratios['rps_auto_to_flask_session'], '.2f', 'x')});"
        ' "boto3" over Flask-Session:'
        f" {_range(ratios['rps_boto3_to_flask_session'], '.2f', 'x')};"
        ' "auto" over "boto3":'
        f" {_range(ratios['rps_auto_to_boto3'], '.2f', 'x')};"
        ' "auto" over the cookie session:'
        f" {_range(ratios['rps_auto_to_cookie'], '.2f', 'x')}.",
        '- worker CPU per request, over the cookie session\'s: "auto"'
        f" {_range(ratios['worker_cpu_auto_to_cookie'], '.2f', 'x')}"
        f" (rounds: {_rounds(ratios['worker_cpu_auto_to_cookie'], '.2f', 'x')});"
        f' "boto3" {_range(ratios["worker_cpu_boto3_to_cookie"], ".2f", "x")};'
        " Flask-Session"
        f" {_range(ratios['worker_cpu_flask_session_to_cookie'], '.2f', 'x')}.",
        *_encryption_ratios(ratios),
        "",
    ]


def _encryption_ratios(ratios: t.Mapping[str, t.Any]) -> list[str]:
    """The cost of encryption at rest, if the run measured it."""
    if "worker_cpu_encrypted_to_auto" not in ratios:
        return []
    cpu = ratios["worker_cpu_encrypted_to_auto"]
    return [
        '- encryption at rest, ``encrypt=True`` over without (both "auto"):'
        f" worker CPU per request {_range(cpu, '.3f', 'x')}"
        f" (rounds: {_rounds(cpu, '.3f', 'x')}); requests/s"
        f" {_range(ratios['rps_encrypted_to_auto'], '.3f', 'x')}."
    ]


def _units(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def dollars(value: float) -> str:
    """``$0.225``, ``$0.6875``, ``$0``: dollars to four decimal places at most."""
    return f"${value:.4f}".rstrip("0").rstrip(".") if value else "$0"


def _cost_cell(costs: t.Mapping[str, t.Any]) -> str:
    return (
        f"{_units(costs['read_units'])} R + {_units(costs['write_units'])} W"
        f" = {dollars(costs['dollars_per_million'])}"
    )


def _reads(costs: t.Mapping[str, t.Any]) -> str:
    parts = []
    if costs["consistent_reads"]:
        parts.append(f"{_units(costs['consistent_reads'])} strong")
    if costs["eventual_reads"]:
        parts.append(f"{_units(costs['eventual_reads'])} eventual")
    return " + ".join(parts) or "0"


def auto_on_target(figures: t.Mapping[str, t.Any]) -> bool:
    """Mixed workload: ``"auto"`` at half ``True``'s read units, no more GetItems."""
    mixed = figures["mixed"]
    auto, strong = mixed["read_auto"], mixed["read_true"]
    return bool(
        abs(auto["read_units"] * 2 - strong["read_units"]) < 1e-9
        and auto["calls"].get("GetItem", 0) <= strong["calls"].get("GetItem", 0)
    )


def cost_section(figures: t.Mapping[str, t.Any]) -> list[str]:
    """What a request costs: capacity units and on-demand dollars."""
    meta = figures["meta"]
    prices = figures["prices"]
    mixed = figures["mixed"]
    rows = [
        [
            cost.TITLES[name],
            _units(mixed[name]["calls"].get("GetItem", 0)),
            _reads(mixed[name]),
            _units(mixed[name]["read_units"]),
            _units(mixed[name]["write_units"]),
            dollars(mixed[name]["dollars_per_million"]),
        ]
        for name in cost.SUBJECTS
    ]
    scenario_rows = [
        [
            BY_NAME[scenario].title,
            *(
                _cost_cell(figures["scenarios"][name][scenario])
                for name in cost.SUBJECTS
            ),
        ]
        for scenario in cost.SCENARIOS
    ]
    example = figures["example"]
    example_rows = [
        [
            cost.TITLES[name],
            f"${dollars['reads']:,.2f}",
            f"${dollars['writes']:,.2f}",
            f"${dollars['total']:,.2f}",
        ]
        for name, dollars in example["dollars"].items()
    ]
    storage = figures["storage"]
    items = storage["items"]
    storage_rows = [
        [
            label,
            f"{items[key]['bytes']:,}",
            str(items[key]["write_units"]),
            dollars(items[key]["storage_dollars_per_million_per_month"]),
        ]
        for key, label in (
            ("ours_typical", "this package, the benchmark's session"),
            ("ours_cart_of_20", "this package, with a cart of 20 items"),
            ("flask_session_typical", "Flask-Session 0.8, the benchmark's session"),
            ("flask_session_cart_of_20", "Flask-Session 0.8, with a cart of 20 items"),
        )
    ]
    index = storage["index_entry"]
    storage_rows.append(
        [
            "``uid-index`` entry (keys only)",
            f"{index['bytes'] - cost.ITEM_OVERHEAD:,}",
            str(index["write_units"]),
            dollars(index["storage_dollars_per_million_per_month"]),
        ]
    )
    unmeasured = sum(
        costs["unmeasured_calls"] + costs["failed_writes"]
        for per_subject in (figures["scenarios"], {"mix": mixed})
        for by_name in per_subject.values()
        for costs in by_name.values()
    )
    return [
        "What it costs",
        "-------------",
        "",
        f":Date: {meta['date']}",
        f":Command: ``{meta['command']}``, in a checkout of commit"
        f" {meta.get('revision', 'unknown')}",
        f":Machine: {meta['machine']['cpu_model']}, {meta['machine']['cores']} cores"
        " (capacity units do not depend on it)",
        f":Prices: DynamoDB on demand, {prices['region']}, {prices['table_class']}"
        f" table class, since {prices['since']}:"
        f" ${prices['write_per_million_units']} per million write request units,"
        f" ${prices['read_per_million_units']} per million read request units,"
        f" ${prices['storage_per_gb_month']} per GB-month of storage",
        "",
        "Capacity is measured, not estimated: the counting script in front of"
        ' dynalite adds ``"ReturnConsumedCapacity": "TOTAL"`` to every item call'
        " it forwards and records the ``ConsumedCapacity`` of each answer, for"
        " every client alike. dynalite computes it by DynamoDB's published"
        " rules: a read is one unit per 4 KB (half when eventually consistent),"
        " a write one unit per 1 KB of the larger of the item before and after."
        f" {'Every' if not unmeasured else '**Not every**'} item call's answer"
        " carried a capacity, and no conditional write failed (dynalite would"
        " report no capacity for one; DynamoDB charges it). Through Flask's"
        f" test client, {figures['iterations']} requests per scenario and"
        f" subject, and {figures['mix_requests']:,} requests of the mixed"
        " workload per subject (each hundred: 60 reads, 20 changes, 20"
        " requests that do not touch the session, shuffled, after one login"
        " that is not counted). Dollars are per million requests:"
        " read units x read price + write units x write price.",
        "",
        "Mixed workload, per request:",
        "",
        grid_table(
            [
                "subject",
                "GetItems",
                "of which",
                "read units",
                "write units",
                "$ per million requests",
            ],
            rows,
        ),
        "",
        'With ``"auto"`` the reads are eventually consistent; this dynalite has'
        " no lagging replica, so the strongly consistent second read never"
        ' happens and ``"auto"`` makes as many GetItems per request as'
        " ``True``, at half the read units:"
        f" {'yes' if auto_on_target(figures) else '**no**'}. Against DynamoDB,"
        " a read that finds the item older than the cookie's version (a replica"
        " behind this browser's own write) adds one strongly consistent"
        " GetItem.",
        "",
        "Per request of each scenario: read units (R) + write units (W) ="
        " dollars per million such requests.",
        "",
        grid_table(
            ["request", *(cost.SHORT_TITLES[name] for name in cost.SUBJECTS)],
            scenario_rows,
        ),
        "",
        f"{example['requests_per_second']:,} mixed requests a second for"
        f" {example['days']} days ({example['requests']:,} requests), on demand:",
        "",
        grid_table(["subject", "reads", "writes", "total"], example_rows),
        "",
        "Storage: item sizes as DynamoDB counts them (attribute names plus"
        " values), read back from a table of their own after a login and one"
        " change; this package with ``user_key`` set, so its item carries a"
        " ``uid``. Storage adds 100 bytes per item and per index entry (the"
        " dollars include it); a GB is taken as 1,073,741,824 bytes.",
        "",
        grid_table(
            [
                "stored",
                "bytes",
                "write units per write",
                "$ per million a month",
            ],
            storage_rows,
        ),
        "",
        "An index entry is written (one write unit) only when a session gets,"
        " changes or loses its user, or is deleted; a refresh never writes it.",
        "",
    ]


def rst(results: t.Mapping[str, t.Any]) -> str:
    """The summary tables of the results, in reStructuredText.

    A cost-only run (``--cost`` without an earlier full run) has only its
    cost section.
    """
    out = []
    if "calls" in results:
        out += [
            *header(results),
            *summary(results),
            *calls_section(results),
            *read_section(results),
            *workload_section(results),
            *cpu_section(results),
        ]
    if "cost" in results:
        out += cost_section(results["cost"])
    return "\n".join(out)
