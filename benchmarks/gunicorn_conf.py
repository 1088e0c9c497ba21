"""gunicorn settings of the mixed workload: 2 workers, gthread, loopback.

``BENCH_BIND`` and ``BENCH_THREADS`` come from :mod:`benchmarks.workload`.
"""

from __future__ import annotations

import os

bind = os.environ.get("BENCH_BIND", "127.0.0.1:8000")
workers = 2
worker_class = "gthread"
threads = int(os.environ.get("BENCH_THREADS", "4"))
keepalive = 30
timeout = 60
graceful_timeout = 5
accesslog = None
errorlog = "-"
loglevel = "warning"
