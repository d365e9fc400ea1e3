"""The AISpine client: every method's request, return value, validation and edge cases."""

import json
import types
from typing import Any, Callable, Dict, List

import pytest
import requests
import responses

from ai_spine import (
    AISpine,
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ExecutionError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from ai_spine.constants import DEFAULT_BASE_URL

BASE = "https://api.example.test"
EID = "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"
EXECUTION_URL = BASE + "/api/v1/executions/" + EID
Recorded = Callable[[str], Any]

AGENT = {
    "agent_id": "echo_a",
    "name": "Echo Agent A",
    "description": "Echo agent used for node a",
    "endpoint": "http://127.0.0.1:9000/agent-a",
    "capabilities": ["echo"],
    "agent_type": "input",
}
FLOW = {
    "flow_id": "echo_flow",
    "name": "Echo flow",
    "description": "a then b",
    "nodes": [
        {"id": "a", "agent_id": "echo_a", "type": "input"},
        {"id": "b", "agent_id": "echo_b", "type": "processor", "depends_on": ["a"]},
    ],
    "entry_point": "a",
    "exit_points": ["b"],
}


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def execution(status: str, **extra: Any) -> Dict[str, Any]:
    body = {"execution_id": EID, "flow_id": "echo_flow", "status": status}
    body.update(extra)
    return body


# --- Construction and configuration ---------------------------------------------------------


def test_defaults_are_production_no_key_and_safe_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AI_SPINE_API_KEY", "AI_SPINE_BASE_URL", "AI_SPINE_LOG"):
        monkeypatch.delenv(name, raising=False)
    client = AISpine()
    assert client.base_url == DEFAULT_BASE_URL == "https://ai-spine-api-production.up.railway.app"
    assert client.timeout == (30.0, 30.0)
    assert client.max_retries == 3
    assert client._transport.settings.api_key is None
    assert "Authorization" not in client._transport._session.headers
    assert client._transport.settings.max_connections == 100
    adapter = client._transport._session.get_adapter(DEFAULT_BASE_URL)
    assert adapter._pool_maxsize == 100  # type: ignore[attr-defined]


def test_environment_variables_configure_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_SPINE_API_KEY", "sk-env")
    monkeypatch.setenv("AI_SPINE_BASE_URL", "http://127.0.0.1:8000/")
    client = AISpine()
    assert client.base_url == "http://127.0.0.1:8000"
    assert client._transport.settings.api_key == "sk-env"
    explicit = AISpine(api_key="sk-arg", base_url=BASE)
    assert explicit._transport.settings.api_key == "sk-arg" and explicit.base_url == BASE


def test_an_empty_api_key_variable_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_SPINE_API_KEY", "")
    assert AISpine(base_url=BASE)._transport.settings.api_key is None


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "localhost:8000"}, "base_url"),
        ({"api_key": ""}, "api_key"),
        ({"api_key": 123}, "api_key"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": (1, 2, 3)}, "timeout"),
        ({"timeout": None}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"access_token": ""}, "access_token"),
    ],
)
def test_bad_constructor_arguments_are_refused(kwargs: Dict[str, Any], fragment: str) -> None:
    kwargs.setdefault("base_url", BASE)
    with pytest.raises(ValidationError, match=fragment):
        AISpine(**kwargs)


def test_repr_hides_the_key() -> None:
    text = repr(AISpine(api_key="sk-live-abcdef", base_url=BASE, timeout=(2, 9)))
    assert "sk-live" not in text and "abcdef" not in text
    assert text == (
        "AISpine(base_url='https://api.example.test', api_key='***', timeout=(2.0, 9.0), "
        "max_retries=3)"
    )
    assert "api_key=None" in repr(AISpine(base_url=BASE))


def test_with_options_shares_the_pool_and_changes_only_what_was_asked(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "/health", json={"status": "healthy"})
    mock.get(BASE + "/health", json={"status": "healthy"})
    patient = client.with_options(timeout=(3, 120), max_retries=0)
    assert patient.timeout == (3.0, 120.0) and patient.max_retries == 0
    assert client.timeout == (30.0, 30.0) and client.max_retries == 3
    assert patient.base_url == client.base_url
    assert patient._transport._session is client._transport._session
    patient.health_check()
    client.health_check()
    assert mock.calls[0].request.req_kwargs["timeout"] == (3.0, 120.0)
    assert mock.calls[1].request.req_kwargs["timeout"] == (30.0, 30.0)
    assert client.with_options().timeout == client.timeout
    with pytest.raises(ValidationError):
        client.with_options(max_retries=-2)


def test_context_manager_closes_the_pool(mock: responses.RequestsMock) -> None:
    with AISpine(base_url=BASE) as client:
        adapter = client._transport._session.get_adapter(BASE)
        pool = adapter.poolmanager.connection_from_url(BASE)
        client.with_options(timeout=3).close()  # a derived client does not own the pool
        assert adapter.poolmanager.connection_from_url(BASE) is pool
    assert adapter.poolmanager.connection_from_url(BASE) is not pool


# --- Executions -------------------------------------------------------------------------------


def test_execute_flow_sends_the_request_once_and_returns_the_pending_execution(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", json=recorded_body("execute"))
    started = client.execute_flow(
        "echo_flow", {"msg": "hello", "n": 1}, {"source": "transcript"}, priority=3, user_id="u1"
    )
    assert started == recorded_body("execute")
    assert started["status"] == "pending"
    assert sent_json(mock.calls[0]) == {
        "flow_id": "echo_flow",
        "input_data": {"msg": "hello", "n": 1},
        "metadata": {"source": "transcript"},
        "priority": 3,
        "user_id": "u1",
    }


def test_execute_flow_sends_only_the_given_optional_fields(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", json=recorded_body("execute"))
    client.execute_flow("echo_flow", {})
    assert sent_json(mock.calls[0]) == {"flow_id": "echo_flow", "input_data": {}}


def test_execute_on_an_unknown_flow_raises_not_found(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", json=recorded_body("execute_unknown_flow"))
    with pytest.raises(NotFoundError) as caught:
        client.execute_flow("no_such_flow", {"msg": "hello"})
    assert caught.value.message.startswith("Flow 'no_such_flow' not found")
    assert "list_flows()" in caught.value.message
    assert caught.value.status_code == 200
    assert caught.value.body == recorded_body("execute_unknown_flow")
    assert len(mock.calls) == 1


def test_execute_refused_for_another_reason_raises_execution_error(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    refusal = {
        "execution_id": "00000000-0000-0000-0000-000000000000",
        "status": "failed",
        "result": None,
        "error": "Orchestrator not initialized",
        "execution_time": None,
    }
    mock.post(BASE + "/api/v1/flows/execute", json=refusal)
    with pytest.raises(ExecutionError) as caught:
        client.execute_flow("echo_flow", {})
    assert "Orchestrator not initialized" in caught.value.message
    assert caught.value.status == "failed"
    assert caught.value.execution == refusal


@pytest.mark.parametrize(
    "args, kwargs, fragment",
    [
        (("", {}), {}, "flow_id"),
        (("bad/id", {}), {}, "flow_id"),
        ((None, {}), {}, "flow_id"),
        (("f", "not a dict"), {}, "input_data must be a dict"),
        (("f", ["a"]), {}, "input_data must be a dict"),
        (("f", None), {}, "input_data must be a dict"),
        (("f", {"when": object()}), {}, "input_data must be JSON-serialisable"),
        (("f", {"x": float("nan")}), {}, "JSON-serialisable"),
        (("f", {}, "meta"), {}, "metadata must be a dict"),
        (("f", {}, {"s": {1}}), {}, "metadata must be JSON-serialisable"),
        (("f", {}), {"priority": 11}, "priority"),
        (("f", {}), {"priority": -1}, "priority"),
        (("f", {}), {"priority": True}, "priority"),
        (("f", {}), {"priority": "3"}, "priority"),
        (("f", {}), {"user_id": ""}, "user_id"),
    ],
)
def test_execute_flow_validates_before_sending(
    client: AISpine, mock: responses.RequestsMock, args: Any, kwargs: Any, fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        client.execute_flow(*args, **kwargs)
    assert len(mock.calls) == 0


def test_get_execution(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.get(EXECUTION_URL, json=recorded_body("execution_get_completed"))
    got = client.get_execution(EID.upper())
    assert got == recorded_body("execution_get_completed")
    assert got["output_data"]["b"]["msg"] == "hello"


@pytest.mark.parametrize("bad", ["not-a-uuid", "", None, 12, "../flows"])
def test_execution_ids_are_validated_before_sending(
    client: AISpine, mock: responses.RequestsMock, bad: Any
) -> None:
    for call in (
        client.get_execution,
        client.cancel_execution,
        client.get_execution_results,
        client.wait_for_execution,
    ):
        with pytest.raises(ValidationError, match="execution_id"):
            call(bad)
    assert len(mock.calls) == 0


def test_cancel_execution(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.post(EXECUTION_URL + "/cancel", json=recorded_body("execution_cancel"))
    mock.post(EXECUTION_URL + "/cancel", status=404, json=recorded_body("execution_cancel_again"))
    assert client.cancel_execution(EID) == {"message": "Execution cancelled successfully"}
    assert mock.calls[0].request.body is None
    with pytest.raises(NotFoundError, match="not found or not running"):
        client.cancel_execution(EID)


def test_list_executions_unwraps_and_pages(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    page = recorded_body("executions_list_paged")
    mock.get(
        BASE + "/api/v1/executions",
        json=page,
        match=[responses.matchers.query_param_matcher({"limit": "2", "offset": "1"})],
    )
    mock.get(
        BASE + "/api/v1/executions",
        json=recorded_body("executions_list"),
        match=[responses.matchers.query_param_matcher({"limit": "20", "offset": "0"})],
    )
    assert client.list_executions(limit=2, offset=1) == page["executions"]
    assert len(client.list_executions()) == 4


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": "5"}, {"offset": -1}, {"limit": True}])
def test_list_executions_validates_paging(
    client: AISpine, mock: responses.RequestsMock, kwargs: Any
) -> None:
    with pytest.raises(ValidationError):
        client.list_executions(**kwargs)
    assert len(mock.calls) == 0


def test_get_execution_results(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.get(EXECUTION_URL + "/results", json=recorded_body("execution_results"))
    results = client.get_execution_results(EID)
    assert [n["node_id"] for n in results["node_results"]] == ["a", "b"]
    assert results["execution"]["status"] == "completed"


# --- Waiting ------------------------------------------------------------------------------------


def test_wait_polls_at_once_then_backs_off_and_reports_each_status_change(
    client: AISpine, mock: responses.RequestsMock, sleeps: List[float]
) -> None:
    for status in ["pending", "running", "running", "running", "running", "running"]:
        mock.get(EXECUTION_URL, json=execution(status))
    mock.get(EXECUTION_URL, json=execution("completed", output_data={"b": {"ok": True}}))
    seen: List[str] = []
    done = client.wait_for_execution(
        EID, interval=2, on_progress=lambda e: seen.append(e["status"])
    )
    assert done["output_data"] == {"b": {"ok": True}}
    assert seen == ["pending", "running", "completed"]
    assert sleeps == pytest.approx([0.35, 0.2, 0.85, 0.85, 0.85, 0.85])
    assert len(mock.calls) == 7


def test_wait_raises_execution_error_on_failure(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    failed = recorded_body("execution_get_failed")
    mock.get(BASE + "/api/v1/executions/" + failed["execution_id"], json=failed)
    with pytest.raises(ExecutionError) as caught:
        client.wait_for_execution(failed["execution_id"])
    assert caught.value.status == "failed"
    assert caught.value.execution_id == failed["execution_id"]
    assert caught.value.execution == failed
    assert "Server error '500 Internal Server Error'" in caught.value.message


def test_wait_raises_execution_error_when_cancelled(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    cancelled = recorded_body("execution_get_after_cancel")
    mock.get(BASE + "/api/v1/executions/" + cancelled["execution_id"], json=cancelled)
    with pytest.raises(ExecutionError) as caught:
        client.wait_for_execution(cancelled["execution_id"])
    assert caught.value.status == "cancelled"
    assert "Execution cancelled by user" in caught.value.message


def test_wait_gives_up_at_the_deadline_without_sleeping_past_it(
    client: AISpine, mock: responses.RequestsMock, sleeps: List[float]
) -> None:
    mock.get(EXECUTION_URL, json=execution("running"))
    with pytest.raises(TimeoutError) as caught:
        client.wait_for_execution(EID, timeout=3, interval=1)
    assert sum(sleeps) == pytest.approx(3.0)
    assert sleeps == pytest.approx([0.35, 0.2, 0.85, 0.85, 0.75])
    assert caught.value.timeout == 3
    assert caught.value.execution == execution("running")
    assert caught.value.execution_id == EID
    assert "still 'running' after 3 s" in caught.value.message
    assert "cancel_execution()" in caught.value.message


def test_each_poll_is_bounded_by_the_time_left_and_not_retried(
    client: AISpine, mock: responses.RequestsMock, sleeps: List[float]
) -> None:
    mock.get(EXECUTION_URL, json=execution("running"))
    with pytest.raises(TimeoutError):
        client.wait_for_execution(EID, timeout=1.5, interval=1)
    # (connect, read), each capped by the time left (the attempt's deadline is too).
    limits = [call.request.req_kwargs["timeout"] for call in mock.calls]
    assert limits[0] == pytest.approx((1.5, 1.5), abs=0.05)
    assert limits[1] == pytest.approx((1.15, 1.15), abs=0.05)  # 0.35 s later
    assert limits[-1] == (0.05, 0.05)  # the last poll still gets a usable moment


def test_wait_rides_out_transient_failures(
    client: AISpine, mock: responses.RequestsMock, sleeps: List[float]
) -> None:
    mock.get(EXECUTION_URL, status=503, json={"detail": "down"})
    mock.get(EXECUTION_URL, body=requests.ConnectionError("reset"))
    mock.get(EXECUTION_URL, status=429, headers={"Retry-After": "5"})
    mock.get(EXECUTION_URL, body=requests.exceptions.ReadTimeout("slow"))
    mock.get(EXECUTION_URL, json=execution("completed"))
    assert client.wait_for_execution(EID, interval=1)["status"] == "completed"
    assert len(mock.calls) == 5  # one request per poll: no hidden retries inside a poll
    # After the Retry-After (5 s from 0.55 s), the next poll is the grid's, at 5.65 s.
    assert sleeps == pytest.approx([0.35, 0.2, 5.0, 0.1])


def test_wait_times_out_with_the_last_poll_error_attached(
    client: AISpine, mock: responses.RequestsMock, sleeps: List[float]
) -> None:
    mock.get(EXECUTION_URL, status=502, body="<html><title>Bad Gateway</title></html>")
    with pytest.raises(TimeoutError) as caught:
        client.wait_for_execution(EID, timeout=1, interval=1)
    assert caught.value.execution is None
    assert "not seen" in caught.value.message
    assert "Bad Gateway" in caught.value.message
    assert isinstance(caught.value.__cause__, ServerError)


@pytest.mark.parametrize(
    "status, error", [(404, NotFoundError), (401, AuthenticationError), (405, ServerError)]
)
def test_wait_does_not_retry_errors_that_will_not_heal(
    client: AISpine, mock: responses.RequestsMock, status: int, error: Any
) -> None:
    mock.get(EXECUTION_URL, status=status, json={"detail": "no"})
    with pytest.raises(error):
        client.wait_for_execution(EID)
    assert len(mock.calls) == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"timeout": -1}, {"interval": 0}, {"timeout": "5"}, {"on_progress": 3}],
)
def test_wait_validates_its_arguments(
    client: AISpine, mock: responses.RequestsMock, kwargs: Any
) -> None:
    with pytest.raises(ValidationError):
        client.wait_for_execution(EID, **kwargs)
    assert len(mock.calls) == 0


def test_execute_and_wait(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded, sleeps: List[float]
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", json=recorded_body("execute"))
    mock.get(EXECUTION_URL, json=execution("running"))
    mock.get(EXECUTION_URL, json=recorded_body("execution_get_completed"))
    seen: List[str] = []
    done = client.execute_and_wait(
        "echo_flow",
        {"msg": "hello", "n": 1},
        priority=3,
        on_progress=lambda e: seen.append(e["status"]),
    )
    assert done == recorded_body("execution_get_completed")
    assert seen == ["running", "completed"]
    assert sent_json(mock.calls[0])["priority"] == 3
    # The start answered "pending": the first poll waits for the schedule's first point
    # instead of asking at once (which would only see "running").
    assert sleeps == pytest.approx([0.35, 0.2])


def test_execute_and_wait_validates_waiting_arguments_before_starting(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    with pytest.raises(ValidationError, match="timeout"):
        client.execute_and_wait("echo_flow", {}, timeout=0)
    assert len(mock.calls) == 0


# --- Flows ------------------------------------------------------------------------------------


def test_list_and_get_flows(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.get(BASE + "/api/v1/flows", json=recorded_body("flows_list_v1"))
    mock.get(BASE + "/api/v1/flows/echo_flow", json=recorded_body("flow_get"))
    mock.get(
        BASE + "/api/v1/flows/no_such_flow", status=404, json=recorded_body("flow_get_not_found")
    )
    assert [f["flow_id"] for f in client.list_flows()] == ["echo_flow"]
    assert client.get_flow("echo_flow")["exit_points"] == ["b"]
    with pytest.raises(NotFoundError, match="Flow 'no_such_flow' not found"):
        client.get_flow("no_such_flow")


def test_flow_writes_send_the_user_token(client: AISpine, mock: responses.RequestsMock) -> None:
    created = dict(FLOW, version="1.0.0", metadata={})
    mock.post(BASE + "/api/v1/flows", status=201, json=created)
    mock.put(BASE + "/api/v1/flows/echo_flow", json=dict(created, version="1.0.1"))
    mock.delete(BASE + "/api/v1/flows/echo_flow", json={"message": "gone", "status": "deleted"})
    mock.get(BASE + "/api/v1/flows/my-flows", json={"flows": [created], "count": 1})
    assert client.create_flow(FLOW, access_token="tok") == created
    assert (
        client.update_flow("echo_flow", {**FLOW, "description": "v2"}, access_token="tok")[
            "version"
        ]
        == "1.0.1"
    )
    assert client.delete_flow("echo_flow", access_token="tok")["status"] == "deleted"
    assert client.list_my_flows(access_token="tok") == [created]
    for call in mock.calls:
        assert call.request.headers["Authorization"] == "Bearer tok"
    assert sent_json(mock.calls[0]) == FLOW
    assert sent_json(mock.calls[1])["description"] == "v2"


def test_update_flow_fills_in_the_flow_id(client: AISpine, mock: responses.RequestsMock) -> None:
    mock.put(BASE + "/api/v1/flows/echo_flow", json=FLOW)
    body = {k: v for k, v in FLOW.items() if k != "flow_id"}
    client.update_flow("echo_flow", body, access_token="tok")
    assert sent_json(mock.calls[0])["flow_id"] == "echo_flow"


def test_flow_tokens_default_to_the_clients_token_then_its_key(
    mock: responses.RequestsMock,
) -> None:
    mock.get(BASE + "/api/v1/flows/my-flows", json={"flows": []})
    mock.get(BASE + "/api/v1/flows/my-flows", json={"flows": []})
    AISpine(base_url=BASE, access_token="user-tok").list_my_flows()
    AISpine(base_url=BASE, api_key="sk-key").list_my_flows()
    assert mock.calls[0].request.headers["Authorization"] == "Bearer user-tok"
    assert mock.calls[1].request.headers["Authorization"] == "Bearer sk-key"


def test_flow_writes_without_any_token_fail_before_sending(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    with pytest.raises(AuthenticationError, match="create_flow needs a user access token"):
        client.create_flow(FLOW)
    with pytest.raises(AuthenticationError, match="update_flow"):
        client.update_flow("echo_flow", FLOW)
    with pytest.raises(AuthenticationError, match="delete_flow"):
        client.delete_flow("echo_flow")
    with pytest.raises(AuthenticationError, match="list_my_flows"):
        client.list_my_flows()
    with pytest.raises(ValidationError, match="access_token"):
        client.list_my_flows(access_token="")
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    "flow, fragment",
    [
        ("flow", "flow must be a dict"),
        ({"flow_id": "f"}, "missing required field"),
        ({**FLOW, "flow_id": "bad/id"}, "flow_id"),
        ({**FLOW, "nodes": "a"}, "nodes"),
        ({**FLOW, "nodes": [{"agent_id": "x"}]}, "nodes"),
        ({**FLOW, "metadata": {"x": {1, 2}}}, "JSON-serialisable"),
    ],
)
def test_flows_are_validated_before_sending(
    client: AISpine, mock: responses.RequestsMock, flow: Any, fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        client.create_flow(flow, access_token="tok")
    assert len(mock.calls) == 0


def test_update_flow_refuses_a_mismatched_flow_id(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    with pytest.raises(ValidationError, match="must match"):
        client.update_flow("other", FLOW, access_token="tok")
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    "status, detail, error",
    [
        (409, "Flow 'echo_flow' already exists", ConflictError),
        (403, "Cannot delete system flows", AuthorizationError),
        (401, "Invalid token", AuthenticationError),
        (500, "400: Failed to create flow", ValidationError),
    ],
)
def test_flow_write_errors_are_typed(
    client: AISpine, mock: responses.RequestsMock, status: int, detail: str, error: Any
) -> None:
    mock.post(BASE + "/api/v1/flows", status=status, json={"detail": detail})
    with pytest.raises(error) as caught:
        client.create_flow(FLOW, access_token="tok")
    assert detail.split(": ")[-1] in caught.value.message


# --- Agents -----------------------------------------------------------------------------------


def test_agents_lifecycle(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    listing = {"agents": [recorded_body("agent_get")], "count": 1, "authenticated": False}
    mock.get(BASE + "/api/v1/agents", json=listing)
    mock.get(BASE + "/api/v1/agents/echo_a", json=recorded_body("agent_get"))
    mock.post(BASE + "/api/v1/agents", json=recorded_body("agent_create"))
    mock.delete(BASE + "/api/v1/agents/temp_agent", json=recorded_body("agent_delete"))
    mock.delete(
        BASE + "/api/v1/agents/temp_agent", status=404, json=recorded_body("agent_delete_not_found")
    )
    assert client.list_agents() == listing["agents"]
    assert client.get_agent("echo_a")["agent_type"] == "input"
    created = client.create_agent(AGENT)  # type: ignore[arg-type]
    assert created["is_active"] is True and "created_at" in created
    assert sent_json(mock.calls[2]) == AGENT
    assert client.delete_agent("temp_agent") is True
    assert client.delete_agent("temp_agent") is False


def test_agent_listing_failure_is_a_server_error(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.get(BASE + "/api/v1/agents", status=500, json=recorded_body("agents_list_v1_offline_500"))
    with pytest.raises(ServerError, match="SUPABASE_URL"):
        client.list_agents()


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"description": None}, "description"),
        ({"agent_id": ".."}, "agent_id"),
        ({"name": ""}, "name"),
        ({"endpoint": "ftp://x"}, "endpoint"),
        ({"endpoint": "localhost:9000"}, "endpoint"),
        ({"capabilities": "echo"}, "capabilities"),
        ({"capabilities": ["echo", 3]}, "capabilities"),
        ({"agent_type": "bogus"}, "must be one of conditional, input, output, processor"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_agent_configs_are_validated_before_sending(
    client: AISpine, mock: responses.RequestsMock, change: Dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        client.create_agent({**AGENT, **change})  # type: ignore[typeddict-item]
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    "field", ["agent_id", "name", "description", "endpoint", "capabilities", "agent_type"]
)
def test_missing_agent_fields_are_named(
    client: AISpine, mock: responses.RequestsMock, field: str
) -> None:
    config = {k: v for k, v in AGENT.items() if k != field}
    with pytest.raises(ValidationError, match="missing required field.*" + field):
        client.create_agent(config)  # type: ignore[arg-type]
    assert len(mock.calls) == 0


def test_agent_ids_are_validated_before_sending(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    for call in (client.get_agent, client.delete_agent, client.get_flow):
        with pytest.raises(ValidationError):
            call("a/b")
    assert len(mock.calls) == 0


# --- System -----------------------------------------------------------------------------------


def test_system_endpoints(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    mock.get(BASE + "/health", json=recorded_body("health"))
    mock.get(BASE + "/metrics", json=recorded_body("metrics_after_runs"))
    mock.get(BASE + "/status", json=recorded_body("status_after_runs"))
    mock.get(BASE + "/api/v1/users/me", json=recorded_body("users_me"))
    mock.get(BASE + "/api/v1/users/me", json=recorded_body("users_me"))
    assert client.health_check()["status"] == "healthy"
    assert client.get_metrics()["total_executions"] == 5
    assert client.get_status()["agents"] == {"total": 2, "active": 2}
    assert client.get_current_user()["email"] == "master@ai-spine.com"
    assert client.check_credits() == 999999


def test_check_credits_refuses_a_record_without_integer_credits(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "/api/v1/users/me", json={"id": "u", "credits": "lots"})
    with pytest.raises(ServerError, match="credits"):
        client.check_credits()


# --- Unexpected answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"json": {"items": []}},
        {"json": {"flows": "none"}},
        {"body": "<html>hello</html>"},
        {"json": [1]},
    ],
)
def test_unexpected_success_bodies_are_server_errors_not_crashes(
    client: AISpine, mock: responses.RequestsMock, body: Dict[str, Any]
) -> None:
    mock.get(BASE + "/api/v1/flows", **body)
    with pytest.raises(ServerError, match="the API may have changed"):
        client.list_flows()


def test_rate_limit_reaches_the_caller_with_retry_after(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "/api/v1/flows", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as caught:
        client.list_flows()
    assert caught.value.retry_after == 120.0


# --- Hardening: secrets, redirects, odd answers ----------------------------------------------


def test_a_key_read_from_a_file_loses_its_newline(mock: responses.RequestsMock) -> None:
    mock.get(BASE + "/health", json={"status": "healthy"})
    AISpine(base_url=BASE, api_key="sk-from-file\n").health_check()
    assert mock.calls[0].request.headers["Authorization"] == "Bearer sk-from-file"


@pytest.mark.parametrize(
    "secret", ["sk-\x00secret", "sk-s\u20acret", "sk secret", b"sk-secret", "  "]
)
def test_unusable_secrets_are_refused_without_being_echoed(secret: Any) -> None:
    for kwargs in ({"api_key": secret}, {"access_token": secret}):
        with pytest.raises(ValidationError) as caught:
            AISpine(base_url=BASE, **kwargs)
        assert "secret" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        AISpine(base_url=BASE).list_my_flows(access_token=secret)
    assert "secret" not in str(caught.value)


def test_no_credentials_are_taken_from_netrc(
    mock: responses.RequestsMock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example.test login bob password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    mock.get(BASE + "/health", json={"status": "healthy"})
    AISpine(base_url=BASE).health_check()
    assert "Authorization" not in mock.calls[0].request.headers


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(
    client: AISpine, mock: responses.RequestsMock, status: int
) -> None:
    mock.post(
        BASE + "/api/v1/flows/execute",
        status=status,
        headers={"Location": BASE + "/api/v1/flows"},
    )
    with pytest.raises(ServerError) as caught:
        client.execute_flow("echo_flow", {})
    assert caught.value.status_code == status
    assert "redirected POST" in caught.value.message
    assert len(mock.calls) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": ""},
        {"base_url": "http://h.example/?x=1"},
        {"base_url": "http://h.example/#top"},
        {"base_url": "http://user:pw@h.example"},
        {"base_url": "http://h.example:notaport"},
        {"base_url": "http://h example"},
    ],
)
def test_base_urls_that_cannot_take_a_path_are_refused(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        AISpine(**kwargs)


@pytest.mark.parametrize("agent_id", ["echo\n", "active", "my-agents"])
def test_ids_with_a_newline_or_shadowed_by_routes_are_refused(
    client: AISpine, mock: responses.RequestsMock, agent_id: str
) -> None:
    with pytest.raises(ValidationError, match="agent_id"):
        client.get_agent(agent_id)
    with pytest.raises(ValidationError, match="agent_id"):
        client.delete_agent(agent_id)
    for flow_id in ("my-flows", "execute", "f\n"):
        with pytest.raises(ValidationError, match="flow_id"):
            client.get_flow(flow_id)
    assert len(mock.calls) == 0


@pytest.mark.parametrize("endpoint", ["http://x y", "http://h:bad", "http://", "https:///p"])
def test_agent_endpoints_must_be_usable_urls(
    client: AISpine, mock: responses.RequestsMock, endpoint: str
) -> None:
    with pytest.raises(ValidationError, match="endpoint"):
        client.create_agent({**AGENT, "endpoint": endpoint})  # type: ignore[typeddict-item]
    assert len(mock.calls) == 0


def test_execute_and_wait_checks_on_progress_before_starting(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    with pytest.raises(ValidationError, match="on_progress"):
        client.execute_and_wait("echo_flow", {}, on_progress="x")  # type: ignore[arg-type]
    assert len(mock.calls) == 0


def test_an_execute_answer_without_an_id_is_a_server_error_with_context(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.post(BASE + "/api/v1/flows/execute", json={})
    with pytest.raises(ServerError) as caught:
        client.execute_and_wait("echo_flow", {})
    assert caught.value.status_code == 200
    assert caught.value.method == "POST"
    assert caught.value.url == BASE + "/api/v1/flows/execute"
    assert caught.value.body == {}


def test_shape_errors_carry_the_answer_s_details(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "/api/v1/users/me", json={"id": "u"}, headers={"X-Trace": "t1"})
    with pytest.raises(ServerError) as caught:
        client.check_credits()
    assert (caught.value.status_code, caught.value.method) == (200, "GET")
    assert caught.value.headers["x-trace"] == "t1"


def test_input_too_deep_to_encode_is_refused(
    client: AISpine, mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How deep json can go differs between Pythons; what matters is what happens when it
    # cannot: a RecursionError while encoding becomes a ValidationError and nothing is sent.
    import ai_spine.utils

    def too_deep(value: Any, **kwargs: Any) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(ai_spine.utils, "json", types.SimpleNamespace(dumps=too_deep))
    with pytest.raises(ValidationError, match="input_data must be JSON-serialisable"):
        client.execute_flow("echo_flow", {"x": {"y": {}}})
    assert len(mock.calls) == 0


def test_one_poll_transport_per_client_shared_by_threads(client: AISpine) -> None:
    poller = client._poller
    assert poller.policy.max_retries == 0
    assert poller._session is client._transport._session
    clone = client.with_options(timeout=5)
    assert clone._poller is not poller and clone._poller.timeout == (5.0, 5.0)
