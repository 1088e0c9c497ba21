"""The app of the load test (``test_load.py``), served by gunicorn.

It keeps counters in the session. The table and the server come from the
environment: ``LOAD_ENDPOINT_URL`` (a DynamoDB-compatible server on
127.0.0.1) and ``LOAD_TABLE``.
"""

from __future__ import annotations

import os

from botocore.config import Config
from flask import Flask, session

from flask_dynamodb_session import DynamoDBSessionInterface


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "load test secret"
    app.session_interface = DynamoDBSessionInterface(
        endpoint_url=os.environ["LOAD_ENDPOINT_URL"],
        table=os.environ["LOAD_TABLE"],
        region_name="us-east-1",
        botocore_config=Config(proxies={}),
    )

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.post("/incr/<name>")
    def increment(name: str) -> str:
        value = int(session.get(name, 0)) + 1
        session[name] = value
        return str(value)

    @app.get("/counters")
    def counters() -> dict[str, int]:
        return dict(session)

    return app


app = create_app()
