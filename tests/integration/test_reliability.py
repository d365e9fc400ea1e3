"""The SDK against a misbehaving server: the local server's fault injection and request log
show what went over the wire, so "sent once" and "retried" are checked, not assumed.

Every test here needs a LocalAISpine of its own (fault injection, the request log, an API
key it sets): marked ``ai_spine_local``, they are skipped with that reason when the suite
tests another deployment (``AI_SPINE_BASE_URL``)."""

from typing import Any, Callable

import pytest

from ai_spine import (
    AISpine,
    AuthenticationError,
    NetworkError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

pytestmark = [
    pytest.mark.integration,
    pytest.mark.ai_spine_local,
    pytest.mark.ai_spine_server(with_demo_agents=True),
]

EXECUTE = "/api/v1/flows/execute"
APPLICANT = {"text": "great references", "income": 85000, "debt": 9000}


@pytest.fixture
def server(ai_spine_server: LocalAISpine) -> LocalAISpine:
    """A fresh local server with the demo agents (the SDK's pytest plugin starts it)."""
    return ai_spine_server


@pytest.fixture
def sdk(server: LocalAISpine, make_client: Callable[..., Any]) -> AISpine:
    """The client under test: AISpine, then AsyncAISpine (see tests/conftest.py)."""
    return make_client(base_url=server.url, timeout=(2, 2))  # type: ignore[no-any-return]


def executions_started(server: LocalAISpine) -> int:
    return len(AISpine(base_url=server.url).list_executions(limit=100))


def test_gets_recover_from_transient_proxy_errors(server: LocalAISpine, sdk: AISpine) -> None:
    server.inject_fault("GET", "/api/v1/flows", status=502, body="<html>Bad Gateway</html>")
    server.inject_fault("GET", "/api/v1/flows", status=503, headers={"Retry-After": "0"})
    assert DEMO_FLOW_ID in {f["flow_id"] for f in sdk.list_flows()}
    assert len(server.requests_to("GET", "/api/v1/flows")) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_execute_is_sent_once_when_the_server_fails(
    server: LocalAISpine, sdk: AISpine, status: int
) -> None:
    server.inject_fault("POST", EXECUTE, status=status, headers={"Retry-After": "0"})
    with pytest.raises(ServerError) as caught:
        sdk.execute_flow(DEMO_FLOW_ID, APPLICANT)
    assert caught.value.status_code == status
    assert len(server.requests_to("POST", EXECUTE)) == 1


def test_execute_is_sent_once_when_the_connection_drops(server: LocalAISpine, sdk: AISpine) -> None:
    server.inject_fault("POST", EXECUTE, drop=True)
    with pytest.raises(NetworkError, match="may have reached the server"):
        sdk.execute_flow(DEMO_FLOW_ID, APPLICANT)
    assert len(server.requests_to("POST", EXECUTE)) == 1


def test_execute_is_sent_once_when_the_answer_is_too_slow(
    server: LocalAISpine, sdk: AISpine
) -> None:
    server.inject_fault("POST", EXECUTE, delay=1.0)
    with pytest.raises(TimeoutError):
        sdk.with_options(timeout=(2, 0.3)).execute_flow(DEMO_FLOW_ID, APPLICANT)
    assert len(server.requests_to("POST", EXECUTE)) == 1


def test_execute_is_retried_after_429_and_runs_exactly_once(
    server: LocalAISpine, sdk: AISpine
) -> None:
    server.inject_fault("POST", EXECUTE, status=429, headers={"Retry-After": "0"})
    started = sdk.execute_flow(DEMO_FLOW_ID, APPLICANT)
    assert len(server.requests_to("POST", EXECUTE)) == 2
    assert executions_started(server) == 1
    assert sdk.wait_for_execution(started["execution_id"], timeout=10)["status"] == "completed"


def test_a_long_retry_after_fails_at_once(server: LocalAISpine, sdk: AISpine) -> None:
    server.inject_fault("GET", "/status", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as caught:
        sdk.get_status()
    assert caught.value.retry_after == 120.0
    assert len(server.requests_to("GET", "/status")) == 1
    # Whatever case the server used, both clients' errors look headers up in any case.
    assert caught.value.headers["retry-after"] == caught.value.headers["Retry-After"] == "120"
    assert caught.value.headers.get("CONTENT-TYPE", "").startswith("application/json")


def test_exhausted_retries_give_the_typed_error(
    server: LocalAISpine, make_client: Callable[..., Any]
) -> None:
    server.inject_fault("GET", "/metrics", status=503, times=None, headers={"Retry-After": "0"})
    with make_client(base_url=server.url, max_retries=2) as client:
        with pytest.raises(ServerError) as caught:
            client.get_metrics()
    assert caught.value.status_code == 503
    assert len(server.requests_to("GET", "/metrics")) == 3


def test_html_error_pages_are_summarised(server: LocalAISpine, sdk: AISpine) -> None:
    page = "<html><head><title>Application failed to respond</title></head></html>"
    server.inject_fault("GET", "/health", status=502, times=None, body=page)
    with pytest.raises(ServerError, match="HTML page \\(Application failed to respond\\)"):
        sdk.with_options(max_retries=0).health_check()


def test_slow_gets_time_out_and_are_retried(server: LocalAISpine, sdk: AISpine) -> None:
    server.inject_fault("GET", "/health", delay=1.0, times=None)
    with pytest.raises(TimeoutError) as caught:
        sdk.with_options(timeout=(2, 0.2), max_retries=1).health_check()
    assert caught.value.timeout == 0.2
    assert len(server.requests_to("GET", "/health")) == 2


def test_waiting_survives_failing_polls(server: LocalAISpine, sdk: AISpine) -> None:
    started = sdk.execute_flow(DEMO_FLOW_ID, APPLICANT)
    path = "/api/v1/executions/" + started["execution_id"]
    server.inject_fault("GET", path, status=503, times=2)
    server.inject_fault("GET", path, drop=True)
    done = sdk.wait_for_execution(started["execution_id"], timeout=10, interval=0.1)
    assert done["status"] == "completed"
    assert len(server.requests_to("GET", path)) >= 4


def test_invalid_arguments_send_nothing(server: LocalAISpine, sdk: AISpine) -> None:
    server.clear_requests()
    for call in (
        lambda: sdk.execute_flow("bad/id", {}),
        lambda: sdk.execute_flow(DEMO_FLOW_ID, "not a dict"),  # type: ignore[arg-type]
        lambda: sdk.get_execution("not-a-uuid"),
        lambda: sdk.create_agent({"agent_id": "x"}),  # type: ignore[typeddict-item]
        lambda: sdk.delete_agent(""),
    ):
        with pytest.raises(ValidationError):
            call()
    assert server.requests == []


def test_api_key_enforcement(make_client: Callable[..., Any]) -> None:
    with LocalAISpine(api_key="sk-test") as server:
        with make_client(base_url=server.url) as anonymous:
            with pytest.raises(AuthenticationError, match="Missing API key"):
                anonymous.list_flows()
            assert "authorization" not in server.requests[-1].headers
            assert anonymous.health_check()["status"] == "healthy"
        with make_client(base_url=server.url, api_key="wrong") as wrong:
            with pytest.raises(AuthenticationError, match="Invalid API key"):
                wrong.get_status()
        with make_client(base_url=server.url, api_key="sk-test") as keyed:
            assert keyed.get_status()["status"] == "operational"
            assert keyed.get_current_user()["id"] == "master"
            assert server.requests[-1].headers["authorization"] == "Bearer sk-test"
