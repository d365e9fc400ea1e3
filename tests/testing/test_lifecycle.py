"""LocalAISpine as an object: start/stop, clean shutdown, seeding helpers, isolation."""

import ast
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Set

import pytest
import requests

import ai_spine.testing
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

from ._support import agent_body, execute, flow_body, seed_echo


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_url_and_port() -> None:
    with LocalAISpine() as server:
        assert server.url == "http://127.0.0.1:%d" % server.port
        assert not server.url.endswith("/")
        assert server.port > 0
        assert server.running
        assert repr(server) == "<LocalAISpine %s>" % server.url
        assert server.demo_agents is None


def test_not_running_and_double_start() -> None:
    server = LocalAISpine()
    assert repr(server) == "<LocalAISpine stopped>"
    with pytest.raises(RuntimeError, match="not running"):
        server.url
    with pytest.raises(RuntimeError, match="not running"):
        server.port
    server.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        server.stop()
    server.stop()  # idempotent
    assert not server.running


def test_clean_shutdown_leaves_no_thread_and_closes_the_port() -> None:
    before: Set[threading.Thread] = set(threading.enumerate())
    server = LocalAISpine(with_demo_agents=True).start()
    port = server.port
    demo = server.demo_agents
    assert demo is not None
    demo_port = int(demo.url.rsplit(":", 1)[1])
    with requests.Session() as http:
        # A pooled keep-alive connection and an execution stuck in a slow agent at stop().
        assert http.get(server.url + "/health").status_code == 200
        execute(http, server, DEMO_FLOW_ID, {"text": "x", "income": 1, "sleep": 30})
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3, "stop() must not wait for the slow agent"
        with pytest.raises(requests.exceptions.ConnectionError):
            http.get("http://127.0.0.1:%d/health" % port, timeout=2)
    deadline = time.monotonic() + 3
    while True:
        leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert [t for t in leftover if not t.daemon] == []
    assert not any(t.name.startswith("ai-spine-local-server") for t in leftover)
    assert _refused(port)
    assert _refused(demo_port)
    assert server.demo_agents is None


def test_stopped_server_can_start_again() -> None:
    server = LocalAISpine()
    server.add_agent(agent_body("kept", "http://127.0.0.1:9/a"))
    with server:
        first = server.url
    with server, requests.Session() as http:
        assert http.get(server.url + "/api/v1/agents/kept").status_code == 200
        assert server.url.startswith("http://127.0.0.1:")
    assert first.startswith("http://127.0.0.1:")


def test_two_servers_run_side_by_side(http: requests.Session) -> None:
    with LocalAISpine() as one, LocalAISpine(api_key="k") as two:
        assert one.port != two.port
        one.add_agent(agent_body("only_here", "http://127.0.0.1:9/a"))
        assert http.get(one.url + "/api/v1/agents/only_here").status_code == 200
        answer = http.get(
            two.url + "/api/v1/agents/only_here", headers={"Authorization": "Bearer k"}
        )
        assert answer.status_code == 404
        assert http.get(one.url + "/metrics").status_code == 200
        assert http.get(two.url + "/metrics").status_code == 401
        assert len(one.requests) == 2 and len(two.requests) == 2


def test_concurrent_clients(demo_server: LocalAISpine) -> None:
    seed_echo(demo_server)
    demo_server.add_flow(flow_body())
    errors = []

    def client() -> None:
        try:
            with requests.Session() as http:
                for _ in range(5):
                    execution_id = execute(http, demo_server, "echo_flow", {"x": 1})
                    assert http.get(demo_server.url + "/api/v1/executions/" + execution_id).ok
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    with requests.Session() as http:
        listed = http.get(demo_server.url + "/api/v1/executions?limit=100").json()
    assert listed["count"] == 30


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "example.com", "", "::1", "[::1]"])
def test_only_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        LocalAISpine(host=host)


def test_localhost_is_loopback() -> None:
    with LocalAISpine(host="localhost") as server:
        assert server.url.startswith("http://127.0.0.1:")


def test_port_in_use_raises_oserror() -> None:
    with LocalAISpine() as first:
        with pytest.raises(OSError):
            LocalAISpine(port=first.port).start()


def test_add_agent_validates() -> None:
    server = LocalAISpine()
    with pytest.raises(ValueError, match="missing the required field 'endpoint'"):
        server.add_agent({"agent_id": "a", "name": "A", "description": "d"})
    with pytest.raises(ValueError, match="validation error for AgentInfo"):
        server.add_agent(dict(agent_body("a", "http://127.0.0.1:9"), agent_type="robot"))


def test_add_flow_validates_and_records_the_owner(http: requests.Session) -> None:
    with LocalAISpine() as server:
        with pytest.raises(ValueError, match="Agent 'echo_a' used by node 'n0'"):
            server.add_flow(flow_body())
        with pytest.raises(ValueError, match="validation errors? for FlowDefinition"):
            server.add_flow({"flow_id": "x"})
        server.add_agent(agent_body("echo_a", "http://127.0.0.1:9/a"))
        server.add_agent(agent_body("echo_b", "http://127.0.0.1:9/b"))
        stored = server.add_flow(flow_body(), owner="user-0123456789ab")
        assert stored["version"] == "1.0.0"
        token_user = http.get(
            server.url + "/api/v1/flows", headers={"Authorization": "Bearer t"}
        ).json()["user_id"]
        # Another user may not delete it.
        other = http.delete(
            server.url + "/api/v1/flows/echo_flow", headers={"Authorization": "Bearer t"}
        )
        assert token_user != "user-0123456789ab" and other.status_code == 403


def test_wait_for_execution(demo_server: LocalAISpine, http: requests.Session) -> None:
    execution_id = execute(http, demo_server, DEMO_FLOW_ID, {"income": 1, "sleep": 5})
    running = demo_server.wait_for_execution(execution_id, statuses=["running"])
    assert running["status"] == "running"
    with pytest.raises(TimeoutError, match="still 'running'"):
        demo_server.wait_for_execution(execution_id, timeout=0.05)
    with pytest.raises(KeyError):
        demo_server.wait_for_execution("00000000-0000-0000-0000-000000000001")


STDLIB = {
    "__future__", "asyncio", "collections", "copy", "dataclasses", "datetime", "fnmatch",
    "hashlib", "http", "ipaddress", "json", "logging", "os", "re", "secrets", "socket",
    "socketserver", "threading", "time", "types", "typing", "urllib", "uuid",
}  # fmt: skip


def test_the_package_uses_the_standard_library_only() -> None:
    package = Path(ai_spine.testing.__file__).parent
    for module in sorted(package.glob("*.py")):
        tree = ast.parse(module.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                # The pytest plugin runs only inside pytest, and uses the SDK's clients.
                allowed = STDLIB | ({"pytest", "ai_spine"} if module.name == PLUGIN else set())
                assert name.split(".")[0] in allowed, "%s imports %s" % (module.name, name)


PLUGIN = "pytest_plugin.py"


def test_importing_the_package_does_not_load_the_pytest_plugin() -> None:
    code = "import sys, ai_spine.testing; print('pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
