"""Run the whole benchmark: ``python benchmarks/run.py`` (``--quick`` to smoke it).

``--cost`` measures only what requests cost (capacity units, dollars,
storage: :mod:`benchmarks.cost`), in a minute or so, and adds it to the
results of the last whole run. ``--chart`` runs nothing: it draws the chart
(:mod:`benchmarks.chart`) of the results kept in the repository again, or of
those in ``--output-dir``.

Only a whole run with the default settings writes the results kept in the
repository, ``results.json`` and ``results.rst`` next to this file, and their
chart, ``docs/_static/benchmark.svg``. Any other run (``--quick``,
``--cost``, or a setting changed) writes to a scratch directory
(:data:`SCRATCH_OUTPUT`), its chart as ``benchmark.svg`` there, unless
``--output-dir`` names another: ``--output-dir benchmarks`` to replace the
kept results on purpose.

1. Starts dynalite on 127.0.0.1 (a separate process that counts the calls it
   serves) and creates the tables.
2. Counts the DynamoDB calls of one request of each scenario, per subject,
   at the server.
3. Measures the client CPU per request of each scenario, per subject.
4. Measures the read overhead: the CPU of thousands of read requests per
   subject and round, in interleaved rounds.
5. Measures the capacity units each scenario and the mixed workload
   consume (as dynalite reports them), this package in each
   ``consistent_read`` mode and Flask-Session, and the size of a session.
6. Serves each subject with gunicorn and runs the mixed workload against it,
   in interleaved rounds.
7. Writes ``results.json`` (raw figures), ``results.rst`` (the tables) and
   the chart, and prints the tables.

The subjects: this package with ``transport="auto"`` (the lean transport),
the same with ``encrypt=True`` (encryption at rest) and with
``transport="boto3"``, Flask-Session 0.8's DynamoDB backend, and Flask's
cookie session. Flask-Session 0.8 is installed into the running
environment from ``requirements.txt`` if it is missing (``--no-install``
refuses instead).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import apps, chart, cost, report, scenarios, workload
from benchmarks.dynalite import (
    CallCounter,
    CapacityMeter,
    CountingDynalite,
    dynalite_version,
    local_environment,
)
from flask_dynamodb_session import serialization

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
FLASK_SESSION_VERSION = "0.8.0"
#: Where a partial run writes, so that it never replaces the kept results.
SCRATCH_OUTPUT = Path(tempfile.gettempdir()) / "flask-dynamodb-session-benchmark"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark flask-dynamodb-session (both transports) against"
        " Flask-Session 0.8 and Flask's cookie session."
    )
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument(
        "--cost",
        action="store_true",
        help="measure only the capacity units and storage of requests, and add"
        " them to the results of the last whole run",
    )
    parser.add_argument(
        "--cost-iterations", type=int, help="requests per scenario, for the cost"
    )
    parser.add_argument(
        "--mix-requests",
        type=int,
        help="mixed-workload requests per subject, for the cost (hundreds)",
    )
    parser.add_argument(
        "--chart",
        action="store_true",
        help="run nothing: draw the chart of the results in the output"
        " directory (the kept results unless --output-dir names another)",
    )
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="where results.json and results.rst go: next to this file for a"
        " whole run with the default settings, else a temporary directory",
    )
    parser.add_argument("--call-iterations", type=int)
    parser.add_argument("--cpu-iterations", type=int)
    parser.add_argument("--cpu-warmup", type=int)
    parser.add_argument(
        "--read-rounds", type=int, help="rounds of the read-overhead blocks"
    )
    parser.add_argument(
        "--read-requests", type=int, help="read requests per subject and round"
    )
    parser.add_argument("--read-chunk", type=int, help="reads between two changes")
    parser.add_argument("--rounds", type=int, help="rounds of the workload")
    parser.add_argument("--warmup", type=float, help="workload warm-up, seconds")
    parser.add_argument("--duration", type=float, help="workload window, seconds")
    parser.add_argument("--max-requests", type=int)
    parser.add_argument("--client-threads", type=int)
    parser.add_argument("--server-threads", type=int)
    args = parser.parse_args(argv)
    defaults = {
        "cost_iterations": (2, 5),
        "mix_requests": (100, 1_000),
        "call_iterations": (2, 5),
        "cpu_iterations": (20, 400),
        "cpu_warmup": (3, 50),
        "read_rounds": (1, 9),
        "read_requests": (100, 2_000),
        "read_chunk": (50, 250),
        "rounds": (1, 7),
        "warmup": (1.0, 3.0),
        "duration": (2.0, 8.0),
        "max_requests": (2_000, 100_000),
        "client_threads": (4, 8),
        "server_threads": (4, 4),
    }
    changed = [name for name in defaults if getattr(args, name) is not None]
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.output_dir is None:
        partial = args.quick or args.cost or bool(changed)
        args.output_dir = SCRATCH_OUTPUT if partial else HERE
    return args


def ensure_flask_session(install: bool) -> None:
    """Install Flask-Session 0.8 into this environment if it is missing."""
    try:
        version = importlib.metadata.version("flask-session")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version == FLASK_SESSION_VERSION:
        return
    if not install:
        raise SystemExit(
            f"Flask-Session {FLASK_SESSION_VERSION} is needed (found {version}):"
            f" {sys.executable} -m pip install -r {REQUIREMENTS}"
        )
    print(f"installing Flask-Session {FLASK_SESSION_VERSION} from {REQUIREMENTS}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
        check=True,
    )


def machine() -> dict[str, t.Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_start": load_average(),
    }


def revision() -> str:
    """The commit the package and the benchmark were taken from.

    ``+changes`` marks a checkout with uncommitted changes to either (the
    results of an earlier run do not count).
    """
    root = HERE.parent
    watched = [
        "flask_dynamodb_session",
        "benchmarks",
        "tests/support/servers.py",
        ":(exclude)benchmarks/results.*",
    ]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", *watched],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if status else "")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("flask", "werkzeug", "boto3", "botocore", "flask-session", "gunicorn"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["dynalite"] = dynalite_version()
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        )
        found["node"] = node.stdout.strip().lstrip("v")
    except (OSError, subprocess.CalledProcessError):
        found["node"] = "unknown"
    return found


def count_calls(
    subjects: dict[str, apps.Subject], counter: CallCounter, iterations: int
) -> dict[str, dict[str, list[dict[str, int]]]]:
    print("counting DynamoDB calls per request (at the server)")
    return {
        name: {
            scenario.name: scenarios.count_calls(subject, scenario, counter, iterations)
            for scenario in scenarios.SCENARIOS
        }
        for name, subject in subjects.items()
    }


def measure_cpu(
    subjects: dict[str, apps.Subject],
    counter: CallCounter,
    iterations: int,
    warmup: int,
) -> dict[str, dict[str, dict[str, t.Any]]]:
    """CPU per request of every scenario; the subjects take turns per request."""
    results: dict[str, dict[str, dict[str, t.Any]]] = {name: {} for name in subjects}
    for scenario in scenarios.SCENARIOS:
        print(f"measuring client CPU: {scenario.title}")
        samples = scenarios.measure_cpu(subjects, scenario, counter, iterations, warmup)
        for name in subjects:
            results[name][scenario.name] = samples[name].summary()
    return results


def rotated(names: t.Sequence[str], number: int) -> list[str]:
    """``names`` starting at a different one in each round."""
    shift = number % len(names)
    return [*names[shift:], *names[:shift]]


def spread(values: t.Sequence[float]) -> dict[str, t.Any]:
    """The median of some per-round figures, their range, and the figures."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "rounds": list(values),
    }


def measure_read_overhead(
    subjects: dict[str, apps.Subject], counter: CallCounter, args: argparse.Namespace
) -> dict[str, t.Any]:
    """The CPU of a read request, per subject, over interleaved rounds.

    In each round every subject serves ``args.read_requests`` reads, the
    subjects taking turns every ``args.read_chunk`` reads. A subject's read
    overhead in a round is its CPU per read minus the cookie session's in
    the same round.
    """
    blocks = scenarios.ReadBlocks(subjects, counter, args.read_chunk)
    names = list(subjects)
    blocks.measure_round(args.read_chunk)  # warm-up, not kept
    rounds: dict[str, list[dict[str, t.Any]]] = {name: [] for name in names}
    for number in range(args.read_rounds):
        for name, figures in blocks.measure_round(args.read_requests).items():
            rounds[name].append(figures)
        print(
            f"read round {number + 1}/{args.read_rounds}: "
            + ", ".join(
                f"{apps.SHORT_TITLES[name]} {rounds[name][-1]['cpu_us']:.0f} us"
                for name in names
            )
        )
    cpu = {name: [figures["cpu_us"] for figures in rounds[name]] for name in names}
    overhead = {
        name: [
            ours - cookie for ours, cookie in zip(cpu[name], cpu["cookie"], strict=True)
        ]
        for name in names
        if name != "cookie"
    }
    ratio = [
        boto3 / auto if auto > 0 else float("inf")
        for boto3, auto in zip(overhead["boto3"], overhead["auto"], strict=True)
    ]
    return {
        "requests_per_round": args.read_requests,
        "chunk": args.read_chunk,
        "rounds": rounds,
        "cpu_us": {name: spread(values) for name, values in cpu.items()},
        "overhead_us": {name: spread(values) for name, values in overhead.items()},
        "overhead_ratio_boto3_to_auto": spread(ratio),
    }


def run_workloads(
    endpoint_url: str, counts_url: str, dynalite_pid: int, args: argparse.Namespace
) -> dict[str, t.Any]:
    """The mixed workload, ``args.rounds`` times per subject, taking turns."""
    rounds: dict[str, list[dict[str, t.Any]]] = {name: [] for name in apps.SUBJECTS}
    for number in range(args.rounds):
        for name in rotated(apps.SUBJECTS, number):
            print(f"workload round {number + 1}/{args.rounds}: {apps.TITLES[name]}")
            figures = workload.run_workload(
                name,
                endpoint_url,
                counts_url,
                dynalite_pid,
                threads=args.client_threads,
                server_threads=args.server_threads,
                warmup=args.warmup,
                duration=args.duration,
                max_requests=args.max_requests,
                seed=number + 1,
            )
            print(
                f"  {figures['requests_per_second']:.0f} requests/s,"
                f" worker CPU {figures['cpu_us_per_request']['workers']:.0f} us"
                f"/request, p99 {figures['latency_ms']['p99']:.1f} ms,"
                f" {figures['errors']} errors"
            )
            rounds[name].append(figures)
    return {
        "rounds": rounds,
        "summary": {name: summarize(figures) for name, figures in rounds.items()},
        "ratios": workload_ratios(rounds),
    }


def summarize(rounds: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Median and range of each figure of a subject's workload rounds."""

    def of(pick: t.Callable[[dict[str, t.Any]], float]) -> dict[str, t.Any]:
        return spread([pick(figures) for figures in rounds])

    return {
        "requests_per_second": of(lambda f: f["requests_per_second"]),
        "p50_ms": of(lambda f: f["latency_ms"]["p50"]),
        "p99_ms": of(lambda f: f["latency_ms"]["p99"]),
        "errors": sum(int(f["errors"]) for f in rounds),
        "dynamodb_calls_per_request": of(lambda f: f["dynamodb_calls_per_request"]),
        "worker_cpu_us": of(lambda f: f["cpu_us_per_request"]["workers"]),
        "dynalite_cpu_us": of(lambda f: f["cpu_us_per_request"].get("dynalite", 0)),
        "loadgen_cpu_us": of(
            lambda f: f["cpu_us_per_request"].get("load generator", 0)
        ),
        "others_share": of(
            lambda f: f["other_processes_seconds"] / (f["seconds"] * f["cores"])
        ),
    }


def workload_ratios(rounds: dict[str, list[dict[str, t.Any]]]) -> dict[str, t.Any]:
    """Per-round ratios of two subjects' figures of the same round."""

    def ratio(
        ours: str, theirs: str, pick: t.Callable[[dict[str, t.Any]], float]
    ) -> dict[str, t.Any]:
        return spread(
            [
                pick(a) / pick(b)
                for a, b in zip(rounds[ours], rounds[theirs], strict=True)
            ]
        )

    def rps(figures: dict[str, t.Any]) -> float:
        return float(figures["requests_per_second"])

    def worker_cpu(figures: dict[str, t.Any]) -> float:
        return float(figures["cpu_us_per_request"]["workers"])

    return {
        "rps_auto_to_flask_session": ratio("auto", "flask_session", rps),
        "rps_boto3_to_flask_session": ratio("boto3", "flask_session", rps),
        "rps_auto_to_cookie": ratio("auto", "cookie", rps),
        "rps_auto_to_boto3": ratio("auto", "boto3", rps),
        "worker_cpu_auto_to_cookie": ratio("auto", "cookie", worker_cpu),
        "worker_cpu_boto3_to_cookie": ratio("boto3", "cookie", worker_cpu),
        "worker_cpu_flask_session_to_cookie": ratio(
            "flask_session", "cookie", worker_cpu
        ),
        "worker_cpu_encrypted_to_auto": ratio("encrypted", "auto", worker_cpu),
        "rps_encrypted_to_auto": ratio("encrypted", "auto", rps),
    }


def measure_cost(
    dynalite: CountingDynalite, counter: CallCounter, args: argparse.Namespace
) -> dict[str, t.Any]:
    """Capacity units and storage, with when, how and where they were measured."""
    meter = CapacityMeter(dynalite.capacity_url)
    figures = cost.measure(
        dynalite, counter, meter, args.cost_iterations, args.mix_requests
    )
    return {"meta": run_meta(args.argv), **figures}


def run_meta(argv: list[str]) -> dict[str, t.Any]:
    """The date, command, commit and machine of a run."""
    command = "python benchmarks/run.py " + shlex.join(argv)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "command": command.strip(),
        "revision": revision(),
        "machine": machine(),
    }


def cost_only(args: argparse.Namespace) -> int:
    """``--cost``: the cost figures, added to the results of the output
    directory, or else to the kept results of the last whole run."""
    path = args.output_dir / "results.json"
    if not path.exists():
        path = HERE / "results.json"
    results: dict[str, t.Any] = {}
    if path.exists():
        results = json.loads(path.read_text("utf-8"))
    with CountingDynalite() as dynalite:
        for table in apps.TABLES.values():
            dynalite.create_table(table)
        counter = CallCounter(dynalite.counts_url)
        results["cost"] = measure_cost(dynalite, counter, args)
    write_results(results, args.output_dir)
    return 0


def chart_path(output_dir: Path) -> Path:
    """Where the chart of the results in ``output_dir`` goes: the docs' for
    the kept results, else next to them."""
    if output_dir.resolve() == HERE:
        return chart.PATH
    return output_dir / chart.PATH.name


def draw_chart(results: t.Mapping[str, t.Any], output_dir: Path) -> bool:
    """Write the chart of ``results``, if they hold the workload and the cost
    (a cost-only run without an earlier whole run has no workload)."""
    if "workload" not in results or "cost" not in results:
        return False
    path = chart_path(output_dir)
    chart.write(results, path)
    print(f"chart written to {path}")
    return True


def chart_only(args: argparse.Namespace) -> int:
    """``--chart``: the chart of the results in the output directory."""
    path = args.output_dir / "results.json"
    if not path.exists():
        raise SystemExit(f"no results to draw: {path} does not exist")
    if not draw_chart(json.loads(path.read_text("utf-8")), args.output_dir):
        raise SystemExit(f"{path} lacks the workload or the cost of a whole run")
    return 0


def write_results(results: t.Mapping[str, t.Any], output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    report.write_json(results, output_dir / "results.json")
    table = report.rst(results)
    (output_dir / "results.rst").write_text(table, "utf-8")
    print()
    print(table)
    print(f"written to {output_dir}")
    draw_chart(results, output_dir)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.chart:
        return chart_only(args)
    ensure_flask_session(install=not args.no_install)
    os.environ.update(local_environment())
    if args.cost:
        return cost_only(args)
    results: dict[str, t.Any] = {
        "meta": {
            **run_meta(args.argv),
            "versions": versions(),
            "session_bytes": len(serialization.encode(apps.SAMPLE)),
            "settings": {
                "call_iterations": args.call_iterations,
                "cpu_iterations": args.cpu_iterations,
                "cpu_warmup": args.cpu_warmup,
                "read_rounds": args.read_rounds,
                "read_requests": args.read_requests,
                "read_chunk": args.read_chunk,
                "workers": workload.WORKERS,
                "server_threads": args.server_threads,
                "client_threads": args.client_threads,
                "warmup": args.warmup,
                "duration": args.duration,
                "max_requests": args.max_requests,
                "rounds": args.rounds,
                "mix": {"read": 60, "change": 20, "untouched": 20},
            },
        },
        "subjects": dict(apps.TITLES),
        "scenarios": {s.name: s.title for s in scenarios.SCENARIOS},
    }
    with CountingDynalite() as dynalite:
        for table in apps.TABLES.values():
            dynalite.create_table(table)
        counter = CallCounter(dynalite.counts_url)
        subjects = {
            name: apps.build_subject(name, dynalite.endpoint_url)
            for name in apps.SUBJECTS
        }
        results["item_clients"] = {
            name: subject.item_client
            for name, subject in subjects.items()
            if subject.item_client is not None
        }
        try:
            results["calls"] = count_calls(subjects, counter, args.call_iterations)
            results["cost"] = measure_cost(dynalite, counter, args)
            results["cpu"] = measure_cpu(
                subjects, counter, args.cpu_iterations, args.cpu_warmup
            )
            results["read_overhead"] = measure_read_overhead(subjects, counter, args)
        finally:
            for subject in subjects.values():
                subject.close()
        assert dynalite.pid is not None
        results["workload"] = run_workloads(
            dynalite.endpoint_url, dynalite.counts_url, dynalite.pid, args
        )
    results["meta"]["machine"]["load_average_end"] = load_average()
    results["targets"] = report.targets(results)
    write_results(results, args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
