"""The sync transport: sends an :class:`~ai_spine._operations.Operation` with ``requests``.

It owns (or borrows) one pooled ``requests.Session``, sends, reads the whole answer, and
tells what ``requests``/``urllib3`` raised apart (:func:`classify`). Whether to retry, how
long to wait and what the caller sees are decided by :class:`~ai_spine._protocol.Exchange`,
the same code the async transport runs.
"""

import http.client
import re
import time
from typing import Any, Dict, List, Optional, Tuple, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.timeout import Timeout as Urllib3Timeout

from ._base import Settings, TransportBase
from ._operations import Operation
from ._protocol import Answer, Exchange, Failure, request_headers
from .exceptions import AISpineError, ValidationError

__all__ = ["SyncTransport", "classify"]

T = TypeVar("T")

_URLLIB3_PREFIX = re.compile(r"^(?:<[^>]*>|\w+\(host=[^)]*\)): ")

# What sending can raise besides an HTTP answer. requests wraps most of it, but not all:
# a malformed header value raises ValueError, a broken socket OSError.
_TRANSPORT_ERRORS = (
    requests.RequestException,
    Urllib3Error,
    http.client.HTTPException,
    OSError,
    ValueError,
)


class SyncTransport(TransportBase):
    """Sends operations to one AI Spine server over a pooled ``requests.Session``.

    Args:
        settings: The client's checked settings. With ``settings.session`` the user's own
            session is used (and never closed); its adapters, proxies and TLS settings stay in
            force unless ``verify``, ``cert`` or ``proxies`` were given to the client.

    Example:
        >>> from ai_spine._base import resolve_settings
        >>> from ai_spine import _operations
        >>> transport = SyncTransport(resolve_settings(None, "http://127.0.0.1:8000", 5, 3,
        ...                           False, None, 10, True, None, None, None))
        >>> transport.send(_operations.health_check())["status"]
        'healthy'
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        if settings.session is None:
            self._session = _new_session(settings)
        elif isinstance(settings.session, requests.Session):
            self._session = settings.session
        else:
            raise ValidationError(
                "session must be a requests.Session for AISpine, got {}".format(
                    type(settings.session).__name__
                )
            )
        # Sent with every request, even on our own session: requests lets REQUESTS_CA_BUNDLE
        # and HTTPS_PROXY override a session's verify and proxies, never a request's.
        self._options = _explicit_options(settings)

    def close(self) -> None:
        """Close the pooled connections, if the session is this transport's own."""
        if self._owner and self.settings.session is None:
            self._session.close()

    def send(
        self,
        operation: "Operation[T]",
        timeout: Optional[Tuple[float, float]] = None,
        total: Optional[float] = None,
    ) -> T:
        """Send ``operation`` (with retries per the policy) and return its result.

        Args:
            operation: What to send and how to read the answer.
            timeout: ``(connect, read)`` for this call only.
            total: Seconds for connecting and reading together, on top of ``timeout``.

        Raises:
            AISpineError: The subclass matching the failure; see :mod:`ai_spine.exceptions`.
        """
        try:
            answer = self._exchange(operation, timeout or self.timeout, total)
        except AISpineError as error:
            return operation.recovered(error)
        return operation.parse(answer)

    def _exchange(
        self, operation: "Operation[Any]", timeout: Tuple[float, float], total: Optional[float]
    ) -> Answer:
        url = self.settings.base_url + operation.path
        exchange = Exchange(self.policy, operation.method, url, timeout)
        headers = request_headers(self.settings.api_key, operation.token)
        limit: Any = timeout
        if total is not None:  # a total bounds connect and read together (a wait's deadline)
            limit = Urllib3Timeout(connect=timeout[0], read=timeout[1], total=total)
        delay: Optional[float]
        while True:
            try:
                response = self._session.request(
                    operation.method,
                    url,
                    params=operation.params,
                    json=operation.body,
                    headers=headers,
                    timeout=limit,
                    # Only the credentials given to the client: never ~/.netrc's.
                    auth=self._session.auth or _no_auth,
                    # Never replay a request elsewhere: a redirected POST would run the flow
                    # again, or turn into a GET whose answer is mistaken for the POST's.
                    allow_redirects=False,
                    **self._options,
                )
                content = _complete(response)
            except _TRANSPORT_ERRORS as error:
                delay = exchange.failed(classify(error), error)
            else:
                delay = exchange.answered(response.status_code, response.headers)
                if delay is None:
                    return exchange.result(response.status_code, content, response.headers)
            time.sleep(delay)


def _complete(response: requests.Response) -> bytes:
    """The whole body; an answer cut short of its ``Content-Length`` is unreadable."""
    content = response.content
    # urllib3 2 raises on a short body; urllib3 1.26 (Python 3.7) would hand over the part
    # that arrived, which could parse as a different, shorter answer.
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and "Content-Encoding" not in response.headers:
        if len(content) < int(length):
            raise requests.exceptions.ChunkedEncodingError(
                "the answer ended after {} of its {} bytes".format(len(content), length)
            )
    return content


def _new_session(settings: Settings) -> requests.Session:
    session = requests.Session()
    # urllib3 retries nothing (Retry(0, read=False)): the Exchange loop is the one retrier,
    # for this session and for a user's own alike.
    adapter = HTTPAdapter(pool_maxsize=settings.max_connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = settings.verify
    session.cert = settings.cert
    if settings.proxies:
        session.proxies.update(settings.proxies)
    return session


def _explicit_options(settings: Settings) -> Dict[str, Any]:
    # What the client was given, per request. A user's session otherwise keeps its own TLS
    # and proxy settings.
    options: Dict[str, Any] = {}
    if settings.verify is not True:
        options["verify"] = settings.verify
    if settings.cert is not None:
        options["cert"] = settings.cert
    if settings.proxies:
        options["proxies"] = settings.proxies
    return options


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def classify(error: BaseException) -> Failure:
    """Tell where a ``requests``/``urllib3`` exception happened. Pure: no I/O.

    Only a failure positively known to precede sending (no connection, TLS) counts as not
    sent: anything else may have reached the server, so a POST is never retried after it.

    Args:
        error: What ``requests`` raised.

    Returns:
        The :class:`~ai_spine._protocol.Failure` with a short reason.
    """
    causes = _causes(error)
    reason = _root_reason(causes)
    if isinstance(
        error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return Failure(Failure.UNREADABLE, reason)
    if any(isinstance(e, (requests.exceptions.ReadTimeout, ReadTimeoutError)) for e in causes):
        return Failure(Failure.READ_TIMEOUT, reason)
    if isinstance(error, requests.exceptions.SSLError):
        return Failure(Failure.TLS, reason)
    if any(isinstance(e, ProtocolError) for e in causes):
        return Failure(Failure.BROKEN, reason)
    # urllib3's NewConnectionError (refused, DNS) is a ConnectTimeoutError subclass.
    if isinstance(error, requests.exceptions.ConnectTimeout) or any(
        isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError) for e in causes
    ):
        return Failure(Failure.CONNECT_TIMEOUT, reason)
    if any(isinstance(e, NewConnectionError) for e in causes):
        return Failure(Failure.CONNECT, reason)
    return Failure(Failure.BROKEN, reason)


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


def _root_reason(causes: List[BaseException]) -> str:
    innermost = causes[-1]
    if isinstance(innermost, OSError) and innermost.strerror:
        return str(innermost.strerror)
    # urllib3 prefixes its messages with the connection or pool: "<... object at 0x...>: "
    # (urllib3 1.x), "HTTPConnection(host='h', port=1): " (2.x).
    text = _URLLIB3_PREFIX.sub("", str(innermost), count=1)
    return text or type(innermost).__name__
