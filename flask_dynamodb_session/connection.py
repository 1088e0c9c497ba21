"""HTTP/1.1 to one endpoint over kept-alive sockets, parsed by httptools.

The lean transport writes each request's bytes directly on a socket and reads
the response with :class:`httptools.HttpResponseParser` (``Content-Length``
and chunked bodies alike), which costs a fraction of :mod:`http.client` or
urllib3, both of which parse headers through the :mod:`email` package.

One request gets one response, read exactly to its framing:

- interim ``1xx`` answers (``100 Continue`` sent unprompted by a proxy or an
  emulator) are skipped; the final answer is the one returned;
- a socket is given back to the pool only after a complete, framed answer
  that left no byte behind: bytes beyond the response, an answer delimited by
  the end of the connection, an unparsable answer or one not read to its end
  close the socket, so a later call can never read an earlier call's answer;
- the client bounds what it reads: at most :data:`MAX_HEAD_BYTES` and
  :data:`MAX_HEADERS` for the head (interim answers included), at most
  :data:`MAX_BODY_BYTES` of body, and a deadline for the whole exchange
  (connect, send and every read together): ``connect_timeout +
  read_timeout``, so a server that dribbles its answer byte by byte cannot
  hold a request longer than that.

Sockets are kept in a small pool that is safe to share between threads (and
forgotten by a forked child, such as a gunicorn worker forked after a call): a
request takes an idle socket (or opens one), and gives it back afterwards
unless the server said ``Connection: close``. At most ``max_connections``
idle sockets are kept. Before an idle socket is reused it is checked for
readability: a socket the server closed meanwhile (or that holds unexpected
bytes) reads as ready and is replaced before anything is written. The pool
never sends a request twice: a request that fails once written is the
caller's to retry, under its retry rules.

Failures are raised as the botocore exceptions its own HTTP layer raises for
them, so that retry policies and callers see no difference:
:class:`~botocore.exceptions.EndpointConnectionError` (refused, unresolvable),
:class:`~botocore.exceptions.ConnectTimeoutError`,
:class:`~botocore.exceptions.ReadTimeoutError` (also when the deadline
passes), :class:`~botocore.exceptions.ConnectionClosedError` (reset, closed or
malformed answer), :class:`~botocore.exceptions.HTTPClientError` (an answer
past the limits) and :class:`~botocore.exceptions.SSLError`.
"""

from __future__ import annotations

import collections
import os
import select
import socket
import ssl
import time
import typing as t
import weakref
from urllib.parse import urlsplit

import httptools
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

#: A socket option as botocore keeps them: ``(level, option, value)``.
SocketOption = tuple[int, int, int]

#: The most bytes of response head read (status lines and headers of the
#: final answer and of any interim ones before it).
MAX_HEAD_BYTES = 64 * 1024
#: The most header fields of a response (interim answers' included).
MAX_HEADERS = 100
#: The most body bytes of a response: an answer about one item (at most
#: 400 KB, base64-encoded in JSON) is well under this.
MAX_BODY_BYTES = 1024 * 1024

_NODELAY: SocketOption = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
_RECV_SIZE = 65536


class Response:
    """An HTTP response, with the attributes botocore's retry checks read."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        #: The status code, e.g. ``200``.
        self.status_code = status_code
        #: Header values by lowercase name (repeated headers joined by ``, ``).
        self.headers = headers
        #: The whole body, de-chunked.
        self.content = content


class _Beyond(Exception):
    """Bytes followed the complete response."""


class _Limit(Exception):
    """The response passed one of the client's limits."""


class Connection:
    """One socket and the parser of its responses.

    :param sock: a connected (and, for HTTPS, wrapped) socket.
    :param url: the endpoint's URL, for error messages.
    :param read_timeout: seconds to wait for each piece of the response.
    """

    def __init__(
        self, sock: socket.socket, url: str, read_timeout: float | None = None
    ) -> None:
        self.sock = sock
        self.url = url
        self.read_timeout = read_timeout
        self._parser = httptools.HttpResponseParser(self)
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._header_count = 0
        self._complete = False
        self._headers_complete = False
        self._keep_alive = False
        self._beyond = False
        if hasattr(select, "poll"):
            self._poll: t.Any = select.poll()
            self._poll.register(sock, select.POLLIN)
        else:  # pragma: no cover - Windows
            self._poll = None

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer in the same read: stop there
            raise _Beyond

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            raise _Limit(f"the response has more than {MAX_HEADERS} header fields")
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_complete = True

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY_BYTES:
            raise _Limit(f"the response body passes {MAX_BODY_BYTES} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # An interim answer: the final one follows on the same socket.
            self._raw_headers = []
            self._headers_complete = False
            return
        # The parser forgets the message's keep-alive state once it returns.
        self._keep_alive = self._parser.should_keep_alive()
        self._complete = True

    # the exchange

    def dropped(self) -> bool:
        """Whether an idle socket became readable: closed by the server, or
        holding bytes nobody asked for. Either way it must not be reused."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        if self._poll is not None:
            return bool(self._poll.poll(0))
        readable, _, _ = select.select([self.sock], [], [], 0)  # pragma: no cover
        return bool(readable)  # pragma: no cover

    def exchange(self, request: bytes, deadline: float | None) -> tuple[Response, bool]:
        """Send a request and read its response, by ``deadline`` at the latest.

        :param deadline: :func:`time.monotonic` time by which the whole
            response must be read, or ``None``.
        :return: the response, and whether the socket may be reused.
        """
        self._raw_headers = []
        self._body = []
        self._body_size = self._header_count = 0
        self._complete = self._headers_complete = self._keep_alive = False
        self._beyond = False
        head_bytes = 0
        try:
            self._settimeout(deadline)
            self.sock.sendall(request)
            while not self._complete:
                self._settimeout(deadline)
                data = self.sock.recv(_RECV_SIZE)
                if not data:
                    if self._ends_at_close():
                        # Delimited by the end of the connection: complete,
                        # and the socket is done.
                        self._keep_alive = False
                        break
                    raise ConnectionResetError("the server closed the connection")
                if not self._headers_complete:
                    head_bytes += len(data)
                self._feed(data)
                if not self._headers_complete and head_bytes > MAX_HEAD_BYTES:
                    raise _Limit(f"the response head passes {MAX_HEAD_BYTES} bytes")
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except _Limit as exc:
            raise HTTPClientError(endpoint_url=self.url, error=exc) from exc
        except (OSError, httptools.HttpParserError) as exc:
            raise ConnectionClosedError(endpoint_url=self.url, error=exc) from exc
        status = self._parser.get_status_code()
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        keep_alive = self._keep_alive and not self._beyond
        return Response(status, self._headers(), body), keep_alive

    def _feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self._complete:  # bytes beyond the response: it stands alone
                self._beyond = True
                return
            if isinstance(exc.__context__, _Limit):
                raise exc.__context__ from None
            raise

    def _settimeout(self, deadline: float | None) -> None:
        timeout = self.read_timeout
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the call's deadline passed")
            timeout = left if timeout is None else min(timeout, left)
        self.sock.settimeout(timeout)

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        repeated: dict[str, list[str]] = {}
        for name, value in self._raw_headers:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            if key in headers:
                repeated.setdefault(key, [headers[key]]).append(text)
            headers[key] = text
        for key, values in repeated.items():  # a repeated header: join its values
            headers[key] = ", ".join(values)
        return headers

    def _ends_at_close(self) -> bool:
        """Whether the body of the response read so far ends at end-of-file."""
        if not self._headers_complete:
            return False
        names = {name.lower(): value.lower() for name, value in self._raw_headers}
        return b"content-length" not in names and b"chunked" not in names.get(
            b"transfer-encoding", b""
        )

    def close(self) -> None:
        """Close the socket."""
        try:
            self.sock.close()
        finally:
            self._parser = None  # type: ignore[assignment]


class ConnectionPool:
    """Kept-alive connections to one HTTP or HTTPS endpoint.

    Thread-safe. Nothing connects before the first request.

    :param endpoint_url: ``http(s)://host[:port]``; requests go to its host.
    :param connect_timeout: seconds to connect (TLS handshake included).
    :param read_timeout: seconds to wait for each piece of the response.
        With both timeouts set, a request also ends by its deadline:
        ``connect_timeout + read_timeout`` after it started, however slowly
        the server answers.
    :param max_connections: idle connections kept for reuse.
    :param ssl_context: the TLS settings for an ``https`` endpoint.
    :param socket_options: set on every new socket; ``TCP_NODELAY`` always is.
    """

    def __init__(
        self,
        endpoint_url: str,
        *,
        connect_timeout: float | None = 60,
        read_timeout: float | None = 60,
        max_connections: int = 10,
        ssl_context: ssl.SSLContext | None = None,
        socket_options: t.Iterable[SocketOption] = (),
    ) -> None:
        parts = urlsplit(endpoint_url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint URL: {endpoint_url!r}")
        #: The URL named in errors: the endpoint with path ``/``.
        self.url = f"{scheme}://{parts.netloc}/"
        self.host = parts.hostname
        self.port = parts.port or (443 if scheme == "https" else 80)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        #: Seconds one request may take in all, or ``None`` for no bound.
        self.deadline: float | None = None
        if connect_timeout is not None and read_timeout is not None:
            self.deadline = connect_timeout + read_timeout
        self.max_connections = max_connections
        if scheme == "https" and ssl_context is None:
            ssl_context = ssl.create_default_context()
        self.ssl_context = ssl_context if scheme == "https" else None
        options = list(socket_options)
        if _NODELAY not in options:
            options.append(_NODELAY)
        self.socket_options = tuple(options)
        self._idle: collections.deque[Connection] = collections.deque()
        #: How many sockets were opened so far.
        self.connects = 0
        _pools.add(self)

    def request(self, data: bytes) -> Response:
        """Send the bytes of one request, once, and return its response."""
        deadline = None if self.deadline is None else time.monotonic() + self.deadline
        connection = self._idle_connection()
        if connection is None:
            connection = self.connect(deadline)
        try:
            response, keep_alive = connection.exchange(data, deadline)
        except BaseException:
            connection.close()
            raise
        if keep_alive and len(self._idle) < self.max_connections:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    def _idle_connection(self) -> Connection | None:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return None
            if not connection.dropped():
                return connection
            connection.close()

    def connect(self, deadline: float | None = None) -> Connection:
        """Open a new connection (not pooled until a request gives it back).

        :param deadline: :func:`time.monotonic` time to give up at, if sooner
            than the connect timeout.
        """
        timeout = self.connect_timeout
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.001)
            timeout = left if timeout is None else min(timeout, left)
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        try:
            for level, option, value in self.socket_options:
                sock.setsockopt(level, option, value)
            if self.ssl_context is not None:
                sock = self._wrap(sock)
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self.connects += 1
        return Connection(sock, self.url, self.read_timeout)

    def _wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        assert self.ssl_context is not None
        try:
            return self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except ssl.SSLError as exc:
            raise SSLError(endpoint_url=self.url, error=exc) from exc
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc

    def close(self) -> None:
        """Close every idle connection; the pool stays usable."""
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return
            connection.close()


_pools: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


def _forget_inherited_connections() -> None:  # pragma: no cover - in a child
    """In a forked child: drop the parent's sockets, never to share them."""
    for pool in list(_pools):
        pool.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_connections)
