"""Every code example of the documentation runs, as written.

The examples are the code blocks of ``docs/*.rst`` and ``README.rst``. What
each kind of block is, and how it is checked:

``.. code-block:: python``
    The Python blocks of a page run in order, in one namespace per page (as
    if the page were one module named ``docs_example_<page>``), inside
    moto's ``mock_aws``, with a temporary directory as the working
    directory and this environment: ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY`` set to dummy values, ``AWS_DEFAULT_REGION``
    ``us-east-1``, and ``SECRET_KEY`` set. A block shows a result with
    ``assert``, which checks it.
``.. code-block:: console``
    A transcript of ``flask dynamo-session`` commands: each ``$ flask ...``
    line runs, at its place among the page's Python blocks, through Flask's
    CLI runner on the page's ``app`` (the Flask app its Python blocks have
    bound to ``app`` so far; else a new app with ``DynamoDBSession`` and its
    defaults). ``--app NAME`` is left out. The lines up to the next ``$``
    are the command's output, exactly, except that ``...`` stands for any
    text; the exit status must be 1 if the output has an ``Error:`` line,
    else 0. A console block holds nothing else.
``.. code-block:: json``
    Parses as JSON.

Other blocks (``sh``, ``text``, ``javascript``...) are commands to type,
output or other languages, and are not run. Python code is never written
in any other way (a ``::`` literal block, ``.. code::``, ``pycon``...), so
that none escapes these tests.

A page asks for a setting up with an rst comment of its own, anywhere on
the page (it renders as nothing):

``.. example-setup: table``
    A ``sessions`` table (on demand, with TTL and the ``uid-index`` of
    users' sessions) exists in the mock before the page's first block runs.
``.. example-setup: pytest``
    The page's Python blocks are one test module: they are written, in
    order, to a file that pytest runs in a new process whose environment
    has no AWS setting and no ``SECRET_KEY`` (the page's fixtures set up
    what they need). Every test in it must pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import typing as t
import weakref
from pathlib import Path

import flask.signals
import pytest
from flask import Flask
from moto import mock_aws

from flask_dynamodb_session import DynamoDBSession, SessionStore, signals
from flask_dynamodb_session.cli import dynamo_session
from flask_dynamodb_session.options import resolve

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from blinker import Signal

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.rst")), ROOT / "README.rst"]
#: What ``.. example-setup:`` may ask for.
SETUPS = frozenset({"table", "pytest"})
#: The environment every page's examples run in, besides moto's mock.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "SECRET_KEY": "a secret key of the documentation's examples",
}
#: Seconds a page run as a test module may take.
PYTEST_TIMEOUT = 300

_CODE_BLOCK = re.compile(r"^(?P<indent> *)\.\. code-block:: *(?P<language>\S+) *$")
_SETUP = re.compile(r"^\.\. example-setup: *(?P<setup>\S+) *$")
#: Other ways of writing a code block, which these tests would not run.
_OTHER_CODE = re.compile(
    r"^ *(\.\. (code|sourcecode|highlight)::"
    r"|\.\. code-block:: *(py|python3|pycon|ipython|py3)\b"
    r"|(?!\.\.).*::$)"
)


@dataclasses.dataclass(frozen=True)
class Block:
    """One code block of a page."""

    page: Path
    language: str
    #: Its text, dedented.
    code: str
    #: The page's line number (1-based) of the code's first line.
    line: int

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def compiled(self) -> t.Any:
        """The code, compiled with the page's name and line numbers, so that
        a traceback points into the page."""
        padded = "\n" * (self.line - 1) + self.code
        return compile(padded, str(self.page), "exec")


@dataclasses.dataclass(frozen=True)
class Page:
    """The examples of one page, and what it asks to be set up."""

    path: Path
    blocks: tuple[Block, ...]
    setups: frozenset[str]

    @classmethod
    def read(cls, path: Path) -> Page:
        lines = path.read_text(encoding="utf-8").splitlines()
        blocks = []
        setups = set()
        for number, line in enumerate(lines):
            setup = _SETUP.match(line)
            if setup is not None:
                setups.add(setup["setup"])
            directive = _CODE_BLOCK.match(line)
            if directive is not None:
                blocks.append(_block(path, lines, number, directive))
        return cls(path, tuple(blocks), frozenset(setups))

    def of(self, *languages: str) -> list[Block]:
        return [block for block in self.blocks if block.language in languages]

    @property
    def id(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def _block(
    path: Path, lines: list[str], number: int, directive: re.Match[str]
) -> Block:
    """The code block whose directive is line ``number`` (0-based)."""
    indent = len(directive["indent"])
    body: list[tuple[int, str]] = []
    options = True
    for index in range(number + 1, len(lines)):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if options and line.strip().startswith(":"):  # :linenos: and such
            continue
        options = False
        body.append((index, line))
    while body and not body[0][1].strip():
        body.pop(0)
    while body and not body[-1][1].strip():
        body.pop()
    assert body, f"{path.name}:{number + 1}: an empty code block"
    code = textwrap.dedent("\n".join(line for _, line in body)) + "\n"
    return Block(path, directive["language"], code, body[0][0] + 1)


ALL_PAGES = [Page.read(path) for path in PAGES]
RUNNABLE = [page for page in ALL_PAGES if page.of("python", "console")]


# -------------------------------------------------------------- the pages


def test_the_pages_are_read() -> None:
    """The pages are where these tests look, and hold examples."""
    ids = {page.id for page in RUNNABLE}
    assert {"README.rst", "docs/app.rst", "docs/testing.rst"} <= ids


@pytest.mark.parametrize("page", ALL_PAGES, ids=[page.id for page in ALL_PAGES])
def test_code_is_written_as_runnable_blocks(page: Page) -> None:
    """No Python hides in a block these tests would not run; every setup
    asked for is known."""
    lines = page.path.read_text(encoding="utf-8").splitlines()
    others = [
        f"{page.id}:{number}: {line.strip()}"
        for number, line in enumerate(lines, 1)
        if _OTHER_CODE.match(line)
    ]
    assert not others, "write code as `.. code-block:: <language>`:\n" + "\n".join(
        others
    )
    assert page.setups <= SETUPS, page.setups - SETUPS
    if "pytest" in page.setups:
        assert not page.of("console"), "a page run by pytest has no transcripts"


def test_json_examples_parse() -> None:
    blocks = [block for page in ALL_PAGES for block in page.of("json")]
    assert blocks
    for block in blocks:
        try:
            json.loads(block.code)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{block.where()}: {exc}")


@pytest.mark.parametrize("page", RUNNABLE, ids=[page.id for page in RUNNABLE])
def test_examples_run(page: Page, tmp_path: Path) -> None:
    if "pytest" in page.setups:
        run_as_test_module(page, tmp_path)
    else:
        run_in_one_namespace(page, tmp_path)


# ------------------------------------------------- one namespace per page


def run_in_one_namespace(page: Page, workdir: Path) -> None:
    """Run the page's Python blocks and transcripts in order, in the mock."""
    namespace: dict[str, t.Any] = {"__name__": f"docs_example_{page.path.stem}"}
    with examples_environment(workdir), mock_aws():
        if "table" in page.setups:
            create_sessions_table()
        for block in page.of("python", "console"):
            if block.language == "python":
                exec(block.compiled(), namespace)
            else:
                run_transcript(block, namespace)


@contextlib.contextmanager
def examples_environment(workdir: Path) -> Iterator[None]:
    """The environment of the examples, in ``workdir``; on leaving, the
    process's environment, working directory and the receivers of the
    package's and Flask's signals are as they were."""
    environ = dict(os.environ)
    cwd = Path.cwd()
    receivers = {id(signal): set(signal.receivers) for signal in SIGNALS}
    for name in list(os.environ):
        if name.startswith(("AWS_", "SESSION_DYNAMODB_")):
            del os.environ[name]
    os.environ.update(ENVIRONMENT)
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        for signal in SIGNALS:
            for receiver_id in set(signal.receivers) - receivers[id(signal)]:
                disconnect(signal, receiver_id)


def disconnect(signal: Signal, receiver_id: object) -> None:
    """Disconnect a receiver an example connected."""
    receiver = signal.receivers.get(receiver_id)
    if isinstance(receiver, weakref.ref):
        receiver = receiver()
    if receiver is not None:
        signal.disconnect(receiver)


#: The signals an example may connect receivers to.
SIGNALS: list[Signal] = [
    signals.dynamodb_called,
    signals.session_created,
    signals.session_rotated,
    signals.session_ended,
    *(
        value
        for name, value in vars(flask.signals).items()
        if not name.startswith("_") and hasattr(value, "receivers")
    ),
]


def create_sessions_table() -> None:
    """``.. example-setup: table``: the table the examples' apps use."""
    store = SessionStore(resolve({"table": "sessions", "user_key": "user_id"}))
    try:
        store.create_table(billing_mode="PAY_PER_REQUEST")
    finally:
        store.close()


def run_transcript(block: Block, namespace: dict[str, t.Any]) -> None:
    """Run each command of a console block on the page's app; compare."""
    app = namespace.get("app")
    if not isinstance(app, Flask):
        app = namespace.setdefault("<transcripts' app>", default_app())
    if "dynamo-session" not in app.cli.commands:
        # As the package's flask.commands entry point adds it for `flask`.
        app.cli.add_command(dynamo_session)
    for command, expected in transcript(block):
        result = app.test_cli_runner().invoke(args=command)
        shown = " ".join(command)
        output = _lines(result.output)
        printed = f"{block.where()}: flask {shown} printed:\n{result.output}"
        assert len(output) == len(expected), printed
        for want, got in zip(expected, output, strict=True):
            assert _line_pattern(want).fullmatch(got), printed
        failed = any(line.startswith("Error:") for line in expected)
        assert result.exit_code == (1 if failed else 0), (
            f"{block.where()}: flask {shown} exited {result.exit_code}:\n"
            f"{result.output}"
        )


def default_app() -> Flask:
    app = Flask("docs_example")
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    DynamoDBSession(app)
    return app


def transcript(block: Block) -> list[tuple[list[str], list[str]]]:
    """The commands of a console block (``flask`` and ``--app`` left out),
    each with the output lines shown after it."""
    commands: list[tuple[list[str], list[str]]] = []
    for line in _lines(block.code):
        if line.startswith("$ "):
            words = shlex.split(line[2:])
            assert words[0] == "flask", f"{block.where()}: not a flask command: {line}"
            commands.append((_without_app_option(words[1:]), []))
        else:
            assert commands, f"{block.where()}: a transcript starts with a $ command"
            commands[-1][1].append(line)
    for command, _ in commands:
        assert command[0] == "dynamo-session", f"{block.where()}: {command}"
    return commands


def _without_app_option(words: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--app", "-A"):
            skip = True
        elif not word.startswith("--app="):
            kept.append(word)
    return kept


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _line_pattern(expected: str) -> re.Pattern[str]:
    """A shown output line, where ``...`` stands for any text."""
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")))


# ------------------------------------------------ a page as a test module


def run_as_test_module(page: Page, workdir: Path) -> None:
    """``.. example-setup: pytest``: the page's Python blocks, run by pytest."""
    blocks = page.of("python")
    module = workdir / f"test_{page.path.stem}_page.py"
    module.write_text("\n\n".join(block.code for block in blocks), encoding="utf-8")
    tests = sum(
        len(re.findall(r"^def test_", block.code, re.MULTILINE)) for block in blocks
    )
    assert tests, f"{page.id} defines no test"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "SESSION_DYNAMODB_")) and name != "SECRET_KEY"
    }
    env["AWS_CONFIG_FILE"] = str(workdir / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(workdir / "no-aws-credentials")
    # This checkout's package, whatever the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "-W", "error", "-o", "addopts=", module.name],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=PYTEST_TIMEOUT,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"{page.id}, run by pytest:\n{report}"
    assert re.search(rf"\b{tests} passed\b", result.stdout), report
    assert not re.search(r"skipped|xfail|xpass|deselected", result.stdout), report
