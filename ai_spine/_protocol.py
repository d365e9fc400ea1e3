"""HTTP as both transports speak it, without doing any I/O.

The sync (:mod:`ai_spine._sync`, requests) and async (:mod:`ai_spine._async`, aiohttp)
transports each do one thing: send bytes and classify what their library raised. Everything
they must agree on lives here, once: the headers, the :class:`Exchange` that counts the
attempts of one call and asks the :class:`~ai_spine.retry.RetryPolicy` whether to try again,
how a response becomes an :class:`Answer` or an exception, and what a network failure is
called. Tests drive it with plain values, no socket.
"""

import logging
import sys
import time
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

from .__version__ import __version__
from .constants import LOGGER_NAME
from .exceptions import AISpineError, NetworkError, TimeoutError, error_from_response
from .retry import RetryPolicy
from .utils import decode_body, parse_retry_after

__all__ = [
    "USER_AGENT",
    "Answer",
    "Exchange",
    "Failure",
    "enable_debug_logging",
    "request_headers",
]

logger = logging.getLogger(LOGGER_NAME)

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
        "Content-Type": "application/json",
    }
    token = bearer if bearer is not None else api_key
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    return headers


class Answer(NamedTuple):
    """A successful (2xx) answer: the decoded body, and what an error about its shape needs."""

    body: Any
    status_code: int
    headers: Dict[str, str]
    method: str
    url: str

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

    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason

    @property
    def sent(self) -> bool:
        """Whether the request may have reached the server (and been carried out)."""
        return self.kind in (Failure.READ_TIMEOUT, Failure.BROKEN, Failure.UNREADABLE)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failure) and (self.kind, self.reason) == (
            other.kind,
            other.reason,
        )

    def __repr__(self) -> str:
        return "Failure({!r}, {!r})".format(self.kind, self.reason)


class Exchange:
    """One call, through its retries: counts attempts and decides, never sends.

    A transport loops: send, then ask :meth:`answered` (for a response) or :meth:`failed`
    (for a :class:`Failure`) what to do. Both return the seconds to wait before trying again;
    :meth:`answered` returns None when the response is final, and :meth:`result` turns it
    into an :class:`Answer` or raises its error. :meth:`failed` raises when the failure is
    final. Every retry decision is the :class:`~ai_spine.retry.RetryPolicy`'s.

    Args:
        policy: The retry rules.
        method: The HTTP method.
        url: The full URL.
        timeout: The ``(connect, read)`` timeout in force, for messages.

    Example:
        >>> exchange = Exchange(RetryPolicy(max_retries=1), "GET", "http://h/x", (5.0, 5.0))
        >>> exchange.answered(503, {"Retry-After": "2"})
        2.0
        >>> exchange.answered(503, {}) is None  # retries used up: this answer is final
        True
    """

    def __init__(self, policy: RetryPolicy, method: str, url: str, timeout: Timeout) -> None:
        self.policy = policy
        self.method = method
        self.url = url
        self.timeout = timeout
        self.retries = 0
        self.started = time.monotonic()

    def answered(self, status_code: int, headers: Mapping[str, str]) -> Optional[float]:
        """Decide on a response: seconds to wait before retrying, or None if it is final."""
        retry_after = parse_retry_after(_header(headers, "retry-after"))
        attempt = self.retries + 1
        if not self.policy.should_retry_status(self.method, status_code, attempt, retry_after):
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                logger.info(
                    "Not retrying %s %s: Retry-After %.0f s exceeds the %.0f s limit",
                    self.method,
                    self.url,
                    retry_after,
                    self.policy.max_retry_after,
                )
            return None
        return self._retry("HTTP {}".format(status_code), self.policy.delay(attempt, retry_after))

    def failed(self, failure: Failure, error: BaseException) -> float:
        """Decide on a failure: seconds to wait before retrying.

        Raises:
            AISpineError: The SDK's error for ``failure`` (chained to ``error``), when it is
                final: retries used up, or a retry could run the request twice.
        """
        attempt = self.retries + 1
        if failure.kind == Failure.TLS:
            retry = False  # certificates and protocols do not heal by retrying
        elif failure.sent:
            retry = self.policy.should_retry_read_error(self.method, attempt)
        else:
            retry = self.policy.should_retry_connect_error(attempt)
        if not retry:
            mapped = network_error(failure, self.method, self.url, self.timeout)
            logger.debug(
                "%s %s failed after %.1f ms: %s", self.method, self.url, self._ms(), mapped
            )
            raise mapped from error
        return self._retry(failure.reason, self.policy.backoff(attempt))

    def result(self, status_code: int, content: bytes, headers: Mapping[str, str]) -> Answer:
        """Turn a final response into an :class:`Answer`, or raise its error.

        Raises:
            AISpineError: The subclass matching a non-2xx status.
        """
        logger.debug("%s %s -> %d in %.1f ms", self.method, self.url, status_code, self._ms())
        body = decode_body(content, _header(headers, "content-type"))
        plain = dict(headers)
        if 200 <= status_code < 300:
            return Answer(body, status_code, plain, self.method, self.url)
        raise error_from_response(status_code, body, plain, self.method, self.url)

    def _retry(self, reason: str, delay: float) -> float:
        self.retries += 1
        logger.info(
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


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
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
        else :class:`NetworkError`.

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
        return TimeoutError(
            "No answer from {} {} within {:g} s.{} Raise timeout= if the server is slow.".format(
                method, url, timeout[1], note
            ),
            timeout=timeout[1],
            **context,
        )
    if failure.kind == Failure.UNREADABLE:
        text = "The answer to {} {} could not be read: {}.{}"
        return NetworkError(text.format(method, url, failure.reason, note), **context)
    if failure.kind == Failure.BROKEN:
        text = "The connection to {} {} broke before an answer: {}.{}"
        return NetworkError(text.format(method, url, failure.reason, note), **context)
    reason = failure.reason
    if failure.kind == Failure.CONNECT_TIMEOUT:
        reason = "no connection within {:g} s".format(timeout[0])
    elif failure.kind == Failure.TLS:
        reason = "TLS failed ({})".format(failure.reason)
    return NetworkError(
        "Could not connect to {} ({} {}): {}. Check base_url and the network.".format(
            _origin(url), method, url, reason
        ),
        **context,
    )


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return "{}://{}".format(scheme, rest.split("/", 1)[0])


def enable_debug_logging() -> None:
    """Log every request and retry of the SDK to stderr, at DEBUG level.

    Attaches one handler to the ``ai_spine`` logger only (never the root logger), once, however
    often it is called. Secrets are never logged: headers are not logged at all.
    """
    sdk_logger = logging.getLogger(LOGGER_NAME)
    sdk_logger.setLevel(logging.DEBUG)
    if not any(getattr(h, "_ai_spine_debug", False) for h in sdk_logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler._ai_spine_debug = True  # type: ignore[attr-defined]
        sdk_logger.addHandler(handler)
