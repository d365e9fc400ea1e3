"""The transport: headers, retries, timeouts, error mapping and logging.

Status-code retries run through ``responses`` (which drives urllib3's ``Retry`` like the
real connection pool does); connection failures, resets and read timeouts use real sockets
on 127.0.0.1, since they cannot be mocked above the socket.
"""

import builtins
import logging
import socket
import threading
from typing import Any, Iterator, List, Tuple

import pytest
import requests
import responses
import urllib3
from urllib3.exceptions import MaxRetryError, ProtocolError

from ai_spine import NetworkError, RateLimitError, RetryPolicy, ServerError, TimeoutError
from ai_spine.api import USER_AGENT, PolicyRetry, Transport, enable_debug_logging, transport_error
from ai_spine.exceptions import NotFoundError

BASE = "https://api.example.test"


def make_transport(
    api_key: Any = None, max_retries: int = 3, timeout: Tuple[float, float] = (5.0, 5.0)
) -> Transport:
    return Transport(
        BASE, api_key=api_key, timeout=timeout, policy=RetryPolicy(max_retries=max_retries)
    )


def test_headers_identify_the_sdk_and_omit_authorization_without_a_key(
    mock: responses.RequestsMock,
) -> None:
    mock.get(BASE + "/health", json={"status": "healthy"})
    assert make_transport().request("GET", "/health").body == {"status": "healthy"}
    sent = mock.calls[0].request.headers
    assert sent["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("ai-spine-sdk-python/3.")
    assert " python/3." in USER_AGENT
    assert sent["Accept"] == "application/json"
    assert sent["Content-Type"] == "application/json"
    assert "Authorization" not in sent


def test_the_key_is_sent_as_a_bearer_token_and_a_call_may_override_it(
    mock: responses.RequestsMock,
) -> None:
    mock.get(BASE + "/api/v1/flows", json={"flows": []})
    mock.get(BASE + "/api/v1/flows/my-flows", json={"flows": []})
    transport = make_transport(api_key="sk-secret")
    transport.request("GET", "/api/v1/flows")
    transport.request("GET", "/api/v1/flows/my-flows", bearer="user-token")
    assert mock.calls[0].request.headers["Authorization"] == "Bearer sk-secret"
    assert mock.calls[1].request.headers["Authorization"] == "Bearer user-token"


def test_json_bodies_and_query_parameters_are_sent(mock: responses.RequestsMock) -> None:
    mock.post(
        BASE + "/api/v1/flows/execute",
        json={"ok": True},
        match=[responses.matchers.json_params_matcher({"flow_id": "f", "input_data": {}})],
    )
    mock.get(
        BASE + "/api/v1/executions",
        json={"executions": []},
        match=[responses.matchers.query_param_matcher({"limit": "5", "offset": "10"})],
    )
    transport = make_transport()
    body = {"flow_id": "f", "input_data": {}}
    assert transport.request("POST", "/api/v1/flows/execute", json=body).body == {"ok": True}
    transport.request("GET", "/api/v1/executions", params={"limit": 5, "offset": 10})


def test_empty_success_bodies_are_none(mock: responses.RequestsMock) -> None:
    mock.delete(BASE + "/x", status=204)
    assert make_transport().request("DELETE", "/x").body is None


def test_gets_are_retried_through_transient_statuses(mock: responses.RequestsMock) -> None:
    mock.get(BASE + "/api/v1/flows", status=503, body="busy")
    mock.get(BASE + "/api/v1/flows", status=502, body="<html><title>502</title></html>")
    mock.get(BASE + "/api/v1/flows", json={"flows": ["ok"]})
    assert make_transport().request("GET", "/api/v1/flows").body == {"flows": ["ok"]}
    assert len(mock.calls) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_execute_post_is_never_resent_after_a_server_error(
    mock: responses.RequestsMock, status: int
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", status=status, json={"detail": "down"})
    with pytest.raises(ServerError) as caught:
        make_transport().request("POST", "/api/v1/flows/execute", json={})
    assert caught.value.status_code == status
    assert len(mock.calls) == 1


def test_a_put_is_not_resent_after_a_server_error(mock: responses.RequestsMock) -> None:
    mock.put(BASE + "/api/v1/flows/f", status=503, json={"detail": "down"})
    with pytest.raises(ServerError):
        make_transport().request("PUT", "/api/v1/flows/f", json={})
    assert len(mock.calls) == 1


def test_a_post_is_resent_after_429_because_it_did_not_run(
    mock: responses.RequestsMock,
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", status=429, headers={"Retry-After": "1"})
    mock.post(BASE + "/api/v1/flows/execute", json={"execution_id": "e"})
    assert make_transport().request("POST", "/api/v1/flows/execute", json={}).body == {
        "execution_id": "e"
    }
    assert len(mock.calls) == 2


def test_exhausted_retries_raise_the_last_responses_typed_error(
    mock: responses.RequestsMock,
) -> None:
    for _ in range(3):
        mock.get(BASE + "/status", status=503, json={"detail": "maintenance"})
    with pytest.raises(ServerError) as caught:
        make_transport(max_retries=2).request("GET", "/status")
    assert caught.value.status_code == 503
    assert caught.value.message.startswith("maintenance")
    assert len(mock.calls) == 3


def test_exhausted_rate_limits_raise_rate_limit_error_with_retry_after(
    mock: responses.RequestsMock,
) -> None:
    for _ in range(2):
        mock.get(BASE + "/metrics", status=429, body="slow down", headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        make_transport(max_retries=1).request("GET", "/metrics")
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429
    assert len(mock.calls) == 2


def test_a_retry_after_beyond_60_seconds_fails_at_once(mock: responses.RequestsMock) -> None:
    mock.get(
        BASE + "/metrics", status=429, json={"detail": "later"}, headers={"Retry-After": "3600"}
    )
    with pytest.raises(RateLimitError) as caught:
        make_transport().request("GET", "/metrics")
    assert caught.value.retry_after == 3600.0
    assert len(mock.calls) == 1


def test_max_retries_zero_sends_once(mock: responses.RequestsMock) -> None:
    mock.get(BASE + "/health", status=503)
    with pytest.raises(ServerError):
        make_transport(max_retries=0).request("GET", "/health")
    assert len(mock.calls) == 1


def test_client_errors_are_not_retried(mock: responses.RequestsMock) -> None:
    mock.get(BASE + "/api/v1/flows/x", status=404, json={"detail": "Flow 'x' not found"})
    with pytest.raises(NotFoundError):
        make_transport().request("GET", "/api/v1/flows/x")
    assert len(mock.calls) == 1


class _Response:
    def __init__(self, headers: Any) -> None:
        self.headers = headers
        self.status = 429

    def get_redirect_location(self) -> None:
        return None


def test_policy_retry_sleeps_for_retry_after_else_backoff(sleeps: List[float]) -> None:
    retry = PolicyRetry.from_policy(RetryPolicy(max_retries=3, backoff_factor=0.5))
    retry = retry.increment("GET", "/x", response=_Response({"Retry-After": "2"}))
    retry.sleep(_Response({"Retry-After": "2"}))
    retry.sleep(_Response({}))
    retry.sleep()
    assert sleeps[0] == 2.0
    assert 0 <= sleeps[1] <= 0.5 and 0 <= sleeps[2] <= 0.5
    assert isinstance(retry, PolicyRetry)
    assert retry.policy == RetryPolicy(max_retries=3, backoff_factor=0.5)


def test_policy_retry_refuses_a_too_long_retry_after() -> None:
    retry = PolicyRetry.from_policy(RetryPolicy(max_retries=3))
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=_Response({"Retry-After": "61"}))


def test_policy_retry_limits_read_errors_to_idempotent_methods() -> None:
    retry = PolicyRetry.from_policy(RetryPolicy(max_retries=3))
    error = ProtocolError("Connection aborted")
    assert isinstance(retry.increment("GET", "/x", error=error), PolicyRetry)
    with pytest.raises(ProtocolError):
        retry.increment("POST", "/x", error=error)


# --- Real sockets on loopback -------------------------------------------------------------


class _RawServer:
    """Accepts connections on 127.0.0.1 and misbehaves: never answers, or hangs up."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
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
                conn.recv(65536)
            except OSError:
                pass
            if self.behaviour == "hang_up":
                conn.close()
            else:
                self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()


@pytest.fixture
def silent_server() -> Iterator[_RawServer]:
    server = _RawServer("silent")
    yield server
    server.close()


@pytest.fixture
def hang_up_server() -> Iterator[_RawServer]:
    server = _RawServer("hang_up")
    yield server
    server.close()


def _transport_to(url: str, max_retries: int = 2) -> Transport:
    return Transport(url, api_key=None, timeout=(1.0, 0.2), policy=RetryPolicy(max_retries))


def test_a_read_timeout_is_a_timeout_error_after_retrying_a_get(
    silent_server: _RawServer, sleeps: List[float]
) -> None:
    with pytest.raises(TimeoutError) as caught:
        _transport_to(silent_server.url).request("GET", "/health")
    assert caught.value.timeout == 0.2
    assert "within 0.2 s" in caught.value.message
    assert caught.value.method == "GET"
    assert silent_server.accepted == 3
    assert len(sleeps) == 2


def test_a_post_that_timed_out_is_not_resent(
    silent_server: _RawServer, sleeps: List[float]
) -> None:
    with pytest.raises(TimeoutError) as caught:
        _transport_to(silent_server.url).request("POST", "/api/v1/flows/execute", json={})
    assert silent_server.accepted == 1
    assert "may have reached the server" in caught.value.message
    assert isinstance(caught.value, builtins.TimeoutError)


def test_a_connection_closed_after_sending_is_retried_for_gets_only(
    hang_up_server: _RawServer, sleeps: List[float]
) -> None:
    with pytest.raises(NetworkError) as caught:
        _transport_to(hang_up_server.url).request("GET", "/health")
    assert "broke before an answer" in caught.value.message
    assert hang_up_server.accepted == 3
    before = hang_up_server.accepted
    with pytest.raises(NetworkError):
        _transport_to(hang_up_server.url).request("POST", "/api/v1/flows/execute", json={})
    assert hang_up_server.accepted == before + 1


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def test_a_refused_connection_is_retried_for_every_method_then_a_network_error(
    sleeps: List[float],
) -> None:
    url = "http://127.0.0.1:{}".format(_closed_port())
    with pytest.raises(NetworkError) as caught:
        _transport_to(url, max_retries=3).request("POST", "/api/v1/flows/execute", json={})
    assert len(sleeps) == 3  # the request never left: safe to retry even a POST
    assert "Could not connect to " + url in caught.value.message
    assert "Check base_url" in caught.value.message
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


def test_transport_error_translation_is_pure() -> None:
    timeout = (3.0, 9.0)
    connect = transport_error(requests.exceptions.ConnectTimeout("x"), "GET", BASE, timeout)
    assert isinstance(connect, NetworkError)
    assert "no connection within 3 s" in connect.message
    tls = transport_error(
        requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), "GET", BASE, timeout
    )
    assert isinstance(tls, NetworkError) and "TLS failed" in tls.message
    read = transport_error(requests.exceptions.ReadTimeout("x"), "GET", BASE, timeout)
    assert isinstance(read, TimeoutError) and read.timeout == 9.0
    wrapped = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/x", urllib3.exceptions.ReadTimeoutError(None, "/x", "timed out"))
    )
    assert isinstance(transport_error(wrapped, "GET", BASE, timeout), TimeoutError)
    broken = transport_error(requests.exceptions.ChunkedEncodingError("cut"), "GET", BASE, timeout)
    assert isinstance(broken, NetworkError) and "could not be read" in broken.message
    odd = transport_error(requests.exceptions.TooManyRedirects("loop"), "GET", BASE, timeout)
    assert isinstance(odd, NetworkError) and "loop" in odd.message


# --- Pool sharing, logging ------------------------------------------------------------------


def test_derived_transports_share_the_pool_but_not_its_ownership() -> None:
    root = make_transport(max_retries=3)
    child = root.derive(timeout=(1.0, 2.0), policy=RetryPolicy(max_retries=0))
    assert child._adapter.poolmanager is root._adapter.poolmanager
    assert child.timeout == (1.0, 2.0) and child.policy.max_retries == 0
    assert root.timeout == (5.0, 5.0) and root.policy.max_retries == 3
    assert child._adapter.max_retries.total == 0 and root._adapter.max_retries.total == 3
    pool = root._adapter.poolmanager.connection_from_url(BASE)
    child.close()
    assert root._adapter.poolmanager.connection_from_url(BASE) is pool
    root.close()
    assert root._adapter.poolmanager.connection_from_url(BASE) is not pool


def test_logs_show_requests_and_retries_but_never_the_key(
    mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get(BASE + "/health", status=503)
    mock.get(BASE + "/health", json={"status": "healthy"})
    with caplog.at_level(logging.DEBUG, logger="ai_spine"):
        make_transport(api_key="sk-very-secret").request("GET", "/health")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET https://api.example.test/health -> 200 in" in text
    assert "Retrying GET" in text and "HTTP 503" in text
    assert "sk-very-secret" not in text


def test_debug_logging_attaches_one_handler_to_the_sdk_logger_only() -> None:
    sdk_logger = logging.getLogger("ai_spine")
    root_handlers = list(logging.getLogger().handlers)
    before = list(sdk_logger.handlers)
    try:
        enable_debug_logging()
        enable_debug_logging()
        added = [h for h in sdk_logger.handlers if h not in before]
        assert len(added) == 1
        assert sdk_logger.level == logging.DEBUG
        assert logging.getLogger().handlers == root_handlers
    finally:
        for handler in sdk_logger.handlers[:]:
            if handler not in before:
                sdk_logger.removeHandler(handler)
        sdk_logger.setLevel(logging.NOTSET)
