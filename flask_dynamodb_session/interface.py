"""The Flask side: cookie <-> session id, and carrying out the save plan.

This is the only module that knows both Flask and the store. What to write
is decided by :mod:`.save_policy`; the cookie's value by :mod:`.cookies`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import typing as t
import weakref
from datetime import datetime, timezone

from flask import current_app, has_app_context
from flask.sessions import SessionInterface
from flask.signals import got_request_exception

from . import moves, users
from .cookies import CookieSigner, cookie_options
from .exceptions import SessionBackendError
from .layout import Client, retired
from .options import Settings, check_option_names, resolve
from .request_context import (
    ENVIRON_KEY,
    block_save_on_error,
    client_of_request,
    replace_with_error,
    secret_keys_of,
    signal_sender,
)
from .save_policy import SavePlan, plan_save, rotation_due
from .session import ServerSideSession
from .store import SessionStore
from .unknown_keys import warn_unknown_keys

if t.TYPE_CHECKING:
    from flask import Flask, Request, Response
    from itsdangerous import Signer

logger = logging.getLogger(__name__)

#: How many fresh ids a new session tries if its id is taken (never, in
#: practice: ids have 256 random bits).
CREATE_ATTEMPTS = 3


class _AppState:
    """What an interface resolved for one app: its store and cookie signer."""

    def __init__(self, store: SessionStore, cookies: CookieSigner) -> None:
        self.store = store
        self.cookies = cookies

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

    :param options: the options, by keyword: each is listed, with its config
        key, in :doc:`/configuration`.
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
                    store = SessionStore(
                        resolve(self._options, app.config),
                        secret_keys=secret_keys_of(weakref.ref(app)),
                    )
                    store.events.sender = signal_sender(weakref.ref(app), store)
                    state = _AppState(store, CookieSigner(self.salt))
                    self._states[app] = state
                    # The store and its connections live as long as the app.
                    weakref.finalize(app, store.close)
                    # blinker holds the sender weakly and drops the connection
                    # when the app is collected; the receiver holds no app.
                    got_request_exception.connect(block_save_on_error, app, weak=False)
                    warn_unknown_keys(app)
        return state

    def get_signer(self, app: Flask) -> Signer:
        """The cookie signer: ``SECRET_KEY``, then ``SECRET_KEY_FALLBACKS``.

        Built once and rebuilt only when the keys change.

        :raises ConfigurationError: ``SECRET_KEY`` is not set, or
            ``SECRET_KEY_FALLBACKS`` is not a list of keys.
        """
        return self._state(app).cookies.signer(app)

    # -- the request ---------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> ServerSideSession | None:
        """Read the session id from the cookie (or the ``id_header``); no
        DynamoDB call.

        Without ``SECRET_KEY`` this returns ``None``, as Flask's own cookie
        session does: the request is served with Flask's null session, which
        fails only when the session is written.
        """
        state = self._state(app)
        if not app.secret_key:
            return None
        header = state.settings.id_header
        if header is not None:
            signed = request.headers.get(header)
        else:
            signed = request.cookies.get(self.get_cookie_name(app))
        sid, version = state.cookies.read(app, signed)
        loader = state.store.items.load
        if version:
            loader = functools.partial(loader, min_version=version)
        session = self.session_class(sid, loader)
        request.environ[ENVIRON_KEY] = session
        return session

    def save_session(self, app: Flask, session: t.Any, response: Response) -> None:
        """Store what changed and set or delete the cookie (or answer the
        ``id_header``).

        A DynamoDB failure turns the response into a 503 with ``Retry-After``
        that sets no cookie.
        """
        if not isinstance(session, ServerSideSession):
            return
        state = self._state(app)
        if session.accessed and not session.save_blocked:
            response.vary.add(state.settings.id_header or "Cookie")
        now = time.time()
        if rotation_due(session, state.settings.rotate_after, now):
            session.rotate()
        plan = plan_save(
            session,
            refresh_each_request=app.config.get("SESSION_REFRESH_EACH_REQUEST", True),
            touch_after=state.settings.touch_after,
            now=now,
        )
        if plan.action == "skip":
            return
        try:
            self._carry_out(app, state, session, plan, response)
        except SessionBackendError as exc:
            logger.error("the session could not be saved: %s", exc)
            replace_with_error(response, exc)

    def _carry_out(
        self,
        app: Flask,
        state: _AppState,
        session: ServerSideSession,
        plan: SavePlan,
        response: Response,
    ) -> None:
        """Make the writes of ``plan``, then set or delete the cookie."""
        items = state.store.items
        if plan.action == "clear":
            for sid in plan.stale_sids:
                ended = items.delete(sid)
                if ended is not None and not retired(ended):
                    items.events.ended(items.key(sid), "logout", item=ended)
            self._delete_cookie(app, response)
            return
        lifetime = self._lifetime(app, session, state.settings)
        record = session.record
        # The version now stored, or None if the session was logged out.
        version: int | None
        if plan.action == "create":
            version = self._save_new(session, state, lifetime)
        else:
            assert record is not None
            version = record.version
            if plan.action == "update":
                saved = items.save(
                    session.sid,
                    session,
                    version=record.version,
                    changed=plan.changed,
                    removed=plan.removed,
                    lifetime=lifetime,
                    created_at=record.created_at,
                )
                version = None
                if saved is not None:
                    version = saved[0]
                    session.follow(saved[1])
            elif plan.action == "touch":
                touched = items.touch(session.sid, lifetime, record.created_at)
                if touched is None:
                    version = None
                else:
                    session.follow(touched)
            elif plan.action == "refresh":
                refreshed = self._refresh(session, state.store, lifetime)
                if refreshed is False:
                    return
                if refreshed is None:
                    version = None
        if version is None:
            self._delete_cookie(app, response)
            return
        created_at = int(time.time())
        if record is not None and (not session.new or session.rotating):
            created_at = record.created_at
        self._set_cookie(app, session, response, state, version, created_at)

    def _save_new(
        self, session: ServerSideSession, state: _AppState, lifetime: int
    ) -> int | None:
        """Store a new session: its version, or ``None`` if the session it
        replaces (``regenerate()``, rotation) was logged out meanwhile."""
        items, settings = state.store.items, state.settings
        record = session.record
        rotating = session.rotating and record is not None
        client = None
        if rotating:
            assert record is not None
            if record.user_agent is not None or record.ip is not None:
                client = Client(record.user_agent or "", record.ip or "")
        elif settings.record_client:
            client = client_of_request()
        created_at = record.created_at if rotating and record is not None else None
        for _ in range(CREATE_ATTEMPTS):
            if items.create(
                session.sid, session, lifetime, created_at=created_at, client=client
            ):
                break
            session.regenerate()
        else:
            raise SessionBackendError("no unused session id was found")
        version: int | None = 1
        handle = items.key(session.sid)
        if session.predecessor is not None:
            assert record is not None
            changed, removed = session.changes()
            version = moves.supersede(
                items,
                session.predecessor,
                session.sid,
                session,
                version=record.version,
                changed=changed,
                removed=removed,
                lifetime=lifetime,
                created_at=created_at,
                grace=settings.rotation_grace if rotating else None,
            )
            if version is None:
                return None
            items.events.rotated(handle, items.key(session.predecessor), session)
        else:
            items.events.created(handle, session)
        for old_sid in session.discarded:
            items.delete(old_sid)
        if settings.max_sessions is not None and not rotating:
            user_id = items.events.user_of(session)
            if user_id is not None:
                users.evict(items, user_id, keep=handle, limit=settings.max_sessions)
        return version

    def _refresh(
        self, session: ServerSideSession, store: SessionStore, lifetime: int
    ) -> bool | None:
        """Push an unchanged session's expiry.

        The request read its session and changed nothing, so a failed refresh
        does not fail it: it is served with the cookie as it was.

        :return: ``True`` if pushed, ``None`` if the session is gone,
            ``False`` if DynamoDB failed.
        """
        record = session.record
        assert record is not None
        try:
            touched = store.items.touch(session.sid, lifetime, record.created_at)
        except SessionBackendError as exc:
            logger.warning("the session's expiry could not be pushed: %s", exc)
            return False
        if touched is None:
            return None
        session.follow(touched)
        return True

    def _lifetime(
        self, app: Flask, session: ServerSideSession, settings: Settings
    ) -> int:
        if session.permanent:
            return max(1, int(app.permanent_session_lifetime.total_seconds()))
        return settings.ttl

    # -- cookies -------------------------------------------------------------

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
        auto = state.settings.consistent_read == "auto"
        value = state.cookies.write(app, session.sid, version if auto else None)
        header = state.settings.id_header
        if header is not None:
            response.headers[header] = value
            response.vary.add(header)
            return
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
            **cookie_options(self, app),
        )
        response.vary.add("Cookie")

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        header = self._state(app).settings.id_header
        if header is not None:  # a cleared session answers an empty header
            response.headers[header] = ""
            response.vary.add(header)
            return
        response.delete_cookie(self.get_cookie_name(app), **cookie_options(self, app))
        response.vary.add("Cookie")
