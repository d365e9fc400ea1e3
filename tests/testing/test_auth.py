"""API-key enforcement and how the key and user tokens share the Authorization header."""

from typing import Dict, Iterator

import pytest
import requests

from ai_spine.testing import LocalAISpine

from ._support import agent_body, flow_body

KEY = {"Authorization": "Bearer secret-key"}


@pytest.fixture
def locked() -> Iterator[LocalAISpine]:
    with LocalAISpine(api_key="secret-key") as server:
        server.add_agent(agent_body("echo_a", "http://127.0.0.1:9/a"))
        server.add_agent(agent_body("echo_b", "http://127.0.0.1:9/b"))
        yield server


@pytest.fixture
def team() -> Iterator[LocalAISpine]:
    tokens = {"alice-token": "alice", "bob-token": "bob"}
    with LocalAISpine(api_key="secret-key", user_tokens=tokens) as server:
        server.add_agent(agent_body("echo_a", "http://127.0.0.1:9/a"))
        server.add_agent(agent_body("echo_b", "http://127.0.0.1:9/b"))
        yield server


def test_health_and_root_need_no_key(locked: LocalAISpine, http: requests.Session) -> None:
    assert http.get(locked.url + "/health").status_code == 200
    root = http.get(locked.url + "/")
    assert root.status_code == 200
    assert root.json()["authentication_required"] is True
    assert locked.api_key == "secret-key"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/metrics"),
        ("GET", "/status"),
        ("GET", "/agents"),
        ("POST", "/flows"),
        ("GET", "/api/v1/agents"),
        ("GET", "/api/v1/flows"),
        ("POST", "/api/v1/flows/execute"),
        ("GET", "/api/v1/executions"),
        ("GET", "/api/v1/executions/not-a-uuid"),
        ("GET", "/api/v1/users/me"),
    ],
)
def test_every_other_route_needs_the_key(
    locked: LocalAISpine, http: requests.Session, method: str, path: str
) -> None:
    missing = http.request(method, locked.url + path)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Missing API key"}
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = http.request(method, locked.url + path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid API key"}
    assert wrong.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Authorization": "Bearer secret-key"}, 200),
        ({"Authorization": "bearer secret-key"}, 200),
        ({"Authorization": "BEARER   secret-key "}, 200),
        ({"Authorization": "Basic secret-key"}, 401),
        ({"Authorization": "secret-key"}, 401),
        ({"X-API-Key": "secret-key"}, 401),
    ],
)
def test_only_the_bearer_header_is_read(
    locked: LocalAISpine, http: requests.Session, headers: Dict[str, str], status: int
) -> None:
    assert http.get(locked.url + "/metrics", headers=headers).status_code == status


def test_routing_errors_come_before_the_key_check(
    locked: LocalAISpine, http: requests.Session
) -> None:
    assert http.get(locked.url + "/api/v1/nothing-here").status_code == 404
    assert http.delete(locked.url + "/metrics").status_code == 405


def test_users_me_with_the_key_is_the_master_user(
    locked: LocalAISpine, http: requests.Session
) -> None:
    assert http.get(locked.url + "/api/v1/users/me", headers=KEY).json()["id"] == "master"


def test_the_key_is_not_a_user_token(locked: LocalAISpine, http: requests.Session) -> None:
    # The real server accepts only a user access token on flow writes: code that creates
    # flows with the API key gets 401 there, and so it does here.
    refused = http.post(locked.url + "/api/v1/flows", json=flow_body(), headers=KEY)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Authentication failed"}
    assert "WWW-Authenticate" not in refused.headers
    assert http.get(locked.url + "/api/v1/flows/my-flows", headers=KEY).status_code == 401
    assert http.get(locked.url + "/api/v1/flows", headers=KEY).json()["user_id"] is None


def test_the_key_is_the_master_users_token_when_allowed(http: requests.Session) -> None:
    with LocalAISpine(api_key="secret-key", api_key_as_user_token=True) as locked:
        _the_key_is_the_master_users_token(locked, http)


def _the_key_is_the_master_users_token(locked: LocalAISpine, http: requests.Session) -> None:
    locked.add_agent(agent_body("echo_a", "http://127.0.0.1:9/a"))
    locked.add_agent(agent_body("echo_b", "http://127.0.0.1:9/b"))
    created = http.post(locked.url + "/api/v1/flows", json=flow_body(), headers=KEY)
    assert created.status_code == 201
    mine = http.get(locked.url + "/api/v1/flows/my-flows", headers=KEY).json()
    assert mine["user_id"] == "master"
    assert [flow["flow_id"] for flow in mine["flows"]] == ["echo_flow"]
    assert http.get(locked.url + "/api/v1/flows", headers=KEY).json()["user_id"] == "master"
    assert http.delete(locked.url + "/api/v1/flows/echo_flow", headers=KEY).status_code == 200


def test_user_tokens_act_as_their_users_keys(team: LocalAISpine, http: requests.Session) -> None:
    alice = {"Authorization": "Bearer alice-token"}
    bob = {"Authorization": "Bearer bob-token"}
    assert http.post(team.url + "/api/v1/flows", json=flow_body(), headers=alice).status_code == 201
    forbidden = http.delete(team.url + "/api/v1/flows/echo_flow", headers=bob)
    assert forbidden.status_code == 403
    me = http.get(team.url + "/api/v1/users/me", headers=bob).json()
    assert me["id"] == "bob"
    assert set(me) == {"id", "email", "name", "organization", "credits", "rate_limit"}
    mine = http.get(team.url + "/api/v1/flows/my-flows", headers=alice).json()
    assert mine["user_id"] == "alice" and mine["count"] == 1
    stranger = http.get(team.url + "/metrics", headers={"Authorization": "Bearer eve"})
    assert stranger.json() == {"detail": "Invalid API key"}


def test_user_tokens_without_api_key(http: requests.Session) -> None:
    with LocalAISpine(user_tokens={"alice-token": "alice"}) as server:
        server.add_agent(agent_body("echo_a", "http://127.0.0.1:9/a"))
        server.add_agent(agent_body("echo_b", "http://127.0.0.1:9/b"))
        url = server.url + "/api/v1/flows"
        unknown = http.post(url, json=flow_body(), headers={"Authorization": "Bearer eve"})
        assert unknown.status_code == 401
        assert unknown.json() == {"detail": "Authentication failed"}
        assert "WWW-Authenticate" not in unknown.headers
        ok = http.post(url, json=flow_body(), headers={"Authorization": "Bearer alice-token"})
        assert ok.status_code == 201
        anonymous = http.get(url, headers={"Authorization": "Bearer eve"}).json()
        assert anonymous["user_id"] is None
