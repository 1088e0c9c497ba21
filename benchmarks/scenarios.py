"""The per-request scenarios: DynamoDB calls and client CPU of one request.

A scenario puts a browser (Flask's test client) in some state, then makes
the one request that is measured. Its calls are counted with the subject's
:class:`~benchmarks.apps.CallCounter`; its CPU is the time the Python
process spends on it (:func:`time.process_time_ns`: the wait for dynalite,
a separate process, does not count).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
import typing as t

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

    from .apps import Subject

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

#: SPEC section 5's budget of DynamoDB calls, per scenario, as text.
BUDGET = {
    "untouched_no_cookie": "0",
    "untouched_cookie": "0",
    "static": "0",
    "tampered": "0",
    "read": "1 GetItem",
    "change": "1 GetItem + 1 write",
    "repeated_read": "1 GetItem, no write",
    "clear": "at most 1 GetItem + 1 DeleteItem",
}
WRITES = frozenset({"PutItem", "UpdateItem"})


def within_budget(scenario: str, counts: t.Mapping[str, int]) -> bool:
    """Whether one request's calls are those SPEC section 5 allows.

    ``clear()`` of a stored session must delete it (one DeleteItem) and may
    read it first (at most one GetItem).
    """
    calls = {operation: count for operation, count in counts.items() if count}
    if BUDGET[scenario] == "0":
        return not calls
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


def _prepare(subject: Subject, scenario: Scenario) -> Browser:
    browser = Browser(subject.app.test_client())
    for step in scenario.setup:
        step(browser)
    return browser


def count_calls(
    subject: Subject, scenario: Scenario, iterations: int = 3
) -> list[dict[str, int]]:
    """The DynamoDB calls of each measured request, by operation.

    :param iterations: how many times the scenario is repeated.
    """
    browser = _prepare(subject, scenario)
    counts = []
    for _ in range(iterations):
        for step in scenario.before:
            step(browser)
        subject.counter.take()
        scenario.request(browser)
        counts.append(subject.counter.take())
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

    def summary(self, blocks: int = 1) -> dict[str, t.Any]:
        """Mean, median and 90th percentile CPU, median wall time (in us).

        :param blocks: also give the median CPU of this many consecutive
            blocks of requests, a measure of the noise.
        """
        count = len(self.cpu_ns)
        size = max(1, count // blocks)
        block_medians = [
            statistics.median(self.cpu_ns[start : start + size]) / 1000
            for start in range(0, size * blocks, size)
            if self.cpu_ns[start : start + size]
        ]
        return {
            "iterations": count,
            "cpu_us_mean": statistics.fmean(self.cpu_ns) / 1000,
            "cpu_us_median": statistics.median(self.cpu_ns) / 1000,
            "cpu_us_p90": _percentile(self.cpu_ns, 0.90) / 1000,
            "cpu_us_block_medians": block_medians,
            "wall_us_median": statistics.median(self.wall_ns) / 1000,
            "calls_per_request": self.calls / count,
        }


def measure_cpu(
    subjects: t.Mapping[str, Subject],
    scenario: Scenario,
    iterations: int,
    warmup: int,
) -> dict[str, CpuSamples]:
    """Time the measured request of ``scenario`` for each subject.

    The subjects take turns request by request (in a rotating order), so
    that whatever else the machine does at a given moment weighs on all of
    them alike. Only the measured request is timed, each one on its own,
    after ``warmup`` untimed rounds.

    :return: the samples of each subject.
    """
    names = list(subjects)
    browsers = {name: _prepare(subjects[name], scenario) for name in names}
    samples = {name: CpuSamples() for name in names}
    for round_ in range(warmup + iterations):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            cpu_ns, wall_ns, calls = _timed(subjects[name], scenario, browsers[name])
            if round_ >= warmup:
                samples[name].add(cpu_ns, wall_ns, calls)
    return samples


def _timed(
    subject: Subject, scenario: Scenario, browser: Browser
) -> tuple[int, int, int]:
    """CPU and wall nanoseconds, and DynamoDB calls, of one measured request."""
    for step in scenario.before:
        step(browser)
    subject.counter.take()
    wall_start = time.perf_counter_ns()
    cpu_start = time.process_time_ns()
    scenario.request(browser)
    cpu_end = time.process_time_ns()
    wall_end = time.perf_counter_ns()
    calls = sum(subject.counter.take().values())
    return cpu_end - cpu_start, wall_end - wall_start, calls


def _percentile(values: t.Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
