"""Differential test: one scenario of SDK calls, against LocalAISpine and against the answers
the real server gave (``shared/api/transcripts.json``, copied in ``tests/fixtures``).

Each step is one SDK call that reaches the server. It runs twice: once with the recorded
answer served to the SDK (``responses``), which gives what the SDK does against the real
server, and once against a LocalAISpine that went through the same steps. The two outcomes
must agree: the same result (same keys, JSON types and values, except values that differ on
every run: ids, timestamps, durations) or the same exception class, status code and message.
The request the SDK sent must also be the recorded one (method and path). A new departure of
the local server from the real one fails here, phrased the way a user of the SDK meets it.

The checked exchanges are listed in ``CHECKED`` (and printed with ``-s``).
"""

import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from ai_spine import AISpine, AISpineError
from ai_spine.testing import DemoAgents, LocalAISpine

from .test_transcripts import UUID, VOLATILE

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "responses.json"
RECORDED: Dict[str, Dict[str, Any]] = json.loads(FIXTURE.read_text("utf-8"))
PLACEHOLDER = "{AGENT_BASE_URL}"
MOCK_URL = "http://recorded.invalid"
EXACT, SHAPE = "exact", "shape"


class Run:
    """One side of the comparison: a client, and how recorded ids map to this side's ids."""

    def __init__(
        self, client: Any, ids: Dict[str, str], server: Optional[LocalAISpine], agents_url: str
    ) -> None:
        self.client = client
        self.ids = ids
        self.server = server
        self.agents_url = agents_url

    def id(self, recorded: str) -> str:
        """This side's id for a recorded execution id."""
        return self.ids.get(recorded, recorded) if self.server is not None else recorded

    def wait(self, recorded: str, *statuses: str) -> None:
        """Let the local execution reach a status the recording saw (nothing to do when
        replaying the recording)."""
        if self.server is not None:
            self.server.wait_for_execution(self.id(recorded), statuses=statuses, timeout=10)


class Step(NamedTuple):
    name: str
    mode: str
    call: Callable[[Run], Any]


def _body(name: str) -> Any:
    return RECORDED[name]["request"]["body"]


def _execution_id(name: str) -> str:
    return str(RECORDED[name]["response"]["body"]["execution_id"])


def _exec_id_of_path(name: str) -> str:
    return RECORDED[name]["request"]["path"].split("/")[4]


def _execute(name: str) -> Callable[[Run], Any]:
    def call(run: Run) -> Any:
        body = _body(name)
        extra = {key: body[key] for key in ("priority", "metadata") if key in body}
        return run.client.execute_flow(body["flow_id"], body["input_data"], **extra)

    return call


def _get(name: str, *statuses: str) -> Callable[[Run], Any]:
    def call(run: Run) -> Any:
        recorded = _exec_id_of_path(name)
        if statuses:
            run.wait(recorded, *statuses)
        return run.client.get_execution(run.id(recorded))

    return call


def _cancel(name: str) -> Callable[[Run], Any]:
    def call(run: Run) -> Any:
        recorded = _exec_id_of_path(name)
        if run.server is not None and name == "execution_cancel":
            run.wait(recorded, "running")
        return run.client.cancel_execution(run.id(recorded))

    return call


def _results(name: str, status: str) -> Callable[[Run], Any]:
    def call(run: Run) -> Any:
        recorded = _exec_id_of_path(name)
        run.wait(recorded, status)
        return run.client.get_execution_results(run.id(recorded))

    return call


def _agent(name: str) -> Callable[[Run], Any]:
    return lambda run: run.client.create_agent(_replace(_body(name), PLACEHOLDER, run.agents_url))


def _messages(name: str) -> Callable[[Run], Any]:
    return lambda run: run.client.get_execution_messages(run.id(_exec_id_of_path(name)))


def _all_finished(run: Run) -> Any:
    for recorded in list(run.ids):
        run.wait(recorded, "completed", "failed")
    return run.client.get_metrics()


BAD_TOKEN = "invalid.token.value"


def _bad_token(method: str) -> Callable[[Run], Any]:
    return lambda run: getattr(run.client, method)(access_token=BAD_TOKEN)


SCENARIO = [
    Step("health", SHAPE, lambda run: run.client.health_check()),
    Step("status_fresh", EXACT, lambda run: run.client.get_status()),
    Step("metrics_fresh", EXACT, lambda run: run.client.get_metrics()),
    Step("agent_create", EXACT, _agent("agent_create")),
    Step("agent_get", EXACT, lambda run: run.client.get_agent("echo_a")),
    Step("agent_get_not_found", EXACT, lambda run: run.client.get_agent("no_such_agent")),
    Step("agents_list_active", EXACT, lambda run: run.client.list_active_agents()),
    Step("agent_create_temp", EXACT, _agent("agent_create_temp")),
    Step("agent_delete", EXACT, lambda run: run.client.delete_agent("temp_agent")),
    Step("agent_delete_not_found", EXACT, lambda run: run.client.delete_agent("temp_agent")),
    Step("flows_list_v1", EXACT, lambda run: run.client.list_flows()),
    Step("flow_get", EXACT, lambda run: run.client.get_flow("echo_flow")),
    Step("flow_get_not_found", EXACT, lambda run: run.client.get_flow("no_such_flow")),
    Step("execute", EXACT, _execute("execute")),
    Step("execute_unknown_flow", EXACT, _execute("execute_unknown_flow")),
    Step("execution_get_completed", EXACT, _get("execution_get_completed", "completed")),
    Step("execution_results", EXACT, _results("execution_results", "completed")),
    Step("execute_slow", EXACT, _execute("execute_slow")),
    Step("execution_get_running", EXACT, _get("execution_get_running", "running")),
    Step("execute_failing", EXACT, _execute("execute_failing")),
    Step("execution_get_failed", EXACT, _get("execution_get_failed", "failed")),
    Step("execution_results_failed", EXACT, _results("execution_results_failed", "failed")),
    Step("execution_get_not_found", EXACT, _get("execution_get_not_found")),
    Step(
        "execution_results_not_found",
        EXACT,
        lambda run: run.client.get_execution_results(
            _exec_id_of_path("execution_results_not_found")
        ),
    ),
    Step("execute_for_cancel", EXACT, _execute("execute_for_cancel")),
    Step("execution_cancel", EXACT, _cancel("execution_cancel")),
    Step("execution_cancel_again", EXACT, _cancel("execution_cancel_again")),
    Step("execution_cancel_completed", EXACT, _cancel("execution_cancel_completed")),
    Step("executions_list_paged", SHAPE, lambda run: run.client.list_executions(limit=2, offset=1)),
    Step("execution_messages", EXACT, _messages("execution_messages")),
    Step("execution_messages_unknown", EXACT, _messages("execution_messages_unknown")),
    Step("execute_not_yet_fetched", EXACT, _execute("execute_not_yet_fetched")),
    Step("execution_get_unblocks_list", EXACT, _get("execution_get_unblocks_list", "completed")),
    Step("users_me", EXACT, lambda run: run.client.get_current_user()),
    # Counts included: the real server never fills running_ or cancelled_executions.
    Step("metrics_after_runs", EXACT, _all_finished),
    Step("status_after_runs", EXACT, lambda run: run.client.get_status()),
    Step("user_account_profile_bad_token", EXACT, _bad_token("get_user_profile")),
    Step("user_account_key_status_bad_token", EXACT, _bad_token("get_api_key_status")),
    Step("user_account_key_generate_bad_token", EXACT, _bad_token("generate_api_key")),
    Step("user_account_key_revoke_bad_token", EXACT, _bad_token("revoke_api_key")),
]
CHECKED = [step.name for step in SCENARIO]


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {key: _replace(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, old, new) for item in value]
    return value


def _same(expected: Any, actual: Any, mode: str, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), "%s: expected an object, got %r" % (where, actual)
        assert set(actual) == set(expected), "%s: keys %s, recorded %s" % (
            where,
            sorted(actual),
            sorted(expected),
        )
        for key, value in expected.items():
            volatile = key in VOLATILE or (
                key == "id" and isinstance(value, str) and bool(UUID.match(value))
            )
            if volatile or (mode == SHAPE and not isinstance(value, (dict, list))):
                assert (
                    type(actual[key]) is type(value) or value is None or actual[key] is None
                ), "%s.%s: %r, recorded %r" % (where, key, actual[key], value)
            else:
                _same(value, actual[key], mode, "%s.%s" % (where, key))
    elif isinstance(expected, list):
        assert isinstance(actual, list), "%s: expected a list, got %r" % (where, actual)
        if mode == SHAPE:
            for item in actual[:1]:
                if expected:
                    _same(expected[0], item, mode, where + "[0]")
            return
        assert len(actual) == len(expected), "%s: %r, recorded %r" % (where, actual, expected)
        for index, (theirs, mine) in enumerate(zip(expected, actual)):
            _same(theirs, mine, mode, "%s[%d]" % (where, index))
    else:
        assert type(actual) is type(expected), "%s: %r, recorded %r" % (where, actual, expected)
        assert actual == expected, "%s: %r, recorded %r" % (where, actual, expected)


Outcome = Tuple[str, Any]


def _outcome(call: Callable[[], Any]) -> Outcome:
    try:
        return "returned", call()
    except AISpineError as exc:
        return "raised", exc


def _recorded_outcome(step: Step, agents_url: str) -> Tuple[Outcome, str]:
    """What the SDK does with the recorded answer, and the path it sent."""
    exchange = RECORDED[step.name]
    answer = exchange["response"]
    body = _replace(answer["body"], PLACEHOLDER, agents_url)
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": answer["headers"]["content-type"]}
    sent: List[str] = []

    def reply(request: Any) -> Tuple[int, Dict[str, str], str]:
        sent.append("%s %s" % (request.method, request.path_url))
        return answer["status"], headers, text

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(
            exchange["request"]["method"], re.compile(re.escape(MOCK_URL) + ".*"), callback=reply
        )
        with AISpine(base_url=MOCK_URL, max_retries=0) as client:
            outcome = _outcome(lambda: step.call(Run(client, {}, None, agents_url)))
    assert len(sent) == 1, "%s: the SDK sent %r" % (step.name, sent)
    return outcome, sent[0]


def _check_request(name: str, sent: str, local: LocalAISpine) -> None:
    recorded = RECORDED[name]["request"]
    method, _, target = sent.partition(" ")
    parts = urlsplit(target)
    assert (method, parts.path) == (recorded["method"], recorded["path"]), name
    query = dict(parse_qsl(parts.query))
    assert query.items() >= (recorded["query"] or {}).items(), "%s: %s" % (name, target)
    # ... and the local server received the same request from the SDK.
    assert local.requests[-1].method == method, name


def _compare(step: Step, expected: Outcome, actual: Outcome, run: Run, local_url: str) -> None:
    name = step.name
    assert actual[0] == expected[0], "%s: the SDK %s %r locally, %s %r on the real server" % (
        name,
        actual[0],
        actual[1],
        expected[0],
        expected[1],
    )
    if expected[0] == "raised":
        theirs, mine = expected[1], actual[1]
        assert type(mine) is type(theirs), "%s: %r, recorded %r" % (name, mine, theirs)
        assert mine.status_code == theirs.status_code, name
        message = theirs.message.replace(MOCK_URL, local_url)
        for recorded, local_id in run.ids.items():
            message = message.replace(recorded, local_id)
        assert mine.message == message, "%s: %r, recorded %r" % (name, mine.message, message)
        return
    value = expected[1]
    for recorded, local_id in run.ids.items():
        value = _replace(value, recorded, local_id)
    _same(value, actual[1], step.mode, name)


@pytest.fixture
def local() -> Iterator[Tuple[LocalAISpine, DemoAgents]]:
    # The recording server had no identity provider: no token names a user (user_tokens={}).
    with DemoAgents(sleep_scale=0.25) as agents, LocalAISpine(
        agent_timeout=10.0, user_tokens={}
    ) as server:
        yield server, agents


def test_one_scenario_matches_the_recorded_real_answers(
    local: Tuple[LocalAISpine, DemoAgents], make_client: Callable[..., Any]
) -> None:
    server, agents = local
    run = Run(make_client(base_url=server.url, max_retries=0), {}, server, agents.url)
    checked = []
    for step in SCENARIO:
        # The recording created these through routes the SDK does not use (POST /agents and
        # POST /flows, unprefixed), at these points of the scenario.
        if step.name == "agent_get":
            server.add_agent(_replace(_body("agent_create_unprefixed"), PLACEHOLDER, agents.url))
        if step.name == "flows_list_v1":
            server.add_flow(_body("flow_create"))
        expected, sent = _recorded_outcome(step, agents.url)
        before = len(server.requests)
        actual = _outcome(lambda: step.call(run))
        assert len(server.requests) == before + 1, "%s: not sent once" % step.name
        _check_request(step.name, sent, server)
        if step.name.startswith("execute") and actual[0] == "returned":
            run.ids[_execution_id(step.name)] = actual[1]["execution_id"]
        _compare(step, expected, actual, run, server.url)
        checked.append(step.name)
    assert checked == CHECKED
    print("differential: %d exchanges checked: %s" % (len(checked), ", ".join(checked)))
