"""The pytest plugin (ai_spine.testing.pytest_plugin), run in pytester's inner sessions."""

import threading
from typing import Iterator

import pytest

from ai_spine.testing import LocalAISpine

PLUGIN = ("-p", "ai_spine.testing.pytest_plugin")
INI = """
[pytest]
filterwarnings =
    error
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


def _servers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "ai-spine-local-server")


def test_the_plugin_is_inert_until_used(suite: pytest.Pytester) -> None:
    suite.makepyfile("def test_nothing():\n    assert True\n")
    before = _servers()
    result = suite.runpytest(*PLUGIN, "--setup-plan")
    result.assert_outcomes(passed=0)
    assert "ai_spine" not in result.stdout.str()
    result = suite.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)
    assert _servers() == before
    listed = suite.runpytest(*PLUGIN, "--fixtures").stdout.str()
    for name in ("ai_spine_server", "ai_spine_session_server", "ai_spine_client",
                 "ai_spine_async_client", "ai_spine_url", "ai_spine_run"):  # fmt: skip
        assert name in listed


def test_per_test_and_session_servers(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest
        from ai_spine.testing import DEMO_FLOW_ID

        URLS = []

        @pytest.mark.ai_spine_server(with_demo_agents=True)
        def test_own_server_with_demo_agents(ai_spine_server, ai_spine_client, ai_spine_url):
            assert ai_spine_url == ai_spine_server.url
            execution = ai_spine_client.execute_and_wait(
                DEMO_FLOW_ID, {"text": "great references", "income": 85000, "debt": 9000}
            )
            assert execution["output_data"]["credit"]["decision"] == "approve"
            assert len(ai_spine_server.requests_to("POST", "/api/v1/flows/execute")) == 1

        def test_own_server_is_empty(ai_spine_server, ai_spine_client):
            assert ai_spine_client.list_flows() == []

        @pytest.mark.parametrize("n", [1, 2])
        def test_session_server_is_shared(ai_spine_session_server, ai_spine_client, n):
            URLS.append(ai_spine_client.base_url)
            assert ai_spine_client.base_url == ai_spine_session_server.url
            assert len(set(URLS)) == 1

        def test_flow_writes_work_locally(ai_spine_client, ai_spine_access_token):
            assert ai_spine_access_token
            ai_spine_client.create_agent({"agent_id": "a", "name": "A", "description": "",
                "endpoint": "http://127.0.0.1:9/a", "capabilities": [], "agent_type": "input"})
            ai_spine_client.create_flow({"flow_id": "f", "name": "F", "description": "",
                "nodes": [{"id": "a", "agent_id": "a", "type": "input"}], "entry_point": "a"})
            ai_spine_client.delete_flow("f")
        """
    )
    suite.runpytest(*PLUGIN).assert_outcomes(passed=5)


def test_server_options_fixture_and_async_client(suite: pytest.Pytester) -> None:
    suite.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def ai_spine_server_options():
            return {"with_demo_agents": True, "api_key": "sk_local"}
        """
    )
    suite.makepyfile(
        """
        from ai_spine.testing import DEMO_FLOW_ID

        def test_async(ai_spine_async_client, ai_spine_run, ai_spine_session_server):
            assert ai_spine_session_server.api_key == "sk_local"
            flow = ai_spine_run(ai_spine_async_client.get_flow(DEMO_FLOW_ID))
            assert flow["flow_id"] == DEMO_FLOW_ID

        def test_async_unused(ai_spine_async_client):
            pass

        def test_async_in_asyncio_run(ai_spine_async_client):
            import asyncio

            async def main():
                async with ai_spine_async_client as client:  # closed on asyncio.run's loop
                    return await client.health_check()

            assert asyncio.run(main())["status"] == "healthy"

        def test_collect_garbage():
            import gc

            gc.collect()  # an unclosed transport would warn (an error here) now
        """
    )
    suite.runpytest(*PLUGIN).assert_outcomes(passed=4)


TESTS_FOR_A_REAL_SERVER = """
import pytest

@pytest.mark.ai_spine_local
def test_needs_hooks(ai_spine_client):
    raise AssertionError("must be skipped")

def test_own_server(ai_spine_server):
    raise AssertionError("must be skipped")

def test_talks_to_the_url(ai_spine_client, ai_spine_url, ai_spine_access_token):
    assert ai_spine_access_token is None
    assert ai_spine_client.health_check()["status"] == "healthy"
"""


@pytest.fixture
def real() -> Iterator[LocalAISpine]:
    """Stands in for a real AI Spine the inner session is pointed at."""
    with LocalAISpine() as server:
        yield server


def test_the_url_option_points_the_tests_at_another_server(
    suite: pytest.Pytester, real: LocalAISpine
) -> None:
    suite.makepyfile(TESTS_FOR_A_REAL_SERVER)
    result = suite.runpytest(*PLUGIN, "--ai-spine-url", real.url, "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*needs the local AI Spine server*fixtures point at " + real.url])
    assert len(real.requests_to("GET", "/health")) == 1


def test_the_ini_names_an_environment_variable(
    suite: pytest.Pytester, real: LocalAISpine, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makeini(INI + "ai_spine_url_env = MY_AI_SPINE\n")
    suite.makepyfile(TESTS_FOR_A_REAL_SERVER)
    monkeypatch.setenv("MY_AI_SPINE", real.url)
    suite.runpytest(*PLUGIN).assert_outcomes(passed=1, skipped=2)
    monkeypatch.setenv("MY_AI_SPINE", "")
    suite.runpytest(*PLUGIN).assert_outcomes(failed=3)  # local: nothing is skipped
