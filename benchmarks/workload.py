"""The mixed workload: gunicorn serving one subject, loaded by another process.

gunicorn runs 2 workers with gthread threads on ``127.0.0.1`` (the settings
are in ``gunicorn_conf.py``); :mod:`benchmarks.loadgen` runs as its own
process and reports throughput, latency, errors, the DynamoDB calls
dynalite served in the window (counted by the server, whatever client made
them), and the CPU of the workers, of dynalite and of itself.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

from .dynalite import HOST, REPO_ROOT, free_port, local_environment

CONFIG = Path(__file__).resolve().parent / "gunicorn_conf.py"
#: gunicorn's worker count (``gunicorn_conf.py``).
WORKERS = 2


class Gunicorn:
    """gunicorn serving one subject's app; a context manager."""

    def __init__(self, subject: str, endpoint_url: str, threads: int) -> None:
        self.subject = subject
        self.port = free_port()
        env = {
            **os.environ,
            **local_environment(),
            "PYTHONPATH": os.pathsep.join(
                filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH")))
            ),
            "BENCH_SUBJECT": subject,
            "BENCH_ENDPOINT_URL": endpoint_url,
            "BENCH_BIND": f"{HOST}:{self.port}",
            "BENCH_THREADS": str(threads),
        }
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(CONFIG),
            "benchmarks.apps:app_from_environment()",
        ]
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self._process = subprocess.Popen(
            self.command, env=self._env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the workers (children of the master)."""
        assert self._process is not None
        return children(self._process.pid)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self._process.returncode}")
            if len(self.worker_pids) == WORKERS and self._answers():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within {timeout:g} s")
            time.sleep(0.1)

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            connection.request("GET", "/untouched")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()


def children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid``, from ``/proc``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text("ascii")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def run_workload(
    subject: str,
    endpoint_url: str,
    counts_url: str,
    dynalite_pid: int,
    *,
    threads: int,
    server_threads: int,
    warmup: float,
    duration: float,
    max_requests: int,
    seed: int = 1,
) -> dict[str, t.Any]:
    """Serve ``subject`` with gunicorn and load it; the load generator's figures."""
    with Gunicorn(subject, endpoint_url, server_threads) as server:
        pids = [f"worker {n + 1}={pid}" for n, pid in enumerate(server.worker_pids)]
        command = [
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            "--port",
            str(server.port),
            "--threads",
            str(threads),
            "--warmup",
            str(warmup),
            "--duration",
            str(duration),
            "--max-requests",
            str(max_requests),
            "--seed",
            str(seed),
            "--counts-url",
            counts_url,
            "--cpu-pid",
            *pids,
            f"dynalite={dynalite_pid}",
        ]
        completed = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
            check=True,
            timeout=warmup + duration + 120,
        )
    figures: dict[str, t.Any] = json.loads(completed.stdout)
    figures["server_threads"] = server_threads
    cpu = figures["cpu_us_per_request"]
    cpu["workers"] = sum(v for k, v in cpu.items() if k.startswith("worker "))
    return figures
