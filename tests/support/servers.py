"""DynamoDB-compatible servers for the test suite, the benchmark and the example.

Every server listens on ``127.0.0.1`` only, on a port chosen by
:func:`free_port` unless one is given, and is spoken to over real HTTP with
:mod:`boto3`.  Two implementations are available:

:class:`MotoServer`
    moto's :class:`~moto.server.ThreadedMotoServer`, running in a thread of
    the current process.  Fast to start (a few milliseconds).

:class:`DynaliteServer`
    `dynalite <https://github.com/architect/dynalite>`_, an in-memory DynamoDB
    written for Node.js, run as a child process from this repository's
    ``node_modules`` (``npm install`` puts it there).  Takes about half a
    second to start.

Both keep their data in memory only: a server that is stopped and started
again (:meth:`DynamoServer.restart`, as the outage tests do) comes back on the
same port, but *empty*, without any of the tables it had before.

Every client of the tests comes from :func:`boto3_session`: one boto3
session per access key, since building one costs more than most tests take.
:func:`create_table` and :func:`delete_table` make and drop session tables.
The module needs neither pytest nor, until a :class:`MotoServer` starts,
moto.

Typical use::

    with MotoServer() as server:
        client = server.client()
        try:
            client.list_tables()
        finally:
            client.close()
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "CLIENT_CONFIG",
    "HOST",
    "REPO_ROOT",
    "AccessKey",
    "DynaliteServer",
    "DynamoServer",
    "MotoServer",
    "boto3_session",
    "create_table",
    "delete_table",
    "free_port",
    "new_client",
    "unresponsive_port",
]

#: The only address the servers listen on.
HOST = "127.0.0.1"

#: The root of the repository; ``node_modules`` is looked for there.
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Settings of the clients returned by :meth:`DynamoServer.client`: few
#: retries and short timeouts, so that a stopped server fails a call quickly,
#: and no proxies whatever the environment says (only loopback is spoken to).
#: Beware that in a botocore ``Config``, ``max_attempts`` counts the retries
#: (botocore turns it into ``total_max_attempts`` = 3 here), unlike
#: ``AWS_MAX_ATTEMPTS`` and ``max_attempts`` of ``~/.aws/config``.
CLIENT_CONFIG = Config(
    region_name="us-east-1",
    retries={"mode": "standard", "max_attempts": 2},
    connect_timeout=3,
    read_timeout=10,
    proxies={},
)

#: Settings of the client :meth:`DynamoServer.wait_ready` polls with.
_PROBE_CONFIG = CLIENT_CONFIG.merge(
    Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=1,
        read_timeout=1,
    )
)

#: Seconds a new table may stay ``CREATING``.
TABLE_TIMEOUT = 10.0

_S = TypeVar("_S", bound="DynamoServer")


class AccessKey(NamedTuple):
    """An access key, as boto3 takes it."""

    access_key_id: str
    secret_access_key: str


#: The dummy key every server accepts (moto while IAM authentication is off).
TEST_KEY = AccessKey("testing", "testing")

_sessions_lock = threading.Lock()
_sessions: dict[AccessKey, boto3.session.Session] = {}
#: botocore's loader of models, of the first session made.
_models: list[Any] = []


def boto3_session(key: AccessKey = TEST_KEY) -> boto3.session.Session:
    """The boto3 session that signs with *key*, whatever the environment says.

    Building a session reads botocore's models again (tens of milliseconds,
    more than most tests take): there is one session per key, the one of
    :data:`TEST_KEY` shared by every test client and test app, and they all
    share the models the first one read. Its region comes from the
    environment, or the caller. A session is not thread-safe: each has made
    a first client before it is handed out, and :meth:`DynamoServer.client`
    makes clients under a lock.
    """
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            botocore_session = botocore.session.get_session()
            if _models:
                botocore_session.register_component("data_loader", _models[0])
            else:
                _models.append(botocore_session.get_component("data_loader"))
            session = boto3.session.Session(
                aws_access_key_id=key.access_key_id,
                aws_secret_access_key=key.secret_access_key,
                botocore_session=botocore_session,
            )
            session.client(
                "dynamodb", region_name="us-east-1", endpoint_url=f"http://{HOST}"
            ).close()
            _sessions[key] = session
        return session


def free_port() -> int:
    """Return a TCP port of ``127.0.0.1`` that is free right now.

    The port is found by binding to port 0 and closing the socket again, so
    another process could in principle take it before it is used.

    :returns: the port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def unresponsive_port() -> Iterator[int]:
    """A port of ``127.0.0.1`` whose listener never accepts and whose backlog
    is full: the kernel drops further connection attempts, which time out."""
    with socket.create_server((HOST, 0), backlog=0) as listener:
        port: int = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                sock = socket.socket()
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    sock.connect((HOST, port))
                fillers.append(sock)
            yield port
        finally:
            for sock in fillers:
                sock.close()


def _port_is_free(port: int) -> bool:
    """Tell whether a server could listen on *port* of ``127.0.0.1`` now.

    ``SO_REUSEADDR`` is set, as both moto (through :mod:`socketserver`) and
    Node.js set it, so connections of an earlier server still in
    ``TIME_WAIT`` do not count.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def new_client(
    service: str, endpoint_url: str, key: AccessKey = TEST_KEY, **kwargs: Any
) -> Any:
    """A client of *service* at *endpoint_url*, signing with *key*.

    :param kwargs: passed to :meth:`boto3.session.Session.client`; a
        ``config`` is merged into :data:`CLIENT_CONFIG`.
    """
    options: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "region_name": "us-east-1",
        **kwargs,
        "config": CLIENT_CONFIG.merge(kwargs.get("config") or Config()),
    }
    session: Any = boto3_session(key)  # boto3's stubs know services by name
    with _sessions_lock:
        return session.client(service, **options)


def create_table(
    client: DynamoDBClient,
    name: str,
    *,
    index: str | None = None,
    exist_ok: bool = False,
) -> None:
    """Create an on-demand session table and wait until it is ``ACTIVE``.

    :param index: the name of a global secondary index on the string
        attribute ``uid`` (the index of users' sessions) to create with it.
    :param exist_ok: leave a table of that name as it is.
    """
    if exist_ok and _exists(client, name):
        return
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if index is not None:
        request["AttributeDefinitions"].append(
            {"AttributeName": "uid", "AttributeType": "S"}
        )
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": "uid", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    client.create_table(**request)
    deadline = time.monotonic() + TABLE_TIMEOUT
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"table {name!r} is not ACTIVE after {TABLE_TIMEOUT} s")
        time.sleep(0.01)


def delete_table(client: DynamoDBClient, name: str) -> None:
    """Delete a table if it exists, and wait until it is gone (dynalite
    deletes in the background)."""
    try:
        client.delete_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        return
    deadline = time.monotonic() + TABLE_TIMEOUT
    while _exists(client, name):
        if time.monotonic() > deadline:
            raise RuntimeError(f"table {name!r} is still there after {TABLE_TIMEOUT} s")
        time.sleep(0.01)


def _exists(client: DynamoDBClient, name: str) -> bool:
    # Not ListTables: it answers a page of names, and the servers are shared.
    try:
        client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


class DynamoServer:
    """A DynamoDB-compatible HTTP server on ``127.0.0.1``.

    The port is fixed when the object is created and kept by every
    :meth:`start`, so :meth:`restart` brings the server back where clients
    expect it.  Subclasses implement :meth:`_launch`, :meth:`_shutdown` and
    :attr:`running`.

    The server is a context manager: entering starts it, leaving stops it.

    :param port: the port to listen on; a free one by default.
    :param startup_timeout: how many seconds :meth:`start` waits for the
        server to answer.
    """

    #: A short name, for messages and test ids.
    name = "dynamodb"

    def __init__(self, port: int | None = None, *, startup_timeout: float = 20.0):
        self._port = free_port() if port is None else port
        self.startup_timeout = startup_timeout

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.endpoint_url} {state}>"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._port

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 as ``endpoint_url``."""
        return f"http://{HOST}:{self._port}"

    @property
    def running(self) -> bool:
        """Whether the server has been started and not stopped since."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the server and wait until it answers.

        :raises RuntimeError: if the server is already running, if the port is
            taken, or if the server does not answer within
            :attr:`startup_timeout` seconds (it is stopped again then).
        """
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        if not _port_is_free(self._port):
            raise RuntimeError(
                f"cannot start {self.name} on {HOST}:{self._port}: "
                "the port is already in use"
            )
        self._launch()
        try:
            self.wait_ready(self.startup_timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and free its port; do nothing if it is not running.

        Connections that clients keep open are closed too, so that any later
        call fails the way it would against a crashed server.
        """
        if self.running:
            self._shutdown()

    def restart(self) -> None:
        """Stop the server, then start it again on the same port.

        The server comes back empty: whatever tables and items it held are
        gone, as with a real in-memory server that crashed and was restarted.
        """
        self.stop()
        self.start()

    def client(self, **kwargs: Any) -> DynamoDBClient:
        """Return a new low-level DynamoDB client pointed at this server.

        The client uses region ``us-east-1``, :attr:`key` and
        :data:`CLIENT_CONFIG`.  Close it with ``client.close()`` when done.

        :param kwargs: passed to :meth:`boto3.session.Session.client`,
            overriding the defaults; a ``config`` is merged into
            :data:`CLIENT_CONFIG` rather than replacing it.
        """
        client: DynamoDBClient = new_client(
            "dynamodb", self.endpoint_url, self.key, **kwargs
        )
        return client

    @property
    def key(self) -> AccessKey:
        """The access key :meth:`client` signs with."""
        return TEST_KEY

    def create_table(self, name: str, **options: Any) -> None:
        """Create an on-demand session table: see :func:`create_table`."""
        client = self.client()
        try:
            create_table(client, name, **options)
        finally:
            client.close()

    def delete_table(self, name: str) -> None:
        """Delete a table if it exists: see :func:`delete_table`."""
        client = self.client()
        try:
            delete_table(client, name)
        finally:
            client.close()

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Poll the server with ``ListTables`` until a call succeeds.

        :param timeout: seconds to keep trying.
        :raises RuntimeError: if no call succeeded in time, or if the server
            died meanwhile.
        """
        deadline = time.monotonic() + timeout
        client = new_client("dynamodb", self.endpoint_url, config=_PROBE_CONFIG)
        last_error: Exception | None = None
        try:
            while True:
                self._check_alive()
                try:
                    client.list_tables(Limit=1)
                except (BotoCoreError, ClientError) as exc:
                    last_error = exc
                else:
                    return
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
        finally:
            client.close()
        raise RuntimeError(
            f"{self.name} at {self.endpoint_url} did not answer ListTables "
            f"within {timeout:g} s (last error: {last_error!r})" + self._diagnostics()
        )

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Hooks for subclasses.

    def _launch(self) -> None:
        """Start serving on :attr:`port` without waiting for readiness."""
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Stop serving and release the port; only called when running."""
        raise NotImplementedError

    def _check_alive(self) -> None:
        """Raise :exc:`RuntimeError` if the server is known to have died."""

    def _diagnostics(self) -> str:
        """Return extra text for error messages (starting with a newline)."""
        return ""


# --------------------------------------------------------------------- moto


def _with_account_id(app: WSGIApplication, account_id: str) -> WSGIApplication:
    """Wrap *app* so that requests default to moto account *account_id*.

    moto reads the account of a request from the ``x-moto-account-id`` header
    (unless the ``MOTO_ACCOUNT_ID`` environment variable is set), so giving
    each server its own account keeps its tables apart from those of every
    other moto server or mock in the same process.
    """

    def application(
        environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", account_id)
        return app(environ, start_response)

    return application


class _Connections:
    """The connections a moto server has open, and their handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[socket.socket, threading.Thread] = {}

    def add(self, conn: socket.socket) -> None:
        with self._lock:
            self._open[conn] = threading.current_thread()

    def discard(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.pop(conn, None)

    def close_all(self, timeout: float) -> None:
        """Shut every connection down and wait for its handler to finish."""
        with self._lock:
            open_now = list(self._open.items())
        for conn, _ in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))


def _make_moto_server(
    port: int, account_id: str, connections: _Connections, verbose: bool
) -> Any:
    """Create a :class:`~moto.server.ThreadedMotoServer` for :class:`MotoServer`.

    The thread entry point of ``ThreadedMotoServer`` (moto 5) is replaced so
    that the server

    * serves every request as account *account_id* by default;
    * records its connections, so that :meth:`MotoServer.stop` can close
      those still open (werkzeug would go on serving a keep-alive connection
      after the listening socket is closed; moto 5 happens to answer with
      ``Connection: close``, but a request may be in flight) and wait for
      their handler threads;
    * logs no line per request unless *verbose*;
    * reports a failure to listen instead of leaving ``start()`` waiting
      forever.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class RequestHandler(MotoRequestHandler):
        def setup(self) -> None:
            super().setup()
            connections.add(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                connections.discard(self.connection)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if verbose:
                super().log_request(code, size)

    class Server(ThreadedMotoServer):
        startup_error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                app = DomainDispatcherApplication(create_backend_app)
                self._server = make_server(
                    HOST,
                    port,
                    _with_account_id(app, account_id),
                    threaded=True,
                    request_handler=RequestHandler,
                )
            except BaseException as exc:
                self.startup_error = exc
                self._server = None
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            # A short poll interval makes stop() quick (the default is 0.5 s).
            self._server.serve_forever(poll_interval=0.05)

    server = Server(ip_address=HOST, port=port, verbose=verbose)
    if not isinstance(getattr(server, "_server_ready_event", None), threading.Event):
        raise RuntimeError(
            "this version of moto's ThreadedMotoServer is not supported by "
            f"{__name__} (written for moto 5)"
        )
    return server


class MotoServer(DynamoServer):
    """moto's :class:`~moto.server.ThreadedMotoServer`, in this process.

    moto keeps its data in module-level state shared by everything in the
    process (other :class:`MotoServer` objects, ``moto.mock_aws``).  To keep
    servers apart, each :meth:`start` serves a new, random moto account
    (:attr:`account_id`): a restarted server is therefore empty, and
    restarting one server does not touch the tables of another.  The
    DynamoDB data of the previous account is dropped on :meth:`stop`.  This
    isolation does not hold if the ``MOTO_ACCOUNT_ID`` environment variable
    is set, or for requests sending their own ``x-moto-account-id`` header.

    .. warning:: Starting or stopping ``moto.mock_aws`` in the same process
       resets *all* of moto's state, every account included, so a running
       :class:`MotoServer` loses its tables then.  Tests mixing the two should
       create their tables after entering the mock, or use
       :class:`DynaliteServer`, which runs in a process of its own.

    With *iam_auth*, :meth:`start` creates an IAM user allowed everything
    (:attr:`admin_key`), then turns on moto's IAM authentication: from then
    on moto recomputes the SigV4 signature of every request and evaluates
    the IAM policies of the signing user, as ``INITIAL_NO_AUTH_ACTION_COUNT``
    does. :meth:`client` signs with :attr:`admin_key` then, and
    :meth:`iam_client` can create users with smaller policies. moto has one
    such switch for the whole process: while this server runs, every moto
    server and mock of the process authenticates requests, and only one
    server with *iam_auth* can run at a time. Note that moto matches a
    DynamoDB action only against ``"Resource": "*"``; a statement naming a
    table ARN does not apply.

    :param port: the port to listen on; a free one by default.
    :param verbose: let moto and werkzeug print a line per request.
    :param startup_timeout: see :class:`DynamoServer`.
    :param iam_auth: authenticate and authorize requests with IAM.
    """

    name = "moto"

    def __init__(
        self,
        port: int | None = None,
        *,
        verbose: bool = False,
        startup_timeout: float = 20.0,
        iam_auth: bool = False,
    ):
        super().__init__(port, startup_timeout=startup_timeout)
        self.verbose = verbose
        self.iam_auth = iam_auth
        self._server: Any = None
        self._connections = _Connections()
        self._account_id = self._new_account_id()
        self._admin_key: AccessKey | None = None
        self._iam_switch: contextlib.ExitStack | None = None

    @staticmethod
    def _new_account_id() -> str:
        """Return a random 12-digit moto account id."""
        return str(10**11 + secrets.randbelow(9 * 10**11))

    @property
    def account_id(self) -> str:
        """The moto account the server serves now (a new one per start)."""
        return self._account_id

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def admin_key(self) -> AccessKey:
        """The access key of the user allowed everything (with *iam_auth*).

        :raises RuntimeError: the server is not running with *iam_auth*.
        """
        if self._admin_key is None:
            raise RuntimeError(f"{self!r} does not run with IAM authentication")
        return self._admin_key

    def start(self) -> None:
        """Start the server; with *iam_auth*, then turn IAM authentication on.

        :raises RuntimeError: see :meth:`DynamoServer.start`; also if IAM
            authentication is already on in this process.
        """
        super().start()
        if self.iam_auth:
            try:
                self._enable_iam_auth()
            except BaseException:
                self.stop()
                raise

    @property
    def key(self) -> AccessKey:
        """The key of :meth:`client`: :attr:`admin_key` with *iam_auth*."""
        return TEST_KEY if self._admin_key is None else self._admin_key

    def iam_client(self) -> Any:
        """Return a new boto3 IAM client of this server's moto account.

        Signed with :attr:`admin_key` when the server runs with *iam_auth*.
        Close it with ``client.close()`` when done.
        """
        return new_client("iam", self.endpoint_url, self.key)

    def _enable_iam_auth(self) -> None:
        from moto import settings as moto_settings
        from moto.core import enable_iam_authentication

        if not math.isinf(moto_settings.INITIAL_NO_AUTH_ACTION_COUNT):
            raise RuntimeError(
                "moto's IAM authentication is already on in this process"
                " (another MotoServer(iam_auth=True) runs, or"
                " INITIAL_NO_AUTH_ACTION_COUNT is set); it cannot be turned"
                " on for one more server"
            )
        iam = self.iam_client()
        try:
            iam.create_user(UserName="admin")
            iam.put_user_policy(
                UserName="admin",
                PolicyName="everything",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}
                        ],
                    }
                ),
            )
            created = iam.create_access_key(UserName="admin")["AccessKey"]
        finally:
            iam.close()
        switch = contextlib.ExitStack()
        switch.enter_context(enable_iam_authentication())
        self._iam_switch = switch
        self._admin_key = AccessKey(created["AccessKeyId"], created["SecretAccessKey"])

    def _launch(self) -> None:
        self._account_id = self._new_account_id()
        server = _make_moto_server(
            self._port, self._account_id, self._connections, self.verbose
        )
        server.start()
        if server.startup_error is not None:
            server.stop()
            raise RuntimeError(
                f"moto could not listen on {HOST}:{self._port}: "
                f"{server.startup_error!r}"
            ) from server.startup_error
        self._server = server

    def _shutdown(self) -> None:
        server, self._server = self._server, None
        # Stops accepting, closes the listening socket, joins the serving thread.
        server.stop()
        self._connections.close_all(timeout=5.0)
        self._drop_data(self._account_id)
        if self.iam_auth:
            self._disable_iam_auth()

    def _disable_iam_auth(self) -> None:
        """Turn IAM authentication off again, and forget the account's users."""
        from moto.backends import get_backend

        switch, self._iam_switch = self._iam_switch, None
        if switch is not None:
            switch.close()
        self._admin_key = None
        get_backend("iam").pop(self._account_id, None)

    @staticmethod
    def _drop_data(account_id: str) -> None:
        """Forget moto's DynamoDB data of *account_id*, to free its memory."""
        from moto.backends import get_backend

        get_backend("dynamodb").pop(account_id, None)


# ----------------------------------------------------------------- dynalite


class DynaliteServer(DynamoServer):
    """dynalite, run with Node.js from this repository's ``node_modules``.

    dynalite keeps its data in memory, so a restarted server is empty.  It is
    started with ``--createTableMs 0 --deleteTableMs 0 --updateTableMs 0``
    (adjustable with *table_delay_ms*): ``CreateTable`` still answers with
    status ``CREATING``, but the table turns ``ACTIVE`` right after.  Its
    output (stdout and stderr) goes to a temporary file, see :meth:`output`.

    :param port: the port to listen on; a free one by default.
    :param table_delay_ms: how long tables stay ``CREATING``, ``DELETING`` or
        ``UPDATING``, in milliseconds.
    :param extra_args: more command-line options for dynalite.
    :param repo_root: the directory holding ``node_modules``.
    :param startup_timeout: see :class:`DynamoServer`.
    :raises RuntimeError: if dynalite is not installed (run ``npm install``
        in the repository root) or Node.js is not on ``PATH``.
    """

    name = "dynalite"

    def __init__(
        self,
        port: int | None = None,
        *,
        table_delay_ms: int = 0,
        extra_args: Iterable[str] = (),
        repo_root: Path = REPO_ROOT,
        startup_timeout: float = 20.0,
    ):
        super().__init__(port, startup_timeout=startup_timeout)
        self.executable = self.find_executable(repo_root)
        self.table_delay_ms = table_delay_ms
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._last_output = ""

    @staticmethod
    def find_executable(repo_root: Path = REPO_ROOT) -> Path:
        """Return the path of ``node_modules/.bin/dynalite`` under *repo_root*.

        :raises RuntimeError: if it or Node.js is missing.
        """
        executable = repo_root / "node_modules" / ".bin" / "dynalite"
        if not executable.exists():
            raise RuntimeError(
                f"dynalite is not installed: {executable} does not exist; "
                f"run `npm install` in {repo_root}"
            )
        if shutil.which("node") is None:
            raise RuntimeError("dynalite needs Node.js, but `node` is not on PATH")
        return executable

    @property
    def command(self) -> list[str]:
        """The command line that starts dynalite."""
        delay = str(self.table_delay_ms)
        return [
            str(self.executable),
            "--port",
            str(self._port),
            "--host",
            HOST,
            "--createTableMs",
            delay,
            "--deleteTableMs",
            delay,
            "--updateTableMs",
            delay,
            *self.extra_args,
        ]

    @property
    def running(self) -> bool:
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """The process id of the running dynalite, or ``None``."""
        return None if self._process is None else self._process.pid

    def output(self) -> str:
        """Return what dynalite printed so far (or last, if it is stopped)."""
        if self._log is None:
            return self._last_output
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def _launch(self) -> None:
        self._last_output = ""
        # Closed by _shutdown(), as it must outlive this method.
        log = tempfile.TemporaryFile(prefix="dynalite-", suffix=".log")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.executable.parent,
            )
        except BaseException:
            log.close()
            raise
        self._log = log

    def _shutdown(self) -> None:
        process, self._process = self._process, None
        assert process is not None
        try:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        finally:
            self._last_output = self.output()
            if self._log is not None:
                self._log.close()
                self._log = None

    def _check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(
                f"dynalite exited with status {self._process.returncode} "
                f"before answering on {self.endpoint_url}" + self._diagnostics()
            )

    def _diagnostics(self) -> str:
        text = self.output().strip()
        command = " ".join(self.command)
        return f"\ncommand: {command}\noutput of dynalite:\n{text or '(none)'}"
