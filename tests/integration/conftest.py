"""Integration fixtures: a deployment to test, demo agents it can call, and seeded flows.

By default the deployment is a :class:`~ai_spine.testing.LocalAISpine` on loopback. Set
``AI_SPINE_BASE_URL`` (and optionally ``AI_SPINE_API_KEY``, and ``AI_SPINE_ACCESS_TOKEN`` for
creating flows) to run the same tests against another deployment; it must be able to reach
the demo agents this suite starts on 127.0.0.1 (e.g. a backend running on this machine).
The suite writes to the deployment, so production is refused unless
``AI_SPINE_TEST_PRODUCTION=1``.
"""

import os
import uuid
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional

import pytest

from ai_spine import AISpine, AISpineError
from ai_spine.constants import DEFAULT_BASE_URL
from ai_spine.testing import DemoAgents, LocalAISpine, demo_agent_definitions, demo_flow_definition

REMOTE_URL = os.environ.get("AI_SPINE_BASE_URL")
ACCESS_TOKEN = os.environ.get("AI_SPINE_ACCESS_TOKEN") or "integration-suite-user"


class Seed(NamedTuple):
    """What the suite registered on the deployment, under names unique to this run."""

    credit_flow: str
    """The demo flow: sentiment, then credit scoring (exit point ``credit``)."""
    echo_flow: str
    """Two echo nodes ``a -> b``; ``sleep`` and ``fail`` in the input slow or fail them."""
    agent_ids: List[str]


@pytest.fixture(scope="session")
def access_token() -> str:
    """A user access token for flow writes (any token works on the local server)."""
    return ACCESS_TOKEN


@pytest.fixture(scope="session")
def local_server() -> Iterator[Optional[LocalAISpine]]:
    """The local server under test, or None when the suite tests another deployment."""
    if REMOTE_URL:
        yield None
        return
    with LocalAISpine() as server:
        yield server


@pytest.fixture
def local_only(local_server: Optional[LocalAISpine]) -> LocalAISpine:
    """The local server, for a test that needs its test hooks; skips against a deployment."""
    if local_server is None:
        pytest.skip(
            "needs LocalAISpine's test hooks (add_api_key...); AI_SPINE_BASE_URL points at "
            "another deployment, whose users and keys this suite cannot set up"
        )
    return local_server


@pytest.fixture(scope="session")
def base_url(local_server: Optional[LocalAISpine]) -> Iterator[str]:
    if REMOTE_URL:
        # The suite creates and deletes agents and flows: never on production by accident.
        if (
            REMOTE_URL.rstrip("/") == DEFAULT_BASE_URL
            and os.environ.get("AI_SPINE_TEST_PRODUCTION") != "1"
        ):
            pytest.exit(
                "AI_SPINE_BASE_URL is the production server; the integration suite writes to "
                "the server it tests. Unset AI_SPINE_BASE_URL to test the local server, or set "
                "AI_SPINE_TEST_PRODUCTION=1 to insist.",
                returncode=4,
            )
        yield REMOTE_URL
        return
    assert local_server is not None
    yield local_server.url


@pytest.fixture(scope="session")
def demo_agents() -> Iterator[DemoAgents]:
    with DemoAgents() as agents:
        yield agents


@pytest.fixture(scope="session", params=["sync", "async"])
def client(
    base_url: str, request: pytest.FixtureRequest, new_client: Callable[..., Any]
) -> Iterator[AISpine]:
    """The client under test: every integration test runs with AISpine, then AsyncAISpine."""
    with new_client(
        request.param,
        base_url=base_url,
        api_key=os.environ.get("AI_SPINE_API_KEY"),
        timeout=10,
    ) as sdk:
        yield sdk


def _renamed(flow: Dict[str, Any], flow_id: str, agents: Dict[str, str]) -> Dict[str, Any]:
    flow = dict(flow, flow_id=flow_id)
    flow["nodes"] = [
        dict(n, agent_id=agents.get(n["agent_id"], n["agent_id"])) for n in flow["nodes"]
    ]
    return flow


@pytest.fixture(scope="session")
def seed(client: AISpine, demo_agents: DemoAgents) -> Iterator[Seed]:
    suffix = uuid.uuid4().hex[:8]
    renamed: Dict[str, str] = {}
    for agent in demo_agent_definitions(demo_agents.url):
        renamed[agent["agent_id"]] = "{}_{}".format(agent["agent_id"], suffix)
        client.create_agent(dict(agent, agent_id=renamed[agent["agent_id"]]))  # type: ignore
    echo = renamed["demo_echo"]
    credit_flow = client.create_flow(
        _renamed(demo_flow_definition(), "it_credit_" + suffix, renamed), access_token=ACCESS_TOKEN
    )
    echo_flow = client.create_flow(
        {
            "flow_id": "it_echo_" + suffix,
            "name": "Echo flow",
            "description": "Two echo nodes: a then b; b's output is the flow's output",
            "nodes": [
                {"id": "a", "agent_id": echo, "type": "input", "config": {"greeting": "hi"}},
                {"id": "b", "agent_id": echo, "type": "processor", "depends_on": ["a"]},
            ],
            "entry_point": "a",
            "exit_points": ["b"],
        },
        access_token=ACCESS_TOKEN,
    )
    yield Seed(credit_flow["flow_id"], echo_flow["flow_id"], list(renamed.values()))
    for flow_id in (credit_flow["flow_id"], echo_flow["flow_id"]):
        try:
            client.delete_flow(flow_id, access_token=ACCESS_TOKEN)
        except AISpineError:
            pass  # cleanup is best effort: a failed test may have deleted it already
    for agent_id in renamed.values():
        client.delete_agent(agent_id)
