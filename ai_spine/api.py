"""The HTTP transport: session, headers, timeouts, retries, JSON and error mapping.

It knows nothing of flows or agents: :class:`Transport` sends a method and a path and returns
the decoded JSON body, or raises the :mod:`ai_spine.exceptions` error that fits. Decisions
live in pure code shared with any other transport (:class:`~ai_spine.retry.RetryPolicy`,
:func:`~ai_spine.exceptions.error_from_response`, :func:`~ai_spine.utils.decode_body`); this
module is the thin layer of I/O around them.
"""

import logging
import sys
import time
import http.client
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout as Urllib3Timeout

from .__version__ import __version__
from .constants import IDEMPOTENT_METHODS, LOGGER_NAME
from .exceptions import AISpineError, NetworkError, TimeoutError, error_from_response
from .retry import RetryPolicy
from .utils import decode_body, parse_retry_after

__all__ = ["Answer", "Transport", "PolicyRetry", "USER_AGENT", "enable_debug_logging"]

logger = logging.getLogger(LOGGER_NAME)

USER_AGENT = "ai-spine-sdk-python/{} python/{}.{}.{}".format(__version__, *sys.version_info[:3])

Timeout = Tuple[float, float]

# What sending can raise besides an HTTP answer. requests wraps most of it, but not all:
# a malformed redirect URL or header value raises ValueError, a broken socket OSError.
_TRANSPORT_ERRORS = (
    requests.RequestException,
    Urllib3Error,
    http.client.HTTPException,
    OSError,
    ValueError,
)


class PolicyRetry(Retry):
    """urllib3's ``Retry``, with every decision delegated to a :class:`RetryPolicy`.

    Works with urllib3 1.26 and 2.x: it only overrides methods both share
    (``is_retry``, ``increment``, ``sleep``, ``new``). Read errors are limited to idempotent
    methods through ``allowed_methods``; connection errors are retried for every method, as
    urllib3 does, because the request never reached the server.

    Args:
        policy: The rules to follow; the remaining arguments are urllib3's.

    Example:
        >>> adapter = HTTPAdapter(max_retries=PolicyRetry.from_policy(RetryPolicy(2)))
    """

    def __init__(self, *args: Any, policy: Optional[RetryPolicy] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy or RetryPolicy()

    @classmethod
    def from_policy(cls, policy: RetryPolicy) -> "PolicyRetry":
        """Build the urllib3 retry configuration that enforces ``policy``."""
        n = policy.max_retries
        return cls(
            total=n,
            connect=n,
            read=n,
            status=n,
            other=0,  # TLS and protocol surprises do not heal by retrying
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=(),
            raise_on_status=False,  # exhausted: hand back the last response, mapped to its error
            respect_retry_after_header=True,
            policy=policy,
        )

    def new(self, **kw: Any) -> "PolicyRetry":
        """Copy with changed counters, keeping the policy (urllib3 calls this per attempt)."""
        retry = super().new(**kw)
        retry.policy = self.policy
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Whether a response's status deserves a retry, per the policy."""
        return self.policy.should_retry_status(method, status_code, len(self.history) + 1)

    def increment(  # type: ignore[override]
        self,
        method: Optional[str] = None,
        url: Optional[str] = None,
        response: Any = None,
        error: Optional[Exception] = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        """Count one more attempt; refuse a ``Retry-After`` longer than the policy allows."""
        if response is not None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                logger.info(
                    "Not retrying %s %s: Retry-After %.0f s exceeds the %.0f s limit",
                    method,
                    url,
                    retry_after,
                    self.policy.max_retry_after,
                )
                # urllib3 answers MaxRetryError with the response itself (raise_on_status=False).
                raise MaxRetryError(_pool, url or "", ResponseError("Retry-After too long"))
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        reason = "HTTP {}".format(response.status) if response is not None else repr(error)
        logger.info(
            "Retrying %s %s (retry %d of %d) after %s",
            method,
            url,
            len(new_retry.history),
            self.policy.max_retries,
            reason,
        )
        return new_retry

    def sleep(self, response: Any = None) -> None:
        """Wait before the next attempt: ``Retry-After`` if given, else jittered backoff."""
        retry_after = None
        if response is not None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        delay = self.policy.delay(len(self.history), retry_after)
        if delay > 0:
            logger.debug("Waiting %.2f s before retrying", delay)
            time.sleep(delay)


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


class Transport:
    """Sends requests to one AI Spine server and returns their decoded JSON bodies.

    One transport owns a pooled ``requests.Session``; :meth:`derive` makes transports with
    other timeouts or retries that share its connection pool.

    Args:
        base_url: The server's root URL, without trailing slash.
        api_key: Sent as ``Authorization: Bearer <key>`` when not None.
        timeout: ``(connect, read)`` seconds, always on.
        policy: The retry rules.

    Example:
        >>> transport = Transport("http://127.0.0.1:8000", api_key=None, timeout=(5, 30),
        ...                       policy=RetryPolicy())
        >>> transport.request("GET", "/health")["status"]
        'healthy'
    """

    _adapter: HTTPAdapter

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Optional[str],
        timeout: Timeout,
        policy: RetryPolicy,
        _pool_from: Optional["Transport"] = None,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.policy = policy
        self._owns_pool = _pool_from is None
        adapter = HTTPAdapter(max_retries=PolicyRetry.from_policy(policy))
        if _pool_from is not None:
            # Same sockets, different retry rules: requests keeps retries on the adapter,
            # connections in its pool manager, so the derived adapter borrows the pool.
            adapter.poolmanager = _pool_from._adapter.poolmanager
        self._adapter = adapter
        session = requests.Session()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Content-Type": "application/json",
            }
        )
        if api_key is not None:
            session.headers["Authorization"] = "Bearer " + api_key
        # With no auth set, requests would send credentials found in ~/.netrc: the only
        # credentials this client sends are the ones it was given.
        session.auth = _no_auth
        self._session = session

    def derive(
        self, *, timeout: Optional[Timeout] = None, policy: Optional[RetryPolicy] = None
    ) -> "Transport":
        """Return a transport to the same server, sharing this one's connection pool.

        Args:
            timeout: A new ``(connect, read)`` timeout, or None to keep this one's.
            policy: New retry rules, or None to keep this one's.

        Returns:
            The new transport. Closing it does not close the shared pool.
        """
        return Transport(
            self.base_url,
            api_key=self.api_key,
            timeout=timeout or self.timeout,
            policy=policy or self.policy,
            _pool_from=self,
        )

    def close(self) -> None:
        """Close the pooled connections, if this transport owns them."""
        if self._owns_pool:
            self._session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        timeout: Optional[Timeout] = None,
        total: Optional[float] = None,
        bearer: Optional[str] = None,
    ) -> "Answer":
        """Send one request (with retries per the policy) and return the decoded answer.

        Args:
            method: The HTTP method.
            path: The path, already percent-encoded, starting with ``/``.
            params: Query parameters.
            json: A JSON body, or None to send none.
            timeout: ``(connect, read)`` for this call only.
            total: Seconds for connecting and reading together, on top of ``timeout``.
            bearer: A token to send instead of the API key (user access tokens).

        Returns:
            The 2xx answer: its parsed JSON body (None when empty) and where it came from.

        Raises:
            AISpineError: The subclass matching the failure; see :mod:`ai_spine.exceptions`.
        """
        url = self.base_url + path
        timeout = timeout or self.timeout
        headers: Dict[str, str] = {}
        if bearer is not None:
            headers["Authorization"] = "Bearer " + bearer
        # A total bounds connect and read together (wait_for_execution's deadline).
        limit: Any = (
            timeout
            if total is None
            else Urllib3Timeout(connect=timeout[0], read=timeout[1], total=total)
        )
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                timeout=limit,
                # Never replay a request elsewhere: a redirected POST would run the flow
                # again, or turn into a GET whose answer is mistaken for the POST's.
                allow_redirects=False,
            )
        except _TRANSPORT_ERRORS as error:
            mapped = transport_error(error, method, url, timeout)
            logger.debug("%s %s failed after %.1f ms: %s", method, url, _ms(started), mapped)
            raise mapped from error
        logger.debug(
            "%s %s -> %d in %.1f ms", method, response.url, response.status_code, _ms(started)
        )
        body = decode_body(response.content, response.headers.get("Content-Type"))
        if 200 <= response.status_code < 300:
            return Answer(body, response.status_code, dict(response.headers), method, url)
        raise error_from_response(response.status_code, body, response.headers, method, url)


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def transport_error(error: Exception, method: str, url: str, timeout: Timeout) -> AISpineError:
    """Translate a ``requests``/``urllib3`` exception into the SDK's own. Pure: no I/O.

    Args:
        error: What ``requests`` raised.
        method: The request's method.
        url: The request's URL.
        timeout: The ``(connect, read)`` timeout in force.

    Returns:
        :class:`TimeoutError` when the server accepted the connection but did not answer in
        time, else :class:`NetworkError`.
    """
    context: Dict[str, Any] = dict(method=method, url=url)
    sent_note = ""
    if method.upper() not in IDEMPOTENT_METHODS:
        sent_note = (
            " The request may have reached the server and been carried out; it was not "
            "retried so that it cannot run twice."
        )
    if isinstance(
        error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return NetworkError(
            "The answer to {} {} could not be read: {}.{}".format(
                method, url, _root_reason(error), sent_note
            ),
            **context,
        )
    if _is_read_timeout(error):
        return TimeoutError(
            "No answer from {} {} within {:g} s.{} Raise timeout= if the server is slow.".format(
                method, url, timeout[1], sent_note
            ),
            timeout=timeout[1],
            **context,
        )
    if isinstance(error, requests.exceptions.ConnectTimeout):
        reason = "no connection within {:g} s".format(timeout[0])
    elif isinstance(error, requests.exceptions.SSLError):
        reason = "TLS failed ({})".format(_root_reason(error))
    else:
        reason = _root_reason(error)
    if _was_sent(error):
        return NetworkError(
            "The connection to {} {} broke before an answer: {}.{}".format(
                method, url, reason, sent_note
            ),
            **context,
        )
    return NetworkError(
        "Could not connect to {} ({} {}): {}. Check base_url and the network.".format(
            _origin(url), method, url, reason
        ),
        **context,
    )


def _causes(error: BaseException) -> List[BaseException]:
    """The chain of errors inside ``error``: requests and urllib3 nest them in args/reason."""
    seen: List[BaseException] = []
    current: Optional[BaseException] = error
    while current is not None and current not in seen:
        seen.append(current)
        nested = getattr(current, "reason", None)
        if not isinstance(nested, BaseException) and current.args:
            nested = current.args[0] if isinstance(current.args[0], BaseException) else None
        if not isinstance(nested, BaseException):
            nested = current.__cause__ or (
                None if current.__suppress_context__ else current.__context__
            )
        current = nested
    return seen


def _is_read_timeout(error: Exception) -> bool:
    return any(
        isinstance(e, (requests.exceptions.ReadTimeout, ReadTimeoutError)) for e in _causes(error)
    )


def _was_sent(error: Exception) -> bool:
    # A reset or a closed connection after the request went out (urllib3's read errors).
    return any(isinstance(e, ProtocolError) for e in _causes(error))


def _root_reason(error: Exception) -> str:
    innermost = _causes(error)[-1]
    if isinstance(innermost, OSError) and innermost.strerror:
        return str(innermost.strerror)
    text = str(innermost)
    # urllib3 prefixes its messages with the connection object's repr.
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return text or type(innermost).__name__


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
