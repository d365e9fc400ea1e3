"""Issue 7's methods against a deployment, through both clients: execution pages, status
filters and messages, active agents, the account routes and the deprecated 2.x key methods.

The account key lifecycle and the deprecated key methods need users the suite can make up
(any token is a user on the local server, and ``add_api_key`` seeds a key), so they run
against the local server only and skip, saying why, against another deployment.
"""

import itertools
import uuid
from typing import Any, List

import pytest

from ai_spine import (
    AISpine,
    ExecutionError,
    ExecutionStatus,
    NotFoundError,
    ServerError,
    ValidationError,
)
from ai_spine.testing import LocalAISpine

Seed = Any  # tests/integration/conftest.py's Seed: credit_flow, echo_flow, agent_ids

pytestmark = pytest.mark.integration


def run_three(client: AISpine, seed: Seed) -> List[str]:
    """Start two executions that complete and, last, one that fails; wait for all three."""
    ids = []
    for data in ({"n": 1}, {"n": 2}, {"n": 3, "fail": True}):
        started = client.execute_flow(seed.echo_flow, data)
        ids.append(started["execution_id"])
        try:
            client.wait_for_execution(started["execution_id"], timeout=30, interval=0.1)
        except ExecutionError:
            pass  # the third one, as planned
    return ids


def test_iter_executions_walks_the_pages_newest_first(client: AISpine, seed: Seed) -> None:
    ids = run_three(client, seed)
    walked = [e["execution_id"] for e in itertools.islice(client.iter_executions(page_size=2), 3)]
    assert walked == ids[::-1]
    everything = [e["execution_id"] for e in client.iter_executions(page_size=7)]
    assert everything[:3] == ids[::-1]
    assert len(everything) == len(set(everything))


def test_status_filters_pages_and_walks(client: AISpine, seed: Seed) -> None:
    ids = run_three(client, seed)
    failed = client.list_executions(limit=3, status=ExecutionStatus.FAILED)
    assert [e["execution_id"] for e in failed] == [ids[2]]
    completed = client.list_executions(limit=3, status="completed")
    assert [e["execution_id"] for e in completed] == ids[1::-1]
    # The newest page (size 1) holds only the failed one: the walk must go on past it.
    walk = client.iter_executions(page_size=1, status="completed")
    assert [e["execution_id"] for e in itertools.islice(walk, 2)] == ids[1::-1]
    with pytest.raises(ValidationError, match="status must be one of"):
        client.list_executions(status="succeeded")


def test_execution_messages_are_an_empty_list(client: AISpine, seed: Seed) -> None:
    done = client.execute_and_wait(seed.echo_flow, {"msg": "hi"}, timeout=30, interval=0.1)
    assert client.get_execution_messages(done["execution_id"]) == []
    assert client.get_execution_messages(done["execution_id"], limit=10, offset=5) == []
    assert client.get_execution_messages(str(uuid.uuid4())) == []  # never a 404


def test_active_agents_leave_out_inactive_ones(
    client: AISpine, seed: Seed, demo_agents: Any
) -> None:
    agent_id = "it_off_" + uuid.uuid4().hex[:8]
    client.create_agent(
        {
            "agent_id": agent_id,
            "name": "Inactive",
            "description": "registered inactive",
            "endpoint": demo_agents.agent_url("echo"),
            "capabilities": ["echo"],
            "agent_type": "processor",
            "is_active": False,
        }
    )
    try:
        active = {a["agent_id"] for a in client.list_active_agents()}
        assert set(seed.agent_ids) <= active
        assert agent_id not in active
        assert agent_id in {a["agent_id"] for a in client.list_agents()}
    finally:
        client.delete_agent(agent_id)


@pytest.mark.parametrize("odd_id", ["it with spaces?#%", "it-é-€-漢字", "it..x", "It.%2F"])
def test_ids_with_any_routable_characters_reach_their_agent(
    client: AISpine, demo_agents: Any, odd_id: str
) -> None:
    agent_id = odd_id + uuid.uuid4().hex[:6]
    created = client.create_agent(
        {
            "agent_id": agent_id,
            "name": "Odd id",
            "description": "an id that needs percent-encoding",
            "endpoint": demo_agents.agent_url("echo"),
            "capabilities": ["echo"],
            "agent_type": "processor",
        }
    )
    assert created["agent_id"] == agent_id
    assert client.get_agent(agent_id)["agent_id"] == agent_id
    assert client.delete_agent(agent_id) is True
    with pytest.raises(NotFoundError):
        client.get_agent(agent_id)


def test_api_key_status_of_the_suites_user(client: AISpine, access_token: str) -> None:
    status = client.get_api_key_status(access_token=access_token)
    assert isinstance(status["has_api_key"], bool)


def test_account_key_lifecycle(client: AISpine, local_only: LocalAISpine) -> None:
    token = "it-account-" + uuid.uuid4().hex
    none = client.get_api_key_status(access_token=token)
    assert none["has_api_key"] is False and none["api_key_masked"] is None
    with pytest.raises(ServerError, match="Failed to retrieve user profile"):
        client.get_user_profile(access_token=token)  # the server's 500 for a user without key

    first = client.generate_api_key(access_token=token)
    assert first["action"] == "created" and first["api_key"].startswith("sk_")
    status = client.get_api_key_status(access_token=token)
    assert status["has_api_key"] is True and status["credits"] == 1000
    assert status["api_key_masked"] != first["api_key"]
    profile = client.get_user_profile(access_token=token)
    assert profile["user_id"] and profile["api_status"]["has_api_key"] is True

    second = client.generate_api_key(access_token=token)
    assert second["action"] == "regenerated" and second["api_key"] != first["api_key"]
    assert client.revoke_api_key(access_token=token)["status"] == "revoked"
    with pytest.raises(NotFoundError, match="No API key found to revoke"):
        client.revoke_api_key(access_token=token)


def test_deprecated_key_methods_on_a_seeded_key(client: AISpine, local_only: LocalAISpine) -> None:
    user_id = "it-user-" + uuid.uuid4().hex[:8]
    key = local_only.add_api_key(user_id)
    with pytest.warns(DeprecationWarning, match="Use get_api_key_status"):
        found = client.check_user_api_key(user_id)
    assert found["has_api_key"] is True and found["api_key"] == key
    with pytest.warns(DeprecationWarning, match="Use generate_api_key"):
        issued = client.generate_user_api_key(user_id)
    assert issued["action"] == "regenerated" and issued["api_key"] != key
    with pytest.warns(DeprecationWarning):
        assert client.check_user_api_key(user_id)["api_key"] == issued["api_key"]
    with pytest.warns(DeprecationWarning, match="Use revoke_api_key"):
        assert client.revoke_user_api_key(user_id)["status"] == "revoked"
    # Without a key every deprecated route answers 500, as the real server does.
    for method in ("check_user_api_key", "generate_user_api_key", "revoke_user_api_key"):
        with pytest.warns(DeprecationWarning), pytest.raises(ServerError):
            getattr(client, method)(user_id)
