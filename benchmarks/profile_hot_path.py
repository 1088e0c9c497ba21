"""Where the CPU of a read request goes, on each transport.

Run ``python benchmarks/profile_hot_path.py [--requests N] [--rounds N]``.
It starts dynalite (counting the calls it serves) and prints two things:

1. Without a profiler, CPU per operation (median of ``--rounds`` rounds of
   ``--requests`` each, the subjects taking turns): one ``GetItem`` sent
   straight through the store's item client (the transport alone), one
   ``store.items.load(sid)`` (the call as the request path makes it: the key's
   hash, the call, the signal check, the item's decoding), and one whole
   read request through Flask's test client, for ``transport="auto"``,
   ``transport="boto3"`` and Flask's cookie session; then the read overhead
   (a read's CPU above the cookie session's) split into those layers; then
   the parts of one lean ``GetItem`` (encoding, signing, the HTTP exchange
   beside a bare socket round trip of the same bytes, the answer's
   checksum and parsing); then the package's own steps outside the call
   (the cookie's signature, decoding, finding the changes, encoding)
   beside what the cookie session does with its cookie.
2. cProfile of the read requests (CPU-time clock), for each transport: the
   CPU per request split by area, the functions with the most time of their
   own, and this package's functions by cumulative time. The profiler slows
   small Python functions down far more than C code (by three to five times
   here): read the shares, not the absolute figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import socket
import statistics
import sys
import time
import typing as t
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import apps, scenarios
from benchmarks.dynalite import CallCounter, CountingDynalite, local_environment

if t.TYPE_CHECKING:
    from flask_dynamodb_session.store import SessionStore

PACKAGE = "/flask_dynamodb_session/"
#: Entry points of one DynamoDB call: (file suffix, function).
CALLS = (
    ("botocore/client.py", "_make_api_call"),
    ("flask_dynamodb_session/lean_transport/client.py", "call"),
)
#: The package's entry points on a read request (none nests in another).
ENTRIES = (
    ("flask_dynamodb_session/interface.py", "open_session"),
    ("flask_dynamodb_session/interface.py", "save_session"),
    ("flask_dynamodb_session/session.py", "_load"),
)
#: The store's read, from the key to the decoded record.
STORE_LOAD = ("flask_dynamodb_session/session_items.py", "load")

Raw = dict[tuple[str, int, str], tuple[int, int, float, float, object]]


def _store(subject: apps.Subject) -> SessionStore:
    interface = subject.app.session_interface
    return interface.store_for(subject.app)  # type: ignore[attr-defined,no-any-return]


def _sid(subject: apps.Subject) -> str:
    """The id of a session stored by logging in through ``subject``."""
    client = subject.app.test_client()
    client.post("/login")
    cookie = client.get_cookie(scenarios.COOKIE_NAME)
    assert cookie is not None
    signer = subject.app.session_interface.get_signer(subject.app)  # type: ignore[attr-defined]
    return str(signer.unsign(cookie.value).decode("ascii"))


def _cpu_per_call(function: t.Callable[[], object], requests: int) -> float:
    """Microseconds of process CPU per call of ``function``."""
    start = time.process_time_ns()
    for _ in range(requests):
        function()
    return (time.process_time_ns() - start) / requests / 1000


def layers(
    subjects: dict[str, apps.Subject],
    counter: CallCounter,
    requests: int,
    rounds: int,
) -> dict[str, dict[str, float]]:
    """Median CPU (us) per operation of each layer, per subject."""
    blocks = scenarios.ReadBlocks(subjects, counter, chunk=250)
    operations: dict[str, dict[str, t.Callable[[], object]]] = {}
    for name, subject in subjects.items():
        if name == "cookie":
            continue
        store = _store(subject)
        sid = _sid(subject)
        key = {"id": {"S": store.key(sid)}}
        client = store.gateway.item_client

        def get_item(
            client: t.Any = client, table: str = store.table, key: t.Any = key
        ) -> object:
            return client.get_item(TableName=table, Key=key, ConsistentRead=True)

        def load(store: SessionStore = store, sid: str = sid) -> object:
            return store.items.load(sid)

        operations[name] = {"GetItem, item client": get_item, "store.load": load}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in subjects}
    for number in range(rounds + 1):  # the first round warms up
        for name in [*subjects][number % len(subjects) :] + [*subjects][
            : number % len(subjects)
        ]:
            for label, function in operations.get(name, {}).items():
                value = _cpu_per_call(function, requests)
                if number:
                    samples[name].setdefault(label, []).append(value)
        for name, figures in blocks.measure_round(requests).items():
            if number:
                samples[name].setdefault("read request", []).append(figures["cpu_us"])
    return {
        name: {label: statistics.median(values) for label, values in found.items()}
        for name, found in samples.items()
    }


def _raw_round_trip(endpoint: tuple[str, int], request: bytes) -> t.Callable[[], None]:
    """One request's bytes over a socket of its own, the answer read by
    ``Content-Length`` alone: the floor any HTTP client pays."""
    sock = socket.create_connection(endpoint)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def round_trip() -> None:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        found = re.search(rb"(?i)content-length:\s*(\d+)", head)
        length = int(found.group(1)) if found else 0
        while len(body) < length:
            body += sock.recv(65536)

    return round_trip


def lean_parts(subject: apps.Subject, requests: int, rounds: int) -> dict[str, float]:
    """Median CPU (us) of the parts of one lean GetItem.

    Reaches into the transport's internals (a profiling tool may): if they
    changed, this raises ``AttributeError`` or ``KeyError``.
    """
    from flask_dynamodb_session.lean_transport import answers
    from flask_dynamodb_session.lean_transport import client as transport

    store = _store(subject)
    lean: t.Any = store.gateway.item_client
    params = {
        "TableName": store.table,
        "Key": {"id": {"S": store.key(_sid(subject))}},
        "ConsistentRead": True,
    }
    _, target, head, members = lean._operations["GetItem"]
    body = transport._encode(params).encode()
    request = lean._request(head, target, body)
    response = lean.pool.request(request)

    def in_sequence() -> object:
        request = lean._request(head, target, transport._encode(params).encode())
        response = lean.pool.request(request)
        answers.crc32_ok(response)
        return answers.parse_success(response, members)

    parts: dict[str, t.Callable[[], object]] = {
        "the whole call (get_item)": lambda: lean.get_item(**params),
        "the parts below, in sequence": in_sequence,
        "encode the parameters": lambda: transport._encode(params).encode(),
        "sign, build the request bytes": lambda: lean._request(head, target, body),
        "send, receive, parse HTTP": lambda: lean.pool.request(request),
        "  of which the socket floor": _raw_round_trip(
            (lean.pool.host, lean.pool.port), request
        ),
        "check x-amz-crc32": lambda: answers.crc32_ok(response),
        "parse the JSON answer": lambda: answers.parse_success(response, members),
    }
    return _medians(parts, requests, rounds)


def _medians(
    parts: dict[str, t.Callable[[], object]], requests: int, rounds: int
) -> dict[str, float]:
    """Median CPU (us) per call of each part, over ``rounds`` rounds of
    ``requests`` calls (after one round to warm up), the parts taking turns."""
    samples: dict[str, list[float]] = {label: [] for label in parts}
    for number in range(rounds + 1):
        for label, function in parts.items():
            value = _cpu_per_call(function, requests)
            if number:
                samples[label].append(value)
    return {label: statistics.median(values) for label, values in samples.items()}


def package_parts(
    subject: apps.Subject, requests: int, rounds: int
) -> dict[str, float]:
    """Median CPU (us) of this package's own steps of a request, beside the
    cookie session's, for the benchmark's session."""
    from flask import request
    from flask.sessions import SecureCookieSessionInterface

    from flask_dynamodb_session import serialization

    app = subject.app
    interface: t.Any = app.session_interface
    signer = interface.get_signer(app)
    sid = _sid(subject)
    cookie = signer.sign(sid)
    payload = serialization.encode(apps.SAMPLE)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    cookie_session = serializer.dumps(apps.SAMPLE)
    header = f"{scenarios.COOKIE_NAME}={cookie.decode()}"
    with app.test_request_context(headers={"Cookie": header}):
        session = interface.open_session(app, request)
        session.get("user_id")  # one GetItem: the session is loaded
        parts: dict[str, t.Callable[[], object]] = {
            "check the cookie's signature": lambda: signer.unsign(cookie),
            "decode the stored session": lambda: serialization.decode(payload),
            "find the changes at save": session.changes,
            "encode the session (a write)": lambda: serialization.encode(apps.SAMPLE),
            "sign the cookie (a write)": lambda: signer.sign(sid),
            "cookie session: read its cookie": lambda: serializer.loads(cookie_session),
            "cookie session: write its cookie": lambda: serializer.dumps(apps.SAMPLE),
        }
        return _medians(parts, requests, rounds)


def print_layers(figures: dict[str, dict[str, float]], requests: int) -> None:
    print(f"== CPU per operation, us (median of rounds of {requests:,}) ==")
    for name, found in figures.items():
        print(f"  {apps.TITLES[name]}")
        for label, value in found.items():
            print(f"    {label:24} {value:8.1f}")
    cookie = figures["cookie"]["read request"]
    print("  read overhead above the cookie session's, split by layer:")
    for name in ("auto", "boto3"):
        found = figures[name]
        overhead = found["read request"] - cookie
        call = found["GetItem, item client"]
        load = found["store.load"]
        print(
            f"    {apps.SHORT_TITLES[name]:8} {overhead:7.1f} us ="
            f" the call {call:.1f} + the rest of store.load {load - call:.1f}"
            f" + the rest of the request {overhead - load:.1f}"
        )


def _find(raw: Raw, where: tuple[str, str]) -> list[tuple[str, int, str]]:
    return [key for key in raw if key[0].endswith(where[0]) and key[2] == where[1]]


def _cumulative(raw: Raw, *places: tuple[str, str]) -> float:
    return sum(raw[key][3] for place in places for key in _find(raw, place))


def split(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of CPU of the profiled requests, by area.

    - the DynamoDB call: everything under botocore's ``_make_api_call`` or
      the lean client's ``call``;
    - the store around the call: the rest of ``ItemStore.load`` (the key's
      hash, the ``_call`` wrapper, decoding the item);
    - the rest of the package's request path: the rest of ``open_session``
      (cookie signature), ``save_session`` and the session's ``_load``;
    - Flask, Werkzeug, the test client: everything else.
    """
    raw: Raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    call = _cumulative(raw, *CALLS)
    load = _cumulative(raw, STORE_LOAD)
    package = _cumulative(raw, *ENTRIES)
    return {
        "the DynamoDB call (transport)": call,
        "the store around the call": load - call,
        "the rest of the package's request path": package - load,
        "Flask, Werkzeug, test client, the rest": total - package,
    }


def profile(subject: apps.Subject, requests: int) -> pstats.Stats:
    """cProfile of ``requests`` read requests (their before-steps excluded)."""
    scenario = scenarios.BY_NAME["read"]
    change = scenarios.BY_NAME["change"].request
    browser = scenarios.Browser(subject.app.test_client())
    for step in scenario.setup:
        step(browser)
    profiler = cProfile.Profile(time.process_time)
    for number in range(requests + 20):
        if number % 200 == 0:
            change(browser)  # keeps the reads within touch_after
        if number >= 20:
            profiler.enable()
        scenario.request(browser)
        profiler.disable()
    return pstats.Stats(profiler)


def report(stats: pstats.Stats, requests: int, limit: int) -> str:
    """CPU per request by area, then the heaviest functions."""
    areas = split(stats)
    total = sum(areas.values())
    lines = [f"CPU per request under the profiler: {total / requests * 1e6:.0f} us"]
    for area, seconds in areas.items():
        lines.append(
            f"  {area:42} {seconds / requests * 1e6:7.0f} us {seconds / total:6.1%}"
        )
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(limit)
    out.write("\nThis package, by cumulative time:\n")
    stats.sort_stats("cumulative").print_stats(PACKAGE, limit)
    return "\n".join(lines) + "\n" + out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile-requests", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args(argv)
    os.environ.update(local_environment())
    names = ("auto", "boto3", "cookie")
    with CountingDynalite() as dynalite:
        for name in names:
            if name in apps.TABLES:
                dynalite.create_table(apps.TABLES[name])
        counter = CallCounter(dynalite.counts_url)
        subjects = {
            name: apps.build_subject(name, dynalite.endpoint_url) for name in names
        }
        try:
            print_layers(
                layers(subjects, counter, args.requests, args.rounds), args.requests
            )
            for title, parts in (
                ("the parts of one lean GetItem", lean_parts),
                ("this package's own steps", package_parts),
            ):
                print(f"\n== {title}, us (median of rounds of {args.requests:,}) ==")
                measured = parts(subjects["auto"], args.requests, args.rounds)
                for label, value in measured.items():
                    print(f"  {label:32} {value:8.1f}")
            for name in names:
                stats = profile(subjects[name], args.profile_requests)
                print(
                    f"\n==== read requests, {apps.TITLES[name]},"
                    f" {args.profile_requests:,} requests ===="
                )
                print(report(stats, args.profile_requests, args.limit))
        finally:
            for subject in subjects.values():
                subject.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
