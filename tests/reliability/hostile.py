"""A loopback HTTP server that breaks HTTP on purpose, for the reliability suite.

Each connection is served by a *script*: a function given the connection's socket and the
request it sent (head and body, read whole), that writes whatever it likes. The server
counts requests, answers the first ``hostile`` of them with the script and the rest with a
well-formed JSON answer (so a test can check that the client is still usable afterwards),
and closes everything it opened.
"""

import gzip
import json
import re
import socket
import threading
import time
import zlib
from typing import Any, Callable, List, Optional

Script = Callable[[socket.socket, bytes], None]

EXECUTION_ID = "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"
RUNNING = {"execution_id": EXECUTION_ID, "flow_id": "f", "status": "running"}
COMPLETED = dict(RUNNING, status="completed", output_data={"ok": True})


class Hostile:
    """Serves ``script`` to the first ``hostile`` requests on 127.0.0.1, then good answers.

    Attributes:
        requests: The requests received so far (raw bytes, head and body).
    """

    def __init__(
        self,
        script: Script,
        hostile: int = 1_000_000,
        good: Optional[Any] = None,
        read: bool = True,
    ) -> None:
        self.script = script
        self.read = read
        self.hostile = hostile
        self.good = COMPLETED if good is None else good
        self.requests: List[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._conns: List[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:{}".format(self._listener.getsockname()[1])

    @property
    def count(self) -> int:
        """Requests received."""
        with self._lock:
            return len(self.requests)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            if not self.read:  # not HTTP (a TLS hello, say): answer whatever came
                with self._lock:
                    self.requests.append(conn.recv(65536))
                self.script(conn, self.requests[-1])
                return
            while not self._stop.is_set():
                request = read_request(conn)
                if not request:
                    return
                with self._lock:
                    self.requests.append(request)
                    hostile = len(self.requests) <= self.hostile
                if hostile:
                    self.script(conn, request)
                    return  # a script owns its connection: it is closed afterwards
                good = json.dumps(self.good).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(good), good)
                )
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(5)
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def __enter__(self) -> "Hostile":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def read_request(conn: socket.socket) -> bytes:
    """One whole request (head and its Content-Length body), or b"" if the peer left."""
    data = b""
    while True:
        head, separator, body = data.partition(b"\r\n\r\n")
        if separator:
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if len(body) >= (int(length.group(1)) if length else 0):
                return data
        try:
            chunk = conn.recv(65536)
        except OSError:
            return b""
        if not chunk:
            return b""
        data += chunk


def answer(status: int, body: bytes, content_type: str = "application/json", **extra: str) -> bytes:
    """A well-formed HTTP/1.1 answer with a Content-Length, after which the server hangs up
    (``Connection: close``, so that the client does not reuse the connection)."""
    head = (
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n".format(
            status, content_type, len(body)
        )
    )
    for name, value in extra.items():
        head += "{}: {}\r\n".format(name.replace("_", "-"), value)
    return head.encode("latin-1") + b"\r\n" + body


# --- Scripts -----------------------------------------------------------------------------------


def drip(data: bytes, every: float) -> Script:
    """Send ``data`` one byte at a time, ``every`` seconds apart."""

    def script(conn: socket.socket, request: bytes) -> None:
        for byte in data:
            conn.sendall(bytes([byte]))
            time.sleep(every)

    return script


def continue_flood(every: float, count: int = 200) -> Script:
    """``100 Continue`` interim answers forever (well, ``count`` of them)."""

    def script(conn: socket.socket, request: bytes) -> None:
        for _ in range(count):
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(every)

    return script


def raw(data: bytes, linger: float = 0.0) -> Script:
    """Send ``data`` as it is, wait ``linger`` seconds, hang up."""

    def script(conn: socket.socket, request: bytes) -> None:
        conn.sendall(data)
        time.sleep(linger)

    return script


def gzip_bomb(expanded: int) -> Script:
    """A small gzip body that expands to ``expanded`` bytes of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(expanded >> 20)]
    body = b"".join(parts) + compressor.flush()
    return raw(answer(200, body, Content_Encoding="gzip"))


def endless_chunks() -> Script:
    """A chunked answer that never ends (until the client hangs up)."""

    def script(conn: socket.socket, request: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"10000\r\n" + b"[" * 0x10000 + b"\r\n"
        while True:
            conn.sendall(chunk)

    return script


def gzip_body(payload: Any) -> bytes:
    """``payload`` as gzip-compressed JSON."""
    return gzip.compress(json.dumps(payload).encode())
