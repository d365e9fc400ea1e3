"""Every operation as data: what it sends, what it checks first, how it reads the answer.

No I/O: the builders are called directly and their parse functions fed :class:`Answer`s.
"""

import re
from typing import Any, Callable, Dict, List

import pytest

from ai_spine import (
    AISpineError,
    ExecutionError,
    NetworkError,
    NotFoundError,
    ServerError,
    ValidationError,
)
from ai_spine import _operations as ops
from ai_spine._operations import Operation
from ai_spine._protocol import Answer
from ai_spine.constants import NIL_UUID

EXECUTION_ID = "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"
URL = "https://api.example.test/x"

FLOW: Dict[str, Any] = {
    "flow_id": "echo_flow",
    "name": "Echo flow",
    "description": "Two echo nodes",
    "nodes": [{"id": "a", "agent_id": "echo_a"}, {"id": "b", "agent_id": "echo_b"}],
    "entry_point": "a",
}
AGENT: Dict[str, Any] = {
    "agent_id": "echo_a",
    "name": "Echo Agent A",
    "description": "",
    "endpoint": "http://127.0.0.1:9000/agent-a",
    "capabilities": ["echo"],
    "agent_type": "input",
}


def answer(body: Any, status_code: int = 200, method: str = "GET") -> Answer:
    return Answer(body, status_code, {"content-type": "application/json"}, method, URL)


def sent(op: "Operation[Any]") -> Dict[str, Any]:
    return dict(method=op.method, path=op.path, params=op.params, body=op.body, token=op.token)


# --- Operation ---------------------------------------------------------------------------------


def test_an_operation_is_its_request_and_its_reader() -> None:
    parse: Callable[[Answer], Any] = lambda a: a.body  # noqa: E731
    op = Operation("PUT", "/p", parse, params={"a": "1"}, body={"b": 2}, token="t")
    assert sent(op) == dict(method="PUT", path="/p", params={"a": "1"}, body={"b": 2}, token="t")
    assert op.parse is parse and op.recover is None
    assert repr(op) == "Operation(PUT /p)"
    with pytest.raises(AttributeError):
        op.other = 1  # type: ignore[attr-defined]


def test_without_recover_an_error_is_raised_as_it_is() -> None:
    op = Operation("GET", "/p", ops.expect_dict)
    error = NotFoundError("gone", status_code=404)
    with pytest.raises(NotFoundError) as caught:
        op.recovered(error)
    assert caught.value is error


def test_recover_turns_an_error_into_a_result() -> None:
    seen: List[AISpineError] = []

    def recover(error: AISpineError) -> str:
        seen.append(error)
        return "instead"

    error = ServerError("down", status_code=503)
    assert Operation("GET", "/p", ops.expect_dict, recover=recover).recovered(error) == "instead"
    assert seen == [error]


# --- Executions --------------------------------------------------------------------------------


def test_execute_flow_posts_only_the_given_fields() -> None:
    op = ops.execute_flow("echo_flow", {"msg": "hi"}, None, None, None)
    assert sent(op) == dict(
        method="POST",
        path="/api/v1/flows/execute",
        params=None,
        body={"flow_id": "echo_flow", "input_data": {"msg": "hi"}},
        token=None,
    )
    full = ops.execute_flow("echo_flow", {}, {"source": "test"}, 0, "user-1")
    assert full.body == {
        "flow_id": "echo_flow",
        "input_data": {},
        "metadata": {"source": "test"},
        "priority": 0,
        "user_id": "user-1",
    }
    assert ops.execute_flow("f", {}, None, 10, None).body == {
        "flow_id": "f",
        "input_data": {},
        "priority": 10,
    }


def test_execute_flow_copies_its_input_into_a_plain_dict() -> None:
    class Mapping(dict):  # type: ignore[type-arg]
        pass

    data = Mapping(msg="hi")
    body = ops.execute_flow("f", data, None, None, None).body
    assert body is not None
    assert type(body["input_data"]) is dict and body["input_data"] == {"msg": "hi"}
    assert body["input_data"] is not data


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("", {}, None, None, None), "flow_id must be a non-empty string"),
        (("a/b", {}, None, None, None), "flow_id 'a/b' cannot contain '/'"),
        (("..", {}, None, None, None), "flow_id '..' cannot be an id"),
        (("x" * 1001, {}, None, None, None), "is 1001 bytes in UTF-8, more than the 1000"),
        (("execute", {}, None, None, None), "flow_id 'execute' cannot be addressed"),
        (("my-flows", {}, None, None, None), "flow_id 'my-flows' cannot be addressed"),
        (("f", None, None, None, None), "input_data must be a dict, got None (NoneType)"),
        (("f", [1], None, None, None), "input_data must be a dict, got [1] (list)"),
        (("f", {"s": {1, 2}}, None, None, None), "input_data must be JSON-serialisable"),
        (("f", {"x": float("nan")}, None, None, None), "input_data must be JSON-serialisable"),
        (("f", {}, "meta", None, None), "metadata must be a dict"),
        (("f", {}, {"b": b"x"}, None, None), "metadata must be JSON-serialisable"),
        (("f", {}, None, 11, None), "priority must be an integer from 0 to 10, got 11"),
        (("f", {}, None, -1, None), "priority must be an integer from 0 to 10, got -1"),
        (("f", {}, None, True, None), "priority must be an integer from 0 to 10, got True"),
        (("f", {}, None, 5.0, None), "priority must be an integer from 0 to 10, got 5.0"),
        (("f", {}, None, None, " "), "user_id must be a non-empty string"),
        (("f", {}, None, None, 7), "user_id must be a non-empty string"),
    ],
)
def test_execute_flow_checks_its_arguments(args: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        ops.execute_flow(*args)


def test_execution_routes_take_the_canonical_uuid() -> None:
    braced = "{" + EXECUTION_ID.upper() + "}"
    assert sent(ops.get_execution(braced)) == dict(
        method="GET",
        path="/api/v1/executions/" + EXECUTION_ID,
        params=None,
        body=None,
        token=None,
    )
    assert ops.get_execution("urn:uuid:" + EXECUTION_ID).path.endswith("/" + EXECUTION_ID)
    hex_only = EXECUTION_ID.replace("-", "")
    assert ops.get_execution_results(hex_only).path == (
        "/api/v1/executions/{}/results".format(EXECUTION_ID)
    )
    cancel = ops.cancel_execution(EXECUTION_ID)
    assert (cancel.method, cancel.path, cancel.body) == (
        "POST",
        "/api/v1/executions/{}/cancel".format(EXECUTION_ID),
        None,
    )


@pytest.mark.parametrize(
    "build", [ops.get_execution, ops.get_execution_results, ops.cancel_execution]
)
@pytest.mark.parametrize("value", ["nope", EXECUTION_ID + "/../x", "", None, 123])
def test_execution_ids_must_be_uuids(build: Callable[[Any], Any], value: Any) -> None:
    with pytest.raises(ValidationError, match="execution_id"):
        build(value)


def test_list_executions_pages_with_string_parameters_and_unwraps_the_list() -> None:
    op = ops.list_executions(5, 10)
    assert sent(op) == dict(
        method="GET",
        path="/api/v1/executions",
        params={"limit": "5", "offset": "10"},
        body=None,
        token=None,
    )
    items = [{"execution_id": EXECUTION_ID}]
    assert op.parse(answer({"executions": items, "count": 1})) == items
    assert ops.list_executions(1, 0).params == {"limit": "1", "offset": "0"}


@pytest.mark.parametrize(
    "limit, offset, fragment",
    [
        (0, 0, "limit must be a positive integer, got 0"),
        (True, 0, "limit must be a positive integer, got True"),
        ("5", 0, "limit must be a positive integer, got '5'"),
        (5, -1, "offset must be an integer >= 0, got -1"),
        (5, 1.5, "offset must be an integer >= 0, got 1.5"),
        (5, False, "offset must be an integer >= 0, got False"),
    ],
)
def test_list_executions_checks_paging(limit: Any, offset: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        ops.list_executions(limit, offset)


# --- execute_flow's answer -----------------------------------------------------------------------


def test_a_started_execution_is_returned(recorded_body: Callable[[str], Any]) -> None:
    body = recorded_body("execute")
    parse = ops.execute_flow("echo_flow", {}, None, None, None).parse
    assert parse(answer(body, method="POST")) is body


def test_an_unknown_flow_is_not_found(recorded_body: Callable[[str], Any]) -> None:
    body = recorded_body("execute_unknown_flow")
    parse = ops.execute_flow("no_such_flow", {}, None, None, None).parse
    with pytest.raises(NotFoundError) as caught:
        parse(answer(body, method="POST"))
    error = caught.value
    assert (
        error.message == "Flow 'no_such_flow' not found. list_flows() shows the flows that exist."
    )
    assert (error.status_code, error.body, error.method, error.url) == (200, body, "POST", URL)


@pytest.mark.parametrize(
    "started, reason",
    [
        (
            {"execution_id": NIL_UUID, "status": "failed", "error": "Insufficient credits"},
            "Insufficient credits",
        ),
        (
            {"execution_id": NIL_UUID, "status": "failed", "error": None},
            "the server refused to start the execution",
        ),
        (
            {"execution_id": NIL_UUID, "status": "pending"},
            "the server refused to start the execution",
        ),
        (
            {"execution_id": EXECUTION_ID, "status": "failed", "error": "no agents"},
            "no agents",
        ),
        (
            {"execution_id": NIL_UUID, "status": "failed", "error": "Flow 'x' not found yet"},
            "Flow 'x' not found yet",
        ),
    ],
)
def test_a_refused_start_is_an_execution_error(started: Dict[str, Any], reason: str) -> None:
    parse = ops.execute_flow("echo_flow", {}, None, None, None).parse
    with pytest.raises(ExecutionError) as caught:
        parse(answer(started, method="POST"))
    error = caught.value
    assert type(error) is ExecutionError
    assert error.message == "Flow 'echo_flow' did not start: {}".format(reason)
    assert (error.execution_id, error.status) == (started["execution_id"], "failed")
    assert error.execution is started
    assert (error.status_code, error.method, error.url) == (200, "POST", URL)


def test_an_unknown_flow_with_a_multiline_name_is_still_not_found() -> None:
    started = {"execution_id": NIL_UUID, "status": "failed", "error": "Flow 'a\nb' not found"}
    with pytest.raises(NotFoundError):
        ops.execute_flow("f", {}, None, None, None).parse(answer(started))


@pytest.mark.parametrize(
    "body", [{"status": "pending"}, {"execution_id": ""}, {"execution_id": 5}, [], None, "ok"]
)
def test_a_start_without_an_execution_id_is_a_server_error(body: Any) -> None:
    with pytest.raises(ServerError) as caught:
        ops.execute_flow("f", {}, None, None, None).parse(answer(body, method="POST"))
    assert type(caught.value) is ServerError
    assert caught.value.status_code == 200
    assert "the API may have changed" in caught.value.message


# --- Flows -----------------------------------------------------------------------------------


def test_flow_reads(recorded_body: Callable[[str], Any]) -> None:
    listed = ops.list_flows()
    assert sent(listed) == dict(
        method="GET", path="/api/v1/flows", params=None, body=None, token=None
    )
    body = recorded_body("flows_list_v1")
    assert listed.parse(answer(body)) == body["flows"]
    one = ops.get_flow("echo_flow")
    assert (one.method, one.path, one.token) == ("GET", "/api/v1/flows/echo_flow", None)
    flow = recorded_body("flow_get")
    assert one.parse(answer(flow)) is flow
    mine = ops.list_my_flows("user-token")
    assert sent(mine) == dict(
        method="GET", path="/api/v1/flows/my-flows", params=None, body=None, token="user-token"
    )
    assert mine.parse(answer({"flows": []})) == []


def test_ids_of_unreserved_characters_are_sent_unchanged() -> None:
    flow_id = "Az09_-.~" + "x" * 992
    assert ops.get_flow(flow_id).path == "/api/v1/flows/" + flow_id
    assert ops.get_agent("a-b_C9").path == "/api/v1/agents/a-b_C9"


@pytest.mark.parametrize(
    "raw, path",
    [
        ("a b", "a%20b"),
        ("a?b#c", "a%3Fb%23c"),
        ("a%2Fb", "a%252Fb"),
        ("é", "%C3%A9"),
        ("...", "..."),
        ("a\\b", "a%5Cb"),
        (" ", "%20"),
        ("Execute", "Execute"),
    ],
)
def test_ids_the_server_can_route_are_percent_encoded_into_one_segment(raw: str, path: str) -> None:
    assert ops.get_flow(raw).path == "/api/v1/flows/" + path
    assert ops.delete_agent(raw).path == "/api/v1/agents/" + path


@pytest.mark.parametrize(
    "flow_id", ["a/b", "/", ".", "..", "a\n", "\x7f", "\x85", "\ud800", "é" * 501]
)
def test_ids_that_cannot_be_routed_are_refused_before_anything_is_built(flow_id: str) -> None:
    for build in (ops.get_flow, lambda i: ops.delete_flow(i, "t")):
        with pytest.raises(ValidationError, match="flow_id"):
            build(flow_id)
    with pytest.raises(ValidationError, match="agent_id"):
        ops.get_agent(flow_id)


def test_flow_writes_send_the_user_token() -> None:
    create = ops.create_flow(FLOW, "user-token")
    assert sent(create) == dict(
        method="POST", path="/api/v1/flows", params=None, body=FLOW, token="user-token"
    )
    assert create.body is not FLOW
    delete = ops.delete_flow("echo_flow", "user-token")
    assert sent(delete) == dict(
        method="DELETE",
        path="/api/v1/flows/echo_flow",
        params=None,
        body=None,
        token="user-token",
    )
    assert delete.parse(answer({"message": "deleted"})) == {"message": "deleted"}


def test_update_flow_puts_the_flow_with_its_id_filled_in() -> None:
    without_id = {k: v for k, v in FLOW.items() if k != "flow_id"}
    update = ops.update_flow("echo_flow", without_id, "user-token")
    assert sent(update) == dict(
        method="PUT",
        path="/api/v1/flows/echo_flow",
        params=None,
        body=dict(without_id, flow_id="echo_flow"),
        token="user-token",
    )
    assert "flow_id" not in without_id
    assert ops.update_flow("echo_flow", FLOW, "t").body == FLOW


def test_update_flow_refuses_a_mismatched_flow_id() -> None:
    with pytest.raises(ValidationError) as caught:
        ops.update_flow("other", FLOW, "t")
    assert caught.value.message == (
        "flow['flow_id'] is 'echo_flow' but flow_id is 'other': they must match"
    )


@pytest.mark.parametrize(
    "flow, fragment",
    [
        ("not a flow", "flow must be a dict"),
        ({"flow_id": "f"}, "flow is missing required field(s): name, description, nodes"),
        (dict(FLOW, flow_id="bad/id"), "flow['flow_id'] 'bad/id' cannot contain '/'"),
        (dict(FLOW, flow_id="my-flows"), "flow['flow_id'] 'my-flows' cannot be addressed"),
        (dict(FLOW, nodes="a"), "flow['nodes'] must be a list of dicts, each with an 'id'"),
        (dict(FLOW, nodes=[{"agent_id": "x"}]), "flow['nodes'] must be a list of dicts"),
        (dict(FLOW, nodes=["a"]), "flow['nodes'] must be a list of dicts"),
        (dict(FLOW, metadata={1j: 1}), "flow must be JSON-serialisable"),
    ],
)
def test_flows_are_checked_before_sending(flow: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        ops.create_flow(flow, "t")
    flow_id = flow.get("flow_id", "f") if isinstance(flow, dict) else "f"
    if flow_id not in ("bad/id", "my-flows"):  # those fail on the path, checked below
        with pytest.raises(ValidationError, match=re.escape(fragment)):
            ops.update_flow(flow_id, flow, "t")


@pytest.mark.parametrize("flow_id", ["execute", "my-flows", "", "a/b", None])
def test_flow_routes_refuse_ids_they_cannot_reach(flow_id: str) -> None:
    for build in (
        ops.get_flow,
        lambda i: ops.delete_flow(i, "t"),
        lambda i: ops.update_flow(i, {}, "t"),
    ):
        with pytest.raises(ValidationError, match="flow_id"):
            build(flow_id)


# --- Agents ----------------------------------------------------------------------------------


def test_agent_reads(recorded_body: Callable[[str], Any]) -> None:
    listed = ops.list_agents()
    assert (listed.method, listed.path, listed.token) == ("GET", "/api/v1/agents", None)
    body = recorded_body("agents_list_unprefixed")
    assert listed.parse(answer(body)) == body["agents"]
    one = ops.get_agent("echo_a")
    assert (one.method, one.path) == ("GET", "/api/v1/agents/echo_a")
    agent = recorded_body("agent_get")
    assert one.parse(answer(agent)) is agent


def test_create_agent_posts_the_checked_config() -> None:
    op = ops.create_agent(dict(AGENT, is_active=False))
    assert sent(op) == dict(
        method="POST",
        path="/api/v1/agents",
        params=None,
        body=dict(AGENT, is_active=False),
        token=None,
    )


@pytest.mark.parametrize(
    "config, fragment",
    [
        (["a"], "agent_config must be a dict"),
        ({"agent_id": "a"}, "agent_config is missing required field(s): name, description"),
        (dict(AGENT, agent_id="active"), "agent_config['agent_id'] 'active' cannot be addressed"),
        (dict(AGENT, agent_id="a/b"), "agent_config['agent_id'] 'a/b' cannot contain '/'"),
        (dict(AGENT, name=" "), "agent_config['name'] must be a non-empty string"),
        (dict(AGENT, description=None), "agent_config['description'] must be a string"),
        (dict(AGENT, endpoint="ftp://x"), "agent_config['endpoint'] must be an http://"),
        (dict(AGENT, endpoint="localhost:9000"), "agent_config['endpoint'] must be an http://"),
        (dict(AGENT, capabilities="echo"), "agent_config['capabilities'] must be a list of"),
        (dict(AGENT, capabilities=[1]), "agent_config['capabilities'] must be a list of"),
        (dict(AGENT, agent_type="robot"), "agent_config['agent_type'] must be one of "),
        (dict(AGENT, is_active="yes"), "agent_config['is_active'] must be True or False"),
    ],
)
def test_agent_configs_are_checked_before_sending(config: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        ops.create_agent(config)


def test_delete_agent_is_true_when_deleted(recorded_body: Callable[[str], Any]) -> None:
    op = ops.delete_agent("temp_agent")
    assert sent(op) == dict(
        method="DELETE", path="/api/v1/agents/temp_agent", params=None, body=None, token=None
    )
    assert op.parse(answer(recorded_body("agent_delete"), method="DELETE")) is True
    assert op.parse(answer(None, 204, "DELETE")) is True


def test_delete_agent_is_false_when_there_was_none() -> None:
    missing = NotFoundError("Agent 'temp_agent' not found", status_code=404)
    assert ops.delete_agent("temp_agent").recovered(missing) is False


@pytest.mark.parametrize(
    "error",
    [
        ServerError("down", status_code=503),
        NetworkError("refused"),
        ValidationError("bad", status_code=422),
        ExecutionError("no"),
    ],
)
def test_delete_agent_raises_every_other_error(error: AISpineError) -> None:
    with pytest.raises(AISpineError) as caught:
        ops.delete_agent("temp_agent").recovered(error)
    assert caught.value is error


@pytest.mark.parametrize("agent_id", ["active", "my-agents", "..", "a/b", "", 7])
def test_agent_routes_refuse_ids_they_cannot_reach(agent_id: str) -> None:
    for build in (ops.get_agent, ops.delete_agent):
        with pytest.raises(ValidationError, match="agent_id"):
            build(agent_id)


# --- System ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, path, fixture",
    [
        (ops.health_check, "/health", "health"),
        (ops.get_metrics, "/metrics", "metrics_fresh"),
        (ops.get_status, "/status", "status_fresh"),
        (ops.get_current_user, "/api/v1/users/me", "users_me"),
    ],
)
def test_system_reads(
    build: Callable[[], "Operation[Any]"],
    path: str,
    fixture: str,
    recorded_body: Callable[[str], Any],
) -> None:
    op = build()
    assert sent(op) == dict(method="GET", path=path, params=None, body=None, token=None)
    body = recorded_body(fixture)
    assert op.parse(answer(body)) is body
    with pytest.raises(ServerError):
        op.parse(answer([body]))


def test_check_credits_reads_the_integer_credits(recorded_body: Callable[[str], Any]) -> None:
    op = ops.check_credits()
    assert (op.method, op.path) == ("GET", "/api/v1/users/me")
    assert op.parse(answer(recorded_body("users_me"))) == 999999
    assert op.parse(answer({"credits": 0})) == 0


@pytest.mark.parametrize("credits", [None, "10", 1.5, True, [1]])
def test_check_credits_refuses_credits_that_are_not_an_integer(credits: Any) -> None:
    with pytest.raises(ServerError, match="a user with integer 'credits'"):
        ops.check_credits().parse(answer({"id": "u", "credits": credits}))
    with pytest.raises(ServerError, match="a user with integer 'credits'"):
        ops.check_credits().parse(answer({"id": "u"}))


# --- Answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [[], [1], "text", None, 3, True])
def test_expect_dict_refuses_anything_but_an_object(body: Any) -> None:
    with pytest.raises(ServerError) as caught:
        ops.expect_dict(answer(body))
    error = caught.value
    assert "where a JSON object was expected; the API may have changed" in error.message
    assert (error.status_code, error.body, error.method, error.url) == (200, body, "GET", URL)


def test_expect_dict_accepts_an_object_as_it_is() -> None:
    body = {"a": 1}
    assert ops.expect_dict(answer(body)) is body
    assert ops.expect_dict(answer({})) == {}


@pytest.mark.parametrize(
    "build, key",
    [
        (ops.list_flows, "flows"),
        (ops.list_agents, "agents"),
        (lambda: ops.list_my_flows("t"), "flows"),
        (lambda: ops.list_executions(20, 0), "executions"),
    ],
)
@pytest.mark.parametrize("body", [{}, {"items": []}, {"flows": None, "agents": {}}, []])
def test_lists_must_be_wrapped_in_their_key(
    build: Callable[[], "Operation[Any]"], key: str, body: Any
) -> None:
    with pytest.raises(ServerError) as caught:
        build().parse(answer(body))
    if isinstance(body, dict):
        assert "an object with a {!r} list".format(key) in caught.value.message
    else:
        assert "a JSON object" in caught.value.message


def test_the_unexpected_answer_is_quoted_but_cut_short() -> None:
    error = ops.unexpected(answer(["x" * 500]), "a flow")
    assert error.message.startswith('The server answered ["' + "x" * 50)
    quoted = error.message[len("The server answered ") : error.message.index(" where ")]
    assert len(quoted) == 200
    assert error.message.endswith(" where a flow was expected; the API may have changed")
    assert ops.unexpected(answer(None), "a flow").message.startswith(
        "The server answered nothing where a flow"
    )


# --- Helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected", [(0, True), (-3, True), (True, False), (1.0, False), ("1", False)]
)
def test_is_int_excludes_bools_and_floats(value: Any, expected: bool) -> None:
    assert ops.is_int(value) is expected


def test_json_object_names_the_argument() -> None:
    assert ops.json_object({"a": [1, None]}) == {"a": [1, None]}
    with pytest.raises(ValidationError, match=re.escape("input_data must be a dict, got 'x'")):
        ops.json_object("x")
    with pytest.raises(ValidationError, match="^meta must be JSON-serialisable"):
        ops.json_object({"a": object()}, "meta")
