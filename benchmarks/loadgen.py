"""The load generator of the mixed workload, run as its own process.

Each thread is one browser: one keep-alive HTTP connection, its own session
cookie. It logs in once, then loops over a read/change/untouched mix until
the measurement window closes. Requests are timed from the first byte sent
to the last byte read. The window opens after the warm-up (the workers build
their clients and connection pools then) and closes after ``--duration``
seconds or ``--max-requests`` measured requests, whichever comes first.

Prints one JSON object on stdout. Run by :mod:`benchmarks.workload`; by
hand: ``python -m benchmarks.loadgen --port 8000``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import sys
import threading
import time
import typing as t

COOKIE_NAME = "session"
#: What each kind of request is.
REQUESTS = {
    "read": ("GET", "/read"),
    "change": ("POST", "/change"),
    "untouched": ("GET", "/untouched"),
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Window:
    """The measurement window, shared by the threads."""

    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.stop = threading.Event()
        self.lock = threading.Lock()
        #: Latencies (seconds) of the successful measured requests, by kind.
        self.latencies: dict[str, list[float]] = {kind: [] for kind in REQUESTS}
        #: Measured requests that failed: status >= 400 or an exception.
        self.errors: list[str] = []
        #: Logins that failed (before the window opens).
        self.login_errors: list[str] = []

    def measured(self) -> int:
        with self.lock:
            return sum(map(len, self.latencies.values())) + len(self.errors)

    def record(
        self, kind: str, started: float, ended: float, error: str | None
    ) -> None:
        if started < self.start or ended > self.end:
            return
        with self.lock:
            if error is None:
                self.latencies[kind].append(ended - started)
            else:
                self.errors.append(error)


class Browser:
    """One keep-alive connection and one session cookie."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.cookie: str | None = None
        self.connection = http.client.HTTPConnection(host, port, timeout=30)

    def request(self, method: str, path: str) -> int:
        """Send one request, keep the cookie it sets; the status code."""
        headers = {"Content-Length": "0"} if method == "POST" else {}
        if self.cookie is not None:
            headers["Cookie"] = f"{COOKIE_NAME}={self.cookie}"
        try:
            self.connection.request(method, path, headers=headers)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(
                self.host, self.port, timeout=30
            )
            raise
        for header in response.headers.get_all("Set-Cookie") or ():
            self._take_cookie(header)
        return response.status

    def _take_cookie(self, header: str) -> None:
        name, _, rest = header.partition("=")
        if name.strip() != COOKIE_NAME:
            return
        value, _, attributes = rest.partition(";")
        lowered = attributes.lower()
        if not value or "max-age=0" in lowered or "1970" in lowered:
            self.cookie = None
        else:
            self.cookie = value

    def close(self) -> None:
        self.connection.close()


def browse(
    host: str, port: int, mix: dict[str, int], seed: int, window: Window
) -> None:
    """One thread's loop: log in, then requests of the mix until stopped."""
    browser = Browser(host, port)
    rng = random.Random(seed)
    kinds = list(mix)
    weights = [mix[kind] for kind in kinds]
    try:
        try:
            status = browser.request("POST", "/login")
        except (OSError, http.client.HTTPException) as exc:
            status = 0
            reason = type(exc).__name__
        else:
            reason = f"HTTP {status}"
        if status != 200:
            with window.lock:
                window.login_errors.append(f"login: {reason}")
            return
        while not window.stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            method, path = REQUESTS[kind]
            error = None
            started = time.perf_counter()
            try:
                status = browser.request(method, path)
            except (OSError, http.client.HTTPException) as exc:
                error = f"{kind}: {type(exc).__name__}"
            else:
                if status >= 400:
                    error = f"{kind}: HTTP {status}"
            window.record(kind, started, time.perf_counter(), error)
    finally:
        browser.close()


def server_calls(counts_url: str | None) -> dict[str, int]:
    """The DynamoDB calls the server counted so far (none without a URL).

    :param counts_url: ``http://host:port/path`` of a counting dynalite.
    """
    if counts_url is None:
        return {}
    counts: dict[str, int] = get_json(counts_url)
    return counts


def get_json(url: str, timeout: float = 30) -> t.Any:
    """GET ``http://host:port/path`` and decode the JSON of its 200 answer."""
    address, _, path = url.removeprefix("http://").partition("/")
    host, _, port = address.partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", "/" + path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status}")
    return json.loads(body)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, from ``/proc``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy so far (not idle, not waiting on I/O)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: t.Sequence[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, t.Any]:
    """Run the workload; the figures of the measurement window."""
    mix = {kind: int(share) for kind, share in (p.split("=") for p in args.mix)}
    window = Window()
    threads = [
        threading.Thread(
            target=browse,
            args=(args.host, args.port, mix, args.seed + number, window),
            daemon=True,
        )
        for number in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    pids = {name: int(pid) for name, pid in (p.split("=") for p in args.cpu_pid)}
    calls_before = server_calls(args.counts_url)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    own_before = own_cpu_seconds()
    busy_before = machine_busy_seconds()
    window.start = time.perf_counter()
    deadline = window.start + args.duration
    while time.perf_counter() < deadline and window.measured() < args.max_requests:
        time.sleep(0.05)
    window.end = time.perf_counter()
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    own_after = own_cpu_seconds()
    busy_after = machine_busy_seconds()
    calls_after = server_calls(args.counts_url)
    window.stop.set()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = window.end - window.start
    latencies = sorted(x for values in window.latencies.values() for x in values)
    requests = len(latencies) + len(window.errors)
    calls = {
        op: count - calls_before.get(op, 0)
        for op, count in calls_after.items()
        if count - calls_before.get(op, 0)
    }
    cpu = {name: cpu_after[name] - cpu_before[name] for name in pids}
    cpu["load generator"] = own_after - own_before
    busy = busy_after - busy_before
    return {
        "threads": args.threads,
        "mix": mix,
        "seconds": elapsed,
        "requests": requests,
        "requests_by_kind": {k: len(v) for k, v in window.latencies.items()},
        "requests_per_second": requests / elapsed,
        "latency_ms": {
            "p50": percentile(latencies, 0.50) * 1000,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "max": (latencies[-1] if latencies else float("nan")) * 1000,
        },
        "errors": len(window.errors),
        "error_samples": sorted(set(window.errors))[:5],
        "login_errors": window.login_errors,
        "dynamodb_calls": calls,
        "dynamodb_calls_per_request": sum(calls.values()) / max(1, requests),
        "cpu_seconds": cpu,
        "cores": os.cpu_count(),
        "machine_busy_seconds": busy,
        #: CPU of the whole machine that went to none of the processes above.
        "other_processes_seconds": max(0.0, busy - sum(cpu.values())),
        "cpu_us_per_request": {
            name: seconds / max(1, requests) * 1e6 for name, seconds in cpu.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The mixed workload's load.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--counts-url",
        help="where a counting dynalite answers its call counts (JSON)",
    )
    parser.add_argument(
        "--mix",
        nargs="+",
        default=["read=60", "change=20", "untouched=20"],
        help="kind=share pairs",
    )
    parser.add_argument(
        "--cpu-pid",
        nargs="*",
        default=[],
        help="name=pid pairs whose CPU to report",
    )
    json.dump(run(parser.parse_args(argv)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
