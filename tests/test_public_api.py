"""Only public Flask and Werkzeug API, and the unhandled-error rule built on it.

The package reads no underscore name of Flask or Werkzeug, so it imports and
serves on Flask's development branch too. A request that ends in an unhandled
exception stores nothing, for every app an interface serves, and what makes
that happen keeps no app alive.
"""

from __future__ import annotations

import ast
import gc
import typing as t
import weakref
from pathlib import Path

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from flask.signals import got_request_exception

import flask_dynamodb_session
from flask_dynamodb_session import DynamoDBSessionInterface
from tests.support.apps import make_app, served

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter
    from tests.support.proxy import DynamoProxy

PACKAGE = Path(flask_dynamodb_session.__file__).parent
GUARDED = ("flask", "werkzeug")
#: Underscore names that are documented public API: Werkzeug's ``LocalProxy``
#: and Flask's "Notes On Proxies" give ``_get_current_object`` to reach the
#: object behind ``current_app`` or ``request``.
DOCUMENTED = frozenset({"_get_current_object"})

# -- no private name of Flask or Werkzeug ----------------------------------


def _guarded(module: str) -> bool:
    return module.split(".")[0] in GUARDED


def _private(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__")
    return name.startswith("_") and not dunder and name not in DOCUMENTED


class _PrivateUse(ast.NodeVisitor):
    """Finds imports and reads of underscore names of Flask or Werkzeug.

    A name is followed when it is bound by importing Flask or Werkzeug (a
    module or anything in one), or is a parameter annotated with such a
    name (``app: Flask``, ``request: Request``).
    """

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.found: list[tuple[int, str]] = []

    def check(self, tree: ast.Module) -> list[tuple[int, str]]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _guarded(alias.name):
                        self.bound.add(alias.asname or alias.name.split(".")[0])
            elif (
                isinstance(node, ast.ImportFrom)
                and node.module
                and not node.level
                and _guarded(node.module)
            ):
                self.bound.update(a.asname or a.name for a in node.names)
        self.visit(tree)
        return self.found

    def _report(self, node: ast.AST) -> None:
        self.found.append((getattr(node, "lineno", 0), ast.unparse(node)))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if _guarded(alias.name) and any(map(_private, parts)):
                self._report(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.level or not _guarded(node.module):
            return
        names = [*node.module.split("."), *(a.name for a in node.names)]
        if any(map(_private, names)):
            self._report(node)

    def _rooted(self, node: ast.expr) -> bool:
        while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return isinstance(node, ast.Name) and node.id in self.bound

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr) and self._rooted(node.value):
            self._report(node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func, args = node.func, node.args
        if (
            isinstance(func, ast.Name)
            and func.id in {"getattr", "hasattr", "setattr", "delattr"}
            and len(args) >= 2
            and isinstance(args[1], ast.Constant)
            and isinstance(args[1].value, str)
            and _private(args[1].value)
            and self._rooted(args[0])
        ):
            self._report(node)
        self.generic_visit(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = set(self.bound)
        arguments = node.args
        for arg in [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
        ]:
            annotation = arg.annotation
            if (
                annotation is not None
                and {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)}
                & outer
            ):
                self.bound.add(arg.arg)
        self.generic_visit(node)
        self.bound = outer

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function


def private_uses(source: str) -> list[tuple[int, str]]:
    """``(line, code)`` of each private Flask or Werkzeug name ``source`` uses."""
    return _PrivateUse().check(ast.parse(source))


@pytest.mark.parametrize(
    "source",
    [
        "from flask.globals import _cv_request",
        "from flask.json.provider import _default as default",
        "from werkzeug._internal import _log",
        "import werkzeug._internal",
        "import flask.globals\nflask.globals._cv_request.get(None)",
        "import flask.json.provider as p\np._default",
        "from flask import globals\nglobals._cv_app",
        "from flask import request\nrequest._cached_json",
        "from flask import json\njson.provider._default",
        "import flask\ngetattr(flask.globals, '_cv_request')",
        "from flask import Flask\ndef f(app: Flask) -> None:\n    app._x",
        "from flask import Flask\ndef f(app: Flask | None) -> None:\n    app._x()",
    ],
)
def test_the_check_finds_private_names(source: str) -> None:
    assert private_uses(source), source


@pytest.mark.parametrize(
    "source",
    [
        "from flask import current_app, request\nrequest.environ",
        "from flask.json.provider import DefaultJSONProvider\n"
        "DefaultJSONProvider.default",
        "from flask import current_app\ncurrent_app._get_current_object()",
        "from flask import Flask\nclass A:\n    def f(self, app: Flask) -> None:\n"
        "        self._x",
        "import botocore\nclient._endpoint",
        "from werkzeug.exceptions import HTTPException\n"
        "class E(HTTPException):\n    def __init__(self) -> None:\n"
        "        HTTPException.__init__(self)",
        "from . import _private\n_private._x",
    ],
)
def test_the_check_passes_public_names(source: str) -> None:
    assert not private_uses(source), source


def _modules() -> list[Path]:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10, f"no package source found under {PACKAGE}"
    return modules


def test_the_package_uses_no_private_flask_or_werkzeug_name() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {code}"
        for path in _modules()
        for line, code in private_uses(path.read_text(encoding="utf-8"))
    ]
    assert not found, "private Flask or Werkzeug names:\n" + "\n".join(found)


# -- an unhandled exception saves nothing ----------------------------------


@pytest.fixture
def failing(app: Flask) -> Flask:
    """The app, turning an unhandled exception into a 500 as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def _boom(client: FlaskClient) -> None:
    response = client.post("/boom")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers


def test_an_unhandled_exception_stores_no_change(
    failing: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    client.post("/set/user/alice")
    calls.reset()
    _boom(client)
    assert calls.take() == {"GetItem": 1}
    assert client.get("/read").json == {"data": {"user": "'alice'"}}


def test_an_unhandled_exception_stores_no_new_session(
    failing: Flask, client: FlaskClient, calls: CallCounter
) -> None:
    _boom(client)
    assert calls.take() == {}
    assert client.get_cookie("session") is None


def test_each_app_of_one_interface_stores_nothing_after_an_error(
    dynamodb: DynamoDBClient, proxy: DynamoProxy, calls: CallCounter
) -> None:
    interface = DynamoDBSessionInterface(**served(proxy, "boto3"))
    apps = [make_app(), make_app()]
    for app in apps:
        app.session_interface = interface
        app.config["PROPAGATE_EXCEPTIONS"] = False
    for number, app in enumerate(apps):
        client = app.test_client()
        client.post(f"/set/user/user{number}")
        calls.reset()
        _boom(client)
        assert calls.take() == {"GetItem": 1}
        assert client.get("/get/boom").json == {"value": None}
        assert client.get("/get/user").json == {"value": f"user{number}"}
    assert interface.store_for(apps[0]) is not interface.store_for(apps[1])


def test_another_interfaces_session_is_left_alone(
    dynamodb: DynamoDBClient, proxy: DynamoProxy, calls: CallCounter
) -> None:
    app = make_app(**served(proxy, "boto3"))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    assert client.get("/untouched").status_code == 200
    # The interface served this app once; now Flask's cookie session does.
    app.session_interface = SecureCookieSessionInterface()
    response = client.post("/boom")
    assert response.status_code == 500
    # Flask's own rule: its cookie session is saved even after an error.
    assert "Set-Cookie" in response.headers
    assert client.get("/get/boom").json == {"value": "yes"}
    assert calls.take() == {}


def test_a_null_session_is_left_alone(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    app = make_app(**options)
    app.config.update(SECRET_KEY=None, PROPAGATE_EXCEPTIONS=False)

    @app.post("/fail")
    def fail() -> str:
        session.get("user")
        raise RuntimeError("fail")

    client = app.test_client()
    assert client.post("/fail").status_code == 500
    assert client.post("/boom").status_code == 500
    assert calls.take() == {}


def _dropped_app(proxy: DynamoProxy) -> weakref.ref[Flask]:
    """An app that served a failing request, no longer referenced.

    The error propagates (``TESTING``), so no log record keeps its traceback,
    and with it the app, alive; the receiver runs all the same.
    """
    app = make_app(**served(proxy, "boto3"))
    client = app.test_client()
    client.post("/set/user/alice")
    with pytest.raises(RuntimeError, match="boom"):
        client.post("/boom")
    assert client.get("/get/boom").json == {"value": None}
    return weakref.ref(app)


def test_the_error_receiver_keeps_no_app_alive(
    dynamodb: DynamoDBClient, proxy: DynamoProxy
) -> None:
    app = _dropped_app(proxy)
    gc.collect()
    assert app() is None


def test_the_error_receiver_is_connected_once_per_app() -> None:
    options = {"endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1"}
    interface = DynamoDBSessionInterface(**options)
    other = DynamoDBSessionInterface(**options)
    app, unserved = Flask(__name__), Flask(__name__)
    before = len(list(got_request_exception.receivers_for(unserved)))
    interface.settings_for(app)
    interface.settings_for(app)
    other.settings_for(app)
    connected = list(got_request_exception.receivers_for(app))
    assert len(connected) == before + 1
    assert len(list(got_request_exception.receivers_for(unserved))) == before
