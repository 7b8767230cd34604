"""HTTP/1.1 over keep-alive sockets, standard library only.

http.client parses every response's headers with the email package; a cache client makes
tens of thousands of small requests a second from one thread, so this module writes the
request line by hand and reads tiercached's answers (always with Content-Length) with a
small parser. Pipelined batches (several requests written before the answers are read)
serve get_many / set_many / delete_many in one round trip per batch.
"""

import select
import socket
import threading
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .errors import TiercacheUnavailable

# A pipelined batch is cut after this many requests or bytes, so that neither side's
# socket buffers fill while the other waits for it to read (tiercached answers in order).
_BATCH_REQUESTS = 64
_BATCH_BYTES = 1 << 20
_MAX_HEADER_BYTES = 64 << 10


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes):
        self.status = status
        self.headers = headers  # names lower-cased
        self.body = body


# method, path (already percent-encoded, with its query), extra headers, body
Request = Tuple[str, str, Sequence[Tuple[str, str]], Optional[bytes]]


class _ConnectionLost(Exception):
    """The connection failed; `answered` says whether any byte of an answer had come."""

    def __init__(self, cause: BaseException, answered: bool, answers=()):
        super().__init__(str(cause))
        self.cause = cause
        self.answered = answered
        self.answers = list(answers)  # the whole answers read before it failed


class Connection:
    def __init__(self, host: str, port: int, timeout: float, connect_timeout: float):
        self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0
        self.closed = False
        self.reused = False
        self.last_used = time.monotonic()

    def looks_alive(self) -> bool:
        """False when the server has closed it (an idle timeout): readable while idle."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def exchange(self, wire: bytes, heads: List[bool]) -> List[Response]:
        """Sends `wire` and reads one answer per request; heads[i]: request i is a HEAD
        (its answer has a Content-Length but no body)."""
        try:
            self.sock.sendall(wire)
        except OSError as e:
            self.close()
            raise _ConnectionLost(e, answered=False) from e
        answers = []
        for head in heads:
            try:
                answers.append(self._read_response(head))
            except (OSError, ValueError) as e:
                self.close()
                raise _ConnectionLost(e, answered=bool(answers) or len(self.buf) > self.pos,
                                      answers=answers) from e
        return answers

    def _read_response(self, head: bool) -> Response:
        # self.buf[self.pos:] is what has come and not been read: answers pipelined in one
        # batch are parsed in place, without copying the rest of the buffer each time.
        buf, pos = self.buf, self.pos
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end >= 0:
                break
            if len(buf) - pos > _MAX_HEADER_BYTES:
                raise ValueError("response headers too long")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by the server")
            buf, pos = buf[pos:] + chunk, 0
        lines = buf[pos:end].decode("latin-1").split("\r\n")
        status_line = lines[0]
        if not status_line.startswith("HTTP/1.") or len(status_line) < 12:
            raise ValueError("malformed status line: " + status_line[:80])
        status = int(status_line[9:12])
        headers = {}
        for line in lines[1:]:
            colon = line.find(":")
            headers[line[:colon].lower()] = line[colon + 1:].strip()
        length = 0 if head or status in (204, 304) else int(headers.get("content-length", "0"))
        start = end + 4
        need = start + length
        if len(buf) < need:
            parts = [buf[start:]]
            have = len(buf) - start
            while have < length:
                chunk = self.sock.recv(max(65536, length - have))
                if not chunk:
                    raise ConnectionResetError("connection closed by the server")
                parts.append(chunk)
                have += len(chunk)
            rest = b"".join(parts)
            body, self.buf, self.pos = rest[:length], rest[length:], 0
        else:
            body, self.buf, self.pos = buf[start:need], buf, need
            if need == len(buf):
                self.buf, self.pos = b"", 0
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)


class Transport:
    """A pool of keep-alive connections to one server; thread-safe."""

    def __init__(self, url: str, timeout: float = 5.0, connect_timeout: float = 1.0,
                 retries: int = 2, retry_backoff: float = 0.05, max_idle: int = 16):
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme != "http":
            raise ValueError(f"unsupported URL scheme {parts.scheme!r} (expected http://)")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 8080
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.max_idle = max_idle
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._host_line = f"Host: {host}:{self.port}\r\n".encode()
        self._idle: List[Connection] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    def _take(self) -> Connection:
        while True:
            with self._lock:
                if not self._idle:
                    break
                c = self._idle.pop()
            # One cheap look at a connection idle for a while: the server may have closed
            # it, and a request that cannot be repeated must not be sent on a dead one.
            if time.monotonic() - c.last_used < 1.0 or c.looks_alive():
                c.reused = True
                return c
            c.close()
        try:
            return Connection(self.host, self.port, self.timeout, self.connect_timeout)
        except OSError as e:
            raise TiercacheUnavailable(
                f"cannot connect to tiercached at {self.host}:{self.port}: {e}") from e

    def _give_back(self, c: Connection) -> None:
        if c.closed:
            return
        c.last_used = time.monotonic()
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(c)
                return
        c.close()

    def _encode(self, request: Request) -> bytes:
        method, path, headers, body = request
        head = [f"{method} {self.base_path}{path} HTTP/1.1\r\n".encode(), self._host_line]
        for name, value in headers:
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        if body is not None:
            head.append(b"Content-Length: %d\r\n\r\n" % len(body))
            head.append(body)
        else:
            head.append(b"\r\n")
        return b"".join(head)

    def request(self, method: str, path: str, headers: Sequence[Tuple[str, str]] = (),
                body: Optional[bytes] = None, idempotent: bool = True) -> Response:
        return self._run([self._encode((method, path, headers, body))], [method == "HEAD"],
                         idempotent)[0]

    def pipeline(self, requests: Iterable[Request], idempotent: bool = True) -> List[Response]:
        """Answers in the order of `requests`, a batch of them per round trip."""
        answers: List[Response] = []
        wire: List[bytes] = []
        heads: List[bool] = []
        size = 0
        for request in requests:
            encoded = self._encode(request)
            wire.append(encoded)
            heads.append(request[0] == "HEAD")
            size += len(encoded)
            if len(wire) >= _BATCH_REQUESTS or size >= _BATCH_BYTES:
                answers += self._run(wire, heads, idempotent)
                wire, heads, size = [], [], 0
        if wire:
            answers += self._run(wire, heads, idempotent)
        return answers

    def _run(self, wire: List[bytes], heads: List[bool], idempotent: bool) -> List[Response]:
        """Answers to the requests in `wire`. After a failed connection, idempotent requests
        not answered yet are sent again (up to `retries` times, the first at once if a
        kept-alive connection had been closed under it, the others after a pause); the
        answered ones never are. Other requests are never sent twice."""
        answers: List[Response] = []
        attempt = 0
        while True:
            c = self._take()
            try:
                answers += c.exchange(b"".join(wire), heads)
                self._give_back(c)
                return answers
            except _ConnectionLost as lost:
                answers += lost.answers
                wire, heads = wire[len(lost.answers):], heads[len(lost.answers):]
                if not idempotent or attempt >= self.retries:
                    raise TiercacheUnavailable(
                        f"tiercached at {self.host}:{self.port} did not answer: {lost.cause}"
                    ) from lost.cause
                if not (c.reused and not lost.answered):
                    time.sleep(self.retry_backoff * (2 ** attempt))
                attempt += 1
