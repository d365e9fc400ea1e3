"""Agent endpoints: register, list, get, delete, with the real server's quirks."""

from typing import Any, Dict, Optional

import pytest
import requests

from ai_spine.testing import LocalAISpine

from ._support import agent_body

ENDPOINT = "http://127.0.0.1:9/agent-a"


def _create(http: requests.Session, server: LocalAISpine, body: Any) -> requests.Response:
    return http.post(server.url + "/api/v1/agents", json=body)


def test_create_fills_in_defaults_and_answers_200(
    server: LocalAISpine, http: requests.Session
) -> None:
    body = agent_body("echo_a", ENDPOINT, "input")
    body["unknown_extra"] = "dropped"
    answer = _create(http, server, body)
    assert answer.status_code == 200
    agent = answer.json()
    assert isinstance(agent.pop("created_at"), str)
    assert isinstance(agent.pop("updated_at"), str)
    assert agent == {
        "agent_id": "echo_a",
        "name": "Agent echo_a",
        "description": "test agent echo_a",
        "endpoint": ENDPOINT,
        "capabilities": ["echo"],
        "agent_type": "input",
        "is_active": True,
    }


def test_create_overwrites_an_existing_agent(server: LocalAISpine, http: requests.Session) -> None:
    _create(http, server, agent_body("a1", ENDPOINT))
    replacement = dict(agent_body("a1", ENDPOINT + "2"), is_active=False)
    assert _create(http, server, replacement).json()["endpoint"] == ENDPOINT + "2"
    got = http.get(server.url + "/api/v1/agents/a1").json()
    assert got["endpoint"] == ENDPOINT + "2"
    assert got["is_active"] is False
    assert http.get(server.url + "/api/v1/agents").json()["count"] == 1


def test_unprefixed_create_and_list(server: LocalAISpine, http: requests.Session) -> None:
    assert http.get(server.url + "/agents").json() == {"agents": [], "count": 0}
    answer = http.post(server.url + "/agents", json=agent_body("b", ENDPOINT))
    assert answer.status_code == 200
    listed = http.get(server.url + "/agents").json()
    assert listed["count"] == 1
    assert listed["agents"][0]["agent_id"] == "b"


@pytest.mark.parametrize(
    "missing", ["agent_id", "name", "description", "endpoint", "capabilities", "agent_type"]
)
def test_missing_field_is_500_with_the_quoted_key(
    server: LocalAISpine, http: requests.Session, missing: str
) -> None:
    body = agent_body("x", ENDPOINT)
    del body[missing]
    answer = _create(http, server, body)
    assert answer.status_code == 500
    assert answer.json() == {"detail": "'%s'" % missing}


def test_bad_agent_type_is_500_with_pydantic_text(
    server: LocalAISpine, http: requests.Session
) -> None:
    body = dict(agent_body("bad_type", ENDPOINT), agent_type="bogus")
    answer = _create(http, server, body)
    assert answer.status_code == 500
    assert answer.json() == {
        "detail": "1 validation error for AgentInfo\nagent_type\n  Input should be 'input', "
        "'processor', 'output' or 'conditional' [type=enum, input_value='bogus', "
        "input_type=str]\n    For further information visit "
        "https://errors.pydantic.dev/2.11/v/enum"
    }


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("capabilities", "echo", "capabilities\n  Input should be a valid list [type=list_type"),
        ("capabilities", ["ok", 5], "capabilities.1\n  Input should be a valid string"),
        ("name", 12, "name\n  Input should be a valid string [type=string_type"),
        ("is_active", "maybe", "is_active\n  Input should be a valid boolean, unable"),
        ("is_active", None, "is_active\n  Input should be a valid boolean [type=bool_type"),
    ],
)
def test_mistyped_fields_are_500_with_pydantic_text(
    server: LocalAISpine, http: requests.Session, field: str, value: Any, expected: str
) -> None:
    answer = _create(http, server, dict(agent_body("x", ENDPOINT), **{field: value}))
    assert answer.status_code == 500
    detail = answer.json()["detail"]
    assert detail.startswith("1 validation error for AgentInfo\n")
    assert expected in detail


def test_two_mistakes_are_reported_together(server: LocalAISpine, http: requests.Session) -> None:
    body = dict(agent_body("x", ENDPOINT), agent_type="nope", capabilities="x")
    detail = _create(http, server, body).json()["detail"]
    assert detail.startswith("2 validation errors for AgentInfo\ncapabilities\n")
    assert "\nagent_type\n" in detail


def test_lax_boolean_is_accepted(server: LocalAISpine, http: requests.Session) -> None:
    answer = _create(http, server, dict(agent_body("x", ENDPOINT), is_active="no"))
    assert answer.status_code == 200
    assert answer.json()["is_active"] is False


def test_malformed_json_is_422_json_invalid(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.post(
        server.url + "/api/v1/agents",
        data=b'{"agent_id": "broken", "name": ',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body", 31],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "Expecting value"},
            }
        ]
    }


@pytest.mark.parametrize(
    "raw, detail",
    [
        (b"", {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}),
        (b"null", {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}),
        (
            b"[1]",
            {"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary",
             "input": [1]},
        ),
    ],
)  # fmt: skip
def test_body_that_is_not_an_object_is_422(
    server: LocalAISpine, http: requests.Session, raw: bytes, detail: Dict[str, Any]
) -> None:
    answer = http.post(
        server.url + "/api/v1/agents", data=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json() == {"detail": [detail]}


def test_get_and_404(server: LocalAISpine, http: requests.Session) -> None:
    created = _create(http, server, agent_body("echo_a", ENDPOINT)).json()
    assert http.get(server.url + "/api/v1/agents/echo_a").json() == created
    missing = http.get(server.url + "/api/v1/agents/no_such_agent")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Agent 'no_such_agent' not found"}


def test_list_and_active_list(server: LocalAISpine, http: requests.Session) -> None:
    _create(http, server, agent_body("on", ENDPOINT))
    _create(http, server, dict(agent_body("off", ENDPOINT), is_active=False))
    listed = http.get(server.url + "/api/v1/agents").json()
    assert [a["agent_id"] for a in listed["agents"]] == ["on", "off"]
    assert listed["count"] == 2
    assert listed["authenticated"] is False
    active = http.get(server.url + "/api/v1/agents/active").json()
    assert [a["agent_id"] for a in active["agents"]] == ["on"]
    assert active["count"] == 1
    assert set(active) == {"agents", "count"}


def test_list_reports_authenticated_caller(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.get(server.url + "/api/v1/agents", headers={"Authorization": "Bearer tok"})
    assert answer.json() == {"agents": [], "count": 0, "authenticated": True}


def test_delete_then_404(server: LocalAISpine, http: requests.Session) -> None:
    _create(http, server, agent_body("temp_agent", ENDPOINT))
    answer = http.delete(server.url + "/api/v1/agents/temp_agent")
    assert answer.status_code == 200
    assert answer.json() == {"message": "Agent 'temp_agent' unregistered successfully"}
    again = http.delete(server.url + "/api/v1/agents/temp_agent")
    assert again.status_code == 404
    assert again.json() == {"detail": "Agent 'temp_agent' not found"}


def test_active_and_my_agents_shadow_agents_with_those_ids(
    server: LocalAISpine, http: requests.Session
) -> None:
    for agent_id in ("active", "my-agents"):
        assert _create(http, server, agent_body(agent_id, ENDPOINT)).status_code == 200
    assert http.get(server.url + "/api/v1/agents/active").json()["count"] == 2
    assert http.get(server.url + "/api/v1/agents/my-agents").status_code == 401
    # Only GET is shadowed: the agents can still be deleted by id.
    for agent_id in ("active", "my-agents"):
        assert http.delete(server.url + "/api/v1/agents/" + agent_id).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer sk_test_key", "Basic abc"])
def test_my_agents_with_key_checks_off_is_always_401(
    server: LocalAISpine, http: requests.Session, authorization: Optional[str]
) -> None:
    _create(http, server, agent_body("echo_a", ENDPOINT))
    headers = {"Authorization": authorization} if authorization else {}
    answer = http.get(server.url + "/api/v1/agents/my-agents", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Authentication required"}
    assert "WWW-Authenticate" not in answer.headers


@pytest.mark.parametrize(
    "authorization, status, detail",
    [
        (None, 401, "Authentication required"),
        ("Bearer unknown-key", 401, "Authentication required"),
        ("Basic secret-key", 401, "Authentication required"),
        ("Bearer secret-key", 401, "Invalid API key"),
        ("Bearer alice-token", 500, "'UserInfo' object has no attribute 'startswith'"),
    ],
)
def test_my_agents_with_key_checks_on_never_succeeds(
    http: requests.Session, authorization: Optional[str], status: int, detail: str
) -> None:
    with LocalAISpine(api_key="secret-key", user_tokens={"alice-token": "alice"}) as server:
        headers = {"Authorization": authorization} if authorization else {}
        answer = http.get(server.url + "/api/v1/agents/my-agents", headers=headers)
        assert answer.status_code == status
        assert answer.json() == {"detail": detail}
        # Unlike the key check of other routes, this route sends no challenge.
        assert "WWW-Authenticate" not in answer.headers


def test_my_agents_with_an_issued_key_is_500(http: requests.Session) -> None:
    with LocalAISpine(api_key="secret-key") as server:
        key = server.add_api_key("5f0c2b7e-3d4a-4b8e-9c1d-2e3f4a5b6c7d")
        answer = http.get(
            server.url + "/api/v1/agents/my-agents", headers={"Authorization": "Bearer " + key}
        )
        assert answer.status_code == 500
        assert answer.json() == {"detail": "'UserInfo' object has no attribute 'startswith'"}
