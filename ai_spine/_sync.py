"""The sync transport: sends an :class:`~ai_spine._operations.Operation` with ``requests``.

It owns (or borrows) one pooled ``requests.Session``, sends, reads the answer as a stream
(:class:`~ai_spine._protocol.Body`: decompressed here, within the size cap), and tells what
``requests``/``urllib3`` raised apart (:func:`classify`). Whether to retry, how long to wait
and what the caller sees are decided by :class:`~ai_spine._protocol.Exchange`, the same code
the async transport runs.

Each attempt has a deadline (:mod:`ai_spine._watchdog`): the connections of the session are
watched (those a user's session opens through a proxy are not: for them the deadline is
checked between chunks of the body), so a server that trickles its answer byte by byte is
cut off when the deadline passes, not only when one read stalls. In a process forked from the one
that opened the connections, the session drops them and opens its own.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.poolmanager import PoolManager
from urllib3.util.timeout import Timeout as Urllib3Timeout

from . import _watchdog
from ._base import (
    Settings,
    TransportBase,
    proxies_with_environment,
    verify_with_environment,
)
from ._operations import Operation
from ._protocol import (
    Answer,
    Body,
    BodyError,
    Exchange,
    Failure,
    encode_request,
    request_headers,
)
from .exceptions import AISpineError, ValidationError

__all__ = ["SyncTransport", "classify"]

T = TypeVar("T")

_URLLIB3_PREFIX = r"^(?:<[^>]*>|\w+\(host=[^)]*\)): "
_CHUNK = 65536
_REQUESTS_ADAPTERS = "requests.adapters"  # HTTPAdapter.send's module, unless a test patched it


class _DeadlinePassed(Exception):
    """The attempt's deadline passed between two reads of the body."""


# What sending can raise besides an HTTP answer. requests wraps most of it, but not all:
# a malformed header value raises ValueError, a broken socket OSError.
_TRANSPORT_ERRORS = (
    requests.RequestException,
    Urllib3Error,
    http.client.HTTPException,
    OSError,
    ValueError,
    _DeadlinePassed,
)

_current = threading.local()
"""``deadline``: the :class:`~ai_spine._watchdog.Deadline` of the attempt this thread sends."""


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
            session = _new_session(settings)
        elif isinstance(settings.session, requests.Session):
            session = settings.session
            # Its connections from now on can be cut by our calls' deadlines (only ours: the
            # watch is inert outside them). Its settings and adapters stay as they are.
            for adapter in session.adapters.values():
                manager = getattr(adapter, "poolmanager", None)
                if isinstance(manager, PoolManager):
                    _watch(manager)
        else:
            raise ValidationError(
                "session must be a requests.Session for AISpine, got {}".format(
                    type(settings.session).__name__
                )
            )
        self._sessions = _Sessions(session, settings if settings.session is None else None)
        # Sent with every request. With a user's session, what the client was given: requests
        # lets REQUESTS_CA_BUNDLE and HTTPS_PROXY override a session's verify and proxies,
        # never a request's. With our own, everything, the environment read here once: that
        # session does not read it again on each call (see _new_session).
        self._own = settings.session is None
        if self._own:
            self._options = _own_options(settings)
        else:
            self._options = _explicit_options(settings)
        # For the direct path of our own session (_send_own): the base URL's path, whether a
        # proxy is in the way, and the adapter's urllib3 pool once looked up.
        self._prefix = urlsplit(settings.base_url).path
        self._proxied = bool(
            self._own and select_proxy(settings.base_url, self._options["proxies"])
        )

    @property
    def _session(self) -> requests.Session:
        """The session calls go through (in a forked child, once one call made it anew)."""
        return self._sessions.session

    def close(self) -> None:
        """Close the pooled connections, if the session is this transport's own."""
        if self._owner and self.settings.session is None:
            self._sessions.close()

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
            total: Seconds for the whole call, retries included (a wait's time left).

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
        exchange = Exchange(self.policy, operation.method, url, timeout, total, self.log)
        headers = request_headers(self.settings.api_key, operation.token)
        session = self._sessions.get()
        delay: Optional[float]
        while True:
            limits, budget = exchange.limits()
            watch = _watchdog.arm(budget)
            _current.deadline = watch
            try:
                if self._own:
                    status, answer_headers, raw = self._send_own(
                        session, operation, url, headers, limits
                    )
                else:
                    response = session.request(
                        operation.method,
                        url,
                        params=operation.params,
                        json=operation.body,
                        headers=headers,
                        timeout=limits,
                        # Only the credentials given to the client: never ~/.netrc's.
                        auth=session.auth or _no_auth,
                        # Never replay a request elsewhere: a redirected POST would run the
                        # flow again, or turn into a GET whose answer is taken for the POST's.
                        allow_redirects=False,
                        stream=True,  # read by _read: within the size cap and the deadline
                        **self._options,
                    )
                    status, answer_headers, raw = (
                        response.status_code,
                        response.headers,
                        response.raw,
                    )
                content = self._read(raw, answer_headers, operation.method, url, watch)
            except _TRANSPORT_ERRORS as error:
                failure = classify(error)
                if watch.expired or isinstance(error, _DeadlinePassed):
                    failure = Failure(Failure.READ_TIMEOUT, "deadline", limit=budget)
                delay = exchange.failed(failure, error)
            else:
                delay = exchange.answered(status, answer_headers)
                if delay is None:
                    return exchange.result(status, content, answer_headers)
            finally:
                _current.deadline = None
                watch.disarm()
            time.sleep(delay)

    def _send_own(
        self,
        session: requests.Session,
        operation: "Operation[Any]",
        url: str,
        headers: Dict[str, str],
        limits: Tuple[float, float],
    ) -> Tuple[int, Any, Any]:
        """Send one attempt through our own session: its status, headers and raw body.

        Straight to the adapter's urllib3 pool: what ``Session.request`` and
        ``HTTPAdapter.send`` add (merging settings, cookies, hooks, redirects, a
        ``requests.Response``) our own session never uses, and it was half of a call's time
        on this side of the socket. The wire bytes are the same. Whenever requests' sending
        was replaced (a mounted adapter, ``responses``, ``requests-mock``) or a proxy is in
        the way, the attempt goes through the adapter's ``send`` as before.
        """
        direct = self._direct_pool(session)
        target, data, framing = encode_request(operation.method, operation.params, operation.body)
        wire = dict(headers)
        wire["Connection"] = "keep-alive"  # what requests' own session sends
        wire.update(framing)
        if direct is None:
            response = session.get_adapter(url).send(
                _prepare(operation.method, url + target, data, wire),
                stream=True,
                timeout=limits,
                **self._options,
            )
            return response.status_code, response.headers, response.raw
        try:
            raw = direct[1].urlopen(
                operation.method,
                self._prefix + operation.path + target,
                body=data,
                headers=wire,
                retries=direct[2],
                redirect=False,
                assert_same_host=False,
                timeout=Urllib3Timeout(connect=limits[0], read=limits[1]),
                preload_content=False,
                decode_content=False,
            )
        except (Urllib3Error, OSError) as error:
            raise _as_requests_error(error)
        return raw.status, raw.headers, raw

    def _direct_pool(self, session: requests.Session) -> Optional[Tuple[Any, Any, Any]]:
        """``(adapter, pool, retries)``: ``session``'s adapter for the base URL, its urllib3
        pool of the base URL and its ``Retry``; or None when an attempt must go through
        ``HTTPAdapter.send`` (see :meth:`_send_own`)."""
        if self._proxied or getattr(HTTPAdapter.send, "__module__", None) != _REQUESTS_ADAPTERS:
            return None
        adapter = session.get_adapter(self.settings.base_url)
        if type(adapter) is not _Adapter or type(adapter).send is not HTTPAdapter.send:
            return None
        cached = self._sessions.direct
        # A closed pool (the client was closed; urllib3 1.26 closes the pools it drops) is
        # made again, and so is the pool of a session made anew in a forked child.
        if cached is not None and cached[0] is adapter and cached[1].pool is not None:
            return cached
        base = self.settings.base_url
        verify, cert = self._options["verify"], self._options.get("cert")
        get = getattr(adapter, "get_connection_with_tls_context", None)
        if get is not None:  # requests >= 2.32.2
            pool = get(_prepare("GET", base, None, {}), verify, proxies={}, cert=cert)
        else:
            pool = adapter.get_connection(base, {})
        adapter.cert_verify(pool, base, verify, cert)  # type: ignore[no-untyped-call]
        direct = self._sessions.direct = (adapter, pool, adapter.max_retries)
        return direct

    def _read(
        self, raw: Any, headers: Any, method: str, url: str, watch: _watchdog.Deadline
    ) -> bytes:
        """The whole body of ``raw`` (a urllib3 response), decompressed within the size cap,
        before the attempt's deadline."""
        try:
            body = Body(
                headers.get("Content-Encoding"),
                headers.get("Content-Length"),
                self.settings.max_response_bytes,
                method,
                url,
            )
            while True:
                try:
                    chunk = raw.read(_CHUNK, decode_content=False)
                except (ProtocolError, http.client.HTTPException) as error:
                    # An answer came (its status and headers did): its body is unreadable.
                    raise BodyError(_root_reason(_causes(error))) from error
                # A user's session has no watched connections: its deadline holds here,
                # between chunks (and a cut connection may look like the end of the body).
                if watch.passed():
                    raise _DeadlinePassed()
                if not chunk:
                    return body.finish()
                body.feed(chunk)
                if body.complete:
                    # All its Content-Length read: the connection is back in its pool, and
                    # one more read would only find the end.
                    return body.finish()
        except BodyError as error:
            raise requests.exceptions.ContentDecodingError(str(error)) from None
        finally:
            # As requests' Response.close: a connection whose answer was not read to its end
            # is closed, then handed back to its pool (which opens a new one when needed).
            raw.close()
            release = getattr(raw, "release_conn", None)
            if release is not None:
                release()


class _Sessions:
    """The session a transport and the transports derived from it share.

    In a forked child, the first call leaves the parent's pooled connections alone and opens
    new ones: two processes reading one socket would take each other's answers. The
    transport's own session is replaced (the old one is kept, never closed nor collected,
    so nothing in the child touches the parent's connections or a lock a parent thread held);
    a user's session has its adapters' pools cleared.
    """

    _inherited: List[Any] = []

    def __init__(self, session: requests.Session, own: Optional[Settings]) -> None:
        self.session = session
        self._own = own
        self._forks = _watchdog.forks()
        self.direct: Optional[Tuple[HTTPAdapter, Any, Any]] = None
        """For the direct path: the session's adapter, its pool of the base URL and its
        urllib3 ``Retry``, once looked up."""

    def close(self) -> None:
        """Close our own session, and the pool of the direct path: urllib3 2 forgets its
        pools when cleared without closing them."""
        self.session.close()
        direct, self.direct = self.direct, None
        if direct is not None:
            direct[1].close()

    def get(self) -> requests.Session:
        if self._forks != _watchdog.forks():
            with _watchdog.fork_lock():
                if self._forks != _watchdog.forks():
                    self._reopen()
                    self._forks = _watchdog.forks()
        return self.session

    def _reopen(self) -> None:
        if self._own is not None:
            _Sessions._inherited.append((self.session, self.direct))
            self.session = _new_session(self._own)
            self.direct = None
        else:
            for adapter in self.session.adapters.values():
                adapter.close()  # the session stays usable: pools are made again on demand


class _Watched:
    """A urllib3 connection whose socket the sending thread's deadline may cut."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


_WATCHED_POOLS: Dict[type, type] = {}


def _watched_pool(pool_class: Type[Any]) -> Type[Any]:
    if issubclass(pool_class.ConnectionCls, _Watched):
        return pool_class
    watched = _WATCHED_POOLS.get(pool_class)
    if watched is None:
        connection = type(
            "Watched" + pool_class.ConnectionCls.__name__, (_Watched, pool_class.ConnectionCls), {}
        )
        watched = type(
            "Watched" + pool_class.__name__, (pool_class,), {"ConnectionCls": connection}
        )
        _WATCHED_POOLS[pool_class] = watched
    return watched


def _watch(manager: Any) -> Any:
    manager.pool_classes_by_scheme = {
        scheme: _watched_pool(pool) for scheme, pool in manager.pool_classes_by_scheme.items()
    }
    return manager


class _Adapter(HTTPAdapter):
    """requests' adapter, over connections that a deadline can cut (also through proxies)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]
        _watch(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)  # type: ignore[no-untyped-call]
        return _watch(manager)


def _new_session(settings: Settings) -> requests.Session:
    session = requests.Session()
    # requests otherwise scans os.environ for proxies and a CA bundle on every call (about a
    # third of a call's time, more in a large environment). _own_options reads it once.
    session.trust_env = False
    # urllib3 retries nothing (Retry(0, read=False)): the Exchange loop is the one retrier,
    # for this session and for a user's own alike.
    adapter = _Adapter(pool_maxsize=settings.max_connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = settings.verify
    session.cert = settings.cert
    if settings.proxies:
        session.proxies.update(settings.proxies)
    return session


def _own_options(settings: Settings) -> Dict[str, Any]:
    """What requests' environment scan would give each call of our own session, read once.

    The same rules as ``Session.merge_environment_settings``: the client's proxies first, then
    the environment's for the base URL unless ``NO_PROXY`` bypasses it; the client's
    ``verify``, or else ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``. (``.netrc``, the other
    thing the scan reads, is never used: see ``_no_auth``.)
    """
    options: Dict[str, Any] = {
        "verify": verify_with_environment(settings.verify),
        "proxies": proxies_with_environment(settings.base_url, settings.proxies),
    }
    if settings.cert is not None:
        options["cert"] = settings.cert
    return options


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


def _prepare(
    method: str, url: str, data: Optional[bytes], headers: Dict[str, str]
) -> requests.PreparedRequest:
    """A ``requests.PreparedRequest`` of what ``encode_request`` made, for
    ``HTTPAdapter.send``."""
    request = requests.PreparedRequest()
    request.method = method
    request.url = url
    request.body = data
    request.headers = CaseInsensitiveDict(headers)
    return request


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _as_requests_error(error: Exception) -> Exception:
    """What ``HTTPAdapter.send`` raises for what ``urlopen`` raised: the direct path's errors
    are requests' as before (the chained cause a caller sees, and what :func:`classify`
    reads)."""
    if isinstance(error, (ProtocolError, OSError)):
        return requests.exceptions.ConnectionError(error)
    if isinstance(error, MaxRetryError):
        reason = error.reason
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return requests.exceptions.ConnectTimeout(error)
        if isinstance(reason, ResponseError):
            return requests.exceptions.RetryError(error)
        if isinstance(reason, Urllib3ProxyError):
            return requests.exceptions.ProxyError(error)
        if isinstance(reason, Urllib3SSLError):
            return requests.exceptions.SSLError(error)
        return requests.exceptions.ConnectionError(error)
    if isinstance(error, ClosedPoolError):
        return requests.exceptions.ConnectionError(error)
    if isinstance(error, Urllib3ProxyError):
        return requests.exceptions.ProxyError(error)
    if isinstance(error, Urllib3SSLError):
        return requests.exceptions.SSLError(error)
    if isinstance(error, ReadTimeoutError):
        return requests.exceptions.ReadTimeout(error)
    return error


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
    # urllib3 2 raises NameResolutionError; 1.26 a NewConnectionError from a gaierror.
    if any(isinstance(e, socket.gaierror) for e in causes) or any(
        type(e).__name__ == "NameResolutionError" for e in causes
    ):
        return Failure(Failure.NAME_RESOLUTION, reason)
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
    text = re.sub(_URLLIB3_PREFIX, "", str(innermost), count=1)
    return text or type(innermost).__name__
