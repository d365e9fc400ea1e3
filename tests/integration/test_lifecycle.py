"""The whole lifecycle through the SDK against a deployment (the local server by default).

Nothing here depends on the local server's internals: pointed at another deployment with
AI_SPINE_BASE_URL, the same tests run unchanged.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List

import pytest

from ai_spine import (
    AISpine,
    ConflictError,
    ExecutionError,
    ExecutionStatus,
    NotFoundError,
    ValidationError,
)
from ai_spine.utils import parse_timestamp

Seed = Any  # tests/integration/conftest.py's Seed: credit_flow, echo_flow, agent_ids

pytestmark = pytest.mark.integration

APPLICANT = {"text": "stable job and great references", "income": 85000, "debt": 9000}


def wait_for_status(client: AISpine, execution_id: str, status: str) -> Any:
    """Poll until the execution reaches ``status`` (or 10 s pass)."""
    deadline = time.monotonic() + 10
    while True:
        execution = client.get_execution(execution_id)
        if execution["status"] == status or time.monotonic() > deadline:
            return execution
        time.sleep(0.02)


def test_system_endpoints(client: AISpine) -> None:
    health = client.health_check()
    assert health["status"] == "healthy" and isinstance(health["timestamp"], float)
    status = client.get_status()
    assert status["status"] == "operational"
    assert set(status["agents"]) >= {"total", "active"}
    metrics = client.get_metrics()
    assert isinstance(metrics["total_executions"], int)
    assert client.check_credits() >= 0
    assert client.get_current_user()["id"]


def test_execute_and_wait_runs_the_flow_and_reports_progress(client: AISpine, seed: Seed) -> None:
    seen: List[str] = []
    done = client.execute_and_wait(
        seed.credit_flow,
        APPLICANT,
        {"source": "integration"},
        timeout=30,
        interval=0.2,
        priority=5,
        on_progress=lambda e: seen.append(e["status"]),
    )
    assert done["status"] == "completed"
    assert set(done["output_data"]) == {"credit"}
    assert done["output_data"]["credit"]["decision"] == "approve"
    assert done["input_data"] == APPLICANT
    assert seen[-1] == "completed"
    assert len(seen) == len(set(seen))  # called on changes only
    assert set(seen) <= {"pending", "running", "completed"}
    assert parse_timestamp(done["completed_at"]) >= parse_timestamp(done["created_at"])


def test_results_show_each_node_in_dependency_order(client: AISpine, seed: Seed) -> None:
    done = client.execute_and_wait(seed.echo_flow, {"msg": "hello", "n": 1}, timeout=30)
    assert done["output_data"]["b"]["msg"] == "hello"
    results = client.get_execution_results(done["execution_id"])
    assert results["execution"]["execution_id"] == done["execution_id"]
    nodes = results["node_results"]
    assert [n["node_id"] for n in nodes] == ["a", "b"]
    assert all(n["status"] == "completed" for n in nodes)
    # b's input is the execution's input merged with a's output.
    assert nodes[1]["input_data"]["node_id"] == "a"
    assert nodes[1]["input_data"]["msg"] == "hello"


def test_a_failing_agent_fails_the_execution(client: AISpine, seed: Seed) -> None:
    started = client.execute_flow(seed.echo_flow, {"msg": "boom", "fail": True})
    with pytest.raises(ExecutionError) as caught:
        client.wait_for_execution(started["execution_id"], timeout=30, interval=0.2)
    assert caught.value.status == "failed"
    assert caught.value.execution_id == started["execution_id"]
    assert caught.value.execution is not None and caught.value.execution["error_message"]
    nodes = client.get_execution_results(started["execution_id"])["node_results"]
    assert [(n["node_id"], n["status"]) for n in nodes] == [("a", "failed")]


def test_cancel_marks_a_running_execution_cancelled(client: AISpine, seed: Seed) -> None:
    started = client.execute_flow(seed.echo_flow, {"msg": "cancel me", "sleep": 0.4})
    execution_id = started["execution_id"]
    assert wait_for_status(client, execution_id, "running")["status"] == "running"
    assert client.cancel_execution(execution_id) == {"message": "Execution cancelled successfully"}
    cancelled = client.get_execution(execution_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["error_message"] == "Execution cancelled by user"
    assert cancelled["completed_at"] is not None
    with pytest.raises(NotFoundError, match="not found or not running"):
        client.cancel_execution(execution_id)
    with pytest.raises(ExecutionError) as caught:
        client.wait_for_execution(execution_id, timeout=30)
    assert caught.value.status == "cancelled"
    # As on the real server, cancel stops nothing: the nodes finish and overwrite the status.
    later = wait_for_status(client, execution_id, "completed")
    assert later["status"] == "completed"
    assert later["error_message"] == "Execution cancelled by user"


def test_wait_times_out_on_a_slow_execution_and_it_keeps_running(
    client: AISpine, seed: Seed
) -> None:
    started = client.execute_flow(seed.echo_flow, {"msg": "slow", "sleep": 0.5})
    with pytest.raises(TimeoutError) as caught:  # the built-in catches the SDK's too
        client.wait_for_execution(started["execution_id"], timeout=0.3, interval=0.1)
    assert caught.value.execution["status"] in ("pending", "running")  # type: ignore[attr-defined]
    done = client.wait_for_execution(started["execution_id"], timeout=30, interval=0.2)
    assert done["status"] == "completed"


def test_an_unknown_flow_is_not_found_and_nothing_is_stored(client: AISpine) -> None:
    before = client.list_executions(limit=1)
    with pytest.raises(NotFoundError, match="not found"):
        client.execute_flow("no_such_flow_" + uuid.uuid4().hex[:8], {"msg": "hello"})
    assert client.list_executions(limit=1) == before


def test_executions_are_listed_newest_first_with_paging(client: AISpine, seed: Seed) -> None:
    ids = [client.execute_flow(seed.echo_flow, {"n": i})["execution_id"] for i in range(3)]
    for execution_id in ids:
        client.wait_for_execution(execution_id, timeout=30, interval=0.1)
    newest = [e["execution_id"] for e in client.list_executions(limit=3)]
    assert newest == ids[::-1]
    assert [e["execution_id"] for e in client.list_executions(limit=2, offset=1)] == ids[1::-1]


def test_concurrent_executions_from_threads(client: AISpine, seed: Seed) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda i: client.execute_and_wait(seed.echo_flow, {"n": i}, timeout=30),
                range(8),
            )
        )
    assert sorted(r["output_data"]["b"]["n"] for r in results) == list(range(8))
    assert all(r["status"] == ExecutionStatus.COMPLETED for r in results)


def test_agents_lifecycle(client: AISpine, seed: Seed, demo_agents: Any) -> None:
    agent_id = "it_tmp_" + uuid.uuid4().hex[:8]
    created = client.create_agent(
        {
            "agent_id": agent_id,
            "name": "Temporary",
            "description": "registered to be deleted",
            "endpoint": demo_agents.agent_url("echo"),
            "capabilities": ["echo"],
            "agent_type": "output",
        }
    )
    assert created["agent_id"] == agent_id and created["is_active"] is True
    assert client.get_agent(agent_id)["endpoint"] == demo_agents.agent_url("echo")
    listed = {a["agent_id"] for a in client.list_agents()}
    assert {agent_id, *seed.agent_ids} <= listed
    assert client.delete_agent(agent_id) is True
    assert client.delete_agent(agent_id) is False
    with pytest.raises(NotFoundError):
        client.get_agent(agent_id)


def test_flows_lifecycle(client: AISpine, seed: Seed, access_token: str) -> None:
    assert {seed.credit_flow, seed.echo_flow} <= {f["flow_id"] for f in client.list_flows()}
    flow = client.get_flow(seed.echo_flow)
    assert flow["entry_point"] == "a" and flow["exit_points"] == ["b"]

    flow_id = "it_tmp_" + uuid.uuid4().hex[:8]
    definition = dict(flow, flow_id=flow_id)
    created = client.create_flow(definition, access_token=access_token)
    assert created["flow_id"] == flow_id
    with pytest.raises(ConflictError):
        client.create_flow(definition, access_token=access_token)
    updated = client.update_flow(
        flow_id, dict(definition, description="second version"), access_token=access_token
    )
    assert updated["description"] == "second version"
    assert updated["version"] != created["version"]
    assert flow_id in {f["flow_id"] for f in client.list_my_flows(access_token=access_token)}
    assert client.delete_flow(flow_id, access_token=access_token)["status"] == "deleted"
    with pytest.raises(NotFoundError):
        client.get_flow(flow_id)


def test_invalid_flows_are_refused_by_the_server(
    client: AISpine, seed: Seed, access_token: str
) -> None:
    bad = {
        "flow_id": "it_bad_" + uuid.uuid4().hex[:8],
        "name": "Bad",
        "description": "uses an agent that does not exist",
        "nodes": [{"id": "a", "agent_id": "ghost_" + uuid.uuid4().hex[:8], "type": "input"}],
        "entry_point": "a",
    }
    with pytest.raises(ValidationError):
        client.create_flow(bad, access_token=access_token)
