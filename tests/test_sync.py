"""The sync transport: headers, retries, timeouts, sessions, error mapping and logging.

Status-code retries run through ``responses`` (which replaces the adapter's ``send``: the
``Exchange`` loop above it runs for real); connection failures, resets, truncated answers and
read timeouts use real sockets on 127.0.0.1, since they cannot be mocked above the socket.
The sleeps between retries are recorded instead of slept (the ``sleeps`` fixture).
"""

import builtins
import http.client
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import pytest
import requests
import responses
import urllib3
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from ai_spine import (
    AISpineError,
    NetworkError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from ai_spine import _operations as ops
from ai_spine._base import resolve_settings
from ai_spine._operations import Operation
from ai_spine._protocol import USER_AGENT, Answer, Failure
from ai_spine._sync import SyncTransport, classify

BASE = "https://api.example.test"
EXECUTE = BASE + "/api/v1/flows/execute"

_ENVIRONMENT = (
    "AI_SPINE_API_KEY",
    "AI_SPINE_BASE_URL",
    "AI_SPINE_LOG",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NETRC",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key, CA bundle, proxy or netrc of the machine running the tests leaks in."""
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make() -> Iterator[Callable[..., SyncTransport]]:
    """Build transports as a client does (through resolve_settings); close them afterwards."""
    built: List[SyncTransport] = []

    def build(
        base_url: str = BASE,
        api_key: Optional[str] = None,
        max_retries: int = 3,
        timeout: Any = (5.0, 5.0),
        max_connections: int = 10,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
        session: Any = None,
    ) -> SyncTransport:
        settings = resolve_settings(
            api_key,
            base_url,
            timeout,
            max_retries,
            False,
            None,
            max_connections,
            verify,
            cert,
            proxies,
            session,
        )
        transport = SyncTransport(settings)
        built.append(transport)
        return transport

    yield build
    for transport in built:
        transport.close()


def call(method: str, path: str, **kwargs: Any) -> "Operation[Answer]":
    """An operation whose result is the whole Answer."""
    return Operation(method, path, lambda answer: answer, **kwargs)


# --- Requests as sent ------------------------------------------------------------------------


def test_headers_identify_the_sdk_and_omit_authorization_without_a_key(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.get(BASE + "/health", json={"status": "healthy"})
    assert make().send(ops.health_check()) == {"status": "healthy"}
    sent = mock.calls[0].request.headers
    assert sent["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("ai-spine-sdk-python/")
    assert " python/3." in USER_AGENT
    assert sent["Accept"] == "application/json"
    assert sent["Content-Type"] == "application/json"
    assert "Authorization" not in sent


def test_the_key_is_sent_as_a_bearer_token_and_an_operation_may_override_it(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.get(BASE + "/api/v1/flows", json={"flows": []})
    mock.get(BASE + "/api/v1/flows/my-flows", json={"flows": []})
    transport = make(api_key="sk-secret")
    assert transport.send(ops.list_flows()) == []
    assert transport.send(ops.list_my_flows("user-token")) == []
    assert mock.calls[0].request.headers["Authorization"] == "Bearer sk-secret"
    assert mock.calls[1].request.headers["Authorization"] == "Bearer user-token"


def test_json_bodies_and_query_parameters_are_sent(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    started = {"execution_id": "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc", "status": "pending"}
    mock.post(
        EXECUTE,
        json=started,
        match=[responses.matchers.json_params_matcher({"flow_id": "f", "input_data": {"a": 1}})],
    )
    mock.get(
        BASE + "/api/v1/executions",
        json={"executions": []},
        match=[responses.matchers.query_param_matcher({"limit": "5", "offset": "10"})],
    )
    transport = make()
    assert transport.send(ops.execute_flow("f", {"a": 1}, None, None, None)) == started
    assert transport.send(ops.list_executions(5, 10)) == []
    assert mock.calls[1].request.body is None


def test_the_answer_carries_status_headers_and_the_request(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.get(BASE + "/x", json={"a": 1}, status=201, headers={"X-Request-Id": "r1"})
    answer = make().send(call("GET", "/x"))
    assert (answer.body, answer.status_code, answer.method, answer.url) == (
        {"a": 1},
        201,
        "GET",
        BASE + "/x",
    )
    assert answer.headers["X-Request-Id"] == "r1"
    # Kept as the library gave them (no copy for a good answer); an error about the answer's
    # shape copies them into its own case-insensitive headers.
    assert answer.headers["x-request-id"] == "r1"
    assert ops.unexpected(answer, "a list").headers["X-REQUEST-ID"] == "r1"


def test_empty_success_bodies_are_none(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.delete(BASE + "/x", status=204)
    answer = make().send(call("DELETE", "/x"))
    assert answer.body is None and answer.status_code == 204


def test_the_transport_s_timeout_or_the_call_s_is_passed_to_requests(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    for _ in range(3):
        mock.get(BASE + "/health", json={})
    transport = make(timeout=(2.0, 7.0))
    transport.send(ops.health_check())
    transport.send(ops.health_check(), timeout=(1.0, 3.0))
    transport.send(ops.health_check(), timeout=(1.0, 3.0), total=0.5)
    kwargs = [c.request.req_kwargs for c in mock.calls]
    assert kwargs[0]["timeout"] == (2.0, 7.0)
    assert kwargs[1]["timeout"] == (1.0, 3.0)
    connect, read = kwargs[2]["timeout"]  # each capped by the time left of the call's total
    assert 0.4 < connect <= 0.5 and 0.4 < read <= 0.5


def test_redirects_are_not_followed(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/health", status=302, headers={"Location": BASE + "/elsewhere"})
    with pytest.raises(ServerError) as caught:
        make().send(ops.health_check())
    assert caught.value.status_code == 302
    assert "redirected GET" in caught.value.message
    assert len(mock.calls) == 1 and sleeps == []


def test_an_unexpected_success_body_is_a_server_error(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.get(BASE + "/health", body="<html>maintenance</html>", status=200)
    with pytest.raises(ServerError, match="where a JSON object was expected"):
        make().send(ops.health_check())


# --- Status retries ----------------------------------------------------------------------------


def test_gets_are_retried_through_transient_statuses(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/api/v1/flows", status=503, body="busy")
    mock.get(BASE + "/api/v1/flows", status=502, body="<html><title>502</title></html>")
    mock.get(BASE + "/api/v1/flows", json={"flows": ["ok"]})
    assert make().send(ops.list_flows()) == ["ok"]
    assert len(mock.calls) == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_a_retry_sleeps_for_retry_after_else_the_backoff(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/status", status=503, headers={"Retry-After": "2"})
    mock.get(BASE + "/status", status=504)
    mock.get(BASE + "/status", status=429, headers={"Retry-After": "0"})
    mock.get(BASE + "/status", json={"status": "operational"})
    assert make().send(ops.get_status()) == {"status": "operational"}
    assert sleeps[0] == 2.0
    assert 0 <= sleeps[1] <= 1.0
    assert sleeps[2] == 0.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_execute_post_is_never_resent_after_a_server_error(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    sleeps: List[float],
    status: int,
) -> None:
    mock.post(EXECUTE, status=status, json={"detail": "down"})
    with pytest.raises(ServerError) as caught:
        make().send(ops.execute_flow("f", {}, None, None, None))
    assert caught.value.status_code == status
    assert len(mock.calls) == 1 and sleeps == []


@pytest.mark.parametrize("status", [502, 503])
def test_a_put_is_not_resent_after_a_server_error(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    sleeps: List[float],
    status: int,
) -> None:
    mock.put(BASE + "/api/v1/flows/f", status=status, json={"detail": "down"})
    flow = {"name": "n", "description": "d", "nodes": [], "entry_point": "a"}
    with pytest.raises(ServerError):
        make().send(ops.update_flow("f", flow, "token"))
    assert len(mock.calls) == 1 and sleeps == []


def test_a_post_is_resent_after_429_because_it_did_not_run(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.post(EXECUTE, status=429, headers={"Retry-After": "1"})
    mock.post(EXECUTE, json={"execution_id": "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"})
    started = make().send(ops.execute_flow("f", {}, None, None, None))
    assert started == {"execution_id": "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"}
    assert len(mock.calls) == 2
    assert sleeps == [1.0]


def test_exhausted_retries_raise_the_last_response_s_typed_error(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/status", status=503, json={"detail": "first"})
    mock.get(BASE + "/status", status=503, json={"detail": "second"})
    mock.get(BASE + "/status", status=503, json={"detail": "maintenance"})
    with pytest.raises(ServerError) as caught:
        make(max_retries=2).send(ops.get_status())
    assert caught.value.status_code == 503
    assert caught.value.message.startswith("maintenance")
    assert (caught.value.method, caught.value.url) == ("GET", BASE + "/status")
    assert len(mock.calls) == 3 and len(sleeps) == 2


def test_exhausted_rate_limits_raise_rate_limit_error_with_retry_after(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    for _ in range(2):
        mock.get(BASE + "/metrics", status=429, body="slow down", headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        make(max_retries=1).send(ops.get_metrics())
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429
    assert len(mock.calls) == 2
    assert sleeps == [7.0]


def test_a_retry_after_beyond_60_seconds_fails_at_once(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(
        BASE + "/metrics", status=429, json={"detail": "later"}, headers={"Retry-After": "3600"}
    )
    with pytest.raises(RateLimitError) as caught:
        make().send(ops.get_metrics())
    assert caught.value.retry_after == 3600.0
    assert len(mock.calls) == 1 and sleeps == []


def test_max_retries_zero_sends_once(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/health", status=503)
    with pytest.raises(ServerError):
        make(max_retries=0).send(ops.health_check())
    assert len(mock.calls) == 1 and sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    sleeps: List[float],
    status: int,
) -> None:
    mock.get(BASE + "/api/v1/flows/x", status=status, json={"detail": "no"})
    with pytest.raises(Exception) as caught:
        make().send(ops.get_flow("x"))
    assert getattr(caught.value, "status_code", None) == status
    assert len(mock.calls) == 1 and sleeps == []


def test_a_500_is_not_retried_even_for_a_get(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/health", status=500, json={"detail": "bug"})
    with pytest.raises(ServerError):
        make().send(ops.health_check())
    assert len(mock.calls) == 1 and sleeps == []


# --- recover -----------------------------------------------------------------------------------


def test_a_missing_agent_is_recovered_as_false_without_retrying(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.delete(BASE + "/api/v1/agents/temp", status=404, json={"detail": "Agent not found"})
    mock.delete(BASE + "/api/v1/agents/temp", json={"message": "deleted"})
    transport = make()
    assert transport.send(ops.delete_agent("temp")) is False
    assert transport.send(ops.delete_agent("temp")) is True
    assert sleeps == []


def test_recover_sees_the_final_error_after_retries(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    for _ in range(2):
        mock.delete(BASE + "/api/v1/agents/temp", status=503, json={"detail": "down"})
    with pytest.raises(ServerError):
        make(max_retries=1).send(ops.delete_agent("temp"))
    assert len(mock.calls) == 2


def test_a_parse_error_is_not_recovered(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.delete(BASE + "/x", json=[1, 2])
    op = Operation("DELETE", "/x", ops.expect_dict, recover=lambda error: "recovered")
    with pytest.raises(ServerError, match="where a JSON object was expected"):
        make().send(op)


# --- Real sockets on loopback ----------------------------------------------------------------


class _RawServer:
    """Accepts connections on 127.0.0.1, reads the request, answers ``reply`` (if any), then
    hangs up, or holds the connection open without a word."""

    def __init__(self, reply: Optional[bytes] = None, hold: bool = False) -> None:
        self.reply = reply
        self.hold = hold
        self.accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._held: List[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:{}".format(self._sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.settimeout(2)
            try:
                _read_request(conn)
                if self.reply is not None:
                    conn.sendall(self.reply)
            except OSError:
                pass
            if self.hold:
                self._held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()


def _read_request(conn: socket.socket) -> None:
    """Read a whole HTTP request (head and body), so that hanging up cannot cut it short;
    anything else (a TLS hello) is read once."""
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
        if not data[:1].isalpha():
            return
        head, separator, body = data.partition(b"\r\n\r\n")
        if separator:
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if len(body) >= (int(length.group(1)) if length else 0):
                return


@pytest.fixture
def server() -> Iterator[Callable[..., _RawServer]]:
    started: List[_RawServer] = []

    def start(reply: Optional[bytes] = None, hold: bool = False) -> _RawServer:
        started.append(_RawServer(reply, hold))
        return started[-1]

    yield start
    for each in started:
        each.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


FAST = (1.0, 0.2)
HEALTH = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}"
TRUNCATED = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"'


def test_a_real_answer_is_read_over_a_socket(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport]
) -> None:
    body = '{"status": "healthy"}'
    up = server(HEALTH.format(len(body), body).encode())
    assert make(up.url, timeout=FAST).send(ops.health_check()) == {"status": "healthy"}
    assert up.accepted == 1


def test_a_read_timeout_is_a_timeout_error_after_retrying_a_get(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    silent = server(hold=True)
    with pytest.raises(TimeoutError) as caught:
        make(silent.url, max_retries=2, timeout=FAST).send(ops.health_check())
    assert caught.value.timeout == 0.2
    assert "within 0.2 s" in caught.value.message
    assert caught.value.method == "GET"
    assert "may have reached" not in caught.value.message
    assert silent.accepted == 3
    assert len(sleeps) == 2
    assert isinstance(caught.value.__cause__, requests.exceptions.ReadTimeout)
    assert classify(caught.value.__cause__).kind == Failure.READ_TIMEOUT


def test_a_post_that_timed_out_is_not_resent(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    silent = server(hold=True)
    with pytest.raises(TimeoutError) as caught:
        make(silent.url, max_retries=2, timeout=FAST).send(ops.execute_flow("f", {}, None, 1, None))
    assert silent.accepted == 1 and sleeps == []
    assert "may have reached the server" in caught.value.message
    assert isinstance(caught.value, builtins.TimeoutError)


def test_total_bounds_a_call_below_its_read_timeout(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport]
) -> None:
    silent = server(hold=True)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        make(silent.url, max_retries=0, timeout=(1.0, 10.0)).send(ops.health_check(), total=0.3)
    assert time.monotonic() - started < 5.0


def test_a_connection_closed_after_sending_is_retried_for_gets_only(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    hang_up = server()
    transport = make(hang_up.url, max_retries=2, timeout=FAST)
    with pytest.raises(NetworkError) as caught:
        transport.send(ops.health_check())
    assert "broke before an answer" in caught.value.message
    assert hang_up.accepted == 3 and len(sleeps) == 2
    with pytest.raises(NetworkError) as caught:
        transport.send(ops.execute_flow("f", {}, None, None, None))
    assert hang_up.accepted == 4 and len(sleeps) == 2
    assert "may have reached the server" in caught.value.message
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert classify(caught.value.__cause__) == Failure(
        Failure.BROKEN, "Remote end closed connection without response"
    )


def test_a_truncated_answer_is_unreadable_and_retried_for_gets_only(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    truncated = server(TRUNCATED)
    transport = make(truncated.url, max_retries=1, timeout=FAST)
    with pytest.raises(NetworkError) as caught:
        transport.send(ops.health_check())
    assert "could not be read" in caught.value.message
    assert truncated.accepted == 2
    with pytest.raises(NetworkError):
        transport.send(ops.execute_flow("f", {}, None, None, None))
    assert truncated.accepted == 3


def test_a_refused_connection_is_retried_for_every_method_then_a_network_error(
    make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    url = "http://127.0.0.1:{}".format(_closed_port())
    with pytest.raises(NetworkError) as caught:
        make(url, max_retries=3, timeout=FAST).send(ops.execute_flow("f", {}, None, None, None))
    assert len(sleeps) == 3  # the request never left: safe to retry even a POST
    assert "Could not connect to " + url in caught.value.message
    assert "Check base_url" in caught.value.message
    assert "may have reached" not in caught.value.message
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert classify(caught.value.__cause__) == Failure(Failure.CONNECT, "Connection refused")


def test_a_refused_delete_agent_is_not_recovered(
    make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    url = "http://127.0.0.1:{}".format(_closed_port())
    with pytest.raises(NetworkError):
        make(url, max_retries=0, timeout=FAST).send(ops.delete_agent("temp"))


def test_a_tls_failure_is_never_retried(
    server: Callable[..., _RawServer], make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    plain = server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    url = plain.url.replace("http://", "https://")
    with pytest.raises(NetworkError) as caught:
        make(url, max_retries=3, timeout=FAST).send(ops.health_check())
    assert "TLS failed" in caught.value.message
    assert plain.accepted == 1 and sleeps == []
    assert isinstance(caught.value.__cause__, requests.exceptions.SSLError)


# --- classify ----------------------------------------------------------------------------------


def _raised(error: BaseException, cause: Optional[BaseException] = None) -> BaseException:
    """``error`` as it arrives after ``raise error from cause``."""
    try:
        raise error from cause
    except BaseException as caught:  # noqa: B902 - returned for inspection
        return caught


@pytest.fixture
def conn() -> HTTPConnection:
    return HTTPConnection("127.0.0.1", 1)


@pytest.fixture
def pool() -> Iterator[HTTPConnectionPool]:
    connection_pool = HTTPConnectionPool("127.0.0.1", 1)
    yield connection_pool
    connection_pool.close()


def _through_urllib3(pool: HTTPConnectionPool, reason: Any) -> MaxRetryError:
    """``reason`` as urllib3 raises it when its retries (none, here) are used up."""
    return MaxRetryError(pool, "/x", reason)


def test_classify_a_refused_connection(conn: HTTPConnection, pool: HTTPConnectionPool) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    new = _raised(NewConnectionError(conn, "Failed to establish a new connection: x"), refused)
    error = requests.exceptions.ConnectionError(_through_urllib3(pool, new))
    assert classify(error) == Failure(Failure.CONNECT, "Connection refused")
    assert not classify(error).sent


def test_classify_a_failed_name_resolution(conn: HTTPConnection, pool: HTTPConnectionPool) -> None:
    # A misspelt host: not retried, and a wait fails fast on it (Failure.NAME_RESOLUTION).
    gaierror = socket.gaierror(-2, "Name or service not known")
    resolution = getattr(urllib3.exceptions, "NameResolutionError", None)
    if resolution is not None:  # urllib3 2
        failed = _raised(resolution("nowhere.invalid", conn, gaierror), gaierror)
    else:  # urllib3 1.26: a NewConnectionError raised while handling the gaierror
        failed = _raised(NewConnectionError(conn, "Failed to establish: x"), gaierror)
    error = requests.exceptions.ConnectionError(_through_urllib3(pool, failed))
    assert classify(error) == Failure(Failure.NAME_RESOLUTION, "Name or service not known")
    assert not classify(error).sent


def test_classify_a_connect_timeout(conn: HTTPConnection, pool: HTTPConnectionPool) -> None:
    timed_out = _raised(
        ConnectTimeoutError(conn, "Connection to 127.0.0.1 timed out. (connect timeout=1)"),
        socket.timeout("timed out"),
    )
    error = requests.exceptions.ConnectTimeout(_through_urllib3(pool, timed_out))
    assert classify(error) == Failure(Failure.CONNECT_TIMEOUT, "timed out")
    assert not classify(error).sent
    # Without requests' wrapper too, for a session whose adapter retries on its own.
    plain = requests.exceptions.ConnectionError(
        _through_urllib3(pool, ConnectTimeoutError(conn, "timed out"))
    )
    assert classify(plain).kind == Failure.CONNECT_TIMEOUT


def test_classify_a_tls_failure(pool: HTTPConnectionPool) -> None:
    verify = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    wrapped = _raised(urllib3.exceptions.SSLError(verify), verify)
    error = requests.exceptions.SSLError(_through_urllib3(pool, wrapped))
    failure = classify(error)
    assert failure.kind == Failure.TLS and not failure.sent
    assert "CERTIFICATE_VERIFY_FAILED" in failure.reason


def test_classify_read_timeouts_wherever_requests_puts_them(pool: HTTPConnectionPool) -> None:
    timed_out = _raised(
        ReadTimeoutError(pool, "/x", "Read timed out. (read timeout=0.2)"),
        socket.timeout("timed out"),
    )
    for error in (
        requests.exceptions.ReadTimeout(timed_out),
        requests.exceptions.ConnectionError(timed_out),  # raised while streaming the body
        requests.exceptions.ConnectionError(_through_urllib3(pool, timed_out)),
        timed_out,
    ):
        failure = classify(error)
        assert failure == Failure(Failure.READ_TIMEOUT, "timed out")
        assert failure.sent


def test_classify_a_connection_broken_after_sending(pool: HTTPConnectionPool) -> None:
    disconnected = http.client.RemoteDisconnected("Remote end closed connection without response")
    aborted = _raised(ProtocolError("Connection aborted.", disconnected), disconnected)
    error = requests.exceptions.ConnectionError(aborted)
    assert classify(error) == Failure(
        Failure.BROKEN, "Remote end closed connection without response"
    )
    reset = ConnectionResetError(104, "Connection reset by peer")
    assert classify(reset) == Failure(Failure.BROKEN, "Connection reset by peer")
    retried = requests.exceptions.ConnectionError(_through_urllib3(pool, aborted))
    assert classify(retried).kind == Failure.BROKEN


def test_classify_an_unreadable_answer() -> None:
    incomplete = http.client.IncompleteRead(b"ab", 3)
    chunked = requests.exceptions.ChunkedEncodingError(
        _raised(ProtocolError("Connection broken: IncompleteRead", incomplete), incomplete)
    )
    assert classify(chunked).kind == Failure.UNREADABLE
    assert classify(chunked).sent
    decoding = requests.exceptions.ContentDecodingError(
        _raised(
            DecodeError("Received response with content-encoding: gzip, but failed to decode it."),
            zlib.error("Error -3 while decompressing data: incorrect header check"),
        )
    )
    assert classify(decoding) == Failure(
        Failure.UNREADABLE, "Error -3 while decompressing data: incorrect header check"
    )


@pytest.mark.parametrize(
    "error, reason",
    [
        (ValueError("Invalid header value"), "Invalid header value"),
        (requests.exceptions.TooManyRedirects("Exceeded 30 redirects."), "Exceeded 30 redirects."),
        (requests.exceptions.InvalidHeader("bad"), "bad"),
        (RuntimeError(), "RuntimeError"),
        (OSError(), "OSError"),
    ],
)
def test_classify_an_unknown_error_as_broken_so_that_it_counts_as_sent(
    error: BaseException, reason: str
) -> None:
    failure = classify(error)
    assert failure == Failure(Failure.BROKEN, reason)
    assert failure.sent


def test_classify_strips_urllib3_s_connection_prefix(
    conn: HTTPConnection, pool: HTTPConnectionPool
) -> None:
    new = NewConnectionError(conn, "Failed to establish a new connection: boom")
    assert str(new).startswith(str(conn) + ": ")
    error = requests.exceptions.ConnectionError(_through_urllib3(pool, new))
    assert classify(error) == Failure(Failure.CONNECT, "Failed to establish a new connection: boom")
    timed_out = ReadTimeoutError(pool, "/x", "Read timed out. (read timeout=0.2)")
    assert str(timed_out).startswith(str(pool) + ": ")
    assert classify(timed_out).reason == "Read timed out. (read timeout=0.2)"
    old_style = urllib3.exceptions.HTTPError(
        "<urllib3.connection.HTTPConnection object at 0x7f3c>: Connection aborted"
    )
    assert classify(old_style) == Failure(Failure.BROKEN, "Connection aborted")
    unprefixed = urllib3.exceptions.HTTPError("Not a (host=x): prefix")
    assert classify(unprefixed).reason == "Not a (host=x): prefix"


def test_classify_follows_implicit_context_unless_suppressed(conn: HTTPConnection) -> None:
    def wrapped(suppress: bool) -> BaseException:
        try:
            try:
                raise NewConnectionError(conn, "refused")
            except NewConnectionError:
                if suppress:
                    raise RuntimeError("wrapped") from None
                raise RuntimeError("wrapped")
        except RuntimeError as error:
            return error

    assert classify(wrapped(False)).kind == Failure.CONNECT
    assert classify(wrapped(True)) == Failure(Failure.BROKEN, "wrapped")


def test_classify_survives_a_cycle_of_causes() -> None:
    first = ValueError("first")
    second = ValueError(first)
    first.__cause__ = second
    assert classify(second).kind == Failure.BROKEN


# --- Sessions --------------------------------------------------------------------------------


class _Session(requests.Session):
    """A user's session that counts its closings."""

    def __init__(self) -> None:
        super().__init__()
        self.closings = 0

    def close(self) -> None:
        self.closings += 1
        super().close()


def test_the_own_session_pools_max_connections_and_retries_nothing(
    make: Callable[..., SyncTransport],
) -> None:
    transport = make(max_connections=7)
    for prefix in ("https://", "http://"):
        adapter = transport._session.get_adapter(prefix + "h.example")
        assert adapter._pool_maxsize == 7  # type: ignore[attr-defined]
        assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
        assert adapter.max_retries.read is False  # type: ignore[attr-defined]


def test_a_user_session_is_used_and_never_closed(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    mock.get(BASE + "/health", json={"status": "healthy"})
    mock.get(BASE + "/health", json={"status": "healthy"})
    session = _Session()
    session.headers["X-Trace"] = "trace-1"
    seen: List[int] = []
    session.hooks["response"].append(lambda r, *args, **kwargs: seen.append(r.status_code))
    transport = make(session=session, api_key="sk-1")
    assert transport._session is session
    transport.send(ops.health_check())
    sent = mock.calls[0].request.headers
    assert sent["X-Trace"] == "trace-1"
    assert sent["Authorization"] == "Bearer sk-1"
    assert sent["User-Agent"] == USER_AGENT
    assert seen == [200]
    transport.close()
    transport.derive(timeout=(1.0, 1.0)).close()
    assert session.closings == 0
    transport.send(ops.health_check())  # still usable
    assert seen == [200, 200]
    session.close()


def test_a_user_session_retries_through_the_exchange_loop(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], sleeps: List[float]
) -> None:
    mock.get(BASE + "/health", status=503)
    mock.get(BASE + "/health", json={"status": "healthy"})
    with _Session() as session:
        assert make(session=session).send(ops.health_check()) == {"status": "healthy"}
    assert len(mock.calls) == 2 and len(sleeps) == 1


def test_a_user_session_keeps_its_own_verify_cert_and_proxies(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked by the mock")
    mock.get(BASE + "/health", json={})
    with requests.Session() as session:
        session.verify = str(bundle)
        session.cert = str(bundle)
        session.proxies = {"https": "http://session-proxy.example:3128"}
        make(session=session).send(ops.health_check())
    kwargs = mock.calls[0].request.req_kwargs
    assert kwargs["verify"] == str(bundle)
    assert kwargs["cert"] == str(bundle)
    assert kwargs["proxies"]["https"] == "http://session-proxy.example:3128"


def test_the_client_s_verify_cert_and_proxies_override_a_user_session_s(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport], tmp_path: Path
) -> None:
    certificate, key = tmp_path / "client.crt", tmp_path / "client.key"
    certificate.write_text("c")
    key.write_text("k")
    mock.get(BASE + "/health", json={})
    mock.get(BASE + "/health", json={})
    with requests.Session() as session:
        session.verify = str(tmp_path)
        session.proxies = {"https": "http://session-proxy.example:3128"}
        make(
            session=session,
            verify=False,
            cert=(str(certificate), str(key)),
            proxies={"https": "http://client-proxy.example:8080"},
        ).send(ops.health_check())
        make(session=session, verify=str(certificate)).send(ops.health_check())
        # The session itself is left as it was.
        assert session.verify == str(tmp_path)
        assert session.proxies == {"https": "http://session-proxy.example:3128"}
        assert session.cert is None
    first, second = (c.request.req_kwargs for c in mock.calls)
    assert first["verify"] is False
    assert first["cert"] == (str(certificate), str(key))
    assert first["proxies"]["https"] == "http://client-proxy.example:8080"
    assert second["verify"] == str(certificate)
    assert second["proxies"]["https"] == "http://session-proxy.example:3128"


def test_the_client_s_verify_and_proxies_beat_the_environment(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # requests lets REQUESTS_CA_BUNDLE and HTTPS_PROXY override a session's own settings;
    # what the client was given must win, with its own session as with a user's.
    bundle = tmp_path / "env-ca.pem"
    bundle.write_text("x")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:1")
    for _ in range(4):
        mock.get(BASE + "/health", json={})
    make(verify=False).send(ops.health_check())
    make(verify=str(tmp_path), proxies={"https": "http://mine.example:2"}).send(ops.health_check())
    make().send(ops.health_check())
    with requests.Session() as session:
        make(session=session, verify=False).send(ops.health_check())
    kwargs = [c.request.req_kwargs for c in mock.calls]
    assert kwargs[0]["verify"] is False
    assert kwargs[0]["proxies"]["https"] == "http://env-proxy.example:1"
    assert kwargs[1]["verify"] == str(tmp_path)
    assert kwargs[1]["proxies"]["https"] == "http://mine.example:2"
    # Nothing given: the environment applies, as it does for requests (and the async client).
    assert kwargs[2]["verify"] == str(bundle)
    assert kwargs[3]["verify"] is False


def test_the_own_session_is_configured_from_the_settings(
    make: Callable[..., SyncTransport], tmp_path: Path
) -> None:
    certificate = tmp_path / "client.pem"
    certificate.write_text("c")
    transport = make(
        verify=str(tmp_path), cert=str(certificate), proxies={"all": "http://p.example:1"}
    )
    assert transport._session.verify == str(tmp_path)
    assert transport._session.cert == str(certificate)
    assert transport._session.proxies["all"] == "http://p.example:1"


@pytest.mark.parametrize("session", ["a session", object(), 1, requests.adapters.HTTPAdapter()])
def test_a_session_of_the_wrong_type_is_refused(
    make: Callable[..., SyncTransport], session: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        make(session=session)
    assert caught.value.message == (
        "session must be a requests.Session for AISpine, got {}".format(type(session).__name__)
    )


def _netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example.test login bob password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


def test_netrc_is_never_used_with_the_own_session_or_a_user_s(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _netrc(tmp_path, monkeypatch)
    for _ in range(4):
        mock.get(BASE + "/health", json={})
    with requests.Session() as control:
        control.get(BASE + "/health")  # the netrc is real: plain requests would send it
    assert mock.calls[0].request.headers["Authorization"].startswith("Basic ")
    make().send(ops.health_check())
    with requests.Session() as session:
        assert session.trust_env
        make(session=session).send(ops.health_check())
        make(session=session, api_key="sk-1").send(ops.health_check())
    assert "Authorization" not in mock.calls[1].request.headers
    assert "Authorization" not in mock.calls[2].request.headers
    assert mock.calls[3].request.headers["Authorization"] == "Bearer sk-1"


def test_a_user_session_s_own_auth_is_honoured(
    mock: responses.RequestsMock, make: Callable[..., SyncTransport]
) -> None:
    def sign(request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Signature"] = "signed"
        return request

    mock.get(BASE + "/health", json={})
    with requests.Session() as session:
        session.auth = sign
        make(session=session, api_key="sk-1").send(ops.health_check())
    assert mock.calls[0].request.headers["X-Signature"] == "signed"
    assert mock.calls[0].request.headers["Authorization"] == "Bearer sk-1"


# --- Pool ownership ----------------------------------------------------------------------------


def test_derived_transports_share_the_session_but_not_its_ownership(
    make: Callable[..., SyncTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine import RetryPolicy

    root = make(max_retries=3)
    child = root.derive(timeout=(1.0, 2.0), policy=RetryPolicy(max_retries=0))
    assert child._session is root._session
    assert child.timeout == (1.0, 2.0) and child.policy.max_retries == 0
    assert root.timeout == (5.0, 5.0) and root.policy.max_retries == 3
    closings: List[int] = []
    monkeypatch.setattr(root._session, "close", lambda: closings.append(1))
    child.close()
    assert closings == []
    root.close()
    assert closings == [1]


def test_closing_the_own_session_closes_its_pools(make: Callable[..., SyncTransport]) -> None:
    transport = make()
    adapter = transport._session.get_adapter(BASE)
    pool = adapter.poolmanager.connection_from_url(BASE)  # type: ignore[attr-defined]
    transport.close()
    assert adapter.poolmanager.connection_from_url(BASE) is not pool  # type: ignore[attr-defined]


# --- Logging ---------------------------------------------------------------------------------


def test_logs_show_requests_and_retries_but_never_the_key(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    sleeps: List[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock.get(BASE + "/health", status=503)
    mock.get(BASE + "/health", json={"status": "healthy"})
    mock.get(BASE + "/api/v1/flows/my-flows", status=401, json={"detail": "bad token"})
    transport = make(api_key="sk-very-secret")
    with caplog.at_level(logging.DEBUG, logger="ai_spine"):
        transport.send(ops.health_check())
        with pytest.raises(Exception):
            transport.send(ops.list_my_flows("user-very-secret"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET https://api.example.test/health -> 200 in" in text
    assert "Retrying GET https://api.example.test/health (retry 1 of 3)" in text
    assert "HTTP 503" in text
    assert "-> 401 in" in text
    assert "sk-very-secret" not in text
    assert "user-very-secret" not in text


# --- The environment, read once --------------------------------------------------------------


def test_the_own_session_reads_the_environment_once_when_built(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # requests' per-call scan of os.environ was a third of each call (issue 11): our session
    # has it off, and the build reads what it would have found.
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:1")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "curl.pem"))
    mock.get(BASE + "/health", json={})
    mock.get(BASE + "/health", json={})
    transport = make()
    assert transport._session.trust_env is False
    transport.send(ops.health_check())
    monkeypatch.setenv("HTTPS_PROXY", "http://later.example:2")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "later.pem"))
    transport.send(ops.health_check())
    for call_ in mock.calls:
        assert call_.request.req_kwargs["proxies"]["https"] == "http://env-proxy.example:1"
        assert call_.request.req_kwargs["verify"] == str(tmp_path / "curl.pem")


def test_no_proxy_in_the_environment_bypasses_the_environment_s_proxy(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:1")
    monkeypatch.setenv("NO_PROXY", "api.example.test")
    mock.get(BASE + "/health", json={})
    mock.get(BASE + "/health", json={})
    make().send(ops.health_check())
    make(proxies={"https": "http://mine.example:2"}).send(ops.health_check())
    first, second = (c.request.req_kwargs for c in mock.calls)
    assert "https" not in first["proxies"]
    assert first["verify"] is True
    assert second["proxies"]["https"] == "http://mine.example:2"  # given, so used


def test_a_user_session_still_reads_the_environment_itself(
    mock: responses.RequestsMock,
    make: Callable[..., SyncTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock.get(BASE + "/health", json={})
    with requests.Session() as session:
        transport = make(session=session)
        monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:1")
        transport.send(ops.health_check())
        assert session.trust_env
    assert mock.calls[0].request.req_kwargs["proxies"]["https"] == "http://env-proxy.example:1"


@pytest.mark.parametrize(
    "operation",
    [
        call("GET", "/api/v1/flows", params={"limit": 3, "tags": ["a", "b"], "skip": None}),
        call("GET", "/api/v1/flows", params={"q": "caf\u00e9 & co/1+1", "skip": None}),
        call("POST", "/api/v1/agents", body={"name": "caf\u00e9", "n": [1, 2.5, None]}),
        call("POST", "/api/v1/executions/x/cancel"),
        call("DELETE", "/api/v1/agents/a"),
    ],
)
def test_the_own_session_s_direct_path_sends_what_session_request_sends(
    make: Callable[..., SyncTransport], operation: "Operation[Answer]"
) -> None:
    # Our own session goes straight to its adapter's urllib3 pool (issue 11); when requests'
    # sending is replaced it goes through HTTPAdapter.send; a user's session goes through
    # Session.request. All three must put the same request on the wire.
    from ai_spine.testing import LocalAISpine

    with LocalAISpine() as server, requests.Session() as session:
        through_send = make(base_url=server.url, api_key="sk-1", max_retries=0)
        through_send._session.mount("http://", _PlainAdapter())
        for transport in (
            make(base_url=server.url, api_key="sk-1", max_retries=0),
            through_send,
            make(base_url=server.url, api_key="sk-1", max_retries=0, session=session),
        ):
            try:
                transport.send(operation)
            except AISpineError:
                pass  # what the server answered does not matter here, what it got does
        direct, sent, users = server.requests[-3:]
    for other in (sent, users):
        assert (direct.method, direct.path, direct.query, direct.body) == (
            other.method,
            other.path,
            other.query,
            other.body,
        )
        assert direct.headers == other.headers


class _PlainAdapter(requests.adapters.HTTPAdapter):
    """An adapter of the user's own: the SDK must send through its ``send``."""


def test_the_own_session_skips_requests_unless_its_sending_was_replaced(
    make: Callable[..., SyncTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine.testing import LocalAISpine

    built: List[int] = []
    build_response = requests.adapters.HTTPAdapter.build_response

    def counting(self: Any, *args: Any) -> Any:
        built.append(1)
        return build_response(self, *args)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "build_response", counting)
    sent: List[str] = []

    class Mine(_PlainAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(request.url)
            return super().send(request, *args, **kwargs)

    with LocalAISpine() as server:
        transport = make(base_url=server.url)
        assert transport.send(ops.health_check())["status"] == "healthy"
        assert built == []  # urllib3 directly: no requests.Response was made
        with responses.RequestsMock() as mock:  # replaces HTTPAdapter.send: honoured
            mock.get(server.url + "/health", json={"status": "mocked"})
            assert transport.send(ops.health_check()) == {"status": "mocked"}
        assert len(server.requests) == 1
        transport._session.mount("http://", Mine())  # an adapter mounted later: honoured
        assert transport.send(ops.health_check())["status"] == "healthy"
        assert sent == [server.url + "/health"]
        assert len(server.requests) == 2


def test_the_direct_path_reuses_one_connection_and_reopens_after_close(
    make: Callable[..., SyncTransport],
) -> None:
    from ai_spine.testing import LocalAISpine

    with LocalAISpine() as server:
        transport = make(base_url=server.url)
        for _ in range(5):
            transport.send(ops.health_check())
        assert server.connections_accepted == 1
        direct = transport._sessions.direct
        assert direct is not None
        transport.close()  # the pool is closed: the next call makes it anew, as requests does
        assert direct[1].pool is None  # its idle connection closed (urllib3 2 would leave it)
        assert transport.send(ops.health_check())["status"] == "healthy"
        assert server.connections_accepted == 2


def test_a_proxy_is_never_bypassed_by_the_direct_path(
    make: Callable[..., SyncTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine.testing import LocalAISpine

    dead_proxy = "http://127.0.0.1:{}".format(_closed_port())
    with LocalAISpine() as server:
        given = make(base_url=server.url, max_retries=0, proxies={"http": dead_proxy})
        with pytest.raises(NetworkError):
            given.send(ops.health_check())
        monkeypatch.setenv("HTTP_PROXY", dead_proxy)
        from_environment = make(base_url=server.url, max_retries=0)
        with pytest.raises(NetworkError):
            from_environment.send(ops.health_check())
        assert server.requests == []  # neither went around its proxy


def test_the_direct_path_sends_an_idna_host(make: Callable[..., SyncTransport]) -> None:
    transport = make(base_url="http://b\u00fccher.example:8080")
    direct = transport._direct_pool(transport._session)
    assert direct is not None
    assert (direct[1].host, direct[1].port) == ("xn--bcher-kva.example", 8080)


def test_the_direct_path_verifies_tls_as_requests_does(make: Callable[..., SyncTransport]) -> None:
    from tls_server import CA, TLSServer

    with TLSServer() as server:
        trusted = make(base_url=server.url, verify=CA, max_retries=0)
        for _ in range(2):
            assert trusted.send(ops.health_check()) == {"status": "healthy"}
        assert trusted._sessions.direct is not None  # it went straight to urllib3
        assert server.accepted == 1  # and kept its TLS connection
        with pytest.raises(NetworkError) as caught:  # certifi's CAs do not include ours
            make(base_url=server.url, max_retries=3).send(ops.health_check())
        assert caught.value.kind == Failure.TLS
        assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
        assert isinstance(caught.value.__cause__, requests.exceptions.SSLError)
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            unverified = make(base_url=server.url, verify=False)
            assert unverified.send(ops.health_check()) == {"status": "healthy"}
        assert server.paths == ["/health"] * 3  # the refused handshake sent nothing
