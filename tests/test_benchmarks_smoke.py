"""Smoke test of the benchmark: its call counting, for this package only.

Runs every scenario of ``benchmarks/scenarios.py`` against dynalite and checks
the DynamoDB calls of each request against SPEC section 5. No timing, and no
Flask-Session (not a test dependency).
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import apps, scenarios  # noqa: E402
from benchmarks.dynalite import Dynalite, local_environment  # noqa: E402

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.server

#: SPEC section 5: the calls of one request of each scenario.
EXPECTED: dict[str, dict[str, int]] = {
    "untouched_no_cookie": {},
    "untouched_cookie": {},
    "static": {},
    "tampered": {},
    "read": {"GetItem": 1},
    "change": {"GetItem": 1, "UpdateItem": 1},
    "repeated_read": {"GetItem": 1},
}


@pytest.fixture(scope="module")
def ours() -> Iterator[apps.Subject]:
    """This package's benchmark app, on a dynalite of its own.

    Module-scoped, so the dummy credentials are set here: the client is
    built before any function-scoped fixture runs.
    """
    with pytest.MonkeyPatch.context() as env, Dynalite() as dynalite:
        for name, value in local_environment().items():
            env.setenv(name, value)
        dynalite.create_table(apps.TABLES["ours"])
        subject = apps.build_subject("ours", dynalite.endpoint_url)
        try:
            yield subject
        finally:
            subject.close()


def test_every_scenario_has_a_budget() -> None:
    assert {s.name for s in scenarios.SCENARIOS} == set(EXPECTED) | {"clear"}
    assert set(scenarios.BUDGET) == {s.name for s in scenarios.SCENARIOS}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_calls_per_request(ours: apps.Subject, name: str) -> None:
    counts = scenarios.count_calls(ours, scenarios.BY_NAME[name], iterations=2)
    assert counts == [EXPECTED[name]] * 2
    assert all(scenarios.within_budget(name, c) for c in counts)


def test_clear_deletes_with_at_most_one_read(ours: apps.Subject) -> None:
    counts = scenarios.count_calls(ours, scenarios.BY_NAME["clear"], iterations=2)
    for calls in counts:
        assert calls.get("DeleteItem") == 1
        assert calls.get("GetItem", 0) <= 1
        assert set(calls) <= {"GetItem", "DeleteItem"}
        assert scenarios.within_budget("clear", calls)


def test_budget_check_refuses_extra_calls() -> None:
    assert not scenarios.within_budget("untouched_cookie", {"GetItem": 1})
    assert not scenarios.within_budget("read", {"GetItem": 1, "UpdateItem": 1})
    assert not scenarios.within_budget("change", {"GetItem": 1, "PutItem": 2})
    assert not scenarios.within_budget("clear", {"GetItem": 2, "DeleteItem": 1})
    assert scenarios.within_budget("change", {"GetItem": 1, "PutItem": 1})
