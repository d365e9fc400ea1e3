"""Helpers shared by the ai_spine.testing tests: agent and flow bodies, polling."""

import re
import socket
import time
from typing import Any, Callable, Dict, List, Optional

import requests

from ai_spine.testing import LocalAISpine

# An API key as the real server issues it: sk_ and 32 random bytes, URL-safe base64.
API_KEY_FORMAT = re.compile(r"^sk_[A-Za-z0-9_-]{43}$")
# Headers without a usable user token, and the 401 detail every user-token route gives them.
NO_USER_TOKEN = [
    ({}, "Authorization header missing"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "Invalid Authorization format"),
    ({"Authorization": "Bearer "}, "Invalid Authorization format"),
    ({"Authorization": "alice-token"}, "Invalid Authorization format"),
]


def agent_body(agent_id: str, endpoint: str, agent_type: str = "processor") -> Dict[str, Any]:
    """Return a valid agent registration."""
    return {
        "agent_id": agent_id,
        "name": "Agent " + agent_id,
        "description": "test agent " + agent_id,
        "endpoint": endpoint,
        "capabilities": ["echo"],
        "agent_type": agent_type,
    }


def flow_body(
    flow_id: str = "echo_flow", agents: Optional[List[str]] = None, **overrides: Any
) -> Dict[str, Any]:
    """Return a flow whose nodes run one after the other, one per agent id."""
    agent_ids = agents if agents is not None else ["echo_a", "echo_b"]
    nodes = []
    for index, agent_id in enumerate(agent_ids):
        node: Dict[str, Any] = {"id": "n%d" % index, "agent_id": agent_id, "type": "processor"}
        if index:
            node["depends_on"] = ["n%d" % (index - 1)]
        nodes.append(node)
    flow: Dict[str, Any] = {
        "flow_id": flow_id,
        "name": "Flow " + flow_id,
        "description": "test flow",
        "nodes": nodes,
        "entry_point": "n0",
        "exit_points": ["n%d" % (len(agent_ids) - 1)],
    }
    flow.update(overrides)
    return flow


def seed_echo(server: LocalAISpine, names: Optional[List[str]] = None) -> List[str]:
    """Register echo agents served by the server's demo agents; return their ids."""
    demo = server.demo_agents
    assert demo is not None, "needs LocalAISpine(with_demo_agents=True)"
    ids = []
    for name in names or ["echo_a", "echo_b"]:
        server.add_agent(agent_body(name, demo.agent_url(name)))
        ids.append(name)
    return ids


def execute(http: requests.Session, server: LocalAISpine, flow_id: str, data: Any) -> str:
    """Start an execution and return its id."""
    answer = http.post(
        server.url + "/api/v1/flows/execute", json={"flow_id": flow_id, "input_data": data}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "pending"
    return str(body["execution_id"])


def poll(
    fetch: Callable[[], Dict[str, Any]],
    until: Callable[[Dict[str, Any]], bool],
    timeout: float = 5.0,
) -> Dict[str, Any]:
    """Call ``fetch`` until ``until`` holds for its result; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value):
            return value
        assert time.monotonic() < deadline, "condition not reached; last value: %r" % (value,)
        time.sleep(0.01)


def free_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
