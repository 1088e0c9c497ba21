"""The project's own checks that cost nothing: CI's steps, the typing marker.

Lint and type checks are CI steps of their own (``.ci/run``), not tests.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ci_steps() -> list[str]:
    """The commands of ``.ci/run``, without comments and blank lines."""
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readme_test_line_last() -> None:
    steps = ci_steps()
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    assert steps[-1] == ".venv/bin/python -m pytest"
    assert steps[-1] in readme


def test_ci_lints_and_checks_types_before_the_tests() -> None:
    steps = ci_steps()
    checks = [
        ".venv/bin/python -m ruff check .",
        ".venv/bin/python -m ruff format --check .",
        ".venv/bin/python -m mypy",
    ]
    assert [step for step in steps if step in checks] == checks
    assert steps.index(checks[-1]) < len(steps) - 1


def test_the_test_line_measures_branch_coverage() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    (addopts,) = [line.split() for line in pyproject if line.startswith("addopts")]
    assert "--cov=flask_dynamodb_session" in addopts
    assert "--cov-branch" in addopts


def test_package_is_typed() -> None:
    assert (ROOT / "flask_dynamodb_session" / "py.typed").exists()


def test_a_built_distribution_holds_every_subpackage() -> None:
    """An installed package imports: every directory of the package with an
    ``__init__.py`` (the lean transport's too) is one the build includes."""
    from setuptools import find_packages
    from setuptools.config.setupcfg import read_configuration

    options = read_configuration(ROOT / "setup.cfg")["options"]
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "flask_dynamodb_session").rglob("__init__.py")
    }
    found = set(options["packages"])
    assert "flask_dynamodb_session.lean_transport" in on_disk
    assert on_disk <= found
    assert found <= set(find_packages(str(ROOT)))
