"""HTTP plumbing shared by the local AI Spine server and the demo agents.

Both are ``ThreadingHTTPServer`` instances bound to loopback. They speak HTTP/1.1 with
keep-alive and an exact ``Content-Length`` on every answer, so a pooled client such as
``requests.Session`` reuses its connections, and they log through the ``ai_spine.testing``
logger at debug level instead of writing every request to stderr.

The request handling itself is a plain function ``app(Request) -> Optional[Response]``
(``None`` means "drop the connection without answering"), so the routing code never
touches a socket.

A web page the developer visits must not be able to drive these servers (register an
agent, create a flow, run it), so before ``app`` sees a request, :func:`refuse_foreign`
refuses:

- a ``Host`` header that is not the address served (``<bound address>:<port>`` or
  ``localhost:<port>``; the port may be left out only when it is 80): the defence against
  DNS rebinding, where a page's own host name comes to resolve to 127.0.0.1;
- an ``Origin`` header other than the server's own origin (``http://`` and an accepted
  ``Host``): browsers send one on every cross-site POST;
- a request body sent without ``Content-Type: application/json`` (or another
  ``application/*+json``), so the ``text/plain`` and type-less bodies that a page can post
  without a CORS preflight are refused.

The first two answer ``403``, the last ``415``, all as ``{"detail": "<text>"}``. Refused
requests never reach ``app`` (they are not in the request log). When the client sent
``Expect: 100-continue``, the request is screened on its headers and ``100 Continue`` is
sent before the body is read; a refused one is answered at once and its connection closed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Collection, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

logger = logging.getLogger("ai_spine.testing")

JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

# How often the serving loop checks for a shutdown request; it bounds how long stop() waits.
_POLL_INTERVAL = 0.02
# An idle keep-alive connection holds a (daemon) thread; this lets it go eventually.
_IDLE_CONNECTION_TIMEOUT = 60.0


@dataclass
class Request:
    """One HTTP request as the application functions see it.

    Attributes:
        method: Upper-case HTTP method.
        path: Percent-decoded path without the query string (what routes match on).
        raw_path: The path exactly as sent, without the query string.
        query_string: The raw query string (no leading ``?``).
        query: Query parameters; a repeated name keeps its last value, as Starlette does.
        headers: Request headers with lower-case names.
        body: The raw request body.
    """

    method: str
    path: str
    raw_path: str
    query_string: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """Return a header value by case-insensitive name, or None.

        Args:
            name: Header name in any case.

        Returns:
            The header value, or None when the request does not carry it.

        Example:
            >>> Request("GET", "/", "/", "", {}, {"host": "x"}, b"").header("Host")
            'x'
        """
        return self.headers.get(name.lower())


@dataclass
class Response:
    """An HTTP answer, fully built before anything is written to the socket.

    Attributes:
        status: HTTP status code.
        body: Encoded body.
        content_type: Value of the Content-Type header, or None for no header.
        headers: Extra headers as (name, value) pairs.
    """

    status: int
    body: bytes = b""
    content_type: Optional[str] = JSON_CONTENT_TYPE
    headers: List[Tuple[str, str]] = field(default_factory=list)


def json_response(
    status: int, payload: Any, headers: Optional[List[Tuple[str, str]]] = None
) -> Response:
    """Build a JSON response encoded the way Starlette's ``JSONResponse`` encodes it.

    Args:
        status: HTTP status code.
        payload: Any JSON-serialisable value.
        headers: Extra headers.

    Returns:
        The response.

    Example:
        >>> json_response(404, {"detail": "Not Found"}).body
        b'{"detail":"Not Found"}'
    """
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_CONTENT_TYPE, list(headers or []))


def text_response(status: int, text: str, content_type: str = TEXT_CONTENT_TYPE) -> Response:
    """Build a text response.

    Args:
        status: HTTP status code.
        text: Body text, encoded as UTF-8.
        content_type: Content-Type header value.

    Returns:
        The response.

    Example:
        >>> text_response(500, "Internal Server Error").content_type
        'text/plain; charset=utf-8'
    """
    return Response(status, text.encode("utf-8"), content_type)


def internal_error() -> Response:
    """Return the answer the real server gives for an unhandled crash.

    Returns:
        ``500 text/plain "Internal Server Error"``.

    Example:
        >>> internal_error().status
        500
    """
    return text_response(500, "Internal Server Error")


def is_loopback_host(host: Optional[str]) -> bool:
    """Tell whether a host name or address is on the loopback interface.

    Only ``localhost`` and literal loopback addresses count: no name is resolved, so the
    check itself never contacts a DNS server.

    Args:
        host: Host name or IP address (IPv6 with or without brackets).

    Returns:
        True for ``localhost``, ``127.0.0.0/8`` and ``::1``.

    Example:
        >>> is_loopback_host("127.0.0.1"), is_loopback_host("10.0.0.1")
        (True, False)
    """
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_hosts(address: str, port: int) -> Set[str]:
    """Return the ``Host`` header values a server on ``address:port`` accepts.

    Args:
        address: The bound address, e.g. ``127.0.0.1``.
        port: The bound port.

    Returns:
        Lower-case ``host:port`` values; without the port too when it is HTTP's default 80.

    Example:
        >>> sorted(served_hosts("127.0.0.1", 8000))
        ['127.0.0.1:8000', 'localhost:8000']
    """
    names = {address.lower(), "localhost"}
    if ":" in address:
        names = {"[%s]" % address.lower(), "localhost"}
    hosts = {"%s:%d" % (name, port) for name in names}
    if port == 80:
        hosts |= names
    return hosts


def is_json_media_type(content_type: str) -> bool:
    """Tell whether a ``Content-Type`` is JSON the way FastAPI reads it.

    Args:
        content_type: The header's value.

    Returns:
        True for ``application/json`` and ``application/<anything>+json``, parameters such
        as ``charset`` allowed.

    Example:
        >>> is_json_media_type("application/json; charset=utf-8"), is_json_media_type("text/plain")
        (True, False)
    """
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON_CONTENT_TYPE or (
        media.startswith("application/") and media.endswith("+json")
    )


def has_body(headers: Dict[str, str]) -> bool:
    """Tell whether request headers announce a body.

    Args:
        headers: Request headers with lower-case names.

    Returns:
        True with ``Transfer-Encoding`` or a ``Content-Length`` other than 0.

    Example:
        >>> has_body({"content-length": "0"}), has_body({"transfer-encoding": "chunked"})
        (False, True)
    """
    if headers.get("transfer-encoding"):
        return True
    return headers.get("content-length", "0").strip() not in ("", "0")


def refuse_foreign(headers: Dict[str, str], hosts: Collection[str]) -> Optional[Response]:
    """Refuse a request a web page could have sent, judging by its headers only.

    Args:
        headers: Request headers with lower-case names.
        hosts: The accepted ``Host`` values, lower-case (see :func:`served_hosts`).

    Returns:
        None for an acceptable request; else the ``403`` (foreign ``Host`` or ``Origin``)
        or ``415`` (a body that is not ``application/json``) to answer instead.

    Example:
        >>> hosts = served_hosts("127.0.0.1", 8000)
        >>> refuse_foreign({"host": "127.0.0.1:8000"}, hosts) is None
        True
        >>> refuse_foreign({"host": "evil.example:8000"}, hosts).status
        403
        >>> refuse_foreign({"host": "localhost:8000", "origin": "https://evil.example"},
        ...                hosts).status
        403
        >>> refuse_foreign({"host": "localhost:8000", "content-length": "2",
        ...                 "content-type": "text/plain"}, hosts).status
        415
    """
    host = headers.get("host", "").strip().lower()
    if host not in hosts:
        return json_response(
            403,
            {
                "detail": "Host %r is not the address this local AI Spine server serves "
                "(one of %s): refused, as a DNS rebinding defence"
                % (headers.get("host", ""), ", ".join(sorted(hosts)))
            },
        )
    origin = headers.get("origin")
    if origin is not None and origin.strip().lower() not in {"http://" + h for h in hosts}:
        return json_response(
            403,
            {
                "detail": "Origin %r is not this local AI Spine server: requests from web "
                "pages are refused" % (origin,)
            },
        )
    if has_body(headers) and not is_json_media_type(headers.get("content-type", "")):
        return json_response(
            415,
            {
                "detail": "Unsupported Media Type %r: send request bodies as "
                "Content-Type: application/json" % (headers.get("content-type", ""),)
            },
        )
    return None


def bind_address(host: str) -> str:
    """Return the IPv4 loopback address to bind for ``host``, or refuse it.

    Args:
        host: ``localhost`` or an address in ``127.0.0.0/8``.

    Returns:
        The address to bind (``localhost`` becomes ``127.0.0.1``).

    Raises:
        ValueError: For any other host: the local servers never listen beyond loopback.

    Example:
        >>> bind_address("localhost")
        '127.0.0.1'
    """
    if host.lower() == "localhost":
        return "127.0.0.1"
    if ":" in host or not is_loopback_host(host):
        raise ValueError(
            "refusing to bind %r: the local AI Spine servers listen on IPv4 loopback only "
            "(use 127.0.0.1)" % (host,)
        )
    return host


def _parse_target(target: str) -> Tuple[str, str, str]:
    """Split a request target into (decoded path, raw path, query string)."""
    parts = urlsplit(target)
    raw_path = parts.path or "/"
    return unquote(raw_path), raw_path, parts.query


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to loopback that serves one ``app`` function.

    Args:
        host: Loopback address to bind (``localhost`` means ``127.0.0.1``).
        port: Port to bind; 0 picks a free one.
        app: Called once per request; returns the response, or None to drop the connection.
        name: Name of the serving thread (shows in thread dumps).

    Raises:
        ValueError: When ``host`` is not a loopback address.
        OSError: When the port cannot be bound.

    Example:
        >>> srv = LoopbackHTTPServer("127.0.0.1", 0, lambda r: json_response(200, {}), "x")
        >>> srv.start(); srv.stop()
    """

    daemon_threads = True
    # socketserver's default backlog of 5 overflows under a burst of executions, and a
    # dropped SYN costs the client a one-second retransmit.
    request_queue_size = 128
    # Handler threads are daemons and their sockets are shut down in stop(), so there is
    # nothing to join on close (and a kept-alive idle connection must not block it).
    block_on_close = False

    def __init__(
        self, host: str, port: int, app: Callable[[Request], Optional[Response]], name: str
    ) -> None:
        host = bind_address(host)
        self.app = app
        self.stopping = threading.Event()
        self._name = name
        self._thread: Optional[threading.Thread] = None
        self._connections: Set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.accepted = 0
        """TCP connections accepted so far."""
        super().__init__((host, port), _Handler)
        self.hosts = served_hosts(self.server_name, self.server_port)
        """The ``Host`` header values this server answers (see :func:`refuse_foreign`)."""

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse DNS lookup of the address."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return "http://%s:%d" % (self.server_name, self.server_port)

    def start(self) -> None:
        """Serve in a background daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection."""
        self.stopping.set()
        if self._thread is not None:
            # shutdown() waits for serve_forever to acknowledge; it would hang forever if
            # the loop never ran, hence the guard.
            self.shutdown()
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def track(self, conn: socket.socket, add: bool) -> None:
        """Remember (or forget) an open client connection so stop() can close it."""
        with self._connections_lock:
            if add:
                self.accepted += 1
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a crashed connection at debug level instead of printing to stderr."""
        logger.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a call of the server's ``app`` function."""

    protocol_version = "HTTP/1.1"
    server_version = "ai-spine-local"
    sys_version = ""
    timeout = _IDLE_CONNECTION_TIMEOUT
    # Headers and body leave in one segment (buffered writer, flushed once per answer) and
    # without Nagle's delay: otherwise each answer can stall ~40 ms on a delayed ACK.
    wbufsize = -1
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_version

    def _owner(self) -> LoopbackHTTPServer:
        server = self.server
        assert isinstance(server, LoopbackHTTPServer)
        return server

    def finish(self) -> None:
        self._owner().track(self.connection, add=False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def setup(self) -> None:
        super().setup()
        self._expect_continue = False
        self._owner().track(self.connection, add=True)

    def handle_expect_100(self) -> bool:
        # The standard handler writes "100 Continue" into the buffered writer, where it
        # stays until the answer is flushed, after the body. Defer it: _serve screens the
        # headers first, then sends it and flushes before reading the body.
        self._expect_continue = True
        return True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        size = int(length)
        if size < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks: List[bytes] = []
        while True:
            size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while self.rfile.readline(65537).strip():
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(65537)

    def _serve(self) -> None:
        expect_continue, self._expect_continue = self._expect_continue, False
        headers = {name.lower(): value for name, value in self.headers.items()}
        refusal = refuse_foreign(headers, self._owner().hosts)
        if refusal is not None and expect_continue:
            # The client holds the body back until told to go on: answer now and close,
            # since the connection may still carry a body nobody will read.
            self.close_connection = True
            self._write(refusal)
            return
        try:
            if expect_continue:
                self.send_response_only(100)
                self.end_headers()
                self.wfile.flush()
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._write(text_response(400, "Bad Request"))
            return
        except OSError:
            self.close_connection = True
            return
        if refusal is not None:
            self._write(refusal)
            return
        path, raw_path, query_string = _parse_target(self.path)
        request = Request(
            method=self.command.upper(),
            path=path,
            raw_path=raw_path,
            query_string=query_string,
            query=dict(parse_qsl(query_string, keep_blank_values=True)),
            headers=headers,
            body=body,
        )
        try:
            response = self._owner().app(request)
        except Exception:  # a handler must never take the server down
            logger.error("unhandled error answering %s %s", self.command, path, exc_info=True)
            response = internal_error()
        if response is None:
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:
            # The client went away mid-answer; nothing left to tell it.
            self.close_connection = True
