"""What both clients share besides sending: settings, credentials and configuration.

:func:`resolve_settings` turns the constructor's arguments and the environment into one
checked :class:`Settings`; :func:`proxies_with_environment` and
:func:`verify_with_environment` read the environment's proxies and CA bundle by requests'
rules, for both transports; :class:`ClientBase` holds the transport built from them and
everything about it that does no I/O (``with_options``, the properties, ``repr``, which
token a flow write sends). :class:`~ai_spine.AISpine` and :class:`~ai_spine.AsyncAISpine`
add only their methods, which send :mod:`ai_spine._operations` through their transport.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import os
import warnings
from typing import (
    Any,
    Dict,
    Generic,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import urlsplit

import requests.utils

from ._logging import Log
from ._wait import Wait
from .constants import (
    CA_BUNDLE_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_LOG,
    LOGGER_NAME,
)
from .exceptions import AuthenticationError, ValidationError
from .retry import RetryPolicy
from .utils import mask_secret, normalize_timeout, validate_secret, validate_url

logger = logging.getLogger(LOGGER_NAME)

TimeoutArg = Union[float, Tuple[float, float]]
Verify = Union[bool, str]
Cert = Union[str, Tuple[str, str]]


class Settings:
    """A client's checked configuration; transports are built from it. Never changed: a
    client with other limits gets a :meth:`replace` d copy.

    A plain class, not a ``NamedTuple``: building one of those at import cost 0.4 ms.
    """

    __slots__ = (
        "base_url",
        "api_key",
        "access_token",
        "timeout",
        "policy",
        "max_connections",
        "verify",
        "cert",
        "proxies",
        "session",
        "max_response_bytes",
        "debug",
    )

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str],
        access_token: Optional[str],
        timeout: Tuple[float, float],
        policy: RetryPolicy,
        max_connections: int,
        verify: Verify,
        cert: Optional[Cert],
        proxies: Optional[Dict[str, str]],
        session: Any,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        debug: bool = False,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.access_token = access_token
        self.timeout = timeout
        self.policy = policy
        self.max_connections = max_connections
        self.verify = verify
        self.cert = cert
        self.proxies = proxies
        self.session = session
        self.max_response_bytes = max_response_bytes
        self.debug = debug

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]  # like the dicts it holds

    def as_dict(self) -> Dict[str, Any]:
        """Every field by name."""
        return {name: getattr(self, name) for name in self.__slots__}

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` applied."""
        return Settings(**dict(self.as_dict(), **changes))


def resolve_settings(
    api_key: Optional[str],
    base_url: Optional[str],
    timeout: TimeoutArg,
    max_retries: int,
    debug: bool,
    access_token: Optional[str],
    max_connections: int,
    verify: Verify,
    cert: Optional[Cert],
    proxies: Optional[Mapping[str, str]],
    session: Any,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> Settings:
    """Check the constructor's arguments, fill the gaps from the environment.

    Raises:
        ValidationError: If an argument is invalid. Secrets never appear in the message.
    """
    if api_key is None:
        api_key = os.environ.get(ENV_API_KEY) or None
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    settings = Settings(
        base_url=validate_url(base_url, "base_url", base=True),
        api_key=None if api_key is None else validate_secret(api_key, "api_key"),
        access_token=(
            None if access_token is None else validate_secret(access_token, "access_token")
        ),
        timeout=normalize_timeout(timeout),
        policy=RetryPolicy(max_retries=validate_count(max_retries, "max_retries", 0)),
        max_connections=validate_count(max_connections, "max_connections", 1),
        verify=_check_verify(verify),
        cert=_check_cert(cert),
        proxies=_check_proxies(proxies),
        session=session,
        max_response_bytes=validate_count(max_response_bytes, "max_response_bytes", 1024),
        debug=bool(debug) or os.environ.get(ENV_LOG, "").strip().lower() == "debug",
    )
    _warn_if_secrets_go_in_clear(settings)
    return settings


def proxies_with_environment(url: str, proxies: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The client's ``proxies``, with the environment's filling the schemes they lack.

    requests' rules (``Session.merge_environment_settings``), which both clients follow:
    ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``ALL_PROXY`` count unless ``NO_PROXY`` bypasses
    ``url``'s host. ``requests.utils.select_proxy`` then picks the URL's scheme before
    ``all``, so an environment's ``HTTPS_PROXY`` comes before the client's ``all``.

    Example:
        >>> proxies_with_environment("https://h", {"https": "http://p:3128"})["https"]
        'http://p:3128'
    """
    merged: Dict[str, str] = dict(proxies or {})
    for scheme, proxy in requests.utils.get_environ_proxies(url).items():
        merged.setdefault(scheme, proxy)
    return merged


def verify_with_environment(verify: Verify) -> Verify:
    """``verify``, with True replaced by ``REQUESTS_CA_BUNDLE`` or else ``CURL_CA_BUNDLE`` when
    one is set, as requests does.

    Example:
        >>> verify_with_environment(False)
        False
    """
    if verify is not True:
        return verify
    return next((os.environ[name] for name in CA_BUNDLE_ENV if os.environ.get(name)), True)


def _warn_if_secrets_go_in_clear(settings: Settings) -> None:
    if settings.api_key is None and settings.access_token is None:
        return
    parts = urlsplit(settings.base_url)
    if parts.scheme.lower() == "http" and not _is_loopback(parts.hostname or ""):
        logger.warning(
            "base_url %s is plain http:// to a host that is not this machine: the API key "
            "or access token travels unencrypted and anyone on the network path can read it. "
            "Use https://.",
            settings.base_url,
        )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_count(value: Any, name: str, minimum: int) -> int:
    """Return ``value`` if it is an integer of at least ``minimum``.

    Raises:
        ValidationError: If it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError("{} must be an integer >= {}, got {!r}".format(name, minimum, value))
    return int(value)


def _check_verify(verify: Any) -> Verify:
    if isinstance(verify, bool):
        if not verify:
            logger.warning(
                "TLS certificate verification is OFF (verify=False): anyone on the network "
                "path can read and change this client's traffic, API key included"
            )
        return verify
    if isinstance(verify, (str, os.PathLike)) and os.path.exists(verify):
        return str(os.fspath(verify))
    raise ValidationError(
        "verify must be True, False, or the path of a CA bundle file or directory that "
        "exists, got {!r}".format(verify)
    )


def _check_cert(cert: Any) -> Optional[Cert]:
    if cert is None:
        return None
    paths = cert if isinstance(cert, tuple) else (cert,)
    if not 1 <= len(paths) <= 2 or not all(
        isinstance(p, (str, os.PathLike)) and os.path.isfile(p) for p in paths
    ):
        raise ValidationError(
            "cert must be the path of a certificate file (with its key), or a "
            "(certificate, key) pair of paths to files that exist, got {!r}".format(cert)
        )
    files = tuple(os.fspath(p) for p in paths)
    return files[0] if len(files) == 1 else (files[0], files[1])


def _check_proxies(proxies: Any) -> Optional[Dict[str, str]]:
    if proxies is None:
        return None
    if not isinstance(proxies, Mapping):
        raise ValidationError(
            "proxies must be a dict such as {{'https': 'http://proxy:3128'}}, got {!r}".format(
                proxies
            )
        )
    checked = {}
    for scheme, url in proxies.items():
        if scheme not in ("http", "https", "all"):
            raise ValidationError(
                "proxies keys must be 'http', 'https' or 'all', got {!r}".format(scheme)
            )
        checked[scheme] = validate_url(url, "proxies[{!r}]".format(scheme))
    return checked


class TransportBase:
    """What the two transports share: their settings, limits and derivation.

    Attributes:
        settings: The client's checked settings.
        timeout: The ``(connect, read)`` timeout of this transport's calls.
        policy: The retry rules of this transport's calls.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.timeout
        self.policy = settings.policy
        self.log = Log(settings.debug)
        self._owner = True  # closing this transport closes the connections

    def derive(
        self: "T",
        *,
        timeout: Optional[Tuple[float, float]] = None,
        policy: Optional[RetryPolicy] = None,
    ) -> "T":
        """A transport with other limits over the same connections, which it does not own.

        Args:
            timeout: A new ``(connect, read)`` timeout, or None to keep this one's.
            policy: New retry rules, or None to keep this one's.

        Returns:
            The new transport. Closing it does not close the shared connections.
        """
        clone = copy.copy(self)
        clone.timeout = timeout or self.timeout
        clone.policy = policy or self.policy
        clone._owner = False
        return clone


T = TypeVar("T", bound=TransportBase)
TransportT = TypeVar("TransportT", bound=TransportBase)
C = TypeVar("C", bound="ClientBase[Any]")


class ClientBase(Generic[TransportT]):
    """Everything a client is apart from its methods' I/O.

    Subclasses set ``_transport_class``; it is built with the resolved :class:`Settings`
    and must offer ``settings``, ``timeout``, ``policy``, ``derive()`` and ``send()``.
    """

    _transport_class: Any
    _transport: TransportT
    _poller: TransportT
    """The transport of ``wait_for_execution``'s polls: no retries of its own (the wait
    loop is the retrier, and a retry's sleep could outlast the wait's deadline)."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        debug: bool = False,
        *,
        access_token: Optional[str] = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        verify: Verify = True,
        cert: Optional[Cert] = None,
        proxies: Optional[Mapping[str, str]] = None,
        session: Any = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        settings = resolve_settings(
            api_key,
            base_url,
            timeout,
            max_retries,
            debug,
            access_token,
            max_connections,
            verify,
            cert,
            proxies,
            session,
            max_response_bytes,
        )
        self._transport = self._transport_class(settings)
        self._poller = self._no_retry_poller()

    def _no_retry_poller(self) -> TransportT:
        policy = self._transport.policy.replace(max_retries=0)
        return self._transport.derive(policy=policy)

    @property
    def base_url(self) -> str:
        """The server's URL, without trailing slash."""
        return self._transport.settings.base_url

    @property
    def timeout(self) -> Tuple[float, float]:
        """The ``(connect, read)`` timeout in seconds."""
        return self._transport.timeout

    @property
    def max_retries(self) -> int:
        """How many times a safely retryable failure is retried."""
        return self._transport.policy.max_retries

    def with_options(
        self: C, *, timeout: Optional[TimeoutArg] = None, max_retries: Optional[int] = None
    ) -> C:
        """Return a client with other timeout or retry settings, sharing this one's
        connection pool and credentials.

        Args:
            timeout: A number or ``(connect, read)`` pair, or None to keep the current one.
            max_retries: A retry count, or None to keep the current one.

        Returns:
            The new client, of the same class. Close the original to close the shared pool.

        Raises:
            ValidationError: If an argument is invalid.

        Example:
            >>> patient = client.with_options(timeout=120, max_retries=5)
        """
        policy = None
        if max_retries is not None:
            policy = self._transport.policy.replace(
                max_retries=validate_count(max_retries, "max_retries", 0)
            )
        clone = copy.copy(self)
        clone._transport = self._transport.derive(
            timeout=None if timeout is None else normalize_timeout(timeout), policy=policy
        )
        clone._poller = clone._no_retry_poller()
        return clone

    def __copy__(self: C) -> C:
        """A shallow copy sharing this client's transport (what ``with_options`` starts from).

        Defined because pickling goes through :meth:`__getstate__`, which ``copy.copy``
        would otherwise use too, opening new connections.
        """
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __getstate__(self) -> Dict[str, Any]:
        """Pickle the client as its configuration, never its connections.

        The state is the client's :class:`Settings` (base URL, API key, access token, TLS and
        proxy options, connection limit) with this client's own timeout and retry rules (as
        changed by :meth:`with_options`). The unpickled client opens its own connections
        where it is loaded: another thread, process or machine (a process pool, Dask).
        The pickle holds the credentials in clear: treat it as a secret.

        Raises:
            TypeError: If the client sends through a ``session=`` of the user's: a session
                holds sockets and cannot be pickled. Build the client without it (``verify``,
                ``cert`` and ``proxies`` travel with the settings).
        """
        settings = self._transport.settings
        if settings.session is not None:
            raise TypeError(
                "cannot pickle this {}: it sends through a session= of yours, and a session's "
                "connections cannot be pickled. Build the client without session= to send it "
                "to another process (verify, cert and proxies are pickled with it).".format(
                    type(self).__name__
                )
            )
        state = settings.replace(timeout=self._transport.timeout, policy=self._transport.policy)
        fields = state.as_dict()
        del fields["session"]
        return fields

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Rebuild the client from :meth:`__getstate__`'s configuration, with new connections."""
        self._transport = self._transport_class(Settings(session=None, **state))
        self._poller = self._no_retry_poller()

    def _new_wait(
        self,
        execution_id: str,
        timeout: float,
        interval: float,
        on_progress: Any,
        started: Optional[float],
        now: float,
    ) -> Wait:
        """The state of one wait, for either client's polling loop to drive.

        Raises:
            ValidationError: If an argument is invalid.
        """
        return Wait(
            execution_id,
            timeout,
            interval,
            on_progress,
            self.timeout,
            now,
            self._transport.log,
            started=started,
        )

    def _user_token(self, access_token: Optional[str], operation: str) -> str:
        """The token a flow write sends: the call's, else the client's, else the API key."""
        if access_token is not None:
            return validate_secret(access_token, "access_token")
        settings = self._transport.settings
        token = settings.access_token or settings.api_key
        if token is None:
            raise AuthenticationError(
                "{} needs a user access token: pass access_token= to the call or to "
                "{}().".format(operation, type(self).__name__)
            )
        return token

    @staticmethod
    def _deprecated(method: str, replacement: str) -> None:
        """Warn that a 2.x key method is deprecated, pointing at the line that called it."""
        warnings.warn(
            "{}() is deprecated: its route (/api/v1/user/keys) needs no credentials and "
            "trusts any user_id. Use {}(access_token=...) instead, which acts for the user "
            "the access token belongs to.".format(method, replacement),
            DeprecationWarning,
            stacklevel=3,  # this function, the client's method, then its caller
        )

    def __repr__(self) -> str:
        """Show the configuration, with the API key masked."""
        return "{}(base_url={!r}, api_key={}, timeout={!r}, max_retries={})".format(
            type(self).__name__,
            self.base_url,
            mask_secret(self._transport.settings.api_key),
            self.timeout,
            self.max_retries,
        )
