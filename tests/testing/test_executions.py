"""Executions: the engine's lifecycle against real agents, results, cancel, list, metrics."""

from typing import Any, Dict, List

import pytest
import requests

from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

from ._support import agent_body, execute, flow_body, free_port, poll, seed_echo

NIL_UUID = "00000000-0000-0000-0000-000000000000"
UNKNOWN_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def echo_server(demo_server: LocalAISpine) -> LocalAISpine:
    """The demo server plus echo agents echo_a, echo_b and the two-node flow echo_flow."""
    seed_echo(demo_server)
    demo_server.add_flow(flow_body())
    return demo_server


def _get(http: requests.Session, server: LocalAISpine, execution_id: str) -> Dict[str, Any]:
    answer = http.get(server.url + "/api/v1/executions/" + execution_id)
    assert answer.status_code == 200, answer.text
    body: Dict[str, Any] = answer.json()
    return body


def _results(http: requests.Session, server: LocalAISpine, execution_id: str) -> Dict[str, Any]:
    answer = http.get(server.url + "/api/v1/executions/%s/results" % execution_id)
    assert answer.status_code == 200, answer.text
    body: Dict[str, Any] = answer.json()
    return body


def _wait(
    http: requests.Session, server: LocalAISpine, execution_id: str, *statuses: str
) -> Dict[str, Any]:
    wanted = statuses or ("completed", "failed", "cancelled")
    return poll(lambda: _get(http, server, execution_id), lambda e: e["status"] in wanted)


def test_demo_flow_runs_sentiment_then_credit(
    demo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(
        http,
        demo_server,
        DEMO_FLOW_ID,
        {"text": "Great, stable job and a promotion", "income": 85000, "debt": 12000},
    )
    execution = _wait(http, demo_server, execution_id)
    assert execution["status"] == "completed"
    assert execution["error_message"] is None
    assert isinstance(execution["completed_at"], str)
    credit = execution["output_data"]["credit"]
    assert credit["decision"] == "approve"
    assert 650 <= credit["credit_score"] <= 850

    results = _results(http, demo_server, execution_id)
    assert results["execution"] == execution
    sentiment, scoring = results["node_results"]
    assert sentiment["node_id"] == "sentiment"
    assert sentiment["agent_id"] == "demo_sentiment"
    assert sentiment["output_data"]["sentiment"] == "positive"
    # The second node's input is the execution input updated with the first node's output.
    assert scoring["input_data"] == dict(execution["input_data"], **sentiment["output_data"])
    assert scoring["output_data"] == credit
    for node in (sentiment, scoring):
        assert node["status"] == "completed"
        assert node["execution_id"] == execution_id
        assert "error_message" not in node
        assert isinstance(node["execution_time_ms"], int)
        assert set(node) == {
            "id", "execution_id", "node_id", "agent_id", "status", "input_data",
            "output_data", "created_at", "execution_time_ms", "updated_at", "completed_at",
        }  # fmt: skip


def test_echo_flow_output_is_keyed_by_exit_point(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(http, echo_server, "echo_flow", {"msg": "hello", "n": 1})
    execution = _wait(http, echo_server, execution_id)
    assert execution["output_data"] == {
        "n1": {"msg": "hello", "n": 1, "node_id": "n1", "handled_by": "/echo_b/execute"}
    }
    assert set(execution) == {
        "execution_id", "flow_id", "status", "input_data", "output_data", "error_message",
        "created_at", "updated_at", "completed_at",
    }  # fmt: skip


def test_agent_http_500_fails_the_execution(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(http, echo_server, "echo_flow", {"msg": "boom", "fail": True})
    execution = _wait(http, echo_server, execution_id)
    demo = echo_server.demo_agents
    assert demo is not None
    expected = (
        "Server error '500 Internal Server Error' for url '%s/execute'\n"
        "For more information check: "
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/500" % demo.agent_url("echo_a")
    )
    assert execution["status"] == "failed"
    assert execution["output_data"] == {}
    assert execution["error_message"] == expected
    nodes = _results(http, echo_server, execution_id)["node_results"]
    assert len(nodes) == 1, "later nodes must not run"
    assert nodes[0]["status"] == "failed"
    assert nodes[0]["error_message"] == expected
    assert nodes[0]["output_data"] == {}


def test_agent_client_error_message(demo_server: LocalAISpine, http: requests.Session) -> None:
    execution_id = execute(http, demo_server, DEMO_FLOW_ID, {"text": "no income given"})
    execution = _wait(http, demo_server, execution_id)
    assert execution["error_message"].startswith("Client error '422 Unprocessable ")


def test_agent_timeout_leaves_an_empty_error_message(http: requests.Session) -> None:
    with LocalAISpine(with_demo_agents=True, agent_timeout=0.2) as server:
        seed_echo(server)
        server.add_flow(flow_body())
        execution_id = execute(http, server, "echo_flow", {"sleep": 2})
        execution = server.wait_for_execution(execution_id, timeout=5)
        assert execution["status"] == "failed"
        assert execution["error_message"] == ""


def test_unreachable_agent_fails_the_node(server: LocalAISpine, http: requests.Session) -> None:
    server.add_agent(agent_body("gone", "http://127.0.0.1:%d/gone" % free_port()))
    server.add_flow(flow_body("f", agents=["gone"]))
    execution = _wait(http, server, execute(http, server, "f", {}))
    assert execution["status"] == "failed"
    assert execution["error_message"] == "All connection attempts failed"


def test_agent_deleted_after_flow_creation(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    http.delete(echo_server.url + "/api/v1/agents/echo_b")
    execution = _wait(http, echo_server, execute(http, echo_server, "echo_flow", {}))
    assert execution["status"] == "failed"
    assert execution["error_message"] == "Agent 'echo_b' not found or not active"


def test_remote_agents_are_not_called(server: LocalAISpine, http: requests.Session) -> None:
    # 192.0.2.0/24 is TEST-NET-1: refused before any connection is attempted.
    server.add_agent(agent_body("remote", "http://192.0.2.1/agent"))
    server.add_flow(flow_body("f", agents=["remote"]))
    execution = _wait(http, server, execute(http, server, "f", {}))
    assert execution["status"] == "failed"
    assert "is not on loopback" in execution["error_message"]


@pytest.mark.parametrize(
    "endpoint, message",
    [
        ("ftp://127.0.0.1/x", "Request URL has an unsupported protocol 'ftp://'."),
        ("127.0.0.1/x", "Request URL is missing an 'http://' or 'https://' protocol."),
    ],
)
def test_bad_agent_urls(
    server: LocalAISpine, http: requests.Session, endpoint: str, message: str
) -> None:
    server.add_agent(agent_body("odd", endpoint))
    server.add_flow(flow_body("f", agents=["odd"]))
    execution = _wait(http, server, execute(http, server, "f", {}))
    assert execution["error_message"] == message


def test_node_without_agent_passes_its_input_through(
    server: LocalAISpine, http: requests.Session
) -> None:
    server.add_flow(
        flow_body("p", nodes=[{"id": "n0", "agent_id": None, "type": "input"}], exit_points=["n0"])
    )
    execution = _wait(http, server, execute(http, server, "p", {"x": 1}))
    assert execution["status"] == "completed"
    assert execution["output_data"] == {"n0": {"x": 1}}


def test_running_is_visible_while_a_node_works(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(http, echo_server, "echo_flow", {"sleep": 0.3})
    running = _wait(http, echo_server, execution_id, "running")
    assert running["completed_at"] is None
    assert running["output_data"] == {}
    assert _wait(http, echo_server, execution_id)["status"] == "completed"


def test_cancel_marks_cancelled_then_the_worker_overwrites(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(http, echo_server, "echo_flow", {"msg": "cancel me", "sleep": 0.3})
    cancel_url = echo_server.url + "/api/v1/executions/%s/cancel" % execution_id
    answer = http.post(cancel_url)
    assert answer.status_code == 200
    assert answer.json() == {"message": "Execution cancelled successfully"}

    cancelled = _get(http, echo_server, execution_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["error_message"] == "Execution cancelled by user"
    assert cancelled["completed_at"] is not None

    again = http.post(cancel_url)
    assert again.status_code == 404
    assert again.json() == {"detail": "Execution '%s' not found or not running" % execution_id}

    # Like the real server, cancel stops nothing: the nodes finish and overwrite the status.
    final = _wait(http, echo_server, execution_id, "completed")
    assert final["error_message"] == "Execution cancelled by user"
    assert final["output_data"]["n1"]["msg"] == "cancel me"
    assert len(_results(http, echo_server, execution_id)["node_results"]) == 2


def test_cancel_errors(echo_server: LocalAISpine, http: requests.Session) -> None:
    done = _wait(http, echo_server, execute(http, echo_server, "echo_flow", {}))
    finished = http.post(echo_server.url + "/api/v1/executions/%s/cancel" % done["execution_id"])
    assert finished.status_code == 404
    unknown = http.post(echo_server.url + "/api/v1/executions/%s/cancel" % UNKNOWN_ID)
    assert unknown.json() == {"detail": "Execution '%s' not found or not running" % UNKNOWN_ID}
    invalid = http.post(echo_server.url + "/api/v1/executions/nope/cancel")
    assert invalid.status_code == 422


def test_execute_unknown_flow_stores_nothing(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.post(
        server.url + "/api/v1/flows/execute",
        json={"flow_id": "no_such_flow", "input_data": {"msg": "hello"}},
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "execution_id": NIL_UUID,
        "status": "failed",
        "result": None,
        "error": "Flow 'no_such_flow' not found",
        "execution_time": None,
    }
    assert http.get(server.url + "/api/v1/executions/" + NIL_UUID).status_code == 404
    assert http.get(server.url + "/api/v1/executions").json()["count"] == 0


def test_execute_answer_is_pending(echo_server: LocalAISpine, http: requests.Session) -> None:
    answer = http.post(
        echo_server.url + "/api/v1/flows/execute",
        json={
            "flow_id": "echo_flow",
            "input_data": {"a": 1},
            "priority": 3,
            "metadata": {"source": "test"},
            "user_id": "u1",
            "timeout": 30,
        },
    )
    body = answer.json()
    assert answer.status_code == 200
    assert body["status"] == "pending"
    assert set(body) == {"execution_id", "status", "result", "error", "execution_time"}
    assert body["result"] is None and body["error"] is None and body["execution_time"] is None


@pytest.mark.parametrize(
    "body, detail",
    [
        (
            {"flow_id": "f"},
            [{"type": "missing", "loc": ["body", "input_data"], "msg": "Field required",
              "input": {"flow_id": "f"}}],
        ),
        (
            {"flow_id": "f", "input_data": "not a dict"},
            [{"type": "dict_type", "loc": ["body", "input_data"],
              "msg": "Input should be a valid dictionary", "input": "not a dict"}],
        ),
        (
            {"flow_id": "f", "input_data": {}, "priority": 11},
            [{"type": "less_than_equal", "loc": ["body", "priority"],
              "msg": "Input should be less than or equal to 10", "input": 11, "ctx": {"le": 10}}],
        ),
        (
            {"flow_id": "f", "input_data": {}, "priority": -1},
            [{"type": "greater_than_equal", "loc": ["body", "priority"],
              "msg": "Input should be greater than or equal to 0", "input": -1,
              "ctx": {"ge": 0}}],
        ),
        (
            {"flow_id": "f", "input_data": {}, "priority": "high"},
            [{"type": "int_parsing", "loc": ["body", "priority"],
              "msg": "Input should be a valid integer, unable to parse string as an integer",
              "input": "high"}],
        ),
        (
            {"flow_id": "f", "input_data": {}, "priority": 2.5},
            [{"type": "int_from_float", "loc": ["body", "priority"],
              "msg": "Input should be a valid integer, got a number with a fractional part",
              "input": 2.5}],
        ),
        (
            {"flow_id": 5, "input_data": {}, "metadata": []},
            [{"type": "string_type", "loc": ["body", "flow_id"],
              "msg": "Input should be a valid string", "input": 5},
             {"type": "dict_type", "loc": ["body", "metadata"],
              "msg": "Input should be a valid dictionary", "input": []}],
        ),
        (
            ["x"],
            [{"type": "model_attributes_type", "loc": ["body"],
              "msg": "Input should be a valid dictionary or object to extract fields from",
              "input": ["x"]}],
        ),
    ],
)  # fmt: skip
def test_execute_validation_is_fastapi_422(
    server: LocalAISpine, http: requests.Session, body: Any, detail: Any
) -> None:
    answer = http.post(server.url + "/api/v1/flows/execute", json=body)
    assert answer.status_code == 422
    assert answer.json() == {"detail": detail}


def test_execute_malformed_json(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.post(
        server.url + "/api/v1/flows/execute",
        data=b'{"flow_id": "echo_flow", "input_data": {',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body", 40],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "Expecting property name enclosed in double quotes"},
            }
        ]
    }


@pytest.mark.parametrize("suffix", ["", "/results", "/cancel", "/messages"])
def test_invalid_execution_id_is_422(
    server: LocalAISpine, http: requests.Session, suffix: str
) -> None:
    method = "POST" if suffix == "/cancel" else "GET"
    answer = http.request(method, server.url + "/api/v1/executions/not-a-uuid" + suffix)
    assert answer.status_code == 422
    problem = (
        "invalid character: expected an optional prefix of `urn:uuid:` followed by "
        "[0-9a-fA-F-], found `n` at 1"
    )
    assert answer.json() == {
        "detail": [
            {
                "type": "uuid_parsing",
                "loc": ["path", "execution_id"],
                "msg": "Input should be a valid UUID, " + problem,
                "input": "not-a-uuid",
                "ctx": {"error": problem},
            }
        ]
    }


@pytest.mark.parametrize("suffix", ["", "/results"])
def test_unknown_execution_is_404(
    server: LocalAISpine, http: requests.Session, suffix: str
) -> None:
    answer = http.get(server.url + "/api/v1/executions/" + UNKNOWN_ID + suffix)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Execution '%s' not found" % UNKNOWN_ID}


def test_execution_ids_are_accepted_in_every_uuid_form(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(http, echo_server, "echo_flow", {})
    for form in (execution_id.upper(), execution_id.replace("-", ""), "{%s}" % execution_id):
        assert _get(http, echo_server, form)["execution_id"] == execution_id


def test_list_is_newest_first_with_limit_and_offset(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    ids = [execute(http, echo_server, "echo_flow", {"i": i}) for i in range(3)]
    for execution_id in ids:
        echo_server.wait_for_execution(execution_id)
    everything = http.get(echo_server.url + "/api/v1/executions").json()
    assert [e["execution_id"] for e in everything["executions"]] == ids[::-1]
    assert (everything["count"], everything["limit"], everything["offset"]) == (3, 20, 0)

    page = http.get(
        echo_server.url + "/api/v1/executions",
        params={"limit": 2, "offset": 1, "status": "failed", "flow_id": "ignored"},
    ).json()
    assert [e["execution_id"] for e in page["executions"]] == [ids[1], ids[0]]
    assert (page["count"], page["limit"], page["offset"]) == (2, 2, 1)

    beyond = http.get(echo_server.url + "/api/v1/executions", params={"offset": 10}).json()
    assert beyond == {"executions": [], "count": 0, "limit": 20, "offset": 10}


def test_list_ignores_status_and_slices_literally(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    ok = execute(http, echo_server, "echo_flow", {})
    failed = execute(http, echo_server, "echo_flow", {"fail": True})
    newest = execute(http, echo_server, "echo_flow", {})
    for execution_id in (ok, failed, newest):
        echo_server.wait_for_execution(execution_id)
    url = echo_server.url + "/api/v1/executions"

    def listed(**query: Any) -> Dict[str, Any]:
        answer = http.get(url, params=query)
        assert answer.status_code == 200, answer.text
        body: Dict[str, Any] = answer.json()
        assert set(body) == {"executions", "count", "limit", "offset"}
        assert body["count"] == len(body["executions"])
        return body

    def ids(**query: Any) -> List[str]:
        return [e["execution_id"] for e in listed(**query)["executions"]]

    filtered = listed(status="failed")
    assert [e["status"] for e in filtered["executions"]] == ["completed", "failed", "completed"]
    assert ids(status="no-such-status", flow_id="nope") == [newest, failed, ok]
    assert listed(limit=0) == {"executions": [], "count": 0, "limit": 0, "offset": 0}
    # Negative values act as Python slice bounds: [offset:offset + limit] of newest first.
    assert ids(limit=-1) == [newest, failed]
    assert listed(limit=-1)["limit"] == -1
    assert ids(offset=-1) == [ok]
    assert ids(limit=1, offset=3) == []


def test_list_with_bad_query_types_is_422(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.get(server.url + "/api/v1/executions", params={"limit": "ten", "offset": "x"})
    assert answer.status_code == 422
    message = "Input should be a valid integer, unable to parse string as an integer"
    assert answer.json() == {
        "detail": [
            {"type": "int_parsing", "loc": ["query", "limit"], "msg": message, "input": "ten"},
            {"type": "int_parsing", "loc": ["query", "offset"], "msg": message, "input": "x"},
        ]
    }


def test_metrics_count_real_executions(echo_server: LocalAISpine, http: requests.Session) -> None:
    ok = execute(http, echo_server, "echo_flow", {})
    failed = execute(http, echo_server, "echo_flow", {"fail": True})
    for execution_id in (ok, failed):
        echo_server.wait_for_execution(execution_id)
    slow = execute(http, echo_server, "echo_flow", {"sleep": 5})
    http.post(echo_server.url + "/api/v1/executions/%s/cancel" % slow)
    metrics = http.get(echo_server.url + "/metrics").json()
    newest = _get(http, echo_server, slow)
    assert metrics["total_executions"] == 3
    assert metrics["successful_executions"] == 1
    assert metrics["failed_executions"] == 1
    # The real server never fills these two in.
    assert metrics["cancelled_executions"] == 0
    assert metrics["running_executions"] == 0
    assert metrics["last_execution"] == newest["created_at"]
    assert metrics["total_execution_time"] > 0
    assert metrics["average_execution_time"] == pytest.approx(metrics["total_execution_time"] / 3)


def test_metrics_never_count_running_executions(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execute(http, echo_server, "echo_flow", {"sleep": 5})
    metrics = http.get(echo_server.url + "/metrics").json()
    assert metrics["total_executions"] == 1
    assert metrics["running_executions"] == 0
    assert metrics["average_execution_time"] == 0.0


def test_messages_are_always_an_empty_page(
    echo_server: LocalAISpine, http: requests.Session
) -> None:
    execution_id = execute(http, echo_server, "echo_flow", {"msg": "hello"})
    echo_server.wait_for_execution(execution_id)
    url = echo_server.url + "/api/v1/executions/%s/messages"
    for known_or_not in (execution_id, UNKNOWN_ID):
        answer = http.get(url % known_or_not)
        assert answer.status_code == 200
        assert answer.json() == {"messages": [], "count": 0, "execution_id": known_or_not}
    paged = http.get(url % execution_id, params={"limit": 10, "offset": 5})
    assert paged.json() == {"messages": [], "count": 0, "execution_id": execution_id}
    # The id comes back in canonical form, whatever form was sent.
    braced = http.get(url % ("{%s}" % execution_id.upper()))
    assert braced.json()["execution_id"] == execution_id


def test_messages_with_bad_query_types_is_422(server: LocalAISpine, http: requests.Session) -> None:
    message = "Input should be a valid integer, unable to parse string as an integer"
    url = server.url + "/api/v1/executions/%s/messages"
    answer = http.get(url % UNKNOWN_ID, params={"limit": "ten", "offset": "1.5"})
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {"type": "int_parsing", "loc": ["query", "limit"], "msg": message, "input": "ten"},
            {"type": "int_parsing", "loc": ["query", "offset"], "msg": message, "input": "1.5"},
        ]
    }
    # A bad id and a bad query are reported together, the path first.
    both = http.get(url % "not-a-uuid", params={"offset": "x"})
    assert [error["loc"] for error in both.json()["detail"]] == [
        ["path", "execution_id"],
        ["query", "offset"],
    ]


def test_inactive_agent_fails_its_node(echo_server: LocalAISpine, http: requests.Session) -> None:
    agent = http.get(echo_server.url + "/api/v1/agents/echo_b").json()
    echo_server.add_agent(dict(agent, is_active=False))
    execution = _wait(http, echo_server, execute(http, echo_server, "echo_flow", {}))
    assert execution["status"] == "failed"
    assert execution["error_message"] == "Agent 'echo_b' not found or not active"
