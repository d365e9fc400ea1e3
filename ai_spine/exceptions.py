"""Every error the SDK raises, and the one function that turns a response into one.

The hierarchy (all importable from ``ai_spine``)::

    AISpineError                    anything the SDK raises; catch this to catch them all
    ├── AuthenticationError         401: missing or wrong API key or access token
    ├── AuthorizationError          403: authenticated, but not allowed
    │   └── InsufficientCreditsError    402, or 403 about credits
    ├── ValidationError             400, 422, a wrapped "400: ..." 500, or bad arguments
    │                               caught before any request was sent (``.errors``)
    ├── NotFoundError               404, and execute_flow on an unknown flow
    ├── ConflictError               409: the resource already exists
    ├── RateLimitError              429 after retries (``.retry_after`` in seconds)
    ├── ServerError                 5xx after retries, or any status the SDK did not expect
    ├── NetworkError                no connection (DNS, refused, TLS, connect timeout), or
    │                               one that broke or sent an unreadable answer (``.kind``)
    ├── ResponseTooLargeError       the answer exceeded ``max_response_bytes`` (``.limit``)
    ├── TimeoutError                no answer in time (also the built-in TimeoutError):
    │                               a read timeout, or wait_for_execution's deadline
    ├── ExecutionError              the execution itself failed or was cancelled
    └── BatchError                  execute_batch(stop_on_error=True) stopped at a failure
                                    (``.results``, ``.failed``)

Errors built from a response carry ``status_code``, ``body`` (parsed JSON, or text),
``headers`` (case-insensitive, like ``requests``' own), ``method`` and ``url``. Nothing from
``requests``, ``urllib3`` or ``json`` escapes a public method: those are always translated
into one of the classes above.
"""

from __future__ import annotations

import builtins
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Type, cast

from requests.structures import CaseInsensitiveDict

from .utils import parse_retry_after

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only (no import cycle at run time)
    from ._batch import BatchResult
    from .models import Execution

__all__ = [
    "AISpineError",
    "AuthenticationError",
    "AuthorizationError",
    "InsufficientCreditsError",
    "ValidationError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "NetworkError",
    "ResponseTooLargeError",
    "TimeoutError",
    "ExecutionError",
    "BatchError",
    "error_from_response",
]


class AISpineError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        message: What happened, in the server's words where it gave any.
        status_code: The HTTP status, when a response was received.
        body: The response body, parsed from JSON when possible, else text.
        headers: The response headers, looked up case-insensitively as in ``requests``
            (a ``requests.structures.CaseInsensitiveDict``): ``headers["Retry-After"]`` and
            ``headers.get("x-request-id")`` find the same header whatever case the server
            sent. Empty when no response was received.
        method: The HTTP method of the request that failed.
        url: The full URL of the request that failed.

    Example:
        >>> try:  # doctest: +SKIP
        ...     client.get_flow("nope")
        ... except AISpineError as error:
        ...     print(error.status_code, error.message, error.headers.get("Content-Type"))
        >>> AISpineError("busy", headers={"retry-after": "2"}).headers["Retry-After"]
        '2'
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.headers: "CaseInsensitiveDict[str]" = CaseInsensitiveDict(headers or {})
        self.method = method
        self.url = url

    def __str__(self) -> str:
        if self.status_code is None or self.method is None:
            return self.message
        return "{} (HTTP {} from {} {})".format(
            self.message, self.status_code, self.method, self.url
        )

    def __repr__(self) -> str:
        fields = "".join(", {}={!r}".format(name, value) for name, value in self._repr_fields())
        return "{}({!r}{})".format(type(self).__name__, self.message, fields)

    def _repr_fields(self) -> List[Tuple[str, Any]]:
        # What a reader of a log or a traceback needs first: the status code always (None
        # says no response came), then what the subclasses add.
        return [("status_code", self.status_code)]


class AuthenticationError(AISpineError):
    """The server did not accept the credentials (HTTP 401).

    Raised when an API key is required but missing or wrong, when a flow operation needs a
    user access token and none was given (raised before any request is sent), or when the
    token was rejected.
    """


class AuthorizationError(AISpineError):
    """The credentials are valid but do not allow this operation (HTTP 403).

    For example deleting a flow owned by another user, or a system flow.
    """


class InsufficientCreditsError(AuthorizationError):
    """The account has no credits left for this operation (HTTP 402, or 403 about credits)."""


class ValidationError(AISpineError):
    """The request was invalid: rejected by the server (400, 422) or by the SDK before sending.

    Attributes:
        errors: The server's field errors (FastAPI's 422 items: ``loc``, ``msg``, ``type``),
            or an empty list.
    """

    def __init__(self, message: str, *, errors: Optional[List[Any]] = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.errors: List[Any] = list(errors or [])


class NotFoundError(AISpineError):
    """The flow, execution or agent does not exist (HTTP 404).

    Also raised by ``execute_flow`` for an unknown flow, which the server reports as a
    ``200`` with a ``failed`` status instead of a 404.
    """


class ConflictError(AISpineError):
    """The resource already exists (HTTP 409), e.g. creating a flow with a taken ``flow_id``."""


class RateLimitError(AISpineError):
    """Too many requests (HTTP 429), still refused after the retries.

    Attributes:
        retry_after: Seconds the server asked to wait (from ``Retry-After``), or None.
    """

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(AISpineError):
    """The server failed (HTTP 5xx) after the retries, or answered a status the SDK did not
    expect. The request may or may not have been carried out."""


class NetworkError(AISpineError):
    """No usable connection to the server, or no readable answer over it. Retries were
    already made where they were safe.

    Attributes:
        kind: Where it broke: ``"name-resolution"`` (DNS), ``"connect"`` (refused,
            unreachable), ``"connect-timeout"``, ``"tls"`` (certificate, protocol): nothing
            was sent; ``"broken"`` (the connection broke after sending) or ``"unreadable"``
            (an answer came but could not be read): the request may have been carried out.
            None when unknown.
    """

    def __init__(self, message: str, *, kind: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.kind = kind


class ResponseTooLargeError(AISpineError):
    """The answer was longer (decompressed) than the client's ``max_response_bytes``.

    Reading stopped at the limit, so the answer cost at most that much memory. The request
    was carried out; only its answer was refused. Not retried: it would be as long again.

    Attributes:
        limit: The client's ``max_response_bytes``.
    """

    def __init__(self, message: str, *, limit: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class TimeoutError(AISpineError, builtins.TimeoutError):
    """Something did not finish in time. Also an instance of the built-in ``TimeoutError``.

    Raised for a read timeout (the server accepted the connection but did not answer within
    ``timeout``) and by ``wait_for_execution`` at its deadline.

    Attributes:
        timeout: The limit that ran out, in seconds.
        execution: For ``wait_for_execution``, the last execution seen (or None), a plain
            dict typed :class:`~ai_spine.models.Execution`.
        execution_id: For ``wait_for_execution``, the execution waited for.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: Optional[float] = None,
        execution: Optional[Mapping[str, Any]] = None,
        execution_id: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.timeout = timeout
        self.execution: Optional["Execution"] = cast(Optional["Execution"], execution)
        self.execution_id = execution_id

    def _repr_fields(self) -> List[Tuple[str, Any]]:
        fields = super()._repr_fields()
        if self.execution_id is not None:
            status = self.execution.get("status") if isinstance(self.execution, Mapping) else None
            fields += [("execution_id", self.execution_id), ("status", status)]
        return fields


class ExecutionError(AISpineError):
    """The execution ended ``failed`` or ``cancelled``, or the server refused to start it.

    Attributes:
        execution_id: The execution's id.
        status: Its final status (``failed`` or ``cancelled``).
        execution: The execution as last returned by the server, a plain dict typed
            :class:`~ai_spine.models.Execution`. When the server refused to start it, the
            execute answer: ``execution_id``, ``status`` ``failed`` and the server's ``error``.
    """

    def __init__(
        self,
        message: str,
        *,
        execution_id: Optional[str] = None,
        status: Optional[str] = None,
        execution: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.execution_id = execution_id
        self.status = status
        # Typed for callers; the dict is kept as the server sent it, unknown fields included.
        self.execution: Optional["Execution"] = cast(Optional["Execution"], execution)

    def _repr_fields(self) -> List[Tuple[str, Any]]:
        fields = super()._repr_fields()
        if self.execution_id is not None or self.status is not None:
            fields += [("execution_id", self.execution_id), ("status", self.status)]
        return fields


class BatchError(AISpineError):
    """``execute_batch(..., stop_on_error=True)`` stopped at the first item that failed.

    No item was started after that failure; the items already in flight were waited for.

    Attributes:
        results: Every item's ``BatchResult`` in input order: the finished ones, and the
            ones never started (``skipped``).
        failed: The ``BatchResult`` of the item that stopped the batch; its ``error`` is
            also this error's ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        results: Optional[List["BatchResult"]] = None,
        failed: Optional["BatchResult"] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.results: List["BatchResult"] = list(results or [])
        self.failed = failed


_STATUS_CLASSES: Dict[int, Type[AISpineError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: AuthorizationError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}

_HINTS: Dict[Type[AISpineError], str] = {
    AuthenticationError: "Check the api_key (or AI_SPINE_API_KEY) or the access_token.",
    AuthorizationError: "These credentials may not do this; check the resource's owner.",
    InsufficientCreditsError: "Add credits to the account, then try again.",
    RateLimitError: "Slow down and try again later.",
    ServerError: "The server failed; try again later.",
}

# Some handlers wrap their own HTTPException in a 500: {"detail": "400: Failed to create flow"}.
_WRAPPED_STATUS = r"(?s)^([1-5]\d\d): ?(.*)$"
# Agent create reads its body by key: a missing field surfaces as 500 {"detail": "'name'"}.
_MISSING_KEY = r"^'([A-Za-z_][A-Za-z0-9_]*)'$"
_HTML_TITLE = r"(?is)<title[^>]*>(.*?)</title>"
_MAX_TEXT = 300


def error_from_response(
    status_code: int,
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    method: Optional[str] = None,
    url: Optional[str] = None,
) -> AISpineError:
    """Build the exception for an unsuccessful response. Pure: no I/O.

    Args:
        status_code: The HTTP status received.
        body: The body, already decoded (a JSON value, or text).
        headers: The response headers.
        method: The request's method.
        url: The request's URL.

    Returns:
        An instance of the :class:`AISpineError` subclass that matches the status, whose
        message is taken from the server's ``detail`` where it sent one.

    Example:
        >>> error_from_response(404, {"detail": "Flow 'x' not found"}, {}, "GET", "https://h/f")
        NotFoundError("Flow 'x' not found", status_code=404)
    """
    headers = dict(headers or {})
    detail = _detail_of(body)
    errors = _field_errors(body)
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = ServerError
    if status_code >= 500 and isinstance(detail, str):
        # The server's quirks: client mistakes reported as 500.
        wrapped = re.match(_WRAPPED_STATUS, detail)
        if wrapped and int(wrapped.group(1)) < 500:
            cls = _STATUS_CLASSES.get(int(wrapped.group(1)), ValidationError)
            detail = wrapped.group(2)
        elif re.match(_MISSING_KEY, detail):
            cls = ValidationError
            detail = "Missing required field {}".format(detail)
        elif "validation error for" in detail:
            cls = ValidationError
    if cls is AuthorizationError and isinstance(detail, str) and "credit" in detail.lower():
        cls = InsufficientCreditsError

    message = _message(status_code, body, detail, errors, cls)
    if 300 <= status_code < 400:
        message = (
            "The server redirected {} {} to {}; the SDK does not follow redirects, so that no "
            "request is ever replayed elsewhere. Check base_url (http:// or https://?)".format(
                method, url, _header(headers, "location") or "nowhere"
            )
        )
    common: Dict[str, Any] = dict(
        status_code=status_code, body=body, headers=headers, method=method, url=url
    )
    if cls is ValidationError:
        return ValidationError(message, errors=errors, **common)
    if cls is RateLimitError:
        retry_after = parse_retry_after(_header(headers, "retry-after"))
        return RateLimitError(message, retry_after=retry_after, **common)
    return cls(message, **common)


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _detail_of(body: Any) -> Any:
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            if key in body:
                return body[key]
    return None


def _field_errors(body: Any) -> List[Any]:
    detail = _detail_of(body)
    if isinstance(detail, list):
        return detail
    if isinstance(body, list):
        return body
    return []


def _describe_field_error(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = item.get("loc") or []
    # "body" and "path" say where FastAPI looked, not what the caller got wrong.
    parts = (
        [str(p) for p in loc if p not in ("body", "path", "query")]
        if isinstance(loc, list)
        else [str(loc)]
    )
    msg = str(item.get("msg", item))
    return "{}: {}".format(".".join(parts), msg) if parts else msg


def _message(
    status_code: int, body: Any, detail: Any, errors: List[Any], cls: Type[AISpineError]
) -> str:
    if errors:
        text = "; ".join(_describe_field_error(e) for e in errors)
        if cls is ValidationError:
            text = "Invalid request: " + text
    elif isinstance(detail, str) and detail:
        text = detail
    elif detail is not None and detail != "":
        text = str(detail)
    elif isinstance(body, str) and body.strip():
        text = _describe_text(status_code, body)
    else:
        text = "The server answered HTTP {} with no explanation".format(status_code)
    hint = _HINTS.get(cls)
    if cls is ServerError and not 500 <= status_code < 600:
        hint = "The SDK did not expect this status; the server may have changed."
    return "{}. {}".format(text.rstrip("."), hint) if hint else text


def _describe_text(status_code: int, text: str) -> str:
    stripped = text.strip()
    if stripped[:1] == "<":
        # A proxy (Railway) error page: its title says more than its markup.
        title = re.search(_HTML_TITLE, stripped)
        what = " ({})".format(title.group(1).strip()) if title else ""
        return "The server answered HTTP {} with an HTML page{}, likely from a proxy".format(
            status_code, what
        )
    if len(stripped) > _MAX_TEXT:
        stripped = stripped[:_MAX_TEXT] + "..."
    return stripped
