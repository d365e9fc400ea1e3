"""The fault battery: a loopback server breaks HTTP in every way issue 8 found, and more.

Each fault runs against both clients (``AISpine`` and ``AsyncAISpine``) and checks four
things: the exact exception class (or a normal return), that the call ended within its
time budget, how many requests reached the server (a POST is never sent twice), and that
the same client still works afterwards. Then every bad argument is tried: each must raise
:class:`~ai_spine.ValidationError` before anything is sent. The terminal summary prints what
was tried (see ``conftest.py``).

Budgets are the guarantee under test (a call bounded by its timeout), with a margin for a
loaded machine; they are not speed measurements.
"""

import json
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Type

import pytest

from ai_spine import (
    AISpineError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    TimeoutError,
    ValidationError,
)

from .conftest import record
from .hostile import (
    EXECUTION_ID,
    RUNNING,
    Hostile,
    Script,
    answer,
    continue_flood,
    drip,
    endless_chunks,
    gzip_body,
    gzip_bomb,
    raw,
)

MARGIN = 1.5  # seconds of slack on every budget, for a loaded CI machine
CAP = 1 << 20  # max_response_bytes of the battery's clients
STARTED = {"execution_id": EXECUTION_ID, "status": "pending"}


def json_answer(payload: Any, status: int = 200, **extra: str) -> bytes:
    return answer(status, json.dumps(payload).encode(), **extra)


def execution_with(**fields: Any) -> bytes:
    return json_answer(dict(RUNNING, **fields))


def get(client: Any) -> Any:
    return client.get_execution(EXECUTION_ID)


def execute(client: Any) -> Any:
    return client.execute_flow("f", {"x": 1})


def wait(seconds: float) -> Callable[[Any], Any]:
    return lambda client: client.wait_for_execution(EXECUTION_ID, timeout=seconds, interval=0.2)


class Fault(NamedTuple):
    name: str
    script: Script
    call: Callable[[Any], Any]
    raises: Optional[Type[BaseException]]
    budget: float
    requests: Optional[int]  # requests the server must see; None: at least one
    contains: str = ""  # a fragment the error's message must contain
    options: Dict[str, Any] = {}
    async_raises: Any = "same"  # where the async client's answer differs (aiohttp's parser)


def _aiohttp_refuses_nul() -> bool:
    """aiohttp 3.13.4 and newer refuse a header value holding NUL, as RFC 9110 allows (its
    older parsers, like http.client, pass it on)."""
    try:
        import aiohttp
    except ImportError:  # no async client to test
        return False
    numbers = tuple(int(part) for part in aiohttp.__version__.split(".")[:3] if part.isdigit())
    return numbers >= (3, 13, 4)


MAY_HAVE_RUN = "may have reached the server and been carried out"

FAULTS = [
    # Finding 1: deadlines. timeout=1 means each attempt ends within connect + read = 2 s.
    Fault("answer trickled 1 byte/0.3 s", drip(execution_with(), 0.3), get, TimeoutError, 2, 1),
    Fault(
        "POST answer trickled",
        drip(json_answer(STARTED), 0.3),
        execute,
        TimeoutError,
        2,
        1,
        MAY_HAVE_RUN,
    ),
    Fault("100 Continue every 0.2 s", continue_flood(0.2), get, TimeoutError, 2, 1),
    Fault(
        "wait(3) on a trickled answer", drip(execution_with(), 0.3), wait(3), TimeoutError, 3, None
    ),
    Fault(
        "execute_and_wait(3) meets Retry-After: 59",
        raw(json_answer({"detail": "slow down"}, 429, Retry_After="59")),
        lambda c: c.execute_and_wait("f", {}, timeout=3),
        RateLimitError,
        3,
        1,
        "",
        {"max_retries": 3},
    ),
    # Finding 2: whatever the answer holds, the error is typed.
    Fault(
        "NUL in the charset",
        raw(answer(200, json.dumps(RUNNING).encode(), "application/json; charset=utf-8\0")),
        get,
        None,
        1,
        1,
        async_raises=NetworkError if _aiohttp_refuses_nul() else None,
    ),
    Fault("status is a list", raw(execution_with(status=["running"])), wait(5), ServerError, 1, 1),
    Fault("status is an object", raw(execution_with(status={"a": 1})), wait(5), ServerError, 1, 1),
    Fault(
        "execution_id not a UUID",
        raw(json_answer({"execution_id": "x"})),
        execute,
        ServerError,
        1,
        1,
    ),
    Fault(
        "a 5,000-digit number",
        raw(answer(200, b'{"status": "running", "n": ' + b"9" * 5000 + b"}")),
        get,
        ServerError,
        1,
        1,
    ),
    Fault(
        "JSON nested 100,000 deep",
        raw(answer(200, b"[" * 100000 + b"]" * 100000)),
        get,
        ServerError,
        1,
        1,
    ),
    Fault("body not UTF-8", raw(answer(200, b"\xff\xfe{\x00")), get, ServerError, 1, 1),
    Fault("status 999", raw(answer(999, b"{}")), get, ServerError, 1, 1),
    # Finding 3: no answer costs more than the cap.
    Fault(
        "gzip bomb (64 MiB from 64 KiB)",
        gzip_bomb(64 << 20),
        get,
        ResponseTooLargeError,
        1,
        1,
        "max_response_bytes=1048576",
    ),
    Fault("endless chunked answer", endless_chunks(), get, ResponseTooLargeError, 1, 1),
    Fault(
        "corrupt gzip",
        raw(answer(200, b"\x1f\x8bnot gzip", Content_Encoding="gzip")),
        get,
        NetworkError,
        1,
        1,
    ),
    Fault(
        "an encoding not asked for",
        raw(answer(200, b"\x0b\x02", Content_Encoding="br")),
        get,
        NetworkError,
        1,
        1,
    ),
    Fault(
        "gzip answer decoded",
        raw(answer(200, gzip_body(RUNNING), Content_Encoding="gzip")),
        get,
        None,
        1,
        1,
    ),
    # Finding 6: a malformed answer to a POST says the POST may have run.
    Fault(
        "body cut short of Content-Length",
        raw(answer(200, b'{"status": "running"}')[:-5]),
        execute,
        NetworkError,
        1,
        1,
        MAY_HAVE_RUN,
    ),
    Fault("hang-up without an answer", raw(b""), execute, NetworkError, 1, 1, MAY_HAVE_RUN),
    Fault(
        "garbage status line",
        raw(b"HELLO WORLD\r\n\r\n"),
        execute,
        NetworkError,
        1,
        1,
        MAY_HAVE_RUN,
    ),
    Fault(
        "150 headers",
        raw(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 150 + b"\r\n"),
        execute,
        AISpineError,
        1,
        1,
        "",
    ),
    # Waits: ride out what may pass, until the deadline; fail at once on what will not.
    Fault(
        "wait(2) through 503s",
        raw(json_answer({"detail": "down"}, 503)),
        wait(2),
        TimeoutError,
        2,
        None,
        "last poll failed",
    ),
    Fault(
        "wait meets an HTML 404 (not AI Spine)",
        raw(answer(404, b"<html><title>Not Found</title></html>", "text/html")),
        wait(30),
        NotFoundError,
        1,
        1,
    ),
    Fault(
        "wait meets an HTML 200 (not AI Spine)",
        raw(answer(200, b"<html><title>Welcome</title></html>", "text/html")),
        wait(30),
        ServerError,
        1,
        1,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault, make_client: Callable[..., Any], client_kind: str) -> None:
    with Hostile(fault.script, hostile=fault.requests or 1_000_000) as server:
        options = dict(base_url=server.url, timeout=1, max_retries=0, max_response_bytes=CAP)
        options.update(fault.options)
        client = make_client(**options)
        started = time.monotonic()
        error: Optional[BaseException] = None
        try:
            fault.call(client)
        except Exception as caught:  # checked below: the exact class is the point
            error = caught
        elapsed = time.monotonic() - started
        requests = server.count
        raises = fault.raises
        if client_kind == "async" and fault.async_raises != "same":
            raises = fault.async_raises
        if raises is None:
            assert error is None, "{!r}".format(error)
        else:
            assert type(error) is raises or (
                raises is AISpineError and isinstance(error, AISpineError)
            ), "{!r}".format(error)
            assert fault.contains in str(error)
        assert elapsed <= fault.budget + MARGIN
        if fault.requests is None:
            assert requests >= 1
        else:
            assert requests == fault.requests
        # Still usable: the server now answers properly, and so must the same client.
        server.hostile = 0
        assert client.get_execution(EXECUTION_ID)["status"] == "completed"
    record("fault", fault.name, client_kind, type(error).__name__ if error else "ok", elapsed)


def test_tls_failure_ends_a_wait_at_once(make_client: Callable[..., Any], client_kind: str) -> None:
    # https:// to a server that answers plain HTTP: a certificate or protocol problem does
    # not heal by waiting, so the wait fails at once instead of after its 30 s.
    reply = raw(answer(400, b"plain http"))
    with Hostile(reply, read=False) as server:
        client = make_client(base_url=server.url.replace("http:", "https:"), timeout=1)
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            client.wait_for_execution(EXECUTION_ID, timeout=30)
        elapsed = time.monotonic() - started
        assert caught.value.kind == "tls"
        assert "TLS failed" in caught.value.message
        assert elapsed <= 1 + MARGIN
        assert server.count == 1  # not retried either
    record("fault", "TLS to a plain-HTTP server", client_kind, "NetworkError", elapsed)


def test_a_host_that_does_not_resolve_ends_a_wait_at_once(
    make_client: Callable[..., Any], client_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "ai-spine.invalid":  # no DNS query leaves the machine
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    client = make_client(base_url="http://ai-spine.invalid:8000", timeout=1)
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        client.wait_for_execution(EXECUTION_ID, timeout=30)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "name-resolution"
    assert "does not resolve" in caught.value.message
    assert elapsed <= 1 + MARGIN
    record("fault", "host name does not resolve", client_kind, "NetworkError", elapsed)


def test_a_refused_connection_is_ridden_out_with_one_warning(
    make_client: Callable[..., Any], client_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Refused may pass (a restart): the wait polls on until its deadline, warning once.
    with Hostile(raw(b"")) as server:
        url = server.url
    client = make_client(base_url=url, timeout=1)
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="ai_spine"):
        with pytest.raises(TimeoutError) as caught:
            client.wait_for_execution(EXECUTION_ID, timeout=1.5, interval=0.2)
    elapsed = time.monotonic() - started
    assert "last poll failed" in caught.value.message
    warnings = [r for r in caplog.records if "polling on until the deadline" in r.getMessage()]
    assert len(warnings) == 1
    assert 1.5 <= elapsed <= 1.5 + MARGIN
    record("fault", "refused during a wait", client_kind, "TimeoutError", elapsed)


# --- Bad arguments -------------------------------------------------------------------------

BAD_CLIENT_OPTIONS: List[Dict[str, Any]] = [
    {"timeout": 1e10},
    {"timeout": float("inf")},
    {"timeout": float("nan")},
    {"timeout": (1, 86401)},
    {"timeout": -1},
    {"base_url": "http://[::1"},
    {"base_url": "http://[::1]:99999"},
    {"base_url": "ftp://example.com"},
    {"max_response_bytes": 0},
    {"max_response_bytes": "32MB"},
    {"max_response_bytes": True},
    {"max_retries": -1},
]


@pytest.mark.parametrize("options", BAD_CLIENT_OPTIONS, ids=[repr(o) for o in BAD_CLIENT_OPTIONS])
def test_bad_client_options_are_refused(
    options: Dict[str, Any], new_client: Callable[..., Any], client_kind: str
) -> None:
    arguments: Dict[str, Any] = {"base_url": "http://127.0.0.1:9"}
    arguments.update(options)
    with pytest.raises(ValidationError):
        new_client(client_kind, **arguments)
    record("input", repr(options), client_kind, "ValidationError", 0.0)


BAD_WAITS: List[Dict[str, Any]] = [
    {"timeout": float("inf")},
    {"timeout": 1e10},
    {"timeout": float("nan")},
    {"timeout": 0},
    {"interval": float("inf")},
    {"interval": -1},
    {"execution_id": "not-a-uuid"},
    {"on_progress": "print"},
]


WAIT_CASES = [("wait_for_execution", a) for a in BAD_WAITS] + [
    ("execute_and_wait", a) for a in BAD_WAITS if "execution_id" not in a
]


@pytest.mark.parametrize(
    "method, arguments", WAIT_CASES, ids=["{}{!r}".format(m, a) for m, a in WAIT_CASES]
)
def test_bad_wait_arguments_are_refused_before_any_request(
    method: str, arguments: Dict[str, Any], make_client: Callable[..., Any], client_kind: str
) -> None:
    with Hostile(raw(b"")) as server:
        client = make_client(base_url=server.url)
        call = dict(arguments)
        with pytest.raises(ValidationError):
            if method == "wait_for_execution":
                client.wait_for_execution(call.pop("execution_id", EXECUTION_ID), **call)
            else:
                client.execute_and_wait("f", {}, **call)
        assert server.count == 0
    record("input", "{}({!r})".format(method, arguments), client_kind, "ValidationError", 0.0)
