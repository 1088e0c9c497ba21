"""Run the whole benchmark: ``python benchmarks/run.py`` (``--quick`` to smoke it).

1. Starts dynalite on 127.0.0.1 (a separate process) and creates the tables.
2. Counts the DynamoDB calls of one request of each scenario, per subject.
3. Measures the client CPU per request of each scenario, per subject.
4. Serves each subject with gunicorn and runs the mixed workload against it.
5. Writes ``results.json`` (raw figures) and ``results.rst`` (the table)
   next to this file, and prints the table.

Flask-Session 0.8 is installed into the running environment from
``requirements.txt`` if it is missing (``--no-install`` refuses instead).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
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

from benchmarks import apps, report, scenarios, workload
from benchmarks.dynalite import Dynalite, dynalite_version, local_environment
from flask_dynamodb_session import serialization

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
FLASK_SESSION_VERSION = "0.8.0"
#: Where ``--quick`` writes, so that a smoke run never replaces the results.
QUICK_OUTPUT = Path(tempfile.gettempdir()) / "flask-dynamodb-session-benchmark"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark flask-dynamodb-session against Flask-Session 0.8"
        " and Flask's cookie session."
    )
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="where results.json and results.rst go: this directory, or a"
        " temporary one with --quick",
    )
    parser.add_argument("--call-iterations", type=int)
    parser.add_argument("--cpu-iterations", type=int)
    parser.add_argument("--cpu-warmup", type=int)
    parser.add_argument(
        "--cpu-blocks", type=int, help="blocks of requests, for the noise"
    )
    parser.add_argument("--rounds", type=int, help="rounds of the workload")
    parser.add_argument("--warmup", type=float, help="workload warm-up, seconds")
    parser.add_argument("--duration", type=float, help="workload window, seconds")
    parser.add_argument("--max-requests", type=int)
    parser.add_argument("--client-threads", type=int)
    parser.add_argument("--server-threads", type=int)
    args = parser.parse_args(argv)
    defaults = {
        "call_iterations": (2, 5),
        "cpu_iterations": (20, 600),
        "cpu_warmup": (3, 50),
        "cpu_blocks": (2, 5),
        "rounds": (1, 5),
        "warmup": (1.0, 3.0),
        "duration": (2.0, 10.0),
        "max_requests": (2_000, 100_000),
        "client_threads": (4, 8),
        "server_threads": (4, 4),
    }
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.output_dir is None:
        args.output_dir = QUICK_OUTPUT if args.quick else HERE
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
    subjects: dict[str, apps.Subject], iterations: int
) -> dict[str, dict[str, list[dict[str, int]]]]:
    print("counting DynamoDB calls per request")
    return {
        name: {
            scenario.name: scenarios.count_calls(subject, scenario, iterations)
            for scenario in scenarios.SCENARIOS
        }
        for name, subject in subjects.items()
    }


def measure_cpu(
    subjects: dict[str, apps.Subject], iterations: int, warmup: int, blocks: int
) -> dict[str, dict[str, dict[str, t.Any]]]:
    """CPU per request of every scenario; the subjects take turns per request."""
    results: dict[str, dict[str, dict[str, t.Any]]] = {name: {} for name in subjects}
    for scenario in scenarios.SCENARIOS:
        print(f"measuring client CPU: {scenario.title}")
        samples = scenarios.measure_cpu(subjects, scenario, iterations, warmup)
        for name in subjects:
            results[name][scenario.name] = samples[name].summary(blocks)
    return results


def run_workloads(
    endpoint_url: str, dynalite_pid: int, args: argparse.Namespace
) -> dict[str, t.Any]:
    """The mixed workload, ``args.rounds`` times per subject, taking turns."""
    rounds: dict[str, list[dict[str, t.Any]]] = {name: [] for name in apps.SUBJECTS}
    for number in range(args.rounds):
        for name in apps.SUBJECTS:
            print(f"workload round {number + 1}/{args.rounds}: {apps.TITLES[name]}")
            figures = workload.run_workload(
                name,
                endpoint_url,
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
                f" p99 {figures['latency_ms']['p99']:.1f} ms,"
                f" {figures['errors']} errors"
            )
            rounds[name].append(figures)
    summary = {name: median_round(figures) for name, figures in rounds.items()}
    ratios = {
        other: [
            ours["requests_per_second"] / theirs["requests_per_second"]
            for ours, theirs in zip(rounds["ours"], rounds[other], strict=True)
        ]
        for other in ("flask_session", "cookie")
    }
    return {
        "rounds": rounds,
        "summary": summary,
        "round_ratios": ratios,
        "ratios": {other: statistics.median(r) for other, r in ratios.items()},
    }


def median_round(rounds: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The round of median throughput (the lower one of an even count)."""
    ordered = sorted(rounds, key=lambda figures: figures["requests_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_flask_session(install=not args.no_install)
    os.environ.update(local_environment())
    command = "python benchmarks/run.py" + (" " + shlex.join(argv or sys.argv[1:]))
    results: dict[str, t.Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC"
            ),
            "command": command.strip(),
            "machine": machine(),
            "versions": versions(),
            "session_bytes": len(serialization.encode(apps.SAMPLE)),
            "settings": {
                "call_iterations": args.call_iterations,
                "cpu_iterations": args.cpu_iterations,
                "cpu_warmup": args.cpu_warmup,
                "cpu_blocks": args.cpu_blocks,
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
    with Dynalite() as dynalite:
        for table in apps.TABLES.values():
            dynalite.create_table(table)
        subjects = {
            name: apps.build_subject(name, dynalite.endpoint_url)
            for name in apps.SUBJECTS
        }
        try:
            results["calls"] = count_calls(subjects, args.call_iterations)
            results["cpu"] = measure_cpu(
                subjects, args.cpu_iterations, args.cpu_warmup, args.cpu_blocks
            )
        finally:
            for subject in subjects.values():
                subject.close()
        results["workload"] = run_workloads(dynalite.endpoint_url, dynalite.pid, args)
    results["meta"]["machine"]["load_average_end"] = load_average()
    results["targets"] = report.targets(results)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    report.write_json(results, args.output_dir / "results.json")
    table = report.rst(results)
    (args.output_dir / "results.rst").write_text(table, "utf-8")
    print()
    print(table)
    print(f"written to {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
