"""Profile this package's hot path: the read and change scenarios, in cProfile.

Run ``python benchmarks/profile_hot_path.py [--iterations N] [--limit N]``.
It starts dynalite, serves the read and change scenarios of
:mod:`benchmarks.scenarios` through this package, and prints, for each
scenario the CPU per request split by where it is spent (inside boto3's API
calls, this package's own code, the rest), the functions with the most time
of their own, and this package's functions by cumulative time. The profiler
slows everything down (by three to four times here): read the shares, not
the absolute figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import apps, scenarios
from benchmarks.dynalite import Dynalite, local_environment

#: The boto3 API call: everything under it is the cost of one DynamoDB call.
API_CALL = ("botocore/client.py", "_make_api_call")
PACKAGE = "/flask_dynamodb_session/"


def split(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of CPU: in boto3 calls, in this package's own code, the rest.

    "in boto3 calls" is the cumulative time of botocore's ``_make_api_call``
    (request building, signing, user agent, urllib3, http.client, parsing);
    "this package" is the own time of its functions outside those calls.
    """
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    total = boto = package = 0.0
    for (filename, _, function), (_, _, own, cumulative, _) in raw.items():
        total += own
        if filename.endswith(API_CALL[0]) and function == API_CALL[1]:
            boto += cumulative
        elif PACKAGE in filename:
            package += own
    return {
        "boto3 calls (botocore, urllib3, http.client)": boto,
        "flask_dynamodb_session, own code": package,
        "Flask, Werkzeug, test client, the rest": total - boto - package,
    }


def profile(
    subject: apps.Subject, scenario: scenarios.Scenario, iterations: int
) -> pstats.Stats:
    """cProfile of the measured requests of ``scenario`` only."""
    browser = scenarios.Browser(subject.app.test_client())
    for step in scenario.setup:
        step(browser)
    profiler = cProfile.Profile(time.process_time)
    for round_ in range(iterations + 20):
        for step in scenario.before:
            step(browser)
        if round_ >= 20:
            profiler.enable()
        scenario.request(browser)
        profiler.disable()
    return pstats.Stats(profiler)


def report(stats: pstats.Stats, iterations: int, limit: int) -> str:
    """CPU per request by area, then this package's functions."""
    areas = split(stats)
    total = sum(areas.values())
    lines = [f"CPU per request under the profiler: {total / iterations * 1e6:.0f} us"]
    for area, seconds in areas.items():
        lines.append(
            f"  {area:46} {seconds / iterations * 1e6:7.0f} us {seconds / total:6.1%}"
        )
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(limit)
    out.write("\nThis package, by cumulative time:\n")
    stats.sort_stats("cumulative").print_stats(PACKAGE, limit)
    return "\n".join(lines) + "\n" + out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--limit", type=int, default=25)
    args = parser.parse_args(argv)
    os.environ.update(local_environment())
    with Dynalite() as dynalite:
        dynalite.create_table(apps.TABLES["ours"])
        subject = apps.build_subject("ours", dynalite.endpoint_url)
        try:
            for name in ("read", "change"):
                stats = profile(subject, scenarios.BY_NAME[name], args.iterations)
                print(f"==== scenario {name}, {args.iterations} requests ====")
                print(report(stats, args.iterations, args.limit))
        finally:
            subject.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
