"""Encryption at rest: sealed data, hashed user ids, keys and their rotation.

Against moto's server and dynalite over HTTP, through the test proxy. What
the table holds is read with the test's own client, past the app.
"""

from __future__ import annotations

import base64
import logging
import secrets
import sys
import time
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from freezegun import freeze_time

from flask_dynamodb_session import (
    ConfigurationError,
    DynamoDBSessionInterface,
    serialization,
    session_ended,
)
from flask_dynamodb_session.encryption import (
    EXTRA,
    NONCE_SIZE,
    SEALED,
    Keyring,
    derive_keys,
)
from flask_dynamodb_session.options import resolve
from tests.support.apps import COOKIE, TABLE, make_app, sid_of, store_of
from tests.support.tables import USER_KEY

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.apps import CallCounter

pytestmark = pytest.mark.every_server

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))
#: A value no stored attribute may show while encryption is on.
MARKER = "plaintext-marker-5b1e"
#: A user id no stored attribute may show while encryption is on.
USER = "alice-3c9d"
ENCRYPT = "SESSION_DYNAMODB_ENCRYPT"
KEYS = "SESSION_DYNAMODB_ENCRYPTION_KEYS"
LAYOUT_LOGGER = "flask_dynamodb_session.layout"
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def user_index() -> bool:
    """The table of these tests has the index of users' sessions."""
    return True


def browser_of(app: Flask, cookie_from: FlaskClient | None = None) -> FlaskClient:
    """A browser of ``app``, holding the cookie of ``cookie_from`` (a browser
    of an earlier deploy), if given."""
    browser = app.test_client()
    if cookie_from is not None:
        cookie = cookie_from.get_cookie(COOKIE)
        assert cookie is not None
        browser.set_cookie(COOKIE, cookie.value)
    return browser


def items(dynamodb: DynamoDBClient) -> list[dict[str, t.Any]]:
    """Every item of the session table, read past the app."""
    found: list[dict[str, t.Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        found.extend(page["Items"])
    return found


def item_of(dynamodb: DynamoDBClient, app: Flask, browser: FlaskClient) -> t.Any:
    key = store_of(app).key(sid_of(app, browser))
    return dynamodb.get_item(TableName=TABLE, Key={"id": {"S": key}})["Item"]


def shows(item: t.Mapping[str, t.Any], text: str) -> bool:
    """Whether any attribute of ``item`` holds ``text``, as text or bytes."""
    for value in item.values():
        if text in value.get("S", "") or text in value.get("N", ""):
            return True
        if "B" in value and text.encode() in bytes(value["B"]):
            return True
    return False


def note(browser: FlaskClient) -> t.Any:
    response = browser.get("/get/note")
    assert response.status_code == 200
    return t.cast(dict[str, t.Any], response.json)["value"]


def ended_users(received: list[dict[str, t.Any]]) -> list[tuple[str, t.Any]]:
    return [(entry["reason"], entry["user_id"]) for entry in received]


# -- what the table holds --------------------------------------------------------


def test_the_table_shows_no_data_and_no_user_id(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = make_app(**options, encrypt=True, user_key=USER_KEY)
    browser = app.test_client()
    assert browser.post(f"/login/{USER}").status_code == 200
    assert browser.post(f"/set/note/{MARKER}").status_code == 200

    (item,) = items(dynamodb)
    assert not shows(item, MARKER)
    assert not shows(item, USER)
    assert bytes(item["data"]["B"])[:1] == SEALED
    uid = item["uid"]["S"]
    assert len(uid) == 64
    assert set(uid) <= set("0123456789abcdef")
    # The app reads it back; the store finds the user's session by the hash.
    assert note(browser) == MARKER
    (listed,) = store_of(app).sessions_of(USER)
    assert listed.data == {USER_KEY: USER, "note": MARKER}


def test_without_encryption_the_table_shows_both(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    """The check above would see a marker in clear: this is what it looks for."""
    app = make_app(**options, user_key=USER_KEY)
    browser = app.test_client()
    browser.post(f"/login/{USER}")
    browser.post(f"/set/note/{MARKER}")
    (item,) = items(dynamodb)
    assert shows(item, MARKER)
    assert item["uid"] == {"S": USER}


def test_sealed_with_aes_gcm_a_fresh_nonce_and_the_key_as_associated_data(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = make_app(**options, encrypt=True, encryption_keys=[KEY_1])
    browser = app.test_client()
    browser.post(f"/set/note/{MARKER}")
    first = item_of(dynamodb, app, browser)
    browser.post("/set/theme/dark")
    second = item_of(dynamodb, app, browser)

    stored = bytes(second["data"]["B"])
    nonce, body = stored[1 : 1 + NONCE_SIZE], stored[1 + NONCE_SIZE :]
    plain = AESGCM(KEY_1).decrypt(nonce, body, second["id"]["S"].encode())
    assert serialization.decode(plain) == {"note": MARKER, "theme": "dark"}
    assert bytes(first["data"]["B"])[1 : 1 + NONCE_SIZE] != nonce


def test_a_large_session_is_compressed_inside_the_seal(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    app = make_app(**options, encrypt=True, encryption_keys=[KEY_1])
    browser = app.test_client()
    browser.post(f"/set/note/{MARKER * 100}")
    stored = bytes(item_of(dynamodb, app, browser)["data"]["B"])
    plain = AESGCM(KEY_1).decrypt(
        stored[1 : 1 + NONCE_SIZE],
        stored[1 + NONCE_SIZE :],
        store_of(app).key(sid_of(app, browser)).encode(),
    )
    assert plain[:1] == serialization.ZLIB
    assert len(stored) < len(MARKER) * 100
    assert note(browser) == MARKER * 100


def test_data_copied_onto_another_item_does_not_open(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(**options, encrypt=True)
    victim, attacker = app.test_client(), app.test_client()
    victim.post(f"/set/note/{MARKER}")
    attacker.post("/set/note/mine")
    sealed = item_of(dynamodb, app, victim)["data"]
    attacker_key = store_of(app).key(sid_of(app, attacker))
    dynamodb.update_item(
        TableName=TABLE,
        Key={"id": {"S": attacker_key}},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": sealed},
    )

    with caplog.at_level(logging.WARNING, LAYOUT_LOGGER):
        assert note(attacker) is None  # a fresh session, not the victim's
    assert "no encryption key opens" in caplog.text
    assert attacker_key not in caplog.text
    assert note(victim) == MARKER


# -- keys ------------------------------------------------------------------------


def opens(key: bytes, item: t.Mapping[str, t.Any]) -> bool:
    """Whether ``key`` opens the stored data of ``item``."""
    return Keyring([key]).open(bytes(item["data"]["B"]), item["id"]["S"]) is not None


def test_rotating_encryption_keys_across_deploys(
    options: dict[str, t.Any],
    dynamodb: DynamoDBClient,
    calls: CallCounter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = make_app(**options, encrypt=True, encryption_keys=[KEY_1])
    idle, active, changed = (first.test_client() for _ in range(3))
    for browser in (idle, active, changed):
        browser.post(f"/set/note/{MARKER}")

    # The new key seals, the old one still opens: a read seals anew, once.
    second = make_app(**options, encrypt=True, encryption_keys=[KEY_2, KEY_1])
    active = browser_of(second, active)
    calls.reset()
    assert note(active) == MARKER
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    assert note(active) == MARKER
    assert calls.take() == {"GetItem": 1}
    changed = browser_of(second, changed)
    assert changed.post("/set/note/changed").status_code == 200
    for browser in (active, changed):
        item = item_of(dynamodb, second, browser)
        assert opens(KEY_2, item)
        assert not opens(KEY_1, item)
    assert opens(KEY_1, item_of(dynamodb, first, idle))

    # The old key removed: what only it opens reads as a fresh session.
    third = make_app(**options, encrypt=True, encryption_keys=[KEY_2])
    with caplog.at_level(logging.WARNING, LAYOUT_LOGGER):
        response = browser_of(third, idle).get("/get/note")
    assert response.status_code == 200
    assert response.json == {"value": None}
    assert "no encryption key opens" in caplog.text
    assert sid_of(first, idle) not in caplog.text
    assert store_of(first).key(sid_of(first, idle)) not in caplog.text
    assert note(browser_of(third, active)) == MARKER
    assert note(browser_of(third, changed)) == "changed"


def test_keys_derived_from_secret_key_follow_its_fallbacks(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    first = make_app(**options, encrypt=True, user_key=USER_KEY)
    first.config["SECRET_KEY"] = "old secret"
    laptop, phone = first.test_client(), first.test_client()
    laptop.post(f"/login/{USER}")
    phone.post(f"/login/{USER}")
    phone.post(f"/set/note/{MARKER}")
    old_key = derive_keys(["old secret"])[0]
    stored = item_of(dynamodb, first, phone)
    assert opens(old_key, stored)

    second = make_app(**options, encrypt=True, user_key=USER_KEY)
    second.config.update(SECRET_KEY="new secret", SECRET_KEY_FALLBACKS=["old secret"])
    phone = browser_of(second, phone)
    assert note(phone) == MARKER
    phone.post("/set/note/moved")
    new_key = derive_keys(["new secret"])[0]
    stored = item_of(dynamodb, second, phone)
    assert opens(new_key, stored)
    assert not opens(old_key, stored)
    # The laptop's session is still under the old key's hash, the phone's
    # under the new one's: both are the user's.
    assert item_of(dynamodb, first, laptop)["uid"] != stored["uid"]
    store = store_of(second)
    assert {session.handle for session in store.sessions_of(USER)} == {
        store.key(sid_of(first, laptop)),
        store.key(sid_of(second, phone)),
    }

    third = make_app(**options, encrypt=True, user_key=USER_KEY)
    third.config["SECRET_KEY"] = "new secret"
    assert note(browser_of(third, phone)) == "moved"


def test_encryption_keys_as_base64_text(options: dict[str, t.Any]) -> None:
    text = [base64.b64encode(KEY_2).decode(), base64.urlsafe_b64encode(KEY_1).decode()]
    app = make_app(**options, encrypt=True, encryption_keys=text)
    browser = app.test_client()
    browser.post(f"/set/note/{MARKER}")
    assert store_of(app).settings.encryption_keys == (KEY_2, KEY_1)
    assert note(browser) == MARKER


@pytest.mark.parametrize(
    "value",
    [
        KEY_1,
        base64.b64encode(KEY_1).decode(),
        [],
        [KEY_1[:16]],
        [KEY_1, KEY_1 + b"!"],
        [base64.b64encode(KEY_1[:31]).decode()],
        ["not base64 at all!"],
        [32],
    ],
    ids=["bytes", "text", "empty", "short", "long", "short text", "junk", "number"],
)
def test_bad_encryption_keys_are_refused_unseen(value: t.Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve({}, {KEYS: value})
    message = str(info.value)
    assert info.value.key == KEYS
    assert KEYS in message
    assert "32 bytes" in message or "32-byte" in message
    for key in (KEY_1, KEY_1[:16], KEY_1[:31]):
        assert repr(key) not in message
        assert base64.b64encode(key).decode() not in message
    assert repr(info.value.value) == "'...'"


def test_a_wrong_key_is_named_by_its_place() -> None:
    with pytest.raises(ConfigurationError, match="key number 2 is not one"):
        resolve({"encryption_keys": [KEY_1, b"short"]})


@pytest.mark.parametrize("value", ["maybe", 2, [True]])
def test_encrypt_is_a_flag(value: t.Any) -> None:
    with pytest.raises(ConfigurationError, match=ENCRYPT):
        resolve({}, {ENCRYPT: value})


def test_encrypt_from_config() -> None:
    settings = resolve({}, {ENCRYPT: "true", KEYS: (KEY_1,)})
    assert settings.encrypt is True
    assert settings.encryption_keys == (KEY_1,)
    assert resolve({}).encrypt is False


def test_without_cryptography_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ConfigurationError) as info:
        DynamoDBSessionInterface(encrypt=True)
    assert info.value.key == ENCRYPT
    assert ENCRYPT in str(info.value)
    assert EXTRA in str(info.value)
    assert EXTRA == "flask-dynamodb-session[encryption]"
    # Without encryption nothing needs it.
    assert resolve({"encrypt": False}).encrypt is False


def test_a_store_outside_an_app_needs_encryption_keys(
    options: dict[str, t.Any],
) -> None:
    interface = DynamoDBSessionInterface(**options, encrypt=True)
    store = interface.store  # no app: no SECRET_KEY to derive keys from
    sid = secrets.token_urlsafe(32)
    with pytest.raises(ConfigurationError, match=KEYS) as info:
        store.set(sid, {"note": MARKER})
    assert "SECRET_KEY" in str(info.value)

    keyed = DynamoDBSessionInterface(**options, encrypt=True, encryption_keys=[KEY_1])
    keyed.store.set(sid, {"note": MARKER})
    assert keyed.store.get(sid) == {"note": MARKER}
    keyed.store.close()
    store.close()


# -- sessions written before, and the user's sessions ----------------------------


def plain_session(options: dict[str, t.Any], dynamodb: DynamoDBClient) -> FlaskClient:
    """A browser whose session an app without encryption stored, in clear."""
    before = make_app(**options, user_key=USER_KEY)
    browser = before.test_client()
    browser.post(f"/login/{USER}")
    browser.post(f"/set/note/{MARKER}")
    item = item_of(dynamodb, before, browser)
    assert shows(item, MARKER)
    assert shows(item, USER)
    return browser


def test_plain_sessions_are_read_and_sealed_by_the_first_read(
    options: dict[str, t.Any], dynamodb: DynamoDBClient, calls: CallCounter
) -> None:
    browser = plain_session(options, dynamodb)
    after = make_app(**options, encrypt=True, user_key=USER_KEY)
    browser = browser_of(after, browser)
    version = item_of(dynamodb, after, browser)["version"]
    calls.reset()

    assert note(browser) == MARKER
    assert calls.take() == {"GetItem": 1, "UpdateItem": 1}
    item = item_of(dynamodb, after, browser)
    assert bytes(item["data"]["B"])[:1] == SEALED
    assert not shows(item, MARKER)
    assert not shows(item, USER)
    assert item["version"] == version  # the contents did not change
    calls.reset()
    assert note(browser) == MARKER
    assert calls.take() == {"GetItem": 1}

    assert browser.post("/set/theme/dark").status_code == 200
    assert browser.get("/read").json == {
        "data": {USER_KEY: repr(USER), "note": repr(MARKER), "theme": "'dark'"}
    }
    (listed,) = store_of(after).sessions_of(USER)
    assert listed.data["theme"] == "dark"


def test_plain_sessions_not_read_since_are_still_the_users(
    options: dict[str, t.Any], dynamodb: DynamoDBClient
) -> None:
    browser = plain_session(options, dynamodb)
    after = make_app(**options, encrypt=True, user_key=USER_KEY)
    store = store_of(after)
    (listed,) = store.sessions_of(USER)
    assert listed.data["note"] == MARKER
    assert store.revoke_user(USER) == 1
    assert note(browser_of(after, browser)) is None


def test_sessions_of_and_revoke_with_encryption(options: dict[str, t.Any]) -> None:
    app = make_app(**options, encrypt=True, user_key=USER_KEY)
    laptop, phone = app.test_client(), app.test_client()
    laptop.post(f"/login/{USER}")
    phone.post(f"/login/{USER}")
    app.test_client().post("/login/bob")
    store = store_of(app)

    sessions = store.sessions_of(USER, current_sid=sid_of(app, laptop))
    assert len(sessions) == 2
    (other,) = [session for session in sessions if not session.current]
    assert other.handle == store.key(sid_of(app, phone))
    assert store.revoke(other.handle, user_id="bob") is False
    assert store.revoke(other.handle, user_id=USER) is True
    assert phone.get("/get/user").json == {"value": None}
    assert store.revoke_user(USER) == 1
    assert laptop.get("/get/user").json == {"value": None}
    assert len(store.sessions_of("bob")) == 1


def test_revoke_user_across_a_key_rotation(options: dict[str, t.Any]) -> None:
    first = make_app(
        **options, encrypt=True, user_key=USER_KEY, encryption_keys=[KEY_1]
    )
    old = first.test_client()
    old.post(f"/login/{USER}")
    second = make_app(
        **options, encrypt=True, user_key=USER_KEY, encryption_keys=[KEY_2, KEY_1]
    )
    new = second.test_client()
    new.post(f"/login/{USER}")
    store = store_of(second)
    assert store.revoke(store.key(sid_of(first, old)), user_id=USER) is True
    assert store.revoke_user(USER, keep_sid=sid_of(second, new)) == 0
    assert len(store.sessions_of(USER)) == 1


def test_max_sessions_with_encryption_across_a_key_rotation(
    options: dict[str, t.Any],
) -> None:
    limited = {**options, "encrypt": True, "user_key": USER_KEY, "max_sessions": 2}
    first = make_app(**limited, encryption_keys=[KEY_1])
    oldest, older = first.test_client(), first.test_client()
    with freeze_time(START):
        oldest.post(f"/login/{USER}")
    with freeze_time(START + timedelta(minutes=1)):
        older.post(f"/login/{USER}")

    second = make_app(**limited, encryption_keys=[KEY_2, KEY_1])
    with freeze_time(START + timedelta(minutes=2)):
        newest = second.test_client()
        newest.post(f"/login/{USER}")
        assert browser_of(second, oldest).get("/get/user").json == {"value": None}
        assert browser_of(second, older).get("/get/user").json == {"value": USER}
        assert newest.get("/get/user").json == {"value": USER}
        assert len(store_of(second).sessions_of(USER)) == 2


def test_signals_carry_the_real_user_id(options: dict[str, t.Any]) -> None:
    app = make_app(**options, encrypt=True, user_key=USER_KEY)
    received: list[dict[str, t.Any]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append(kwargs)

    store = store_of(app)
    with session_ended.connected_to(receiver):
        browser = app.test_client()
        browser.post(f"/login/{USER}")
        browser.post("/clear")
        app.test_client().post(f"/login/{USER}")
        store.revoke_user(USER)
        store.set(secrets.token_urlsafe(32), {USER_KEY: USER}, lifetime=1)
        store.delete_expired(now=time.time() + 60)
    assert ended_users(received) == [
        ("logout", USER),
        ("revoked", USER),
        ("expired", USER),
    ]


def test_a_session_no_key_opens_ends_without_a_user_id(
    options: dict[str, t.Any],
) -> None:
    """The ``uid`` of such a session is a hash: never reported as the user id."""
    first = make_app(
        **options, encrypt=True, user_key=USER_KEY, encryption_keys=[KEY_1]
    )
    browser = first.test_client()
    browser.post(f"/login/{USER}")
    later = make_app(
        **options, encrypt=True, user_key=USER_KEY, encryption_keys=[KEY_2]
    )
    received: list[dict[str, t.Any]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append(kwargs)

    with session_ended.connected_to(receiver):
        store_of(later).delete(sid_of(first, browser))
    assert ended_users(received) == [("revoked", None)]


# -- cost ------------------------------------------------------------------------


def test_a_request_costs_the_same_calls_with_encryption(
    options: dict[str, t.Any], calls: CallCounter
) -> None:
    def counts(app: Flask) -> list[dict[str, int]]:
        browser = app.test_client()
        taken = []
        for method, path in [
            ("post", "/set/theme/dark"),
            ("get", "/get/theme"),
            ("post", "/append/apple"),
            ("post", f"/login/{USER}"),
            ("get", "/read"),
            ("post", "/clear"),
        ]:
            assert getattr(browser, method)(path).status_code == 200
            taken.append(calls.take())
        return taken

    plain = counts(make_app(**options, user_key=USER_KEY))
    sealed = counts(make_app(**options, user_key=USER_KEY, encrypt=True))
    assert sealed == plain
    assert plain[0] == {"PutItem": 1}
    assert plain[1] == {"GetItem": 1}
