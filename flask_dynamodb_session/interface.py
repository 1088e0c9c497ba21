"""The Flask side: cookie <-> session id, and what to do at the end of a request.

This is the only module that knows both Flask and the store.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
import typing as t
import weakref
from datetime import datetime, timezone

from flask import current_app, has_app_context, has_request_context
from flask import request as current_request
from flask.sessions import SessionInterface
from flask.signals import got_request_exception
from itsdangerous import BadSignature, Signer

from .exceptions import ConfigurationError, SessionBackendError
from .session import ServerSideSession
from .settings import Settings, check_option_names, resolve
from .store import SessionStore

if t.TYPE_CHECKING:
    from flask import Flask, Request, Response

logger = logging.getLogger(__name__)

#: Signed cookie values hold an id of this form: 43 URL-safe characters.
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
#: A signed cookie value: the id, and the version this browser last wrote
#: (written with ``consistent_read="auto"``, read whatever the option).
COOKIE_PATTERN = re.compile(rf"({SID_PATTERN.pattern})(?:\.([1-9][0-9]{{0,15}}))?")
#: How many fresh ids a new session tries if its id is taken (never, in
#: practice: ids have 256 random bits).
CREATE_ATTEMPTS = 3
#: The WSGI environ key under which :meth:`DynamoDBSessionInterface.open_session`
#: leaves the session it opened, for the end of a failed request.
ENVIRON_KEY = "flask_dynamodb_session.session"


class _AppState:
    """What an interface resolved for one app: options, store, cookie signer."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.signer: Signer | None = None
        self.signer_keys: tuple[t.Any, ...] = ()

    @property
    def settings(self) -> Settings:
        """The options in force: the store's."""
        return self.store.settings


class DynamoDBSessionInterface(SessionInterface):
    """A Flask session interface that keeps sessions in a DynamoDB table.

    The browser's cookie holds only a signed, random session id. The session
    is read on first use (one ``GetItem``) and written at the end of the
    request only if it changed, or if ``touch_after`` has passed since its
    last write. Writes are conditional: a logout in one tab is never undone
    by a slower request in another, and two requests that change different
    keys of one session both persist.

    Every option is a keyword argument; an option not given is read from the
    app's config key (``SESSION_DYNAMODB_*``) the first time the interface
    serves that app, else takes its default. Constructing an interface makes
    no network call.

    The app needs these permissions on the table: ``dynamodb:GetItem``,
    ``PutItem``, ``UpdateItem`` and ``DeleteItem``. A stored item may be at
    most 400 KB after compression; a larger session raises
    :class:`~.exceptions.SessionTooLarge` before anything is written.

    :param options: see the table of options in the README (``table``,
        ``region_name``, ``endpoint_url``, ``client``, ``boto3_session``,
        ``botocore_config``, ``ttl``, ``touch_after``, ``consistent_read``,
        ``auto_create``, ``read_capacity``, ``write_capacity``,
        ``billing_mode``, ``key_prefix``).
    :raises TypeError: an unknown option.
    :raises ConfigurationError: an option's value is unusable.
    """

    session_class = ServerSideSession
    #: Salt of the cookie signature, so our signatures mean nothing elsewhere.
    salt = "flask-dynamodb-session"

    def __init__(self, **options: t.Any) -> None:
        check_option_names(options)
        resolve(options)
        self._options = dict(options)
        self._states: weakref.WeakKeyDictionary[Flask, _AppState] = (
            weakref.WeakKeyDictionary()
        )
        self._detached_store: SessionStore | None = None
        self._lock = threading.Lock()

    # -- configuration -------------------------------------------------------

    def settings_for(self, app: Flask) -> Settings:
        """The options in force for ``app``, read and checked once."""
        return self._state(app).settings

    def store_for(self, app: Flask) -> SessionStore:
        """The session store ``app`` uses."""
        return self._state(app).store

    @property
    def store(self) -> SessionStore:
        """The table, for use outside a request: ``get``, ``set``, ``delete``...

        Inside an app context this is the current app's store; elsewhere the
        one the keyword options describe.
        """
        if has_app_context():
            return self.store_for(current_app._get_current_object())  # type: ignore[attr-defined]
        with self._lock:
            if self._detached_store is None:
                self._detached_store = SessionStore(resolve(self._options))
            return self._detached_store

    def _state(self, app: Flask) -> _AppState:
        state = self._states.get(app)
        if state is None:
            with self._lock:
                state = self._states.get(app)
                if state is None:
                    store = SessionStore(resolve(self._options, app.config))
                    state = _AppState(store)
                    self._states[app] = state
                    # The store and its connections live as long as the app.
                    weakref.finalize(app, store.close)
                    # blinker holds the sender weakly and drops the connection
                    # when the app is collected; the receiver holds no app.
                    got_request_exception.connect(_block_save_on_error, app, weak=False)
        return state

    def get_signer(self, app: Flask) -> Signer:
        """The cookie signer: ``SECRET_KEY``, then ``SECRET_KEY_FALLBACKS``.

        Built once and rebuilt only when the keys change.

        :raises ConfigurationError: ``SECRET_KEY`` is not set, or
            ``SECRET_KEY_FALLBACKS`` is not a list of keys.
        """
        return self._signer(app, self._state(app))

    def _signer(self, app: Flask, state: _AppState) -> Signer:
        if not app.secret_key:
            raise ConfigurationError(
                "SECRET_KEY", app.secret_key, "must be set to sign session cookies"
            )
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        if isinstance(fallbacks, (str, bytes)):
            raise ConfigurationError(
                "SECRET_KEY_FALLBACKS",
                "...",
                "must be a list of old keys, not a single string (the value is"
                " not shown)",
            )
        keys = (*fallbacks, app.secret_key)
        if state.signer is None or keys != state.signer_keys:
            state.signer = Signer(
                list(keys),
                salt=self.salt,
                key_derivation="hmac",
                digest_method=hashlib.sha256,
            )
            state.signer_keys = keys
        return state.signer

    # -- the request ---------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> ServerSideSession | None:
        """Read the session id from the cookie; no DynamoDB call.

        Without ``SECRET_KEY`` this returns ``None``, as Flask's own cookie
        session does: the request is served with Flask's null session, which
        fails only when the session is written.
        """
        state = self._state(app)
        if not app.secret_key:
            return None
        signer = self._signer(app, state)
        cookie = request.cookies.get(self.get_cookie_name(app))
        sid, version = None, 0
        if cookie:
            try:
                value = signer.unsign(cookie).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                logger.debug("ignoring a session cookie with a bad signature")
            else:
                match = COOKIE_PATTERN.fullmatch(value)
                if match is not None:
                    sid, version = match[1], int(match[2] or 0)
        loader = state.store.load
        if version:
            loader = functools.partial(loader, min_version=version)
        session = self.session_class(sid, loader)
        request.environ[ENVIRON_KEY] = session
        return session

    def save_session(self, app: Flask, session: t.Any, response: Response) -> None:
        """Store what changed and set or delete the cookie.

        A DynamoDB failure turns the response into a 503 with ``Retry-After``
        that sets no cookie.
        """
        if not isinstance(session, ServerSideSession) or session.save_blocked:
            return
        if session.accessed:
            response.vary.add("Cookie")
        if not session.used:
            return
        try:
            self._save(app, session, response)
        except SessionBackendError as exc:
            logger.error("the session could not be saved: %s", exc)
            _replace_with_error(response, exc)

    def _save(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        state = self._state(app)
        store = state.store
        if not dict.__len__(session):
            self._save_empty(app, session, response, store)
            return
        lifetime = self._lifetime(app, session, state.settings)
        # The version now stored, or None if the session was logged out.
        version: int | None
        if session.new:
            version = self._save_new(session, store, lifetime)
        else:
            changed, removed = session.changes()
            record = session.record
            assert record is not None
            if changed or removed:
                version = store.save(
                    session.sid,
                    session,
                    version=record.version,
                    changed=changed,
                    removed=removed,
                    lifetime=lifetime,
                    created_at=record.created_at,
                )
            elif session.modified:
                touched = store.touch(session.sid, lifetime, record.created_at)
                version = record.version if touched else None
            elif self._touch_due(app, record.written_at, state):
                refreshed = self._refresh(session, store, lifetime)
                if refreshed is None:
                    return
                version = record.version if refreshed else None
            else:
                return
        if version is None:
            self._delete_cookie(app, response)
            return
        record = session.record
        created_at = int(time.time())
        if record is not None and not session.new:
            created_at = record.created_at
        self._set_cookie(app, session, response, state, version, created_at)

    def _save_new(
        self, session: ServerSideSession, store: SessionStore, lifetime: int
    ) -> int | None:
        """Store a new session: its version, or ``None`` if the session it
        replaces (``regenerate()``) was logged out meanwhile."""
        for _ in range(CREATE_ATTEMPTS):
            if store.create(session.sid, session, lifetime):
                break
            session.regenerate()
        else:
            raise SessionBackendError("no unused session id was found")
        version: int | None = 1
        if session.predecessor is not None:
            record = session.record
            assert record is not None
            changed, removed = session.changes()
            version = store.supersede(
                session.predecessor,
                session.sid,
                session,
                version=record.version,
                changed=changed,
                removed=removed,
                lifetime=lifetime,
            )
            if version is None:
                return None
        for old_sid in session.discarded:
            store.delete(old_sid)
        return version

    def _refresh(
        self, session: ServerSideSession, store: SessionStore, lifetime: int
    ) -> bool | None:
        """Push an unchanged session's expiry; ``None`` if DynamoDB failed.

        The request read its session and changed nothing, so a failed refresh
        does not fail it: it is served with the cookie as it was.
        """
        record = session.record
        assert record is not None
        try:
            return store.touch(session.sid, lifetime, record.created_at)
        except SessionBackendError as exc:
            logger.warning("the session's expiry could not be pushed: %s", exc)
            return None

    def _save_empty(
        self,
        app: Flask,
        session: ServerSideSession,
        response: Response,
        store: SessionStore,
    ) -> None:
        stale = list(session.discarded)
        if session.predecessor is not None:
            stale.append(session.predecessor)
        elif session.record is not None:
            stale.append(session.sid)
        for old_sid in stale:
            store.delete(old_sid)
        if stale or session.cookie_stale:
            self._delete_cookie(app, response)

    def _lifetime(
        self, app: Flask, session: ServerSideSession, settings: Settings
    ) -> int:
        if session.permanent:
            return max(1, int(app.permanent_session_lifetime.total_seconds()))
        return settings.ttl

    def _touch_due(self, app: Flask, written_at: int, state: _AppState) -> bool:
        if not app.config.get("SESSION_REFRESH_EACH_REQUEST", True):
            return False
        return time.time() - written_at >= state.settings.touch_after

    # -- cookies -------------------------------------------------------------

    def _cookie_options(self, app: Flask) -> dict[str, t.Any]:
        options: dict[str, t.Any] = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "samesite": self.get_cookie_samesite(app),
            "httponly": self.get_cookie_httponly(app),
        }
        partitioned = getattr(self, "get_cookie_partitioned", None)
        if partitioned is not None and partitioned(app):
            options["partitioned"] = True
        return options

    def _set_cookie(
        self,
        app: Flask,
        session: ServerSideSession,
        response: Response,
        state: _AppState,
        version: int,
        created_at: int,
    ) -> None:
        # With "auto" reads the cookie also carries, signed, the version this
        # browser wrote last, so that its next read can tell a stale answer.
        payload = session.sid
        if state.settings.consistent_read == "auto":
            payload = f"{payload}.{version}"
        value = self._signer(app, state).sign(payload).decode("ascii")
        expires = self.get_expiration_time(app, session)
        max_age = state.settings.max_age
        if expires is not None and max_age is not None:
            # A permanent cookie never outlives the session's absolute lifetime.
            limit = datetime.fromtimestamp(created_at + max_age, timezone.utc)
            expires = min(expires, limit)
        response.set_cookie(
            self.get_cookie_name(app),
            value,
            expires=expires,
            **self._cookie_options(app),
        )
        response.vary.add("Cookie")

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(self.get_cookie_name(app), **self._cookie_options(app))
        response.vary.add("Cookie")


def _replace_with_error(response: Response, error: SessionBackendError) -> None:
    """Turn a response into the 503 of ``error``, from clean headers.

    Nothing of the response it replaces survives: no cookie, no
    ``Content-Encoding``, ``ETag``, ``Cache-Control`` or
    ``Content-Disposition``; the page is :class:`.SessionBackendError`'s
    generic one and is not cacheable.
    """
    response.headers.clear()
    response.status_code = error.code or 503
    response.direct_passthrough = False
    response.set_data(error.get_body())
    for name, value in error.get_headers():
        response.headers[name] = value


def _block_save_on_error(
    sender: object, exception: BaseException, **extra: t.Any
) -> None:
    """A request that ended in an unhandled exception saves nothing.

    Connected to ``got_request_exception`` for each app an interface serves.
    Only the session :meth:`DynamoDBSessionInterface.open_session` opened for
    this request is blocked: a null session, or one another session interface
    opened, is left alone.
    """
    if not has_request_context():
        return
    session = current_request.environ.get(ENVIRON_KEY)
    if isinstance(session, ServerSideSession):
        session.block_save()
