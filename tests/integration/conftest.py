"""Integration fixtures: a deployment to test, demo agents it can call, and seeded flows.

By default the deployment is the session's :class:`~ai_spine.testing.LocalAISpine` (the
``ai_spine_session_server`` fixture of the SDK's pytest plugin). Set ``AI_SPINE_BASE_URL``
(``tests/conftest.py`` hands it to the plugin as ``--ai-spine-url``), and optionally
``AI_SPINE_API_KEY`` and ``AI_SPINE_ACCESS_TOKEN``, to run the same tests against another
deployment; it must be able to reach the demo agents this suite starts on 127.0.0.1 (e.g. a
backend running on this machine). Without an access token the suite seeds its flows through
the unprefixed ``POST /flows``, the route that needs no user token, and skips (saying so)
the tests that need one. Tests that need the local server's hooks are marked
``ai_spine_local`` or use ``local_only`` and are skipped elsewhere. The suite writes to the
deployment, so production is refused unless ``AI_SPINE_TEST_PRODUCTION=1``.
"""

import os
import uuid
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional

import pytest
import requests

from ai_spine import AISpine, AISpineError
from ai_spine.constants import DEFAULT_BASE_URL
from ai_spine.testing import DemoAgents, LocalAISpine, demo_agent_definitions, demo_flow_definition
from ai_spine.testing.pytest_plugin import LOCAL_TOKEN, remote_url

NO_TOKEN = (
    "needs a user access token: set AI_SPINE_ACCESS_TOKEN to test flow writes and account "
    "routes on {}"
)


class Seed(NamedTuple):
    """What the suite registered on the deployment, under names unique to this run."""

    credit_flow: str
    """The demo flow: sentiment, then credit scoring (exit point ``credit``)."""
    echo_flow: str
    """Two echo nodes ``a -> b``; ``sleep`` and ``fail`` in the input slow or fail them."""
    agent_ids: List[str]


@pytest.fixture(scope="session")
def remote(pytestconfig: pytest.Config) -> Optional[str]:
    """The URL of the deployment under test, or None for the local server."""
    return remote_url(pytestconfig)


@pytest.fixture(scope="session")
def user_token(remote: Optional[str]) -> Optional[str]:
    """A user access token for flow writes, or None (a deployment and no token given)."""
    if remote is None:
        return os.environ.get("AI_SPINE_ACCESS_TOKEN") or LOCAL_TOKEN
    return os.environ.get("AI_SPINE_ACCESS_TOKEN") or None


@pytest.fixture(scope="session")
def access_token(user_token: Optional[str], remote: Optional[str]) -> str:
    """A user access token; the tests that need one are skipped when none is given."""
    if user_token is None:
        pytest.skip(NO_TOKEN.format(remote))
    return user_token


@pytest.fixture(scope="session")
def local_server(remote: Optional[str], request: pytest.FixtureRequest) -> Optional[LocalAISpine]:
    """The local server under test, or None when the suite tests another deployment."""
    if remote is not None:
        return None
    server = request.getfixturevalue("ai_spine_session_server")
    assert isinstance(server, LocalAISpine)
    return server


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
def base_url(remote: Optional[str], local_server: Optional[LocalAISpine]) -> str:
    if remote is not None:
        # The suite creates and deletes agents and flows: never on production by accident.
        if (
            remote.rstrip("/") == DEFAULT_BASE_URL
            and os.environ.get("AI_SPINE_TEST_PRODUCTION") != "1"
        ):
            pytest.exit(
                "AI_SPINE_BASE_URL is the production server; the integration suite writes to "
                "the server it tests. Unset AI_SPINE_BASE_URL to test the local server, or set "
                "AI_SPINE_TEST_PRODUCTION=1 to insist.",
                returncode=4,
            )
        return remote
    assert local_server is not None
    return local_server.url


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


class _Flows:
    """Creates and deletes the suite's flows: with a user token through the SDK, else through
    the unprefixed ``/flows`` routes, which need none (their flows belong to no user)."""

    def __init__(self, client: AISpine, base_url: str, token: Optional[str]) -> None:
        self.client, self.base_url, self.token = client, base_url.rstrip("/"), token

    def create(self, flow: Dict[str, Any]) -> str:
        if self.token is not None:
            return self.client.create_flow(flow, access_token=self.token)["flow_id"]
        with requests.post(self.base_url + "/flows", json=flow, headers=self._key()) as answer:
            answer.raise_for_status()
            return str(answer.json()["flow_id"])

    def delete(self, flow_id: str) -> None:
        # Best effort: a failed test may have deleted it already, and a deployment may not
        # let anyone delete a flow that belongs to no user.
        try:
            if self.token is not None:
                self.client.delete_flow(flow_id, access_token=self.token)
            else:
                requests.delete(self.base_url + "/flows/" + flow_id, headers=self._key()).close()
        except (AISpineError, requests.RequestException):
            pass

    @staticmethod
    def _key() -> Dict[str, str]:
        key = os.environ.get("AI_SPINE_API_KEY")
        return {"Authorization": "Bearer " + key} if key else {}


@pytest.fixture(scope="session")
def seed(
    client: AISpine, demo_agents: DemoAgents, base_url: str, user_token: Optional[str]
) -> Iterator[Seed]:
    suffix = uuid.uuid4().hex[:8]
    renamed: Dict[str, str] = {}
    for agent in demo_agent_definitions(demo_agents.url):
        renamed[agent["agent_id"]] = "{}_{}".format(agent["agent_id"], suffix)
        client.create_agent(dict(agent, agent_id=renamed[agent["agent_id"]]))  # type: ignore
    echo = renamed["demo_echo"]
    flows = _Flows(client, base_url, user_token)
    credit_flow = flows.create(_renamed(demo_flow_definition(), "it_credit_" + suffix, renamed))
    echo_flow = flows.create(
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
        }
    )
    yield Seed(credit_flow, echo_flow, list(renamed.values()))
    for flow_id in (credit_flow, echo_flow):
        flows.delete(flow_id)
    for agent_id in renamed.values():
        client.delete_agent(agent_id)
