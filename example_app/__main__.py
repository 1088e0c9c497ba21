"""Run the example app: ``python -m example_app [--host HOST] [--port PORT]``.

With ``SESSION_DYNAMODB_ENDPOINT_URL`` in the environment the app uses that
server (and creates the table there if it is missing). With AWS credentials
and a region in the environment it uses DynamoDB itself (create the table
first with ``flask --app example_app dynamo-session create-table``).
Otherwise it starts an embedded DynamoDB, moto's, in this process, on a free
port of 127.0.0.1, and creates the table in it.

Ctrl-C (or SIGTERM) stops the app and the embedded DynamoDB.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import secrets
import signal
import sys
import typing as t

from werkzeug.serving import WSGIRequestHandler, make_server

from flask_dynamodb_session import SessionError

from . import create_app
from .backend import (
    LOCAL_CONFIG,
    EmbeddedDynamoDB,
    choose_backend,
    has_credentials,
    local_session,
)

if t.TYPE_CHECKING:
    from types import FrameType

    from flask import Flask

    from flask_dynamodb_session import DynamoDBSessionInterface

access_log = logging.getLogger("example_app.access")

#: The colours werkzeug puts in its request lines.
ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")


class AccessLogHandler(WSGIRequestHandler):
    """Logs the app's requests to ``example_app.access``.

    The ``werkzeug`` logger, which the embedded DynamoDB's server logs its
    every call to, is kept at WARNING so the two do not mix.
    """

    def log(self, type: str, message: str, *args: t.Any) -> None:
        level = logging.ERROR if type == "error" else logging.INFO
        line = message % args
        if not sys.stderr.isatty():
            line = ANSI_STYLE.sub("", line)
        access_log.log(level, "%s %s", self.address_string(), line)


def parse_args(argv: t.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m example_app",
        description="Serve the flask-dynamodb-session example shop.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=5000, help="port to listen on; 0 = a free one"
    )
    return parser.parse_args(argv)


def browser_url(host: str, port: int) -> str:
    """The address to open for a server listening on ``host``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def say(message: str) -> None:
    print(message, flush=True)


def prepare_table(app: Flask) -> None:
    """Create the session table if it is missing, with the package's code.

    With the ``user_key`` option (the app sets it) that also creates the
    index of sessions by user, or adds it to a table that lacks it.
    """
    interface = t.cast("DynamoDBSessionInterface", app.session_interface)
    store = interface.store_for(app)
    setup = store.create_table()
    state = "created" if setup.created else "already exists"
    index = "" if setup.index is None else f"; index of users: {setup.index}"
    say(f" * Table {store.table!r} {state}; TTL on 'expires': {setup.ttl}{index}")


def build_app(stack: contextlib.ExitStack) -> Flask:
    """The app, on the DynamoDB the environment asks for."""
    backend = choose_backend(os.environ)
    config: dict[str, t.Any] = {}
    if backend == "embedded":
        dynamodb = stack.enter_context(EmbeddedDynamoDB())
        say(
            f" * Embedded DynamoDB (moto) running at {dynamodb.endpoint_url},"
            " in memory: sessions last until this process stops"
        )
        config.update(dynamodb.config())
        if not os.environ.get("SECRET_KEY"):
            # The sessions die with this process anyway: a key of its own is fine.
            config["SECRET_KEY"] = secrets.token_hex(32)
        app = create_app(config)
        prepare_table(app)
        return app
    if backend == "endpoint":
        config["SESSION_DYNAMODB_BOTOCORE_CONFIG"] = LOCAL_CONFIG
        if not has_credentials(os.environ):
            config["SESSION_DYNAMODB_BOTO3_SESSION"] = local_session()
        app = create_app(config)
        say(f" * Using DynamoDB at {app.config['SESSION_DYNAMODB_ENDPOINT_URL']}")
        prepare_table(app)
        return app
    app = create_app()
    interface = t.cast("DynamoDBSessionInterface", app.session_interface)
    settings = interface.settings_for(app)
    say(
        f" * Using Amazon DynamoDB, table {settings.table!r}, with the AWS"
        " credentials and region of the environment (create the table with"
        " `flask --app example_app dynamo-session create-table`)"
    )
    return app


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: t.Sequence[str] | None = None) -> int:
    """Start the DynamoDB the environment asks for and serve the app.

    :return: the exit status: 0 after Ctrl-C, 1 if DynamoDB could not be set
        up, 130 if interrupted while starting.
    """
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return serve(args.host, args.port)
    except KeyboardInterrupt:
        # Interrupted while starting, or a second Ctrl-C while stopping: the
        # embedded DynamoDB's thread ends with the process.
        say(" * Stopped")
        return 130


def serve(host: str, port: int) -> int:
    """Serve the app until Ctrl-C, then stop the embedded DynamoDB if any."""
    with contextlib.ExitStack() as stack:
        try:
            app = build_app(stack)
        except SessionError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
        server = make_server(
            host, port, app, threaded=True, request_handler=AccessLogHandler
        )
        url = browser_url(host, server.server_port)
        say(f" * Example app: open {url} (Ctrl-C to stop)")
        server.serve_forever()  # returns on Ctrl-C
    say(" * Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
