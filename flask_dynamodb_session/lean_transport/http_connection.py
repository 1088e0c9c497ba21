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

The sockets are kept by :class:`.connection_pool.ConnectionPool`.

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

import select
import socket
import ssl
import time
import typing as t

import httptools
from botocore.exceptions import (
    ConnectionClosedError,
    HTTPClientError,
    ReadTimeoutError,
)

#: The most bytes of response head read (status lines and headers of the
#: final answer and of any interim ones before it).
MAX_HEAD_BYTES = 64 * 1024
#: The most header fields of a response (interim answers' included).
MAX_HEADERS = 100
#: The most body bytes of a response: an answer about one item (at most
#: 400 KB, base64-encoded in JSON) is well under this.
MAX_BODY_BYTES = 1024 * 1024

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
        self._timeout: float | None = sock.gettimeout()
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
        raw = self._raw_headers
        if len(raw) + self._header_count >= MAX_HEADERS:
            raise _Limit(f"the response has more than {MAX_HEADERS} header fields")
        raw.append((name, value))

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
            self._header_count += len(self._raw_headers)
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
        sock, parser = self.sock, self._parser
        try:
            self._settimeout(deadline)
            sock.sendall(request)
            while not self._complete:
                if deadline is not None:
                    self._settimeout(deadline)
                data = sock.recv(_RECV_SIZE)
                if not data:
                    if self._ends_at_close():
                        # Delimited by the end of the connection: complete,
                        # and the socket is done.
                        self._keep_alive = False
                        break
                    raise ConnectionResetError("the server closed the connection")
                if not self._headers_complete:
                    head_bytes += len(data)
                try:
                    parser.feed_data(data)
                except httptools.HttpParserError as exc:
                    if not self._complete:
                        if isinstance(exc.__context__, _Limit):
                            raise exc.__context__ from None
                        raise
                    self._beyond = True  # bytes beyond the answer: it stands alone
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

    def _settimeout(self, deadline: float | None) -> None:
        """Wait at most ``read_timeout`` for a piece, and never past ``deadline``."""
        timeout = self.read_timeout
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the call's deadline passed")
            if timeout is None or left < timeout:
                timeout = left
        if timeout != self._timeout:
            self.sock.settimeout(timeout)
            self._timeout = timeout

    def _headers(self) -> dict[str, str]:
        raw = self._raw_headers
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in raw
        }
        if len(headers) == len(raw):
            return headers
        headers = {}  # a repeated header: join its values
        repeated: dict[str, list[str]] = {}
        for name, value in raw:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            if key in headers:
                repeated.setdefault(key, [headers[key]]).append(text)
            headers[key] = text
        for key, values in repeated.items():
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
