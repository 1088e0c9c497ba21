"""The example app's audit trail, fed by the package's lifecycle signals."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask

from example_app import audit
from example_app.audit import MAX_EVENTS, connect, short_handle, trail_of
from flask_dynamodb_session import session_created, session_ended, session_rotated

OLD = "shop:" + "a" * 54 + "0123456789"
NEW = "shop:" + "b" * 54 + "9876543210"


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    connect(app)
    return app


def texts(app: Flask, user_id: str | int) -> list[str]:
    return [event.text for event in trail_of(app).events_of(user_id)]


def test_short_handle_is_the_end_of_the_handle() -> None:
    assert short_handle(OLD) == "...0123456789"


def test_each_signal_becomes_an_event(app: Flask) -> None:
    session_created.send(app, handle=OLD, user_id="alice")
    session_rotated.send(app, handle=NEW, old_handle=OLD, user_id="alice")
    session_ended.send(app, handle=NEW, user_id="alice", reason="evicted")
    assert texts(app, "alice") == [
        "Session ...9876543210 ended: logged out by a newer login (device limit)",
        "Session ...0123456789 moved to a new id: ...9876543210",
        "Session ...0123456789 started",
    ]
    [ended, rotated, created] = trail_of(app).events_of("alice")
    assert (ended.kind, ended.reason) == ("ended", "evicted")
    assert (rotated.kind, rotated.old_handle) == ("rotated", "...0123456789")
    assert created.kind == "created"
    assert created.at <= rotated.at <= ended.at


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("logout", "logged out"),
        ("revoked", "logged out from another device"),
        ("expired", "expired"),
        ("something new", "something new"),
    ],
)
def test_reasons_in_words(app: Flask, reason: str, said: str) -> None:
    session_ended.send(app, handle=OLD, user_id="alice", reason=reason)
    assert texts(app, "alice") == [f"Session ...0123456789 ended: {said}"]


def test_only_signed_in_users_and_this_apps_events(app: Flask) -> None:
    other = Flask("other")
    connect(other)
    session_created.send(app, handle=OLD, user_id=None)
    session_created.send(other, handle=OLD, user_id="alice")
    session_created.send(object(), handle=OLD, user_id="alice")
    session_created.send(app, handle=NEW, user_id=42)
    assert texts(app, "alice") == []
    assert texts(app, "42") == texts(app, 42) == ["Session ...9876543210 started"]
    assert texts(other, "alice") == ["Session ...0123456789 started"]


def test_the_last_events_of_each_user(app: Flask) -> None:
    for number in range(MAX_EVENTS + 5):
        session_created.send(app, handle=f"{number:064d}", user_id="alice")
    session_created.send(app, handle=OLD, user_id="bob")
    events = trail_of(app).events_of("alice")
    assert len(events) == MAX_EVENTS
    assert events[0].handle == short_handle(f"{MAX_EVENTS + 4:064d}")
    assert events[-1].handle == short_handle(f"{5:064d}")
    assert texts(app, "bob") == ["Session ...0123456789 started"]


def test_the_least_recently_active_users_are_forgotten(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "MAX_USERS", 2)
    for user in ("alice", "bob", "alice", "carol"):
        session_created.send(app, handle=OLD, user_id=user)
    assert len(texts(app, "alice")) == 2
    assert texts(app, "bob") == []
    assert len(texts(app, "carol")) == 1


def test_no_event_keeps_more_than_the_end_of_a_handle(app: Flask) -> None:
    session_rotated.send(app, handle=NEW, old_handle=OLD, user_id="alice")
    session_ended.send(app, handle=NEW, user_id="alice", reason="logout")
    for event in trail_of(app).events_of("alice"):
        for value in dataclasses.astuple(event):
            if isinstance(value, str):
                assert OLD not in value
                assert NEW not in value
                assert OLD[:20] not in value
                assert NEW[:20] not in value
