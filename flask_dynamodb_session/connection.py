"""HTTP/1.1 to one endpoint over kept-alive sockets, parsed by httptools.

The lean transport writes each request's bytes directly on a socket and reads
the response with :class:`httptools.HttpResponseParser` (``Content-Length``
and chunked bodies alike), which costs a fraction of :mod:`http.client` or
urllib3, both of which parse headers through the :mod:`email` package.

Sockets are kept in a small pool that is safe to share between threads (and
forgotten by a forked child, such as a gunicorn worker forked after a call): a
request takes an idle socket (or opens one), and gives it back afterwards
unless the server said ``Connection: close``. At most ``max_connections``
idle sockets are kept. Before an idle socket is reused it is checked for
readability: a socket the server closed meanwhile reads as end-of-file and is
replaced. If a reused socket still fails before the first byte of the answer
(the server closed it in the same instant), the request is sent once more on
a new socket, as the request cannot have been processed.

Failures are raised as the botocore exceptions its own HTTP layer raises for
them, so that retry policies and callers see no difference:
:class:`~botocore.exceptions.EndpointConnectionError` (refused, unresolvable),
:class:`~botocore.exceptions.ConnectTimeoutError`,
:class:`~botocore.exceptions.ReadTimeoutError`,
:class:`~botocore.exceptions.ConnectionClosedError` (reset, closed or
malformed answer) and :class:`~botocore.exceptions.SSLError`.
"""

from __future__ import annotations

import collections
import os
import select
import socket
import ssl
import typing as t
import weakref
from urllib.parse import urlsplit

import httptools
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)

#: A socket option as botocore keeps them: ``(level, option, value)``.
SocketOption = tuple[int, int, int]

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


class _Stale(Exception):
    """A reused socket failed before any byte of the answer arrived."""


class Connection:
    """One socket and the parser of its responses.

    :param sock: a connected (and, for HTTPS, wrapped) socket.
    :param url: the endpoint's URL, for error messages.
    """

    def __init__(self, sock: socket.socket, url: str) -> None:
        self.sock = sock
        self.url = url
        #: Whether the socket carried a complete exchange already.
        self.reused = False
        self._parser = httptools.HttpResponseParser(self)
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._complete = False
        self._headers_complete = False
        self._keep_alive = False
        if hasattr(select, "poll"):
            self._poll: t.Any = select.poll()
            self._poll.register(sock, select.POLLIN)
        else:  # pragma: no cover - Windows
            self._poll = None

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_complete = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        # The parser forgets the message's keep-alive state once it returns.
        self._keep_alive = self._parser.should_keep_alive()
        self._complete = True

    # the exchange

    def dropped(self) -> bool:
        """Whether an idle socket became readable: closed by the server."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        if self._poll is not None:
            return bool(self._poll.poll(0))
        readable, _, _ = select.select([self.sock], [], [], 0)  # pragma: no cover
        return bool(readable)  # pragma: no cover

    def exchange(self, request: bytes) -> tuple[Response, bool]:
        """Send a request and read its response.

        :return: the response, and whether the socket may be reused.
        :raises _Stale: a reused socket failed before the first answer byte.
        """
        self._raw_headers = []
        self._body = []
        self._complete = self._headers_complete = self._keep_alive = False
        received = False
        try:
            self.sock.sendall(request)
            while not self._complete:
                data = self.sock.recv(_RECV_SIZE)
                if not data:
                    if self._ends_at_close():
                        break
                    raise ConnectionResetError("the server closed the connection")
                received = True
                self._parser.feed_data(data)
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except (OSError, httptools.HttpParserError) as exc:
            if self.reused and not received and isinstance(exc, OSError):
                raise _Stale from exc
            raise ConnectionClosedError(endpoint_url=self.url, error=exc) from exc
        status = self._parser.get_status_code()
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        self.reused = True
        return Response(status, self._headers(), body), self._keep_alive

    def _headers(self) -> dict[str, str]:
        raw = self._raw_headers
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in raw
        }
        if len(headers) < len(raw):  # a repeated header: join its values
            headers = {}
            for name, value in raw:
                key, text = name.decode("latin-1").lower(), value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint URL: {endpoint_url!r}")
        #: The URL named in errors: the endpoint with path ``/``.
        self.url = f"{parts.scheme}://{parts.netloc}/"
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        if parts.scheme == "https" and ssl_context is None:
            ssl_context = ssl.create_default_context()
        self.ssl_context = ssl_context if parts.scheme == "https" else None
        options = list(socket_options)
        if _NODELAY not in options:
            options.append(_NODELAY)
        self.socket_options = tuple(options)
        self._idle: collections.deque[Connection] = collections.deque()
        #: How many sockets were opened so far.
        self.connects = 0
        _pools.add(self)

    def request(self, data: bytes) -> Response:
        """Send the bytes of one request and return its response."""
        connection = self._idle_connection()
        if connection is not None:
            try:
                response, keep_alive = connection.exchange(data)
            except _Stale:
                connection.close()
                connection = None
            except BaseException:
                connection.close()
                raise
        if connection is None:
            connection = self.connect()
            try:
                response, keep_alive = connection.exchange(data)
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

    def connect(self) -> Connection:
        """Open a new connection (not pooled until a request gives it back)."""
        try:
            sock = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
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
        return Connection(sock, self.url)

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
