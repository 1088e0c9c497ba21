"""An HTTP proxy in front of a DynamoDB server that records calls and injects faults.

:class:`DynamoProxy` listens on a free port of ``127.0.0.1`` and forwards
every request to a DynamoDB-compatible server (moto, dynalite), so it sees
the calls of any client, whatever its HTTP layer: boto3 and the lean
transport alike. It

* records each request (:class:`Call`): the operation named by
  ``X-Amz-Target``, the JSON body and the headers, so that tests can count
  calls and check their parameters (``ConsistentRead`` of every ``GetItem``,
  the access key in ``Authorization``);
* answers in place of the server, or alters the server's answer, for the
  next requests, as told by :meth:`DynamoProxy.inject` with a :class:`Fault`:
  an error status with a JSON ``__type`` body, any other body (an HTML 502,
  an XML 403), a wrong ``x-amz-crc32``, a connection closed without an
  answer (before or after the server acted on the request), a slow answer,
  an answer dribbled byte by byte, a chunked body, ``Connection: close``,
  an unprompted ``100 Continue``, stray bytes after the answer, a gzip body,
  or no answer at all until the proxy stops (a hung server);
* is cut like a dead server (:meth:`DynamoProxy.cut`: the port refuses
  connections and open ones break) and restored on the same port, while the
  server behind it keeps its data.

It speaks HTTP/1.1 with keep-alive to its clients (one thread per client
connection) and forwards on a connection of its own per client connection,
keeping the ``Host`` header as the client signed it. Request bodies must come
with a ``Content-Length``, as DynamoDB clients send them.

Typical use::

    with MotoServer() as server, DynamoProxy(server.endpoint_url) as proxy:
        client = server.client(endpoint_url=proxy.endpoint_url)
        proxy.inject(Fault.error(400, "ThrottlingException"), times=2)
        client.get_item(...)          # retried twice, then answered
        assert proxy.count("GetItem") == 3
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import http.client
import json
import socket
import threading
import typing as t
import zlib
from urllib.parse import urlsplit

from tests.support.servers import HOST

__all__ = ["Call", "DynamoProxy", "Fault"]

#: Headers that describe one hop, never forwarded as they are.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te"}
)
_JSON = "application/x-amz-json-1.0"


@dataclasses.dataclass(frozen=True)
class Fault:
    """What the proxy does to one request instead of simply forwarding it.

    Make one with the class methods below.
    """

    #: ``"answer"``, ``"bad_crc32"``, ``"drop"``, ``"delay"``, ``"chunked"``,
    #: ``"close"``, ``"lost"``, ``"interim"``, ``"trailing"``, ``"dribble"``,
    #: ``"gzip"`` or ``"hang"``.
    kind: str
    #: The status of an ``"answer"``.
    status: int = 200
    #: The body of an ``"answer"``.
    body: bytes = b""
    #: Headers of an ``"answer"``.
    headers: tuple[tuple[str, str], ...] = ()
    #: Seconds a ``"delay"`` waits before forwarding; a ``"dribble"``'s
    #: pause between two bytes.
    seconds: float = 0.0

    @classmethod
    def error(
        cls,
        status: int,
        code: str,
        message: str = "injected by the test proxy",
        *,
        headers: t.Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer with a DynamoDB error: ``{"__type": ..., "message": ...}``.

        :param code: the error code, e.g. ``"ThrottlingException"``; sent as
            ``com.amazonaws.dynamodb.v20120810#<code>``.
        :param headers: more response headers (``x-amz-retry-after``...).
        """
        body = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
        ).encode()
        extra = tuple((headers or {}).items())
        return cls.answer(status, body, _JSON, headers=extra, crc32=True)

    @classmethod
    def answer(
        cls,
        status: int,
        body: bytes,
        content_type: str = "text/html",
        *,
        headers: t.Iterable[tuple[str, str]] = (),
        crc32: bool = False,
    ) -> Fault:
        """Answer with any status and body, such as a proxy's HTML page.

        :param crc32: send a correct ``x-amz-crc32`` of the body.
        """
        fields = [("Content-Type", content_type), *headers]
        if crc32:
            fields.append(("x-amz-crc32", str(zlib.crc32(body))))
        return cls("answer", status=status, body=body, headers=tuple(fields))

    @classmethod
    def bad_crc32(cls) -> Fault:
        """Forward, then send the server's answer with a wrong ``x-amz-crc32``."""
        return cls("bad_crc32")

    @classmethod
    def drop(cls) -> Fault:
        """Read the request, then close the connection without answering."""
        return cls("drop")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds`` (or until the proxy stops), then forward."""
        return cls("delay", seconds=seconds)

    @classmethod
    def chunked(cls) -> Fault:
        """Forward, and send the answer's body with chunked transfer encoding."""
        return cls("chunked")

    @classmethod
    def close(cls) -> Fault:
        """Forward, answer with ``Connection: close`` and close the connection."""
        return cls("close")

    @classmethod
    def lost(cls) -> Fault:
        """Forward (the server acts on the request), then close the
        connection without answering: the client cannot know it was done."""
        return cls("lost")

    @classmethod
    def interim(cls) -> Fault:
        """Forward, and send an unprompted ``100 Continue``, then (a moment
        later) the answer."""
        return cls("interim")

    @classmethod
    def trailing(cls, stray: bytes) -> Fault:
        """Forward, and send ``stray`` bytes right after the answer."""
        return cls("trailing", body=stray)

    @classmethod
    def dribble(cls, pause: float) -> Fault:
        """Forward, and send the answer a byte at a time, ``pause`` apart."""
        return cls("dribble", seconds=pause)

    @classmethod
    def gzip(cls) -> Fault:
        """Forward, and send the answer's body gzip-compressed."""
        return cls("gzip")

    @classmethod
    def hang(cls) -> Fault:
        """Read the request, then neither forward nor answer until the proxy
        stops: a server that accepts connections and never answers."""
        return cls("hang")


#: ``rewrite(operation, request, status, answer) -> answer`` of the proxy.
Rewrite = t.Callable[[str, dict[str, t.Any], int, dict[str, t.Any]], dict[str, t.Any]]


@dataclasses.dataclass(frozen=True)
class Call:
    """One request the proxy received."""

    #: The operation, from ``X-Amz-Target`` (``"GetItem"``), or ``""``.
    operation: str
    #: The JSON body, decoded (``{}`` if it was not JSON).
    body: dict[str, t.Any]
    #: The request headers, by lowercase name.
    headers: dict[str, str]
    #: The fault applied to it, if any.
    fault: Fault | None

    @property
    def access_key(self) -> str:
        """The access key id the request was signed with (``""`` if unsigned)."""
        authorization = self.headers.get("authorization", "")
        _, _, credential = authorization.partition("Credential=")
        return credential.split("/", 1)[0]


class DynamoProxy:
    """A recording, fault-injecting HTTP/1.1 proxy for a DynamoDB server.

    A context manager: entering starts it, leaving stops it.

    :param upstream_url: the server's URL (``http://127.0.0.1:<port>``);
        ``None`` for a proxy with nothing behind it, whose every request meets
        a fault that needs no server (:meth:`Fault.hang`, :meth:`Fault.answer`).
    """

    def __init__(self, upstream_url: str | None = None) -> None:
        parts = urlsplit(upstream_url or f"http://{HOST}:9")
        self.upstream = (parts.hostname or HOST, parts.port or 80)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._standing: dict[str, list[t.Any]] = {}  # operation -> [fault, left]
        #: Called with the operation and the request's JSON body before a
        #: request is forwarded (a test's way of racing it).
        self.before_forward: t.Callable[[str, dict[str, t.Any]], None] | None = None
        #: Called with the operation, the request's JSON body, the status and
        #: the JSON body of the server's answer; returns the body to send
        #: instead (a lagging replica, a server that omits a field...).
        self.rewrite: Rewrite | None = None
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._clients: dict[socket.socket, bool] = {}  # socket -> idle
        self._threads: list[threading.Thread] = []
        #: The port of ``127.0.0.1`` it listens on (a free one, kept by
        #: :meth:`restore`).
        self.port = 0
        #: How many client connections were accepted so far.
        self.connections = 0

    @property
    def endpoint_url(self) -> str:
        """The URL to give a client instead of the server's."""
        return f"http://{HOST}:{self.port}"

    # -- what the tests use -----------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to each of the next ``times`` requests (after any
        faults injected before)."""
        with self._lock:
            self._faults.extend([fault] * times)

    def clear_faults(self) -> None:
        """Forget the faults not applied yet."""
        with self._lock:
            self._faults.clear()

    def fail(self, fault: Fault, *operations: str, times: int | None = None) -> None:
        """Apply ``fault`` to every request of ``operations`` (of every
        operation if none is named) until :meth:`heal`: an outage.

        :param times: apply it to only this many requests of each operation.
        """
        with self._lock:
            for operation in operations or ("",):
                self._standing[operation] = [fault, times]

    def heal(self) -> None:
        """End every outage, forget pending faults and hooks."""
        with self._lock:
            self._standing.clear()
            self._faults.clear()
        self.before_forward = None
        self.rewrite = None

    @property
    def pending_faults(self) -> int:
        """How many injected faults are still to be applied."""
        with self._lock:
            return len(self._faults)

    @property
    def calls(self) -> list[Call]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def operations(self) -> list[str]:
        """The operation of every request so far, in order."""
        return [call.operation for call in self.calls]

    def count(self, operation: str | None = None) -> int:
        """How many requests (of ``operation``, if given) were received."""
        return sum(1 for call in self.calls if operation in (None, call.operation))

    def consistent_reads(self) -> list[bool]:
        """The ``ConsistentRead`` flag of every ``GetItem``, in order."""
        return [
            bool(call.body.get("ConsistentRead", False))
            for call in self.calls
            if call.operation == "GetItem"
        ]

    def reset(self) -> None:
        """Forget the recorded calls (faults not applied yet stay)."""
        with self._lock:
            self._calls.clear()

    def close_idle_connections(self) -> int:
        """Close every client connection that waits for its next request,
        as a server does after its keep-alive timeout; returns how many."""
        with self._lock:
            idle = [sock for sock, waiting in self._clients.items() if waiting]
        for sock in idle:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return len(idle)

    # -- life ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether it listens (started, and not stopped or cut since)."""
        return self._listener is not None

    def start(self) -> None:
        """Listen on :attr:`port` (a free one at first) and serve in threads."""
        if self._listener is not None:
            raise RuntimeError("the proxy is already running")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, self.port))
            listener.listen(64)
        except BaseException:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._stop.clear()
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        """Stop listening and close every connection, at once."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stop.set()
        # Wakes the accepting thread, which sees the stop and ends.
        with contextlib.suppress(OSError):
            socket.create_connection((HOST, self.port), timeout=1).close()
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(5)
        listener.close()

    def cut(self) -> None:
        """Fail like a dead server: refuse connections and break the open
        ones, while the server behind keeps its data."""
        self.stop()

    def restore(self) -> None:
        """Listen again on the same port, after :meth:`cut`."""
        self.start()

    def __enter__(self) -> DynamoProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- serving ------------------------------------------------------------

    def _spawn(self, target: t.Callable[..., None], *args: t.Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [th for th in self._threads if th.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._stop.is_set():
                client.close()
                return
            with self._lock:
                self._clients[client] = True
                self.connections += 1
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        reader = client.makefile("rb")
        try:
            while not self._stop.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                operation = _operation(request)
                with self._lock:
                    self._clients[client] = False
                    fault = self._faults.pop(0) if self._faults else None
                    if fault is None:
                        fault = self._standing_fault(operation)
                if not self._handle(client, upstream, request, fault):
                    return
                with self._lock:
                    self._clients[client] = True
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.pop(client, None)
            reader.close()
            upstream.close()
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def _handle(
        self,
        client: socket.socket,
        upstream: http.client.HTTPConnection,
        request: _Request,
        fault: Fault | None,
    ) -> bool:
        """Answer one request; ``False`` if the connection is to be closed."""
        self._record(request, fault)
        kind = fault.kind if fault is not None else "forward"
        if kind == "hang":
            self._stop.wait()
            return False
        if kind == "drop":
            return False
        if kind == "answer":
            assert fault is not None
            close = not request.keep_alive
            answer = _response(
                fault.status, list(fault.headers), fault.body, close=close
            )
            client.sendall(answer)
            return not close
        if kind == "delay":
            assert fault is not None
            if self._stop.wait(fault.seconds):
                return False
        operation = _operation(request)
        before = self.before_forward
        if before is not None:
            before(operation, _json(request.body))
        status, headers, body = _forward(upstream, request)
        if kind == "lost":
            return False
        rewrite = self.rewrite
        if rewrite is not None:
            rewritten = rewrite(operation, _json(request.body), status, _json(body))
            body = json.dumps(rewritten).encode()
            headers = [(n, v) for n, v in headers if n.lower() != "x-amz-crc32"]
            headers.append(("x-amz-crc32", str(zlib.crc32(body))))
        if kind == "bad_crc32":
            headers = [(n, v) for n, v in headers if n.lower() != "x-amz-crc32"]
            headers.append(("x-amz-crc32", str((zlib.crc32(body) + 1) % 2**32)))
        if kind == "gzip":
            body = gzip.compress(body)
            headers = [(n, v) for n, v in headers if n.lower() != "x-amz-crc32"]
            headers.append(("Content-Encoding", "gzip"))
        close = kind == "close" or not request.keep_alive
        answer = _response(
            status, headers, body, chunked=kind == "chunked", close=close
        )
        if kind == "interim":
            # On its own, as a proxy sends it: the client reads it alone.
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if self._stop.wait(0.05):
                return False
        elif kind == "trailing":
            assert fault is not None
            answer += fault.body
        if kind == "dribble":
            assert fault is not None
            for index in range(len(answer)):
                client.sendall(answer[index : index + 1])
                if self._stop.wait(fault.seconds):
                    return False
        else:
            client.sendall(answer)
        return not close

    def _standing_fault(self, operation: str) -> Fault | None:
        """The fault of an outage of ``operation``, used up by one (locked)."""
        entry = self._standing.get(operation, self._standing.get(""))
        if entry is None or entry[1] == 0:
            return None
        if entry[1] is not None:
            entry[1] -= 1
        return t.cast(Fault, entry[0])

    def _record(self, request: _Request, fault: Fault | None) -> None:
        call = Call(
            _operation(request), _json(request.body), dict(request.headers), fault
        )
        with self._lock:
            self._calls.append(call)


def _operation(request: _Request) -> str:
    return request.headers.get("x-amz-target", "").rpartition(".")[2]


def _json(body: bytes) -> dict[str, t.Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Request(t.NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


def _read_request(reader: t.BinaryIO) -> _Request | None:
    """The next request on a client connection; ``None`` at its end."""
    line = reader.readline()
    if not line.strip():
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    raw_headers: list[tuple[str, str]] = []
    while True:
        line = reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        raw_headers.append((name.strip(), value.strip()))
    headers = {name.lower(): value for name, value in raw_headers}
    body = reader.read(int(headers.get("content-length", "0")))
    return _Request(method, path, headers, raw_headers, body)


def _forward(
    upstream: http.client.HTTPConnection, request: _Request
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Send a request to the server, unchanged, and return its answer."""
    for attempt in range(2):
        try:
            upstream.putrequest(
                request.method, request.path, skip_host=True, skip_accept_encoding=True
            )
            for name, value in request.raw_headers:
                if name.lower() not in _HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(request.body)))
            upstream.endheaders(request.body)
            response = upstream.getresponse()
            body = response.read()
        except (http.client.HTTPException, OSError):
            upstream.close()  # the server closed a kept-alive connection
            if attempt:
                raise
            continue
        if response.will_close:
            upstream.close()
        headers = [
            (n, v) for n, v in response.getheaders() if n.lower() not in _HOP_BY_HOP
        ]
        return response.status, headers, body
    raise AssertionError("unreachable")  # pragma: no cover


def _response(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    chunked: bool = False,
    close: bool = False,
) -> bytes:
    reason = http.client.responses.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{n}: {v}" for n, v in headers)]
    lines.append(f"Connection: {'close' if close else 'keep-alive'}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        half = len(body) // 2
        pieces = [body[:half], body[half:]]
        payload = (
            b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces if piece)
            + b"0\r\n\r\n"
        )
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
