"""The demo agents, called directly over HTTP."""

import time
from typing import Any, Dict, Iterator

import pytest
import requests

from ai_spine.testing import (
    DEMO_FLOW_ID,
    DemoAgents,
    demo_agent_definitions,
    demo_flow_definition,
)


@pytest.fixture
def agents() -> Iterator[DemoAgents]:
    with DemoAgents() as demo:
        yield demo


def _call(
    http: requests.Session, agents: DemoAgents, name: str, data: Dict[str, Any], **extra: Any
) -> requests.Response:
    payload = dict({"execution_id": "e1", "node_id": "n1", "input": data, "config": {}}, **extra)
    return http.post(agents.agent_url(name) + "/execute", json=payload)


@pytest.mark.parametrize("name", ["echo", "agent-a", "agent-temp", "team/nested"])
def test_any_unknown_name_echoes(agents: DemoAgents, http: requests.Session, name: str) -> None:
    answer = _call(http, agents, name, {"msg": "hi", "node_id": "old"})
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "success",
        "output": {"msg": "hi", "node_id": "n1", "handled_by": "/%s/execute" % name},
    }


@pytest.mark.parametrize(
    "text, label",
    [
        ("Great job, stable income, love it", "positive"),
        ("missed payments, overdue and worried", "negative"),
        ("the weather is a thing", "neutral"),
        ("good but late", "neutral"),
    ],
)
def test_sentiment(agents: DemoAgents, http: requests.Session, text: str, label: str) -> None:
    output = _call(http, agents, "sentiment", {"text": text}).json()["output"]
    assert output["sentiment"] == label
    assert -1.0 <= output["sentiment_score"] <= 1.0
    assert set(output) == {"sentiment", "sentiment_score", "positive_words", "negative_words"}


def test_sentiment_needs_text_as_a_string(agents: DemoAgents, http: requests.Session) -> None:
    assert _call(http, agents, "sentiment", {"text": 5}).status_code == 422
    assert _call(http, agents, "sentiment", {}).json()["output"]["sentiment"] == "neutral"


@pytest.mark.parametrize(
    "data, decision",
    [
        ({"income": 90000, "debt": 9000}, "approve"),
        ({"income": 30000, "debt": 25000}, "decline"),
        ({"income": 0, "debt": 0}, "decline"),
        ({"income": 50000, "debt": 20000, "sentiment_score": 1.0}, "approve"),
        ({"income": 50000, "debt": 20000, "sentiment_score": -1.0}, "decline"),
    ],
)
def test_credit_score(
    agents: DemoAgents, http: requests.Session, data: Dict[str, Any], decision: str
) -> None:
    output = _call(http, agents, "credit_score", data).json()["output"]
    assert output["decision"] == decision
    assert 300 <= output["credit_score"] <= 850


def test_credit_score_threshold_comes_from_config(
    agents: DemoAgents, http: requests.Session
) -> None:
    data = {"income": 90000, "debt": 9000}
    strict = _call(http, agents, "credit_score", data, config={"approve_threshold": 900})
    assert strict.json()["output"]["decision"] == "decline"


@pytest.mark.parametrize(
    "data", [{}, {"income": "lots"}, {"income": -5}, {"income": 5, "debt": "x"}]
)
def test_credit_score_rejects_unusable_input(
    agents: DemoAgents, http: requests.Session, data: Dict[str, Any]
) -> None:
    answer = _call(http, agents, "credit_score", data)
    assert answer.status_code == 422
    assert "credit_score needs" in answer.json()["detail"]


@pytest.mark.parametrize("name", ["echo", "sentiment", "credit_score"])
def test_fail_answers_500(agents: DemoAgents, http: requests.Session, name: str) -> None:
    answer = _call(http, agents, name, {"fail": True, "income": 1})
    assert answer.status_code == 500
    assert "failed because the input asked it to" in answer.json()["detail"]


def test_sleep_input_and_default_delay(http: requests.Session) -> None:
    with DemoAgents(delay=0.2) as slow:
        started = time.monotonic()
        _call(http, slow, "echo", {})
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        _call(http, slow, "echo", {"sleep": 0})
        assert time.monotonic() - started < 0.2
    with DemoAgents(sleep_scale=0.1) as scaled:
        started = time.monotonic()
        _call(http, scaled, "echo", {"sleep": 2})
        assert 0.2 <= time.monotonic() - started < 1.5


def test_other_requests(agents: DemoAgents, http: requests.Session) -> None:
    assert http.get(agents.url + "/health").json() == {"status": "healthy"}
    assert http.get(agents.url + "/echo").status_code == 404
    assert http.post(agents.url + "/execute").status_code == 404
    assert http.get(agents.url + "/echo/execute").status_code == 405
    assert (
        http.post(
            agents.url + "/echo/execute", data=b"[", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert http.post(agents.url + "/echo/execute", json={}).json()["output"] == {
        "node_id": None,
        "handled_by": "/echo/execute",
    }
    assert http.post(agents.url + "/echo/execute", json={"input": "x"}).status_code == 422
    bad_config = http.post(agents.url + "/echo/execute", json={"config": 3})
    assert bad_config.status_code == 422


def test_lifecycle() -> None:
    demo = DemoAgents()
    assert repr(demo) == "<DemoAgents stopped>"
    with pytest.raises(RuntimeError):
        demo.url
    demo.start()
    try:
        assert repr(demo) == "<DemoAgents %s>" % demo.url
        with pytest.raises(RuntimeError):
            demo.start()
        assert demo.agent_url("/sentiment/") == demo.url + "/sentiment"
    finally:
        demo.stop()
    demo.stop()
    with pytest.raises(ValueError, match="loopback"):
        DemoAgents(host="0.0.0.0").start()


def test_definitions_point_at_the_server(agents: DemoAgents) -> None:
    definitions = agents.agent_definitions()
    assert definitions == demo_agent_definitions(agents.url + "/")
    assert {a["agent_id"]: a["endpoint"] for a in definitions} == {
        "demo_sentiment": agents.agent_url("sentiment"),
        "demo_credit_score": agents.agent_url("credit_score"),
        "demo_echo": agents.agent_url("echo"),
    }
    flow = demo_flow_definition()
    assert flow["flow_id"] == DEMO_FLOW_ID
    assert [node["agent_id"] for node in flow["nodes"]] == ["demo_sentiment", "demo_credit_score"]
