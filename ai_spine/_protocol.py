"""HTTP as both transports speak it, without doing any I/O.

The sync (:mod:`ai_spine._sync`, requests) and async (:mod:`ai_spine._async`, aiohttp)
transports each do one thing: send bytes and classify what their library raised. Everything
they must agree on lives here, once: the headers, the :class:`Exchange` that counts the
attempts of one call and asks the :class:`~ai_spine.retry.RetryPolicy` whether to try again,
how a response becomes an :class:`Answer` or an exception, and what a network failure is
called. Tests drive it with plain values, no socket.
"""

from __future__ import annotations

import json
import sys
import time
import zlib
from urllib.parse import urlencode
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .__version__ import __version__
from ._logging import Log
from .constants import ACCEPT_ENCODING
from .exceptions import (
    AISpineError,
    NetworkError,
    ResponseTooLargeError,
    TimeoutError,
    error_from_response,
)
from .retry import RetryPolicy
from .utils import decode_body, parse_retry_after

__all__ = [
    "USER_AGENT",
    "Answer",
    "Body",
    "Exchange",
    "Failure",
    "encode_request",
    "request_headers",
]

_QUIET = Log(verbose=False)
_MIN_ATTEMPT = 0.05  # an attempt given less than this cannot even connect
_MAX_REASON = 200
_DECOMPRESS_STEP = 65536

USER_AGENT = "ai-spine-sdk-python/{} python/{}.{}.{}".format(__version__, *sys.version_info[:3])

Timeout = Tuple[float, float]


def request_headers(api_key: Optional[str], bearer: Optional[str] = None) -> Dict[str, str]:
    """The headers of every request: who we are, JSON both ways, and the credential if any.

    Args:
        api_key: The client's API key, or None to send no ``Authorization``.
        bearer: A user access token that replaces the key for this request.

    Returns:
        The headers.

    Example:
        >>> request_headers(None)["Accept"]
        'application/json'
        >>> request_headers("sk-1", bearer="user")["Authorization"]
        'Bearer user'
    """
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        # Only what Body decodes, within the size cap (never brotli or zstd, which requests
        # and aiohttp would otherwise offer when those packages happen to be installed).
        "Accept-Encoding": ACCEPT_ENCODING,
        "Content-Type": "application/json",
    }
    token = bearer if bearer is not None else api_key
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    return headers


def encode_request(
    method: str, params: Optional[Mapping[str, Any]], body: Optional[Mapping[str, Any]]
) -> Tuple[str, Optional[bytes], Dict[str, str]]:
    """The query, body and framing headers of a request, as both transports send them.

    The query is what requests makes of ``params`` (None dropped, lists repeated), the body
    what its ``json=`` makes (UTF-8, never NaN); a bodyless POST, PUT or DELETE says
    ``Content-Length: 0``, a GET says nothing.

    Returns:
        ``?query`` (or ""), the body (or None), and its ``Content-Length`` header (or none).

    Example:
        >>> encode_request("GET", {"limit": 10, "status": None}, None)
        ('?limit=10', None, {})
        >>> encode_request("POST", None, {"a": 1})
        ('', b'{"a": 1}', {'Content-Length': '8'})
    """
    framing: Dict[str, str] = {}
    data: Optional[bytes] = None
    if body is not None:
        data = json.dumps(body, allow_nan=False).encode("utf-8")
        framing["Content-Length"] = str(len(data))
    elif method not in ("GET", "HEAD"):
        framing["Content-Length"] = "0"
    target = ""
    if params:
        pairs = [(key, value) for key, value in params.items() if value is not None]
        if pairs:
            target = "?" + urlencode(pairs, doseq=True)
    return target, data, framing


class Answer:
    """A successful (2xx) answer: the decoded body, and what an error about its shape needs."""

    __slots__ = ("body", "status_code", "headers", "method", "url")

    def __init__(
        self, body: Any, status_code: int, headers: Mapping[str, str], method: str, url: str
    ) -> None:
        self.body = body
        self.status_code = status_code
        self.headers = headers
        self.method = method
        self.url = url

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Answer):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable fields: not hashable

    def __repr__(self) -> str:
        return "Answer({} {} -> {}: {!r})".format(
            self.method, self.url, self.status_code, self.body
        )

    def error_context(self) -> Dict[str, Any]:
        """The keyword arguments that give an :class:`AISpineError` this answer's details."""
        return dict(
            status_code=self.status_code,
            body=self.body,
            headers=self.headers,
            method=self.method,
            url=self.url,
        )


class Failure:
    """What went wrong below HTTP, as a transport classified its library's exception.

    Attributes:
        kind: One of the class constants: where in the exchange it broke.
        reason: A short human description ("Connection refused").
    """

    NAME_RESOLUTION = "name-resolution"
    """The host name did not resolve (DNS); nothing was sent. A misconfiguration."""
    CONNECT = "connect"
    """The connection could not be made; nothing was sent."""
    CONNECT_TIMEOUT = "connect-timeout"
    """No connection within the connect timeout; nothing was sent."""
    TLS = "tls"
    """The TLS handshake failed (certificate, protocol); nothing was sent. Not retried."""
    READ_TIMEOUT = "read-timeout"
    """The request was sent and no answer came in time."""
    BROKEN = "broken"
    """The request was sent and the connection broke before a complete answer."""
    UNREADABLE = "unreadable"
    """An answer arrived but its body could not be read (bad chunking, bad compression)."""

    __slots__ = ("kind", "reason", "limit")

    def __init__(self, kind: str, reason: str, limit: Optional[float] = None) -> None:
        self.kind = kind
        # One short line, whatever a malformed answer put in the library's message.
        text = " ".join(reason.split())
        self.reason = text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."
        self.limit = limit
        """For a timeout that cut a whole attempt (not one socket read): its seconds."""

    @property
    def sent(self) -> bool:
        """Whether the request may have reached the server (and been carried out)."""
        return self.kind in (Failure.READ_TIMEOUT, Failure.BROKEN, Failure.UNREADABLE)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failure) and (self.kind, self.reason, self.limit) == (
            other.kind,
            other.reason,
            other.limit,
        )

    def __repr__(self) -> str:
        if self.limit is None:
            return "Failure({!r}, {!r})".format(self.kind, self.reason)
        return "Failure({!r}, {!r}, limit={!r})".format(self.kind, self.reason, self.limit)


class Exchange:
    """One call, through its retries: counts attempts and decides, never sends.

    A transport loops: ask :meth:`limits` for the next attempt's timeouts, send, then ask
    :meth:`answered` (for a response) or :meth:`failed` (for a :class:`Failure`) what to do.
    Both return the seconds to wait before trying again; :meth:`answered` returns None when
    the response is final, and :meth:`result` turns it into an :class:`Answer` or raises its
    error. :meth:`failed` raises when the failure is final. Every retry decision is the
    :class:`~ai_spine.retry.RetryPolicy`'s, within the call's ``total``: no attempt runs
    past it, and a retry that would start after it is not made.

    Args:
        policy: The retry rules.
        method: The HTTP method.
        url: The full URL.
        timeout: The ``(connect, read)`` timeout of each attempt; an attempt ends within
            ``connect + read`` seconds, its whole answer read.
        total: Seconds from now that bound the whole call, retries included; None for no
            bound beyond the attempts'.
        log: The client's log.

    Example:
        >>> exchange = Exchange(RetryPolicy(max_retries=1), "GET", "http://h/x", (5.0, 5.0))
        >>> exchange.limits()
        ((5.0, 5.0), 10.0)
        >>> exchange.answered(503, {"Retry-After": "2"})
        2.0
        >>> exchange.answered(503, {}) is None  # retries used up: this answer is final
        True
    """

    __slots__ = ("policy", "method", "url", "timeout", "log", "retries", "started", "deadline")

    def __init__(
        self,
        policy: RetryPolicy,
        method: str,
        url: str,
        timeout: Timeout,
        total: Optional[float] = None,
        log: Log = _QUIET,
    ) -> None:
        self.policy = policy
        self.method = method
        self.url = url
        self.timeout = timeout
        self.log = log
        self.retries = 0
        self.started = time.monotonic()
        self.deadline = None if total is None else self.started + total

    def limits(self) -> Tuple[Timeout, float]:
        """The next attempt's ``(connect, read)`` socket timeouts and its whole time, in
        seconds, each capped by the time left before the call's deadline."""
        connect, read = self.timeout
        budget = connect + read
        if self.deadline is not None:
            budget = max(_MIN_ATTEMPT, min(budget, self.deadline - time.monotonic()))
        return (min(connect, budget), min(read, budget)), budget

    def answered(self, status_code: int, headers: Mapping[str, str]) -> Optional[float]:
        """Decide on a response: seconds to wait before retrying, or None if it is final."""
        if status_code < 400:
            return None  # nothing below 400 is retried: no need to read Retry-After
        retry_after = parse_retry_after(_header(headers, "retry-after"))
        attempt = self.retries + 1
        if not self.policy.should_retry_status(self.method, status_code, attempt, retry_after):
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                self.log.info(
                    "Not retrying %s %s: Retry-After %.0f s exceeds the %.0f s limit",
                    self.method,
                    self.url,
                    retry_after,
                    self.policy.max_retry_after,
                )
            return None
        delay = self.policy.delay(attempt, retry_after)
        if not self._in_time(delay):
            return None
        return self._retry("HTTP {}".format(status_code), delay)

    def failed(self, failure: Failure, error: BaseException) -> float:
        """Decide on a failure: seconds to wait before retrying.

        Raises:
            AISpineError: The SDK's error for ``failure`` (chained to ``error``), when it is
                final: retries used up, a retry could run the request twice, or the call's
                deadline would pass first.
        """
        attempt = self.retries + 1
        if failure.kind in (Failure.TLS, Failure.NAME_RESOLUTION):
            retry = False  # certificates and misspelt host names do not heal by retrying
        elif failure.sent:
            retry = self.policy.should_retry_read_error(self.method, attempt)
        else:
            retry = self.policy.should_retry_connect_error(attempt)
        delay = self.policy.backoff(attempt) if retry else 0.0
        if not retry or not self._in_time(delay):
            mapped = network_error(failure, self.method, self.url, self.timeout)
            self.log.debug(
                "%s %s failed after %.1f ms: %s", self.method, self.url, self._ms(), mapped
            )
            raise mapped from error
        return self._retry(failure.reason, delay)

    def result(self, status_code: int, content: bytes, headers: Mapping[str, str]) -> Answer:
        """Turn a final response into an :class:`Answer`, or raise its error.

        Raises:
            AISpineError: The subclass matching a non-2xx status.
        """
        self.log.debug("%s %s -> %d in %.1f ms", self.method, self.url, status_code, self._ms())
        body = decode_body(content, _header(headers, "content-type"))
        if 200 <= status_code < 300:
            # The headers as the library gave them: an error about the answer's shape copies
            # them (AISpineError.headers), a good answer never needs to.
            return Answer(body, status_code, headers, self.method, self.url)
        raise error_from_response(status_code, body, dict(headers), self.method, self.url)

    def _in_time(self, delay: float) -> bool:
        if self.deadline is None or time.monotonic() + delay + _MIN_ATTEMPT < self.deadline:
            return True
        self.log.info(
            "Not retrying %s %s: a retry in %.2f s would start after the call's deadline",
            self.method,
            self.url,
            delay,
        )
        return False

    def _retry(self, reason: str, delay: float) -> float:
        self.retries += 1
        self.log.info(
            "Retrying %s %s (retry %d of %d) in %.2f s after %s",
            self.method,
            self.url,
            self.retries,
            self.policy.max_retries,
            delay,
            reason,
        )
        return delay

    def _ms(self) -> float:
        return (time.monotonic() - self.started) * 1000


class Body:
    """An answer's body, collected as it arrives: decompressed here, within a size cap.

    Both transports read raw chunks and :meth:`feed` them in, so a gzip bomb or an endless
    answer costs at most ``limit`` bytes (plus one chunk) before
    :class:`~ai_spine.ResponseTooLargeError` stops it.

    Args:
        content_encoding: The answer's ``Content-Encoding`` (gzip, deflate or identity).
        content_length: Its ``Content-Length``, checked against the raw bytes received.
        limit: The most decompressed bytes accepted.
        method: The request's method, for messages.
        url: The request's URL, for messages.

    Raises:
        BodyError: An encoding the SDK did not ask for.

    Example:
        >>> body = Body("gzip", None, 100, "GET", "http://h/x")
        >>> body.feed(__import__("gzip").compress(b'{"a": 1}'))
        >>> body.finish()
        b'{"a": 1}'
    """

    __slots__ = ("_decoder", "_expected", "_parts", "_size", "raw_size", "_limit", "_context")

    def __init__(
        self,
        content_encoding: Optional[str],
        content_length: Optional[str],
        limit: int,
        method: str,
        url: str,
    ) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        self._decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = _Deflate()
        elif encoding not in ("identity", ""):
            raise BodyError("the answer's Content-Encoding {!r} was not asked for".format(encoding))
        length = (content_length or "").strip()
        self._expected = int(length) if length.isdigit() and len(length) < 19 else None
        self._parts: List[bytes] = []
        self._size = 0
        self.raw_size = 0
        self._limit = limit
        self._context = dict(method=method, url=url)

    def feed(self, data: bytes) -> None:
        """Take the next raw chunk.

        Raises:
            ResponseTooLargeError: The answer outgrew the limit.
            BodyError: The chunk does not decompress.
        """
        self.raw_size += len(data)
        if self._decoder is None:
            self._add(data)
            return
        try:
            while data:
                # In steps of at most 64 KiB: zlib grows its output buffer as it goes.
                room = min(_DECOMPRESS_STEP, self._limit - self._size + 1)
                self._add(self._decoder.decompress(data, room))
                data = self._decoder.unconsumed_tail
        except zlib.error as error:
            raise BodyError("the compressed answer is corrupt ({})".format(error)) from None

    @property
    def complete(self) -> bool:
        """Whether all of the ``Content-Length`` has been fed (without one: never)."""
        return self._expected is not None and self.raw_size >= self._expected

    def finish(self) -> bytes:
        """The whole decompressed body, once the last chunk was fed.

        Raises:
            BodyError: The answer ended before its ``Content-Length`` or its compressed end.
        """
        if self._expected is not None and self.raw_size < self._expected:
            raise BodyError(
                "the answer ended after {} of its {} bytes".format(self.raw_size, self._expected)
            )
        if self._decoder is not None and self.raw_size and not self._decoder.eof:
            raise BodyError("the compressed answer ended before its end")
        return b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            self._parts = []
            raise ResponseTooLargeError(
                "The answer to {method} {url} is longer than max_response_bytes={limit} "
                "bytes; reading stopped there. The request itself was carried out. Raise "
                "max_response_bytes if such answers are expected.".format(
                    limit=self._limit, **self._context
                ),
                limit=self._limit,
                **self._context,
            )
        if data:
            self._parts.append(data)


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped (RFC 9110), or raw as some send it."""

    __slots__ = ("_decoder",)

    def __init__(self) -> None:
        self._decoder: Any = None

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._decoder is None:
            # A zlib header is two bytes whose big-endian value is a multiple of 31.
            wrapped = (
                len(data) >= 2 and (data[0] & 0x0F) == 8 and (data[0] * 256 + data[1]) % 31 == 0
            )
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return bytes(self._decoder.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._decoder.unconsumed_tail) if self._decoder is not None else b""

    @property
    def eof(self) -> bool:
        return self._decoder is not None and bool(self._decoder.eof)


class BodyError(Exception):
    """An answer's body could not be read; transports report it as
    :attr:`Failure.UNREADABLE`."""


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    # ``name`` is lowercase. The libraries' header mappings are case-insensitive; a plain dict
    # (a test's, a doctest's) may spell it any way.
    value: Optional[str] = headers.get(name)
    if value is not None or not isinstance(headers, dict):
        return value
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def network_error(failure: Failure, method: str, url: str, timeout: Timeout) -> AISpineError:
    """The SDK's error for a failure below HTTP, with a message that says what to do.

    Args:
        failure: What broke, and why.
        method: The request's method.
        url: The request's URL.
        timeout: The ``(connect, read)`` timeout in force.

    Returns:
        :class:`TimeoutError` when the server took the request but did not answer in time,
        else :class:`NetworkError` (its ``kind`` is the failure's). Whenever the request may
        have reached the server, a POST or PUT's message says that it may have been carried
        out and was not sent again.

    Example:
        >>> network_error(Failure(Failure.CONNECT, "Connection refused"), "GET",
        ...               "http://127.0.0.1:1/health", (5.0, 5.0))
        NetworkError('Could not connect to http://127.0.0.1:1 (GET http://127.0.0.1:1/health): \
Connection refused. Check base_url and the network.', status_code=None)
    """
    context: Dict[str, Any] = dict(method=method, url=url)
    note = ""
    if failure.sent and not RetryPolicy.is_idempotent(method):
        note = (
            " The request may have reached the server and been carried out; it was not "
            "retried so that it cannot run twice."
        )
    if failure.kind == Failure.READ_TIMEOUT:
        # limit: the whole attempt's time ran out (the answer trickled); else one read's.
        limit = timeout[1] if failure.limit is None else failure.limit
        text = "No {}answer from {} {} within {:g} s.{} Raise timeout= if the server is slow."
        complete = "" if failure.limit is None else "complete "
        return TimeoutError(
            text.format(complete, method, url, limit, note), timeout=limit, **context
        )
    if failure.kind == Failure.UNREADABLE:
        text = "The answer to {} {} could not be read: {}.{}"
        return NetworkError(
            text.format(method, url, failure.reason, note), kind=failure.kind, **context
        )
    if failure.kind == Failure.BROKEN:
        text = "The connection to {} {} broke before an answer: {}.{}"
        return NetworkError(
            text.format(method, url, failure.reason, note), kind=failure.kind, **context
        )
    reason = failure.reason
    advice = "Check base_url and the network."
    if failure.kind == Failure.CONNECT_TIMEOUT:
        reason = "no connection within {:g} s".format(timeout[0])
    elif failure.kind == Failure.TLS:
        reason = "TLS failed ({})".format(failure.reason)
        advice = "Check base_url, and verify= if the server uses a private CA."
    elif failure.kind == Failure.NAME_RESOLUTION:
        reason = "the host name does not resolve ({})".format(failure.reason)
        advice = "Check base_url for a typo, and DNS."
    return NetworkError(
        "Could not connect to {} ({} {}): {}. {}".format(_origin(url), method, url, reason, advice),
        kind=failure.kind,
        **context,
    )


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return "{}://{}".format(scheme, rest.split("/", 1)[0])
