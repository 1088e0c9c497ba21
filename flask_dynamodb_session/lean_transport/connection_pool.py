"""Kept-alive connections to one HTTP or HTTPS endpoint.

Sockets are kept in a small pool that is safe to share between threads (and
forgotten by a forked child, such as a gunicorn worker forked after a call): a
request takes an idle socket (or opens one), and gives it back afterwards
unless the server said ``Connection: close``. At most ``max_connections``
idle sockets are kept. Before an idle socket is reused it is checked for
readability: a socket the server closed meanwhile (or that holds unexpected
bytes) reads as ready and is replaced before anything is written. The pool
never sends a request twice: a request that fails once written is the
caller's to retry, under its retry rules.
"""

from __future__ import annotations

import collections
import os
import socket
import ssl
import time
import typing as t
import weakref
from urllib.parse import urlsplit

from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    SSLError,
)

from .http_connection import Connection, Response

#: A socket option as botocore keeps them: ``(level, option, value)``.
SocketOption = tuple[int, int, int]

_NODELAY: SocketOption = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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
