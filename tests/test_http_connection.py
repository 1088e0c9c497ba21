"""The lean transport's HTTP/1.1 layer against scripted loopback servers."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
import typing as t
import warnings
from pathlib import Path

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

from flask_dynamodb_session.lean_transport.client_settings import ssl_context
from flask_dynamodb_session.lean_transport.connection_pool import ConnectionPool
from tests.support.servers import HOST, free_port, unresponsive_port

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REQUEST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"

#: Answers a connection: gets the socket and a reader of whole requests.
Handler = t.Callable[[socket.socket, "Requests"], None]


def ok(body: bytes = b'{"a":1}', *extra: str) -> bytes:
    """A 200 response with a Content-Length."""
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Requests:
    """Reads whole requests (with a Content-Length body) off a socket.

    :param stopped: set when the server stops.
    """

    def __init__(
        self, sock: socket.socket, stopped: threading.Event | None = None
    ) -> None:
        self._reader = sock.makefile("rb")
        self._stopped = stopped or threading.Event()

    def hang(self) -> None:
        """Answer nothing until the server stops, however long the client waits."""
        self._stopped.wait()

    def close(self) -> None:
        self._reader.close()

    def next(self) -> bytes | None:
        """The next request's bytes, or ``None`` when the client closed."""
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self._reader.readline()
            if not line:
                return None
            head += line
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return head + self._reader.read(length)


class ScriptedServer:
    """A loopback server whose n-th connection is answered by ``handlers[n]``
    (the last handler answers every later connection).

    :param context: TLS settings, for an HTTPS server.
    """

    def __init__(
        self, *handlers: Handler, context: ssl.SSLContext | None = None
    ) -> None:
        self.handlers = handlers
        self.context = context
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        #: Released once for each connection the server has closed.
        self.closed = threading.Semaphore(0)
        #: Every request received, in order.
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        scheme = "https" if self.context else "http"
        return f"{scheme}://{HOST}:{self.port}"

    def __enter__(self) -> ScriptedServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)
        self.listener.close()

    def _spawn(self, target: Callable[..., None], *args: t.Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            handler = self.handlers[min(self.accepted, len(self.handlers) - 1)]
            self.accepted += 1
            self._spawn(self._serve, sock, handler)

    def _serve(self, sock: socket.socket, handler: Handler) -> None:
        sock.settimeout(5)
        try:
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_side=True)
            self._sockets.append(sock)
            requests = _Recording(sock, self.requests, self._stop)
            try:
                handler(sock, requests)
            finally:
                requests.close()
        except OSError:
            pass
        finally:
            sock.close()
            self.closed.release()


class _Recording(Requests):
    def __init__(
        self, sock: socket.socket, log: list[bytes], stopped: threading.Event
    ) -> None:
        super().__init__(sock, stopped)
        self._log = log

    def next(self) -> bytes | None:
        request = super().next()
        if request is not None:
            self._log.append(request)
        return request


def answer_all(response: bytes) -> Handler:
    """Answer every request of the connection with ``response``."""

    def handler(sock: socket.socket, requests: Requests) -> None:
        while requests.next() is not None:
            sock.sendall(response)

    return handler


_open_pools: list[ConnectionPool] = []


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    """Close every pool a test made, so that no socket is left open."""
    yield
    while _open_pools:
        _open_pools.pop().close()


def make_pool(url: str, **options: t.Any) -> ConnectionPool:
    """A pool closed at the end of the test."""
    options.setdefault("connect_timeout", 2)
    options.setdefault("read_timeout", 2)
    pool = ConnectionPool(url, **options)
    _open_pools.append(pool)
    return pool


def pool_for(server: ScriptedServer, **options: t.Any) -> ConnectionPool:
    return make_pool(server.url, **options)


def test_content_length_body_and_keep_alive() -> None:
    response = ok(b'{"Item":{}}', "X-Amz-Crc32: 1", "x-amzn-RequestId: R1")
    with ScriptedServer(answer_all(response)) as server:
        pool = pool_for(server)
        for _ in range(3):
            answer = pool.request(REQUEST)
            assert answer.status_code == 200
            assert answer.content == b'{"Item":{}}'
            assert answer.headers["x-amz-crc32"] == "1"
            assert answer.headers["x-amzn-requestid"] == "R1"
        assert pool.connects == 1
        assert server.requests == [REQUEST] * 3
        pool.close()


def test_chunked_body_split_across_reads() -> None:
    big = b"x" * 200_000
    chunks = [b'{"a":', b'"' + big + b'"', b"}"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    def handler(sock: socket.socket, requests: Requests) -> None:
        while requests.next() is not None:
            data = head + body
            for start in range(0, len(data), 7919):  # odd pieces, with pauses
                sock.sendall(data[start : start + 7919])
                if start < 30_000:
                    time.sleep(0.001)

    with ScriptedServer(handler) as server:
        pool = pool_for(server)
        for _ in range(2):
            answer = pool.request(REQUEST)
            assert answer.content == b'{"a":"' + big + b'"}'
        assert pool.connects == 1


def test_connection_close_is_honoured() -> None:
    def handler(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(ok(b"{}", "Connection: close"))

    with ScriptedServer(handler) as server:
        pool = pool_for(server)
        for _ in range(3):
            assert pool.request(REQUEST).content == b"{}"
        assert pool.connects == 3
        assert server.accepted == 3


def test_body_delimited_by_the_end_of_the_connection() -> None:
    def handler(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"b":')
        time.sleep(0.01)
        sock.sendall(b"2}")

    with ScriptedServer(handler) as server:
        pool = pool_for(server)
        assert pool.request(REQUEST).content == b'{"b":2}'
        assert pool.request(REQUEST).content == b'{"b":2}'
        assert pool.connects == 2


def test_http_1_0_answer_is_not_kept() -> None:
    with ScriptedServer(
        answer_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    ) as server:
        pool = pool_for(server)
        pool.request(REQUEST)
        pool.request(REQUEST)
        assert pool.connects == 2


def test_repeated_headers_are_joined() -> None:
    with ScriptedServer(answer_all(ok(b"{}", "Via: a", "via: b"))) as server:
        answer = pool_for(server).request(REQUEST)
        assert answer.headers["via"] == "a, b"


def test_an_idle_socket_the_server_closed_is_replaced() -> None:
    def close_when_idle(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(ok())
        # then close while the client keeps the socket idle

    with ScriptedServer(close_when_idle, answer_all(ok())) as server:
        pool = pool_for(server)
        pool.request(REQUEST)
        assert server.closed.acquire(timeout=5)  # the first handler closed
        assert pool.request(REQUEST).status_code == 200
        assert pool.connects == 2
        assert len(server.requests) == 2  # no request was lost or resent


def test_a_reused_socket_failing_before_the_answer_is_not_resent() -> None:
    """The server may have acted on a request before it dropped the socket:
    the pool never sends it again on its own (retrying is the caller's)."""

    def answer_once_then_drop(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(ok(b"{}"))
        requests.next()  # closes without answering, though the socket was idle-fine

    with ScriptedServer(answer_once_then_drop, answer_all(ok(b"[]"))) as server:
        pool = pool_for(server)
        assert pool.request(REQUEST).content == b"{}"
        with pytest.raises(ConnectionClosedError):
            pool.request(REQUEST)
        assert server.requests == [REQUEST] * 2
        assert pool.request(REQUEST).content == b"[]"
        assert pool.connects == 2


def test_interim_answers_are_skipped() -> None:
    """An unprompted ``100 Continue`` is not the answer: the final one is, and
    the next request on the socket gets its own answer, not this one's."""
    answers = iter([b'{"n":1}', b'{"n":2}'])

    def continue_first(sock: socket.socket, requests: Requests) -> None:
        while requests.next() is not None:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(0.01)
            sock.sendall(b"HTTP/1.1 102 Processing\r\nX-Interim: 1\r\n\r\n")
            sock.sendall(ok(next(answers)))

    with ScriptedServer(continue_first) as server:
        pool = pool_for(server)
        first = pool.request(REQUEST)
        assert (first.status_code, first.content) == (200, b'{"n":1}')
        assert "x-interim" not in first.headers
        assert pool.request(REQUEST).content == b'{"n":2}'
        assert pool.connects == 1


def test_bytes_beyond_the_answer_close_the_socket() -> None:
    """Bytes after a complete answer are never parsed into it nor left for
    the next request: the answer stands, the socket is closed."""
    stray = ok(b'{"stray":true}')

    def answer_twice(sock: socket.socket, requests: Requests) -> None:
        while requests.next() is not None:
            sock.sendall(ok(b'{"n":1}') + stray)

    with ScriptedServer(answer_twice) as server:
        pool = pool_for(server)
        for _ in range(2):
            answer = pool.request(REQUEST)
            assert answer.content == b'{"n":1}'
            assert answer.headers["content-length"] == "7"
        assert pool.connects == 2


def test_bytes_arriving_after_the_answer_keep_the_socket_out_of_use() -> None:
    def late_stray_bytes(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(ok(b'{"n":1}'))
        time.sleep(0.05)
        sock.sendall(ok(b'{"stray":true}'))
        requests.next()

    with ScriptedServer(late_stray_bytes, answer_all(ok(b'{"n":2}'))) as server:
        pool = pool_for(server)
        assert pool.request(REQUEST).content == b'{"n":1}'
        time.sleep(0.2)
        assert pool.request(REQUEST).content == b'{"n":2}'
        assert pool.connects == 2


def test_a_new_socket_closed_without_answer_fails() -> None:
    def drop(sock: socket.socket, requests: Requests) -> None:
        requests.next()

    with ScriptedServer(drop) as server:
        pool = pool_for(server)
        with pytest.raises(ConnectionClosedError, match="Connection was closed"):
            pool.request(REQUEST)
        assert server.requests == [REQUEST]  # sent once: a new socket is not retried


def test_a_reset_in_the_middle_of_the_answer_fails() -> None:
    def half(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")

    with ScriptedServer(half) as server, pytest.raises(ConnectionClosedError):
        pool_for(server).request(REQUEST)


def test_a_malformed_answer_fails() -> None:
    server = ScriptedServer(answer_all(b"SMTP ready\r\n\r\n"))
    with server, pytest.raises(ConnectionClosedError):
        pool_for(server).request(REQUEST)


def test_refused_connection() -> None:
    pool = make_pool(f"http://{HOST}:{free_port()}", connect_timeout=1)
    with pytest.raises(EndpointConnectionError, match="Could not connect"):
        pool.request(REQUEST)


def test_read_timeout() -> None:
    def silent(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        requests.hang()

    with ScriptedServer(silent) as server:
        pool = pool_for(server, read_timeout=0.2)
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError, match="Read timeout"):
            pool.request(REQUEST)
        assert time.monotonic() - started < 0.9


def dribble(response: bytes, pause: float) -> Handler:
    """Answer every request one byte at a time, ``pause`` seconds apart."""

    def handler(sock: socket.socket, requests: Requests) -> None:
        while requests.next() is not None:
            for byte in response:
                sock.sendall(bytes([byte]))
                time.sleep(pause)

    return handler


def test_a_dribbling_server_is_cut_off_at_the_deadline() -> None:
    """Each byte comes well within the read timeout, yet the whole answer
    must arrive within connect + read timeout."""
    with ScriptedServer(dribble(ok(b"{}" * 50), 0.05)) as server:
        pool = pool_for(server, connect_timeout=0.3, read_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            pool.request(REQUEST)
        assert time.monotonic() - started < 1.5  # the answer would take 7 s


def test_no_deadline_without_timeouts() -> None:
    with ScriptedServer(dribble(ok(b"{}"), 0.001)) as server:
        pool = pool_for(server, connect_timeout=None, read_timeout=None)
        assert pool.deadline is None
        assert pool.request(REQUEST).content == b"{}"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            ok(b"{}", *(f"X-Many: {n}" for n in range(150))),
            "more than 100 header fields",
            id="header-count",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 3_000_000 + b"\r\n\r\n",
            "head passes",
            id="head-bytes",
        ),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\n" * 40_000 + ok(b"{}"),
            "head passes",
            id="endless-interim-answers",
        ),
        pytest.param(ok(b"x" * (1024 * 1024 + 1)), "body passes", id="body-bytes"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n" % (600_000, b"y" * 600_000) * 2
            + b"0\r\n\r\n",
            "body passes",
            id="chunked-body-bytes",
        ),
    ],
)
def test_answers_past_the_limits_are_refused(answer: bytes, message: str) -> None:
    with ScriptedServer(answer_all(answer)) as server:
        pool = pool_for(server)
        started = time.process_time()
        with pytest.raises(HTTPClientError, match=message):
            pool.request(REQUEST)
        assert time.process_time() - started < 1  # refused, not digested


def test_many_repeated_headers_within_the_limit_are_joined() -> None:
    fields = [f"X-Seen: {n}" for n in range(90)]
    with ScriptedServer(answer_all(ok(b"{}", *fields))) as server:
        answer = pool_for(server).request(REQUEST)
    assert answer.headers["x-seen"] == ", ".join(str(n) for n in range(90))


def test_connect_timeout() -> None:
    with unresponsive_port() as port:
        pool = make_pool(f"http://{HOST}:{port}", connect_timeout=0.2)
        with pytest.raises(ConnectTimeoutError, match="Connect timeout"):
            pool.request(REQUEST)


def test_idle_connections_kept_are_bounded() -> None:
    def slow(sock: socket.socket, requests: Requests) -> None:
        while requests.next() is not None:
            time.sleep(0.05)
            sock.sendall(ok())

    with ScriptedServer(slow) as server:
        pool = pool_for(server, max_connections=2)
        threads = [
            threading.Thread(target=pool.request, args=(REQUEST,)) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert pool.connects == 6
        assert len(pool._idle) == 2
        pool.close()
        assert len(pool._idle) == 0


def test_socket_options_and_nodelay() -> None:
    with ScriptedServer(answer_all(ok())) as server:
        keepalive = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        pool = pool_for(server, socket_options=[keepalive])
        connection = pool.connect()
        try:
            sock = connection.sock
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        finally:
            connection.close()


def test_a_reused_socket_timing_out_is_not_retried() -> None:
    def answer_once_then_hang(sock: socket.socket, requests: Requests) -> None:
        requests.next()
        sock.sendall(ok())
        requests.next()
        requests.hang()

    with ScriptedServer(answer_once_then_hang) as server:
        pool = pool_for(server, read_timeout=0.2)
        pool.request(REQUEST)
        with pytest.raises(ReadTimeoutError):
            pool.request(REQUEST)
        assert pool.connects == 1
        assert len(pool._idle) == 0


def test_tls_handshake_timeout() -> None:
    def silent(sock: socket.socket, requests: Requests) -> None:
        requests.hang()

    with ScriptedServer(silent) as server:
        url = f"https://{HOST}:{server.port}"
        pool = make_pool(url, connect_timeout=0.2, ssl_context=ssl_context(False))
        with pytest.raises(ConnectTimeoutError):
            pool.request(REQUEST)


def test_tls_to_a_server_that_closes() -> None:
    def close(sock: socket.socket, requests: Requests) -> None:
        pass

    with ScriptedServer(close) as server:
        url = f"https://{HOST}:{server.port}"
        pool = make_pool(url, ssl_context=ssl_context(False))
        with pytest.raises((SSLError, EndpointConnectionError)):
            pool.request(REQUEST)


def test_https_has_default_tls_settings() -> None:
    pool = ConnectionPool("https://localhost:1")
    assert pool.ssl_context is not None
    assert pool.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert (
        ConnectionPool("http://localhost:1", ssl_context=pool.ssl_context).ssl_context
        is None
    )


def test_schemes_are_compared_case_insensitively() -> None:
    context = ssl.create_default_context()
    pool = ConnectionPool("HTTPS://localhost:1", ssl_context=context)
    assert pool.ssl_context is context
    assert pool.url == "https://localhost:1/"
    assert ConnectionPool("Http://localhost").port == 80


def test_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="not an http"):
        ConnectionPool("ftp://example.com")


# -- TLS -----------------------------------------------------------------------


@pytest.fixture
def tls_server(
    certificate: tuple[Path, Path],
) -> Iterator[tuple[ScriptedServer, list[str]]]:
    """An HTTPS server with the certificate; also the SNI names it was sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    names: list[str] = []

    def remember(sock: t.Any, name: str | None, ctx: t.Any) -> None:
        names.append(name or "")

    context.sni_callback = remember
    with ScriptedServer(answer_all(ok(b"{}")), context=context) as server:
        yield server, names


def test_tls_verified_with_a_ca_bundle(
    tls_server: tuple[ScriptedServer, list[str]], certificate: tuple[Path, Path]
) -> None:
    server, names = tls_server
    url = f"https://localhost:{server.port}"
    pool = make_pool(url, ssl_context=ssl_context(str(certificate[0])))
    assert pool.request(REQUEST).content == b"{}"
    assert pool.request(REQUEST).content == b"{}"
    assert pool.connects == 1
    assert names == ["localhost"]  # SNI
    pool.close()


def test_tls_with_verification_off(
    tls_server: tuple[ScriptedServer, list[str]],
) -> None:
    server, _ = tls_server
    pool = make_pool(server.url, ssl_context=ssl_context(False))
    assert pool.request(REQUEST).content == b"{}"


def test_tls_with_an_unknown_issuer_fails(
    tls_server: tuple[ScriptedServer, list[str]], tmp_path: Path
) -> None:
    server, _ = tls_server
    pool = make_pool(f"https://localhost:{server.port}", ssl_context=ssl_context(True))
    with pytest.raises(SSLError, match="SSL validation failed"):
        pool.request(REQUEST)


def test_tls_checks_the_host_name(
    tls_server: tuple[ScriptedServer, list[str]], certificate: tuple[Path, Path]
) -> None:
    server, _ = tls_server
    context = ssl_context(str(certificate[0]))
    # The certificate names localhost, not 127.0.0.1.
    pool = make_pool(server.url, ssl_context=context)
    with pytest.raises(SSLError, match="IP address mismatch"):
        pool.request(REQUEST)


def test_tls_to_a_directory_of_cas(
    tls_server: tuple[ScriptedServer, list[str]],
    certificate: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    # A CA directory must be hashed (c_rehash); an empty one trusts nothing.
    server, _ = tls_server
    pool = make_pool(
        f"https://localhost:{server.port}", ssl_context=ssl_context(str(tmp_path))
    )
    with pytest.raises(SSLError):
        pool.request(REQUEST)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_sockets() -> None:
    with ScriptedServer(answer_all(ok())) as server:
        pool = pool_for(server)
        pool.request(REQUEST)
        assert len(pool._idle) == 1
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads (the
            # server's); the child only writes to a pipe and exits.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            os.write(write_end, str(len(pool._idle)).encode())
            os._exit(0)
        os.close(write_end)
        try:
            assert os.read(read_end, 10) == b"0"
        finally:
            os.close(read_end)
            os.waitpid(pid, 0)
        assert len(pool._idle) == 1
        pool.request(REQUEST)
        assert pool.connects == 1
