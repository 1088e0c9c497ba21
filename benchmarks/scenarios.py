"""The per-request scenarios: DynamoDB calls and client CPU of one request.

A scenario puts a browser (Flask's test client) in some state, then makes
the one request that is measured. Its DynamoDB calls are counted by the
server (:class:`~benchmarks.dynalite.CallCounter`), so the calls of every
client are seen alike; its CPU is the time the Python process spends on it
(:func:`time.process_time_ns`: the wait for dynalite, a separate process,
does not count).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
import typing as t

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

    from .apps import Subject
    from .dynalite import CallCounter

COOKIE_NAME = "session"


class Browser:
    """A test client that keeps cookies, plus what a scenario remembers."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        #: The tampered cookie value of the ``tampered`` scenario.
        self.tampered: str | None = None

    def request(self, method: str, path: str) -> None:
        """Make a request; anything but a 200 fails the benchmark."""
        response = self.client.open(path, method=method)
        try:
            if response.status_code != 200:
                raise RuntimeError(
                    f"{method} {path} answered {response.status}:"
                    f" {response.get_data(as_text=True)[:200]}"
                )
        finally:
            response.close()

    @property
    def cookie(self) -> str | None:
        cookie = self.client.get_cookie(COOKIE_NAME)
        return None if cookie is None else cookie.value

    def set_cookie(self, value: str) -> None:
        self.client.set_cookie(COOKIE_NAME, value)

    def drop_cookie(self) -> None:
        self.client.delete_cookie(COOKIE_NAME)


Step = t.Callable[[Browser], None]


def _get(path: str) -> Step:
    def step(browser: Browser) -> None:
        browser.request("GET", path)

    step.__name__ = f"GET {path}"
    return step


def _post(path: str) -> Step:
    def step(browser: Browser) -> None:
        browser.request("POST", path)

    step.__name__ = f"POST {path}"
    return step


def _drop_cookie(browser: Browser) -> None:
    browser.drop_cookie()


def _tamper(browser: Browser) -> None:
    """Remember the valid cookie with one character of its payload changed."""
    value = browser.cookie
    assert value is not None, "the session cookie is missing"
    position = 10
    replacement = "x" if value[position] != "x" else "y"
    browser.tampered = value[:position] + replacement + value[position + 1 :]


def _send_tampered(browser: Browser) -> None:
    assert browser.tampered is not None
    browser.set_cookie(browser.tampered)


_login = _post("/login")
_change = _post("/change")
_read = _get("/read")


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One kind of request, and the state of the browser before it."""

    name: str
    #: How the results call it.
    title: str
    #: The request that is measured.
    request: Step
    #: Run once, before the first iteration.
    setup: tuple[Step, ...] = ()
    #: Run before every measured request, not measured.
    before: tuple[Step, ...] = ()


SCENARIOS = (
    Scenario(
        "untouched_no_cookie",
        "untouched route, no cookie",
        _get("/untouched"),
        before=(_drop_cookie,),
    ),
    Scenario(
        "untouched_cookie",
        "untouched route, with cookie",
        _get("/untouched"),
        setup=(_login,),
    ),
    Scenario(
        "static",
        "static file, with cookie",
        _get("/static/bench.css"),
        setup=(_login,),
    ),
    Scenario(
        "tampered",
        "tampered cookie, route reads",
        _read,
        setup=(_login, _tamper),
        before=(_send_tampered,),
    ),
    Scenario("new_session", "new session (login)", _login, before=(_drop_cookie,)),
    Scenario("read", "read", _read, setup=(_login,), before=(_change,)),
    Scenario("change", "change", _change, setup=(_login,)),
    Scenario(
        "repeated_read",
        "read again within touch_after",
        _read,
        setup=(_login,),
        before=(_change, _read),
    ),
    Scenario("clear", "clear()", _post("/clear"), before=(_login,)),
)
#: The scenarios by name.
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

#: The target of DynamoDB calls per request (the fewest that can do the
#: job), per scenario, as text.
BUDGET = {
    "untouched_no_cookie": "0",
    "untouched_cookie": "0",
    "static": "0",
    "tampered": "0",
    "new_session": "1 write",
    "read": "1 GetItem",
    "change": "1 GetItem + 1 write",
    "repeated_read": "1 GetItem, no write",
    "clear": "at most 1 GetItem + 1 DeleteItem",
}
WRITES = frozenset({"PutItem", "UpdateItem"})


def within_budget(scenario: str, counts: t.Mapping[str, int]) -> bool:
    """Whether one request's calls are within the scenario's target.

    ``clear()`` of a stored session must delete it (one DeleteItem) and may
    read it first (at most one GetItem).
    """
    calls = {operation: count for operation, count in counts.items() if count}
    if BUDGET[scenario] == "0":
        return not calls
    if scenario == "new_session":
        return set(calls) <= WRITES and sum(calls.values()) == 1
    if scenario in ("read", "repeated_read"):
        return calls == {"GetItem": 1}
    if scenario == "change":
        writes = sum(calls.get(operation, 0) for operation in WRITES)
        return calls.get("GetItem") == 1 and writes == 1 and len(calls) == 2
    if scenario == "clear":
        return (
            calls.get("DeleteItem") == 1
            and calls.get("GetItem", 0) <= 1
            and set(calls) <= {"GetItem", "DeleteItem"}
        )
    raise ValueError(f"no budget for scenario {scenario!r}")


def prepare(subject: Subject, scenario: Scenario) -> Browser:
    """A browser of ``subject`` in the state ``scenario`` starts from."""
    browser = Browser(subject.app.test_client())
    for step in scenario.setup:
        step(browser)
    return browser


def count_calls(
    subject: Subject, scenario: Scenario, counter: CallCounter, iterations: int = 3
) -> list[dict[str, int]]:
    """The DynamoDB calls of each measured request, by operation.

    :param counter: the server's call counter.
    :param iterations: how many times the scenario is repeated.
    """
    browser = prepare(subject, scenario)
    counts = []
    for _ in range(iterations):
        for step in scenario.before:
            step(browser)
        counter.take()
        scenario.request(browser)
        counts.append(counter.take())
    return counts


@dataclasses.dataclass
class CpuSamples:
    """Client CPU and wall time of measured requests, in nanoseconds."""

    cpu_ns: list[int] = dataclasses.field(default_factory=list)
    wall_ns: list[int] = dataclasses.field(default_factory=list)
    #: DynamoDB calls the measured requests made.
    calls: int = 0

    def add(self, cpu_ns: int, wall_ns: int, calls: int) -> None:
        self.cpu_ns.append(cpu_ns)
        self.wall_ns.append(wall_ns)
        self.calls += calls

    def summary(self) -> dict[str, t.Any]:
        """Mean, median and 90th percentile CPU, median wall time (in us)."""
        count = len(self.cpu_ns)
        return {
            "iterations": count,
            "cpu_us_mean": statistics.fmean(self.cpu_ns) / 1000,
            "cpu_us_median": statistics.median(self.cpu_ns) / 1000,
            "cpu_us_p90": _percentile(self.cpu_ns, 0.90) / 1000,
            "wall_us_median": statistics.median(self.wall_ns) / 1000,
            "calls_per_request": self.calls / count,
        }


def measure_cpu(
    subjects: t.Mapping[str, Subject],
    scenario: Scenario,
    counter: CallCounter,
    iterations: int,
    warmup: int,
) -> dict[str, CpuSamples]:
    """Time the measured request of ``scenario`` for each subject, one by one.

    The subjects take turns request by request (in a rotating order), so
    that whatever else the machine does at a given moment weighs on all of
    them alike. Only the measured request is timed, each one on its own,
    after ``warmup`` untimed rounds; its calls are counted by the server.

    :return: the samples of each subject.
    """
    names = list(subjects)
    browsers = {name: prepare(subjects[name], scenario) for name in names}
    samples = {name: CpuSamples() for name in names}
    for round_ in range(warmup + iterations):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            cpu_ns, wall_ns = _timed(scenario, browsers[name], counter)
            calls = sum(counter.take().values())
            if round_ >= warmup:
                samples[name].add(cpu_ns, wall_ns, calls)
    return samples


def _timed(
    scenario: Scenario, browser: Browser, counter: CallCounter
) -> tuple[int, int]:
    """CPU and wall nanoseconds of one measured request."""
    for step in scenario.before:
        step(browser)
    counter.take()
    wall_start = time.perf_counter_ns()
    cpu_start = time.process_time_ns()
    scenario.request(browser)
    cpu_end = time.process_time_ns()
    wall_end = time.perf_counter_ns()
    return cpu_end - cpu_start, wall_end - wall_start


def _percentile(values: t.Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class ReadBlocks:
    """Many read requests per subject, timed in chunks: the read overhead.

    A read costs a few hundred microseconds of CPU; the session's own part of
    it (the read's CPU above the cookie session's) is a small difference of
    two larger figures, so it is measured over thousands of requests with
    one reading of the process CPU clock around each chunk of reads. The
    subjects take turns chunk by chunk (in a rotating order), so that load
    from other processes, which comes and goes within seconds, weighs on
    all of them alike. Before each chunk the browser changes its session
    (not timed), so that every read of the chunk comes within
    ``touch_after`` of the last write and makes exactly one GetItem; the
    server's count of the chunks' calls is kept, to show it.

    :param subjects: the subjects, each with a browser logged in once.
    :param counter: the server's call counter.
    :param chunk: reads per chunk (a chunk must take less than
        ``touch_after``, 10 s: a few hundred reads take under a second).
    """

    def __init__(
        self, subjects: t.Mapping[str, Subject], counter: CallCounter, chunk: int
    ) -> None:
        self.subjects = subjects
        self.counter = counter
        self.chunk = chunk
        self.browsers = {
            name: prepare(subject, BY_NAME["read"])
            for name, subject in subjects.items()
        }

    def measure_round(self, requests: int) -> dict[str, dict[str, t.Any]]:
        """``requests`` reads of every subject, taking turns chunk by chunk.

        :return: for each subject, ``cpu_us`` and ``wall_us`` per request,
            and ``calls``: the calls of all its reads, by operation.
        """
        names = list(self.subjects)
        totals = {name: [0, 0] for name in names}
        calls: dict[str, dict[str, int]] = {name: {} for name in names}
        done = 0
        while done < requests:
            size = min(self.chunk, requests - done)
            shift = (done // self.chunk) % len(names)
            for name in names[shift:] + names[:shift]:
                cpu_ns, wall_ns, chunk_calls = self._chunk(name, size)
                totals[name][0] += cpu_ns
                totals[name][1] += wall_ns
                for operation, count in chunk_calls.items():
                    calls[name][operation] = calls[name].get(operation, 0) + count
            done += size
        return {
            name: {
                "requests": requests,
                "cpu_us": totals[name][0] / requests / 1000,
                "wall_us": totals[name][1] / requests / 1000,
                "calls": calls[name],
            }
            for name in names
        }

    def _chunk(self, name: str, size: int) -> tuple[int, int, dict[str, int]]:
        """CPU and wall nanoseconds, and the calls, of ``size`` reads."""
        browser = self.browsers[name]
        _change(browser)
        self.counter.take()
        wall_start = time.perf_counter_ns()
        cpu_start = time.process_time_ns()
        for _ in range(size):
            _read(browser)
        cpu_ns = time.process_time_ns() - cpu_start
        wall_ns = time.perf_counter_ns() - wall_start
        return cpu_ns, wall_ns, self.counter.take()
