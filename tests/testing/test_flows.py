"""Flow endpoints: listing, user-token CRUD, ownership, system flows and validation."""

from typing import Any, Dict

import pytest
import requests

from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

from ._support import NO_USER_TOKEN, agent_body, flow_body

ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}


@pytest.fixture
def seeded(server: LocalAISpine) -> LocalAISpine:
    for agent_id in ("echo_a", "echo_b"):
        server.add_agent(agent_body(agent_id, "http://127.0.0.1:9/" + agent_id))
    return server


def _normalised(flow: Dict[str, Any]) -> Dict[str, Any]:
    """What the server stores for flow_body(): every default filled in."""
    nodes = []
    for node in flow["nodes"]:
        nodes.append(
            {
                "id": node["id"],
                "agent_id": node["agent_id"],
                "type": node["type"],
                "depends_on": node.get("depends_on", []),
                "config": node.get("config", {}),
                "conditions": node.get("conditions"),
            }
        )
    return {
        "flow_id": flow["flow_id"],
        "name": flow["name"],
        "description": flow["description"],
        "version": flow.get("version", "1.0.0"),
        "nodes": nodes,
        "entry_point": flow["entry_point"],
        "exit_points": flow.get("exit_points", []),
        "metadata": flow.get("metadata", {}),
    }


def _user_id(http: requests.Session, server: LocalAISpine, headers: Dict[str, str]) -> str:
    return str(http.get(server.url + "/api/v1/flows", headers=headers).json()["user_id"])


def test_list_empty_anonymous_and_with_token(server: LocalAISpine, http: requests.Session) -> None:
    assert http.get(server.url + "/api/v1/flows").json() == {
        "flows": [],
        "count": 0,
        "user_id": None,
    }
    user_id = _user_id(http, server, ALICE)
    assert user_id.startswith("user-") and len(user_id) == len("user-") + 12
    assert _user_id(http, server, ALICE) == user_id
    assert _user_id(http, server, BOB) != user_id


def test_create_get_list(seeded: LocalAISpine, http: requests.Session) -> None:
    body = flow_body()
    answer = http.post(seeded.url + "/api/v1/flows", json=body, headers=ALICE)
    assert answer.status_code == 201
    assert answer.json() == _normalised(body)
    assert http.get(seeded.url + "/api/v1/flows/echo_flow").json() == _normalised(body)
    listed = http.get(seeded.url + "/api/v1/flows").json()
    assert listed == {"flows": [_normalised(body)], "count": 1, "user_id": None}
    assert http.get(seeded.url + "/flows").json() == {"flows": [_normalised(body)], "count": 1}


def test_get_unknown_flow_is_404(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.get(server.url + "/api/v1/flows/no_such_flow")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Flow 'no_such_flow' not found"}


@pytest.mark.parametrize("headers, detail", NO_USER_TOKEN)
def test_create_needs_a_user_token(
    seeded: LocalAISpine, http: requests.Session, headers: Dict[str, str], detail: str
) -> None:
    answer = http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": detail}
    assert "WWW-Authenticate" not in answer.headers


def test_a_bare_three_part_token_is_a_user_token(
    seeded: LocalAISpine, http: requests.Session
) -> None:
    bare = {"Authorization": "header.payload.signature"}
    answer = http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=bare)
    assert answer.status_code == 201
    bearer = {"Authorization": "Bearer header.payload.signature"}
    mine = http.get(seeded.url + "/api/v1/flows/my-flows", headers=bearer).json()
    assert [flow["flow_id"] for flow in mine["flows"]] == ["echo_flow"]


def test_create_existing_id_is_409(seeded: LocalAISpine, http: requests.Session) -> None:
    http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=ALICE)
    again = http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=BOB)
    assert again.status_code == 409
    assert again.json() == {"detail": "Flow 'echo_flow' already exists"}


@pytest.mark.parametrize(
    "overrides, detail",
    [
        ({"entry_point": "zz"}, "Entry point 'zz' is not a node of the flow"),
        ({"exit_points": ["n1", "zz"]}, "Exit point 'zz' is not a node of the flow"),
        (
            {"nodes": [{"id": "n0", "agent_id": "ghost_agent", "type": "processor"}]},
            "Agent 'ghost_agent' used by node 'n0' is not registered",
        ),
        (
            {
                "nodes": [
                    {"id": "n0", "agent_id": "echo_a", "type": "input", "depends_on": ["n1"]},
                    {"id": "n1", "agent_id": "echo_b", "type": "output", "depends_on": ["n0"]},
                ]
            },
            "Flow has a dependency cycle among nodes 'n0', 'n1'",
        ),
        (
            {"nodes": [{"id": "n0", "agent_id": "echo_a", "type": "input", "depends_on": ["q"]}]},
            "Node 'n0' depends on unknown node 'q'",
        ),
        (
            {
                "nodes": [
                    {"id": "n0", "agent_id": "echo_a", "type": "input"},
                    {"id": "n0", "agent_id": "echo_b", "type": "output"},
                ]
            },
            "Duplicate node id 'n0' in the flow",
        ),
    ],
)
def test_invalid_graph_is_400(
    seeded: LocalAISpine, http: requests.Session, overrides: Dict[str, Any], detail: str
) -> None:
    body = flow_body(**overrides)
    if "nodes" in overrides and "exit_points" not in overrides:
        body["exit_points"] = ["n0"]
    answer = http.post(seeded.url + "/api/v1/flows", json=body, headers=ALICE)
    assert answer.status_code == 400
    assert answer.json() == {"detail": detail}


def test_schema_errors_are_fastapi_422(seeded: LocalAISpine, http: requests.Session) -> None:
    body = flow_body()
    del body["name"]
    body["nodes"][1]["type"] = "robot"
    body["nodes"][0]["depends_on"] = "n1"
    answer = http.post(seeded.url + "/api/v1/flows", json=body, headers=ALICE)
    assert answer.status_code == 422
    expected_choices = "'input', 'processor', 'output' or 'conditional'"
    assert answer.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": body},
            {
                "type": "list_type",
                "loc": ["body", "nodes", 0, "depends_on"],
                "msg": "Input should be a valid list",
                "input": "n1",
            },
            {
                "type": "enum",
                "loc": ["body", "nodes", 1, "type"],
                "msg": "Input should be " + expected_choices,
                "input": "robot",
                "ctx": {"expected": expected_choices},
            },
        ]
    }


def test_non_object_flow_body_is_422(seeded: LocalAISpine, http: requests.Session) -> None:
    answer = http.post(seeded.url + "/api/v1/flows", json=["x"], headers=ALICE)
    assert answer.json()["detail"][0]["type"] == "model_attributes_type"
    nodes = http.post(seeded.url + "/api/v1/flows", json=flow_body(nodes=["x"]), headers=ALICE)
    assert nodes.json()["detail"] == [
        {
            "type": "model_type",
            "loc": ["body", "nodes", 0],
            "msg": "Input should be a valid dictionary or instance of FlowNode",
            "input": "x",
            "ctx": {"class_name": "FlowNode"},
        }
    ]


def test_my_flows_lists_only_the_callers_flows(
    seeded: LocalAISpine, http: requests.Session
) -> None:
    http.post(seeded.url + "/api/v1/flows", json=flow_body("alice_flow"), headers=ALICE)
    http.post(seeded.url + "/api/v1/flows", json=flow_body("bob_flow"), headers=BOB)
    mine = http.get(seeded.url + "/api/v1/flows/my-flows", headers=ALICE).json()
    assert [flow["flow_id"] for flow in mine["flows"]] == ["alice_flow"]
    assert mine["count"] == 1
    assert mine["user_id"] == _user_id(http, seeded, ALICE)
    missing = http.get(seeded.url + "/api/v1/flows/my-flows")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authorization header missing"}


def test_update_bumps_version_and_keeps_owner(seeded: LocalAISpine, http: requests.Session) -> None:
    http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=ALICE)
    changed = flow_body(name="Renamed", version="7.7.7")
    answer = http.put(seeded.url + "/api/v1/flows/echo_flow", json=changed, headers=ALICE)
    assert answer.status_code == 200
    assert answer.json()["name"] == "Renamed"
    assert answer.json()["version"] == "1.0.1"
    again = http.put(seeded.url + "/api/v1/flows/echo_flow", json=changed, headers=ALICE)
    assert again.json()["version"] == "1.0.2"
    mine = http.get(seeded.url + "/api/v1/flows/my-flows", headers=ALICE).json()
    assert mine["flows"][0]["name"] == "Renamed"


def test_update_errors(seeded: LocalAISpine, http: requests.Session) -> None:
    url = seeded.url + "/api/v1/flows/echo_flow"
    http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=ALICE)

    unauthenticated = http.put(url, json=flow_body())
    assert unauthenticated.status_code == 401

    mismatch = http.put(url, json=flow_body("other"), headers=ALICE)
    assert mismatch.status_code == 400
    assert mismatch.json() == {
        "detail": "Flow ID in the body ('other') does not match the flow ID in the URL "
        "('echo_flow')"
    }

    missing = http.put(seeded.url + "/api/v1/flows/nope", json=flow_body("nope"), headers=ALICE)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Flow 'nope' not found"}

    foreign = http.put(url, json=flow_body(), headers=BOB)
    assert foreign.status_code == 403
    assert foreign.json() == {"detail": "You do not have permission to update flow 'echo_flow'"}

    bad_graph = http.put(url, json=flow_body(entry_point="zz"), headers=ALICE)
    assert bad_graph.status_code == 400

    malformed = http.put(
        url, data=b"{", headers=dict(ALICE, **{"Content-Type": "application/json"})
    )
    assert malformed.status_code == 422


def test_delete_own_flow(seeded: LocalAISpine, http: requests.Session) -> None:
    http.post(seeded.url + "/api/v1/flows", json=flow_body(), headers=ALICE)
    url = seeded.url + "/api/v1/flows/echo_flow"
    assert http.delete(url).status_code == 401
    foreign = http.delete(url, headers=BOB)
    assert foreign.status_code == 403
    assert foreign.json() == {"detail": "You do not have permission to delete flow 'echo_flow'"}
    answer = http.delete(url, headers=ALICE)
    assert answer.status_code == 200
    assert answer.json() == {
        "message": "Flow 'echo_flow' deleted successfully",
        "status": "deleted",
    }
    again = http.delete(url, headers=ALICE)
    assert again.status_code == 404
    assert again.json() == {"detail": "Flow 'echo_flow' not found"}


def test_system_flows_can_be_updated_not_deleted(
    demo_server: LocalAISpine, http: requests.Session
) -> None:
    url = demo_server.url + "/api/v1/flows/" + DEMO_FLOW_ID
    flow = http.get(url).json()
    deleted = http.delete(url, headers=ALICE)
    assert deleted.status_code == 403
    assert deleted.json() == {
        "detail": "Flow '%s' is a system flow and cannot be deleted" % DEMO_FLOW_ID
    }
    assert http.get(url).json() == flow
    # The real server lets any signed-in user update a system flow.
    updated = http.put(url, json=dict(flow, description="changed"), headers=ALICE)
    assert updated.status_code == 200
    assert updated.json()["description"] == "changed"
    assert http.get(url).json()["description"] == "changed"
    assert http.put(url, json=flow).status_code == 401  # signed in, though


def test_unprefixed_create_quirks(seeded: LocalAISpine, http: requests.Session) -> None:
    created = http.post(seeded.url + "/flows", json=flow_body("legacy"))
    assert created.status_code == 200
    assert created.json() == _normalised(flow_body("legacy"))
    # No owner: a system flow, not deletable through /api/v1.
    assert http.delete(seeded.url + "/api/v1/flows/legacy", headers=ALICE).status_code == 403

    ghost = flow_body("ghost_flow", agents=["ghost_agent"])
    unknown_agent = http.post(seeded.url + "/flows", json=ghost)
    assert unknown_agent.status_code == 500
    assert unknown_agent.json() == {"detail": "400: Failed to create flow"}

    incomplete = flow_body("x")
    del incomplete["description"]
    invalid = http.post(seeded.url + "/flows", json=incomplete)
    assert invalid.status_code == 500
    detail = invalid.json()["detail"]
    assert detail.startswith("1 validation error for FlowDefinition\ndescription\n")
    assert "Field required [type=missing" in detail


def test_node_without_agent_is_accepted(seeded: LocalAISpine, http: requests.Session) -> None:
    body = flow_body(
        "passthrough",
        nodes=[{"id": "n0", "agent_id": None, "type": "input"}],
        exit_points=["n0"],
    )
    answer = http.post(seeded.url + "/api/v1/flows", json=body, headers=ALICE)
    assert answer.status_code == 201
    assert answer.json()["nodes"][0]["agent_id"] is None
