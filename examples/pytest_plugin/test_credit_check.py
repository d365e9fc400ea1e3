"""A user's tests written only with the fixtures of the ai-spine-sdk pytest plugin.

Run them with ``pytest`` in this folder (against a local server started per session or per
test), or with ``pytest --ai-spine-url http://127.0.0.1:8000`` against another AI Spine: the
tests marked ``ai_spine_local`` and those using ``ai_spine_server`` are then skipped.
"""

import pytest

from ai_spine import NotFoundError, ServerError
from ai_spine.testing import DEMO_FLOW_ID

APPLICANT = {"text": "stable job, great references", "income": 85000, "debt": 9000}
ECHO_AGENT = {
    "agent_id": "my_echo",
    "name": "My echo",
    "description": "answers with its input",
    "capabilities": ["echo"],
    "agent_type": "processor",
}


def test_the_server_is_healthy(ai_spine_client):
    assert ai_spine_client.health_check()["status"] == "healthy"


def test_an_unknown_flow_is_not_found(ai_spine_client):
    with pytest.raises(NotFoundError):
        ai_spine_client.execute_flow("no_such_flow", {})


@pytest.mark.ai_spine_server(with_demo_agents=True)
def test_the_demo_flow_approves_a_good_applicant(ai_spine_server, ai_spine_client):
    execution = ai_spine_client.execute_and_wait(DEMO_FLOW_ID, APPLICANT, timeout=30)
    assert execution["output_data"]["credit"]["decision"] == "approve"
    assert len(ai_spine_server.requests_to("POST", "/api/v1/flows/execute")) == 1


@pytest.mark.ai_spine_server(with_demo_agents=True)
def test_my_own_flow(ai_spine_server, ai_spine_client, ai_spine_access_token):
    echo = dict(ECHO_AGENT, endpoint=ai_spine_server.demo_agents.agent_url("echo"))
    ai_spine_client.create_agent(echo)
    ai_spine_client.create_flow(
        {
            "flow_id": "my_flow",
            "name": "My flow",
            "description": "one echo node",
            "nodes": [{"id": "only", "agent_id": "my_echo", "type": "input"}],
            "entry_point": "only",
            "exit_points": ["only"],
        },
        access_token=ai_spine_access_token,
    )
    execution = ai_spine_client.execute_and_wait("my_flow", {"hello": "world"}, timeout=30)
    assert execution["status"] == "completed"


@pytest.mark.ai_spine_local
def test_a_proxy_error_is_retried(ai_spine_session_server, ai_spine_client):
    ai_spine_session_server.inject_fault("GET", "/status", status=502, body="<html>Bad</html>")
    assert ai_spine_client.get_status()["status"] == "operational"
    ai_spine_session_server.inject_fault(
        "GET", "/metrics", status=503, times=None, headers={"Retry-After": "0"}
    )
    with pytest.raises(ServerError):
        ai_spine_client.with_options(max_retries=1).get_metrics()
    ai_spine_session_server.clear_faults()


def test_the_async_client(ai_spine_async_client, ai_spine_run):
    health = ai_spine_run(ai_spine_async_client.health_check())
    assert health["status"] == "healthy"
