"""The async transport: sends an :class:`~ai_spine._operations.Operation` with aiohttp.

The twin of :mod:`ai_spine._sync`: the same :class:`~ai_spine._protocol.Exchange` decides
retries and errors; this module only sends, reads, sleeps with ``asyncio`` and tells
aiohttp's exceptions apart (:func:`classify`). aiohttp is imported when the first transport
is built, never by ``import ai_spine``.

A session belongs to the event loop it was created on. The transport creates its own on
first use (inside the running loop, as aiohttp requires), refuses clearly to be used from a
second live loop, starts afresh when the first loop has ended, and closes an abandoned
session when the client is garbage-collected, so aiohttp never reports it unclosed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import weakref
from typing import Any, Dict, List, Optional, Tuple, TypeVar

from requests.utils import select_proxy

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
from .constants import ASYNC_EXTRA
from .exceptions import AISpineError, ValidationError

try:
    import aiohttp
    import yarl  # aiohttp's own URL type, installed with it
except ImportError:  # pragma: no cover - exercised in a venv without the extra
    aiohttp = None  # type: ignore[assignment]

__all__ = ["AsyncTransport", "classify"]

T = TypeVar("T")

_CHUNK = 65536
_inherited: List[Any] = []
"""Sessions opened by the parent of a forked process: kept, never closed nor collected, so
the child never touches the parent's sockets (or its event loop's selector)."""


def require_aiohttp() -> Any:
    """Return the aiohttp module, or explain how to install it.

    Raises:
        ImportError: If aiohttp is not installed.
    """
    if aiohttp is None:  # pragma: no cover - exercised in a venv without the extra
        raise ImportError(
            'AsyncAISpine needs aiohttp: pip install "{}"'.format(ASYNC_EXTRA), name="aiohttp"
        )
    return aiohttp


class _Pool:
    """The session that a transport and the transports derived from it share."""

    def __init__(self, settings: Settings, proxy: Optional[str], trust: Any) -> None:
        self.settings = settings
        self.proxy = proxy
        self.trust = trust  # what trusted_bundle() read when the client was built
        self.user_session = settings.session
        self.session: Any = settings.session
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.finalizer: Optional[Any] = None
        self.forks = _watchdog.forks()
        self._urls: Dict[str, Any] = {}

    def get(self) -> Any:
        """The session to use on the running loop, created on first use."""
        loop = asyncio.get_running_loop()
        if self.forks != _watchdog.forks():
            self._leave_to_parent()
        if self.loop is None or (self.user_session is None and self.session is None):
            self.loop = loop
        elif self.loop is not loop:
            if self.user_session is not None or not self.loop.is_closed():
                raise RuntimeError(
                    "This AsyncAISpine is bound to another event loop (the one it was first "
                    "used on). aiohttp sessions cannot move between loops: create one client "
                    "per event loop, or await client.close() before using it on another."
                )
            self._abandon()  # the first loop has ended: start afresh on this one
            self.loop = loop
        if self.session is None:
            self.session = self._create()
        return self.session

    def url(self, address: str) -> Any:
        """``address`` as the ``yarl.URL`` aiohttp would make of it, made once: a wait polls
        one URL again and again, and parsing it was a tenth of a call's time."""
        parsed = self._urls.get(address)
        if parsed is None:
            if len(self._urls) >= 256:
                self._urls.clear()
            parsed = self._urls[address] = yarl.URL(address)
        return parsed

    def _create(self) -> Any:
        settings = self.settings
        tls: Dict[str, Any] = {}
        if _speaks_tls(settings.base_url, self.proxy):
            # Loading a CA bundle takes ~30 ms, so a client that makes no TLS connection (to
            # a local plain-http server, a test's) builds no context.
            tls["ssl"] = tls_context(self.trust, settings.cert)
        connector = aiohttp.TCPConnector(limit=settings.max_connections, **tls)
        # trust_env=False: ~/.netrc credentials are never sent; proxies come from
        # proxy_for(), which reads the environment as requests does.
        # auto_decompress=False: Body decompresses, within the size cap.
        # DummyCookieJar: the API sets no cookie, and the sync client's own session sends
        # none; not keeping them also saves a cookie lookup on every request.
        # headers: what every request sends, set once (aiohttp merges a request's own in).
        session = aiohttp.ClientSession(
            connector=connector,
            headers=request_headers(settings.api_key),
            trust_env=False,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self.finalizer = weakref.finalize(self, _close_abandoned, session)
        return session

    async def close(self) -> None:
        if self.user_session is None and self.session is not None:
            session, self.session = self.session, None
            if self.finalizer is not None:
                self.finalizer.detach()
            await session.close()

    def _leave_to_parent(self) -> None:
        # A forked child: the session, its sockets and its loop are the parent's.
        self.forks = _watchdog.forks()
        if self.user_session is None and self.session is not None:
            if self.finalizer is not None:
                self.finalizer.detach()
            _inherited.append(self.session)
            self.session = None
        self.loop = None

    def _abandon(self) -> None:
        if self.finalizer is not None:
            self.finalizer()
        self.session = None


def _close_abandoned(session: Any) -> None:
    # Runs when a client is garbage-collected (or at exit) with its session open, or is used
    # again after the loop it was bound to has ended. Closing the sockets synchronously and
    # detaching them leaves aiohttp nothing to report unclosed.
    connector = session.connector
    session.detach()
    if connector is None:
        return
    try:
        # Closes the sockets at once, unlike the awaitable close(). On a loop that has ended
        # it can only mark the connector closed: asyncio leaves such transports to the garbage
        # collector (a ResourceWarning, silent by default).
        connector._close()
    except Exception:  # pragma: no cover - a private aiohttp method: best effort
        pass


class AsyncTransport(TransportBase):
    """Sends operations to one AI Spine server over a pooled ``aiohttp.ClientSession``.

    Args:
        settings: The client's checked settings. With ``settings.session`` the user's own
            ``aiohttp.ClientSession`` is used (and never closed).

    Raises:
        ImportError: If aiohttp is not installed (``pip install "ai-spine-sdk[async]"``).
    """

    def __init__(self, settings: Settings) -> None:
        require_aiohttp()
        if settings.session is not None and not isinstance(settings.session, aiohttp.ClientSession):
            raise ValidationError(
                "session must be an aiohttp.ClientSession for AsyncAISpine, got {}".format(
                    type(settings.session).__name__
                )
            )
        super().__init__(settings)
        # The environment is read here, once, as the sync client does: its proxy now, and
        # its CA bundle's name now, though the bundle is loaded only for a TLS connection.
        self._options = _request_options(settings)
        trust = trusted_bundle(settings.verify) if settings.session is None else None
        self._pool = _Pool(settings, self._options.get("proxy"), trust)
        self._last_timeout: Optional[Tuple[Any, Any]] = None

    async def close(self) -> None:
        """Close the pooled connections, if the session is this transport's own."""
        if self._owner:
            await self._pool.close()

    async def send(
        self,
        operation: "Operation[T]",
        timeout: Optional[Tuple[float, float]] = None,
        total: Optional[float] = None,
    ) -> T:
        """Send ``operation`` (with retries per the policy) and return its result.

        Args:
            operation: What to send and how to read the answer.
            timeout: ``(connect, read)`` for this call only.
            total: Seconds for the whole request; defaults to connect plus read.

        Raises:
            AISpineError: The subclass matching the failure; see :mod:`ai_spine.exceptions`.
        """
        try:
            answer = await self._exchange(operation, timeout or self.timeout, total)
        except AISpineError as error:
            return operation.recovered(error)
        return operation.parse(answer)

    async def _exchange(
        self, operation: "Operation[Any]", timeout: Tuple[float, float], total: Optional[float]
    ) -> Answer:
        session = self._pool.get()
        url = self.settings.base_url + operation.path
        exchange = Exchange(self.policy, operation.method, url, timeout, total, self.log)
        target, data, headers = encode_request(operation.method, operation.params, operation.body)
        if self.settings.session is not None:
            headers.update(request_headers(self.settings.api_key, operation.token))
        elif operation.token is not None:
            # Our own session sends request_headers(api_key) by default (_Pool._create).
            headers["Authorization"] = "Bearer " + operation.token
        address = self._pool.url(url + target)
        # A session of the user's may decompress answers itself; Body then sees plain bytes.
        decoded = self.settings.session is not None and getattr(session, "auto_decompress", True)
        delay: Optional[float]
        while True:
            attempt, budget = exchange.limits()
            limits = self._client_timeout(attempt, budget)
            try:
                async with session.request(
                    operation.method,
                    address,
                    data=data,
                    headers=headers,
                    timeout=limits,
                    allow_redirects=False,  # never replay a request elsewhere (see _sync)
                    **self._options,
                ) as response:
                    content = await self._read(response, operation.method, url, decoded)
            except (
                aiohttp.ClientError,
                asyncio.TimeoutError,
                OSError,
                ValueError,
                BodyError,
            ) as error:
                failure = classify(error)
                if failure.kind == Failure.READ_TIMEOUT and not isinstance(
                    error, aiohttp.ServerTimeoutError
                ):
                    failure = Failure(Failure.READ_TIMEOUT, "deadline", limit=budget)
                delay = exchange.failed(failure, error)
            else:
                delay = exchange.answered(response.status, response.headers)
                if delay is None:
                    return exchange.result(response.status, content, response.headers)
            await asyncio.sleep(delay)

    async def _read(self, response: Any, method: str, url: str, decoded: bool) -> bytes:
        """The whole body, decompressed within the size cap (the deadline is aiohttp's
        ``total`` timeout, which covers the body)."""
        headers = response.headers
        body = Body(
            None if decoded else headers.get("Content-Encoding"),
            None if decoded else headers.get("Content-Length"),
            self.settings.max_response_bytes,
            method,
            url,
        )
        while True:
            chunk = await response.content.read(_CHUNK)
            if not chunk:
                return body.finish()
            body.feed(chunk)
            if body.complete:  # all its Content-Length: one more read would only find the end
                return body.finish()

    def _client_timeout(self, limits: Tuple[float, float], budget: float) -> Any:
        """aiohttp's timeout for an attempt; the last one is kept, since most calls of a
        client have the same."""
        key = (limits, budget)
        last = self._last_timeout
        if last is None or last[0] != key:
            connect, read = limits
            last = self._last_timeout = (
                key,
                aiohttp.ClientTimeout(total=budget, sock_connect=connect, sock_read=read),
            )
        return last[1]


def _request_options(settings: Settings) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    if settings.session is None:
        proxy = proxy_for(settings.base_url, settings.proxies)
        if proxy is not None:
            options["proxy"] = proxy
    else:  # a user's session keeps its own settings unless the client was given some
        if settings.verify is not True or settings.cert is not None:
            options["ssl"] = tls_context(settings.verify, settings.cert)
        if settings.proxies:
            options["proxy"] = proxy_for(settings.base_url, settings.proxies, environ=False)
    return options


def tls_context(verify: Any, cert: Any) -> Any:
    """The ``ssl`` argument for aiohttp that matches requests' ``verify`` and ``cert``.

    Verification uses the same CA bundle as the sync client (``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, else certifi's), so both clients trust the same servers.

    Returns:
        False when ``verify`` is False and there is no ``cert``, else an ``ssl.SSLContext``.
    """
    cafile = trusted_bundle(verify)
    if cafile is False:
        if cert is None:
            return False
        # requests still presents a client certificate when verification is off.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return _with_cert(context, cert)
    if cert is None:
        # Loading a bundle takes ~30 ms: clients that trust the same unchanged file share
        # one context, as requests' sessions share the one it loads at import. A file
        # replaced or rewritten changes its inode or ctime even if its mtime is kept.
        path = os.path.abspath(cafile)
        found = os.stat(path)
        stamp = (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
        kept = _TRUST.get(path)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        context = _trusting(path)
        _TRUST[path] = (stamp, context)
        return context
    return _with_cert(_trusting(cafile), cert)


def _with_cert(context: ssl.SSLContext, cert: Any) -> ssl.SSLContext:
    certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
    context.load_cert_chain(certfile, keyfile)
    return context


def trusted_bundle(verify: Any) -> Any:
    """What ``verify`` trusts, with the environment read now: False, or a CA bundle's path.

    True means what the sync client trusts (:func:`~ai_spine._base.verify_with_environment`):
    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else certifi's bundle.

    Example:
        >>> trusted_bundle("/etc/ssl/certs/ca-certificates.crt")
        '/etc/ssl/certs/ca-certificates.crt'
    """
    found = verify_with_environment(verify)
    if found is not True:
        return found
    import certifi

    return certifi.where()


_TRUST: Dict[str, Tuple[Tuple[int, int, int, int], ssl.SSLContext]] = {}
"""The context last built for each CA bundle path, with the file's stamp at the time."""


def _speaks_tls(base_url: str, proxy: Optional[str]) -> bool:
    """Whether the client's connections use TLS: to an https server or an https proxy."""
    return any(url[:6].lower() == "https:" for url in (base_url, proxy or ""))


def _trusting(cafile: str) -> ssl.SSLContext:
    if os.path.isdir(cafile):
        return ssl.create_default_context(capath=cafile)
    return ssl.create_default_context(cafile=cafile)


def proxy_for(url: str, proxies: Optional[Dict[str, str]], environ: bool = True) -> Optional[str]:
    """The proxy for ``url``, chosen as the sync client (requests) chooses it: from the
    client's ``proxies`` and, unless ``environ`` is False, the environment's
    (:func:`~ai_spine._base.proxies_with_environment`).

    Example:
        >>> proxy_for("https://api.example.com", {"https": "http://proxy:3128"})
        'http://proxy:3128'
    """
    merged = proxies_with_environment(url, proxies) if environ else dict(proxies or {})
    found: Optional[str] = select_proxy(url, merged)
    return found


def classify(error: BaseException) -> Failure:
    """Tell where an aiohttp exception happened. Pure: no I/O.

    Only a failure positively known to precede sending (no connection, TLS) counts as not
    sent: anything else may have reached the server, so a POST is never retried after it.
    """
    reason = str(error) or type(error).__name__
    if isinstance(error, BodyError):
        return Failure(Failure.UNREADABLE, reason)
    if isinstance(error, (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)):
        return Failure(Failure.TLS, reason)
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = str(error.os_error.strerror or error.os_error)
        if isinstance(error.os_error, socket.gaierror):
            return Failure(Failure.NAME_RESOLUTION, cause)
        return Failure(Failure.CONNECT, cause)
    if isinstance(error, asyncio.TimeoutError):
        # aiohttp < 3.10 has no ConnectionTimeoutError; its message says the same.
        if reason.startswith("Connection timeout"):
            return Failure(Failure.CONNECT_TIMEOUT, reason)
        return Failure(Failure.READ_TIMEOUT, reason)
    if isinstance(error, aiohttp.ClientPayloadError):
        return Failure(Failure.UNREADABLE, reason)
    if isinstance(error, aiohttp.ClientResponseError) and error.message:
        # aiohttp's parser refusing a malformed answer: "400, message=..." names no status.
        return Failure(Failure.BROKEN, "malformed answer: {}".format(error.message))
    return Failure(Failure.BROKEN, reason)
