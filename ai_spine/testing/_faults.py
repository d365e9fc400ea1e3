"""The request log and fault injection of the local server.

Every request is recorded before anything else happens to it, faulted or not, so a test
can assert what a client really sent (for example that a non-idempotent POST went out
exactly once). A fault makes the next ``times`` matching requests answer a given status,
wait before being handled, or lose their connection without an answer: the failure modes
of the proxy in front of the production server.
"""

from __future__ import annotations

import collections
import fnmatch
import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Deque, Dict, List, Mapping, Optional, Union

from ._http import HTML_CONTENT_TYPE, TEXT_CONTENT_TYPE, Request, Response, json_response

FaultBody = Union[None, str, bytes, Dict[str, Any], List[Any]]

REQUEST_LOG_SIZE = 1000
"""How many requests the log keeps by default; older ones are forgotten first."""
REQUEST_LOG_BODY_BYTES = 64 * 1024
"""How many bytes of each request body the log keeps by default; the rest is cut off."""


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the local server received it.

    Attributes:
        method: Upper-case HTTP method.
        path: Percent-decoded path, without the query string.
        query: Query parameters (a repeated name keeps its last value).
        headers: Request headers with lower-case names.
        body: The raw body, cut to the server's ``request_log_body_bytes``.
        body_length: The length of the body as it was received (``len(body)`` when not
            given).

    Example:
        >>> RecordedRequest("POST", "/x", {}, {}, b'{"a": 1}').json
        {'a': 1}
    """

    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: bytes
    body_length: int = -1

    def __post_init__(self) -> None:
        if self.body_length < 0:
            object.__setattr__(self, "body_length", len(self.body))

    @property
    def truncated(self) -> bool:
        """True when the log kept only the start of the body (then :attr:`json` is None).

        Example:
            >>> RecordedRequest("POST", "/", {}, {}, b"{", body_length=10).truncated
            True
        """
        return self.body_length > len(self.body)

    @property
    def json(self) -> Any:
        """The body decoded as JSON, or None when it is empty or not JSON.

        Example:
            >>> RecordedRequest("GET", "/", {}, {}, b"").json is None
            True
        """
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced).

        Example:
            >>> RecordedRequest("POST", "/", {}, {}, b"hi").text
            'hi'
        """
        return self.body.decode("utf-8", "replace")


@dataclass
class InjectedFault:
    """A fault rule; :meth:`LocalAISpine.inject_fault` returns it so a test can inspect it.

    Attributes:
        method: Method pattern (``fnmatch`` style, case-insensitive), e.g. ``"GET"`` or ``"*"``.
        path: Path pattern (``fnmatch`` style, ``*`` also spans ``/``).
        status: Status to answer instead of handling the request, or None.
        headers: Extra headers of that answer, e.g. ``{"Retry-After": "1"}``.
        body: Body of that answer: a dict or list (sent as JSON), a str (sent as HTML
            when it starts with ``<``, else plain text), bytes, or None for
            ``{"detail": "<reason phrase>"}``.
        delay: Seconds to wait before answering (or before handling normally).
        drop: Close the connection without answering.
        times: How many more requests it applies to; None for every one.
        hits: How many requests it has applied to so far.
    """

    method: str
    path: str
    status: Optional[int] = None
    headers: Dict[str, str] = field(default_factory=dict)
    body: FaultBody = None
    delay: float = 0.0
    drop: bool = False
    times: Optional[int] = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Tell whether this rule applies to a request (ignoring how often it has fired).

        Args:
            method: The request's method.
            path: The request's decoded path.

        Returns:
            True when both patterns match.

        Example:
            >>> InjectedFault("GET", "/api/v1/executions/*", status=503).matches(
            ...     "get", "/api/v1/executions/x/results")
            True
        """
        return fnmatch.fnmatchcase(method.upper(), self.method.upper()) and fnmatch.fnmatchcase(
            path, self.path
        )

    def response(self) -> Optional[Response]:
        """Return the answer this fault gives, or None when the request proceeds normally.

        Returns:
            The response to send instead of handling the request, or None.

        Example:
            >>> InjectedFault("GET", "/", status=503, body="<html></html>").response().content_type
            'text/html; charset=utf-8'
        """
        if self.status is None:
            return None
        extra = list(self.headers.items())
        if self.body is None:
            return json_response(self.status, {"detail": _phrase(self.status)}, extra)
        if isinstance(self.body, (dict, list)):
            return json_response(self.status, self.body, extra)
        if isinstance(self.body, bytes):
            return Response(self.status, self.body, "application/octet-stream", extra)
        is_html = self.body.lstrip().startswith("<")
        content_type = HTML_CONTENT_TYPE if is_html else TEXT_CONTENT_TYPE
        return Response(self.status, self.body.encode("utf-8"), content_type, extra)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def make_fault(
    method: str,
    path: str,
    *,
    status: Optional[int],
    times: Optional[int],
    headers: Optional[Mapping[str, str]],
    body: FaultBody,
    delay: float,
    drop: bool,
) -> InjectedFault:
    """Validate fault options and build the rule (see :class:`InjectedFault`).

    Raises:
        ValueError: When the options contradict each other or do nothing.

    Example:
        >>> make_fault("GET", "/health", status=503, times=1, headers=None, body=None,
        ...            delay=0.0, drop=False).status
        503
    """
    if delay < 0:
        raise ValueError("delay must not be negative")
    if status is None and not drop and delay == 0:
        raise ValueError("a fault needs a status, a delay or drop=True")
    if drop and status is not None:
        raise ValueError("drop=True closes the connection: it cannot also answer a status")
    if status is not None and not 100 <= status <= 599:
        raise ValueError("status must be between 100 and 599, got %r" % (status,))
    if times is not None and times < 1:
        raise ValueError("times must be at least 1, or None for every request")
    return InjectedFault(
        method=method,
        path=path,
        status=status,
        headers=dict(headers or {}),
        body=body,
        delay=delay,
        drop=drop,
        times=times,
    )


class FaultInjector:
    """Thread-safe list of fault rules, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: List[InjectedFault] = []

    def add(self, fault: InjectedFault) -> None:
        """Append a rule."""
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Optional[InjectedFault]:
        """Consume one use of the first live rule matching a request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    fault.hits += 1
                    return fault
            return None

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._faults.clear()


class RequestLog:
    """Thread-safe record of the latest requests: a ring buffer with truncated bodies.

    Args:
        size: How many requests to keep (the oldest go first); 0 keeps none.
        body_bytes: How many bytes of each body to keep.

    Raises:
        ValueError: When a bound is negative.

    Example:
        >>> RequestLog(size=2, body_bytes=1).size
        2
    """

    def __init__(
        self, size: int = REQUEST_LOG_SIZE, body_bytes: int = REQUEST_LOG_BODY_BYTES
    ) -> None:
        if size < 0 or body_bytes < 0:
            raise ValueError("the request log's size and body_bytes must not be negative")
        self.size = size
        self.body_bytes = body_bytes
        self._lock = threading.Lock()
        self._entries: Deque[RecordedRequest] = collections.deque(maxlen=size)

    def record(self, request: Request) -> None:
        """Append a request, forgetting the oldest one when the log is full."""
        entry = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=request.body[: self.body_bytes],
            body_length=len(request.body),
        )
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> List[RecordedRequest]:
        """Return a copy of the log, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()
