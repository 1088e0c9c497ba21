"""The results: raw figures as JSON, and a reStructuredText summary."""

from __future__ import annotations

import json
import typing as t

from .apps import SUBJECTS, TITLES
from .scenarios import BUDGET, SCENARIOS, within_budget

if t.TYPE_CHECKING:
    from pathlib import Path

#: SPEC section 5's throughput target: this package over Flask-Session.
THROUGHPUT_TARGET = 1.5


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


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def _others(figures: t.Mapping[str, t.Any]) -> float:
    capacity = float(figures["seconds"]) * int(figures.get("cores") or 1)
    return float(figures.get("other_processes_seconds", 0.0)) / capacity


def targets(results: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Which of SPEC section 5's targets the figures meet."""
    calls = results["calls"]["ours"]
    cpu = results["cpu"]
    budget = {name: all(within_budget(name, c) for c in calls[name]) for name in calls}
    cpu_below = {
        name: cpu["ours"][name]["cpu_us_median"]
        < cpu["flask_session"][name]["cpu_us_median"]
        for name in cpu["ours"]
    }
    ratio = float(results["workload"]["ratios"]["flask_session"])
    return {
        "calls_within_budget": budget,
        "cpu_below_flask_session": cpu_below,
        "throughput_ratio_to_flask_session": ratio,
        "throughput_target": THROUGHPUT_TARGET,
        "all_met": all(budget.values())
        and all(cpu_below.values())
        and ratio >= THROUGHPUT_TARGET,
    }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _times(ratios: t.Iterable[float]) -> str:
    return ", ".join(f"{ratio:.2f}x" for ratio in ratios)


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def noise_us(*figures: t.Mapping[str, t.Any]) -> float:
    """Half the largest spread of the block medians of some CPU figures."""
    spreads = [
        max(blocks) - min(blocks)
        for blocks in (figure.get("cpu_us_block_medians", ()) for figure in figures)
        if blocks
    ]
    return max(spreads, default=0.0) / 2


def _below(ours: t.Mapping[str, t.Any], theirs: t.Mapping[str, t.Any]) -> str:
    difference = theirs["cpu_us_median"] - ours["cpu_us_median"]
    text = _yes(difference > 0)
    if abs(difference) <= noise_us(ours, theirs):
        text += " (within noise)"
    return text


def rst(results: t.Mapping[str, t.Any]) -> str:
    """The summary table of the results, in reStructuredText."""
    meta = results["meta"]
    versions = meta["versions"]
    settings = meta["settings"]
    met = results["targets"]
    titles = [TITLES[name] for name in SUBJECTS]
    out = [
        "Benchmark results",
        "=================",
        "",
        f":Date: {meta['date']}",
        f":Command: ``{meta['command']}``",
        f":Machine: {meta['machine']['cpu_model']}, {meta['machine']['cores']} cores"
        f" (load average {meta['machine']['load_average_start']} before the run,"
        f" {meta['machine']['load_average_end']} after)",
        f":Software: Python {versions['python']}, Flask {versions['flask']},"
        f" Werkzeug {versions['werkzeug']}, boto3 {versions['boto3']}"
        f" (botocore {versions['botocore']}), Flask-Session"
        f" {versions['flask-session']}, gunicorn {versions['gunicorn']}",
        f":DynamoDB: dynalite {versions['dynalite']} (Node.js {versions['node']}),"
        " a separate process on 127.0.0.1, over HTTP",
        "",
        "Each subject runs with its defaults: this package as"
        " ``DynamoDBSessionInterface(table=..., endpoint_url=...)`` (``touch_after``"
        ' 10 s), Flask-Session with ``SESSION_TYPE = "dynamodb"`` and a boto3'
        " resource in ``SESSION_DYNAMODB`` (msgpack, permanent sessions, unsigned"
        " id), and Flask's own signed cookie session. The session holds a user id,"
        " a CSRF token and a two-item cart"
        f" ({meta['session_bytes']} bytes as this package stores it).",
        "",
        "DynamoDB calls per request",
        "--------------------------",
        "",
        "Counted with botocore's ``before-call`` event on each subject's client,"
        f" {settings['call_iterations']} requests per scenario.",
        "",
    ]
    rows = []
    for scenario in SCENARIOS:
        rows.append(
            [
                scenario.title,
                BUDGET[scenario.name],
                *(
                    calls_text(results["calls"][name][scenario.name])
                    for name in SUBJECTS
                ),
                _yes(met["calls_within_budget"][scenario.name]),
            ]
        )
    out += [
        grid_table(["request", "SPEC budget", *titles, "within budget"], rows),
        "",
        "Client CPU per request",
        "----------------------",
        "",
        "Microseconds of CPU of the Python process (``time.process_time``) per"
        " request, through Flask's test client (which costs the same for every"
        " subject), median of"
        f" {settings['cpu_iterations']} requests per scenario and subject, after"
        f" {settings['cpu_warmup']} unmeasured ones. The subjects take turns"
        " request by request, so that the machine's other work weighs on all of"
        " them alike. dynalite's CPU is not included. Mean and 90th percentile"
        ' are in ``results.json``. "Within noise": the difference is no larger'
        " than half the spread of the medians of"
        f" {settings['cpu_blocks']} consecutive blocks of requests.",
        "",
    ]
    rows = []
    for scenario in SCENARIOS:
        figures = [results["cpu"][name][scenario.name] for name in SUBJECTS]
        cpu = [figure["cpu_us_median"] for figure in figures]
        rows.append(
            [
                scenario.title,
                *(f"{value:,.0f}" for value in cpu),
                _ratio(cpu[1], cpu[0]),
                _below(figures[0], figures[1]),
            ]
        )
    out += [
        grid_table(
            [
                "request",
                *(f"{title} (us)" for title in titles),
                "Flask-Session / this package",
                "ours below",
            ],
            rows,
        ),
        "",
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
        f" {_count(settings['rounds'], 'round')},"
        " each running the three subjects back to back. Each subject's median"
        " round (by throughput) is shown; the last column is the median of the"
        " per-round ratios of throughputs (this package's over the other's in the"
        " same round, a few seconds apart). Everything (workers, dynalite, load"
        " generator) shares the machine's cores; the CPU columns show where it"
        ' went, and "machine CPU used by others" the share of the machine that'
        " processes outside the benchmark took during the measured window.",
        "",
    ]
    summary = results["workload"]["summary"]
    ratios = {"ours": 1.0, **results["workload"]["ratios"]}
    rows = []
    for name, title in zip(SUBJECTS, titles, strict=True):
        figures = summary[name]
        cpu = figures["cpu_us_per_request"]
        rows.append(
            [
                title,
                f"{figures['requests_per_second']:,.0f}",
                f"{figures['latency_ms']['p50']:.1f}",
                f"{figures['latency_ms']['p99']:.1f}",
                str(figures["errors"]),
                f"{figures['dynamodb_calls_per_request']:.2f}",
                f"{cpu['workers']:,.0f}",
                f"{cpu.get('dynalite', 0):,.0f}",
                f"{_others(figures):.0%}",
                f"{ratios[name]:.2f}x",
            ]
        )

    def rps(name: str) -> float:
        return float(summary[name]["requests_per_second"])

    def worker_cpu(name: str) -> float:
        return float(summary[name]["cpu_us_per_request"]["workers"])

    out += [
        grid_table(
            [
                "subject",
                "requests/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "DynamoDB calls/request",
                "worker CPU us/request",
                "dynalite CPU us/request",
                "machine CPU used by others",
                "this package's throughput / this",
            ],
            rows,
        ),
        "",
        "Targets (SPEC section 5)",
        "------------------------",
        "",
        "- Calls per request within the budget in every scenario:"
        f" {_yes(all(met['calls_within_budget'].values()))}.",
        "- CPU per request below Flask-Session's in every scenario:"
        f" {_yes(all(met['cpu_below_flask_session'].values()))}.",
        "- Mixed-workload throughput at least"
        f" {THROUGHPUT_TARGET:g}x Flask-Session's:"
        f" {_yes(met['throughput_ratio_to_flask_session'] >= THROUGHPUT_TARGET)}"
        f" ({met['throughput_ratio_to_flask_session']:.2f}x, median of the rounds'"
        f" {_times(results['workload']['round_ratios']['flask_session'])}; the"
        " median rounds give"
        f" {_ratio(rps('ours'), rps('flask_session'))}; Flask-Session's workers"
        f" spent {_ratio(worker_cpu('flask_session'), worker_cpu('ours'))} this"
        " package's CPU per request). Against the cookie session:"
        f" {results['workload']['ratios']['cookie']:.2f}x (rounds:"
        f" {_times(results['workload']['round_ratios']['cookie'])}).",
        "",
    ]
    return "\n".join(out)
