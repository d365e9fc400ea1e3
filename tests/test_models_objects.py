"""The dataclass models: read every recorded answer and give it back unchanged, tolerate any
dict, and keep their promises (timestamps, statuses, durations)."""

import copy
import dataclasses
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple, Type, Union, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_spine import ValidationError
from ai_spine.models import (
    AgentModel,
    AgentType,
    ExecutionModel,
    ExecutionStatus,
    FlowModel,
    FlowNodeModel,
    HealthModel,
    MetricsModel,
    NodeResultModel,
    SystemStatusModel,
)

MODELS = [
    FlowModel,
    FlowNodeModel,
    ExecutionModel,
    NodeResultModel,
    AgentModel,
    HealthModel,
    MetricsModel,
    SystemStatusModel,
]
RECORDED: Dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "responses.json").read_text("utf-8")
)


def recorded_objects() -> Iterator[Tuple[str, Type[Any], Dict[str, Any]]]:
    """Every flow, execution, node result, agent, health, metrics and status the server sent,
    whole or inside a list envelope or a ``results`` answer, with the model that reads it."""
    for name, exchange in RECORDED.items():
        body = exchange["response"]["body"]
        if exchange["response"]["status"] != 200 or not isinstance(body, dict):
            continue
        path = exchange["request"]["path"].split("?")[0]
        whole = {"/health": HealthModel, "/metrics": MetricsModel, "/status": SystemStatusModel}
        if path in whole:
            yield name, whole[path], body
            continue
        for key, model in (
            ("flows", FlowModel),
            ("agents", AgentModel),
            ("executions", ExecutionModel),
            ("node_results", NodeResultModel),
        ):
            for index, item in enumerate(body.get(key) or []):
                yield "{}.{}[{}]".format(name, key, index), model, item
        if isinstance(body.get("execution"), dict):
            yield name + ".execution", ExecutionModel, body["execution"]
        if "nodes" in body:
            yield name, FlowModel, body
        elif "endpoint" in body:
            yield name, AgentModel, body
        elif "flow_id" in body and "execution_id" in body:
            yield name, ExecutionModel, body


RECORDED_OBJECTS = list(recorded_objects())


def test_recorded_objects_cover_every_model() -> None:
    found = {model for _, model, _ in RECORDED_OBJECTS}
    assert found == set(MODELS) - {FlowNodeModel}  # nodes come inside the flows
    assert len(RECORDED_OBJECTS) > 40


@pytest.mark.parametrize(
    "name, model, body", RECORDED_OBJECTS, ids=[name for name, _, _ in RECORDED_OBJECTS]
)
def test_every_recorded_answer_round_trips(name: str, model: Type[Any], body: Any) -> None:
    sent = copy.deepcopy(body)
    parsed = model.from_dict(body)
    assert parsed.extra == {}, "a field the models do not name: {}".format(parsed.extra)
    assert_well_typed(parsed)
    again = parsed.to_dict()
    assert again == sent and list(again) == list(sent)  # same text, same key order
    assert json.dumps(again) == json.dumps(sent)
    assert body == sent  # from_dict changed nothing it was given


def test_recorded_answers_read_as_typed_values() -> None:
    execution = ExecutionModel.from_dict(RECORDED["execution_get_completed"]["response"]["body"])
    assert execution.status is ExecutionStatus.COMPLETED and execution.is_successful
    assert execution.created_at == datetime(2026, 11, 26, 12, 29, 39, 12512, tzinfo=timezone.utc)
    assert execution.duration == timedelta(microseconds=140418)
    flow = FlowModel.from_dict(RECORDED["flow_get"]["response"]["body"])
    assert [(n.id, n.agent_id, n.type) for n in flow.nodes] == [
        ("a", "echo_a", AgentType.INPUT),
        ("b", "echo_b", AgentType.PROCESSOR),
    ]
    assert flow.nodes[1].depends_on == ["a"] and flow.exit_points == ["b"]
    health = HealthModel.from_dict(RECORDED["health"]["response"]["body"])
    assert health.is_healthy and health.timestamp is not None
    assert health.timestamp.tzinfo is timezone.utc
    assert health.timestamp.timestamp() == pytest.approx(1795696178.9893842)
    metrics = MetricsModel.from_dict(RECORDED["metrics_after_runs"]["response"]["body"])
    assert (metrics.total_executions, metrics.average_execution_time) == (5, 10.0)
    results = RECORDED["execution_results_failed"]["response"]["body"]
    node = NodeResultModel.from_dict(results["node_results"][0])
    assert node.is_failed and node.duration == timedelta(milliseconds=16)
    assert SystemStatusModel.from_dict(
        RECORDED["status_after_runs"]["response"]["body"]
    ).agents == {
        "total": 2,
        "active": 2,
    }


# --- Any dict at all --------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)
# Fixed offsets: st.timezones() needs zoneinfo, absent on Python 3.7 and 3.8.
OFFSETS = st.timedeltas(-timedelta(hours=23, minutes=59), timedelta(hours=23, minutes=59)).map(
    timezone
)
TIMESTAMP_TEXT = st.datetimes(timezones=st.none() | OFFSETS).map(datetime.isoformat)


def plausible(model: Type[Any], name: str, hint: Any) -> Any:
    """Values of the right type (so parsing really runs), and of any other JSON type."""
    if model is HealthModel and name == "timestamp":
        right: Any = st.floats(-1e10, 1e10) | st.integers(-(10**10), 10**10)
    elif hint == datetime:
        right = TIMESTAMP_TEXT | st.text(max_size=30)
    elif isinstance(hint, type) and issubclass(hint, Enum):
        right = st.sampled_from([member.value for member in hint]) | st.text(max_size=10)
    elif hint == List[FlowNodeModel]:
        right = st.lists(model_dicts(FlowNodeModel), max_size=3)
    elif hint == List[str]:
        right = st.lists(st.text(max_size=5), max_size=3)
    elif hint in (int, float):
        right = st.integers() | st.floats()
    else:
        right = {str: st.text(max_size=10), bool: st.booleans()}.get(hint, JSON)
    return right | JSON


def model_dicts(model: Type[Any]) -> Any:
    hints = get_type_hints(model)
    known = {
        f.name: plausible(model, f.name, unwrap_optional(hints[f.name]))
        for f in dataclasses.fields(model)
        if f.name != "extra"
    }
    fields_ = st.fixed_dictionaries({}, optional=known)
    unknown = st.dictionaries(st.text(max_size=12).filter(lambda k: k not in known), JSON)
    return st.tuples(unknown, fields_).map(lambda pair: {**pair[0], **pair[1]})


def unwrap_optional(hint: Any) -> Any:
    args = [a for a in getattr(hint, "__args__", ()) if a is not type(None)]
    if getattr(hint, "__origin__", None) is Union and len(args) == 1:
        return args[0]
    return hint


def assert_well_typed(parsed: Any) -> None:
    """Every field holds a value of its declared type, whatever the dict held."""
    hints = get_type_hints(type(parsed))
    for f in dataclasses.fields(parsed):
        value = getattr(parsed, f.name)
        hint = unwrap_optional(hints[f.name])
        optional = hint is not hints[f.name]
        if value is None:
            assert optional, f.name
            continue
        expected = getattr(hint, "__origin__", hint)
        assert isinstance(value, expected), (f.name, value)
        if expected in (int, float):
            assert not isinstance(value, bool), f.name
        if isinstance(value, datetime):
            assert value.utcoffset() == timedelta(0), f.name
        if hint == List[str]:
            assert all(isinstance(item, str) for item in value), f.name
        if hint == List[FlowNodeModel]:
            for node in value:
                assert_well_typed(node)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_from_dict_reads_any_dict_and_gives_it_back(model: Type[Any], data: Any) -> None:
    sent = data.draw(model_dicts(model))
    kept = copy.deepcopy(sent)
    parsed = model.from_dict(sent)  # never raises
    assert_well_typed(parsed)
    assert parsed.to_dict() == kept
    named = {f.name for f in dataclasses.fields(model)} - {"extra"}
    assert set(parsed.extra) == set(sent) - named


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_an_empty_dict_gives_every_default(model: Type[Any]) -> None:
    assert model.from_dict({}) == model() and model.from_dict({}).to_dict() == {}


@pytest.mark.parametrize("data", [None, [], "execution", 3])
def test_from_dict_of_something_else_than_a_dict_is_a_validation_error(data: Any) -> None:
    with pytest.raises(ValidationError, match="ExecutionModel.from_dict needs a dict"):
        ExecutionModel.from_dict(data)


def test_wrong_typed_fields_keep_their_defaults_and_their_text() -> None:
    sent = {
        "execution_id": 7,
        "status": "complete",
        "input_data": ["a"],
        "error_message": {"no": 1},
        "created_at": "yesterday",
        "completed_at": 1795696178.0,
        "flow_id": None,
    }
    execution = ExecutionModel.from_dict(sent)
    assert execution == ExecutionModel()
    assert execution.to_dict() == sent
    assert AgentModel.from_dict({"is_active": 1, "capabilities": ["a", 2]}) == AgentModel()
    assert MetricsModel.from_dict({"total_executions": True, "running_executions": 1.5}) == (
        MetricsModel()
    )
    assert FlowModel.from_dict({"nodes": [{"id": "a"}, "b"]}).nodes == []
    assert HealthModel.from_dict({"timestamp": "1795696178"}).timestamp is None
    assert HealthModel.from_dict({"timestamp": 1e300}).timestamp is None


def test_an_int_where_a_float_is_expected_is_read_and_written_back_as_sent() -> None:
    metrics = MetricsModel.from_dict({"average_execution_time": 10})
    assert metrics.average_execution_time == 10.0 and isinstance(
        metrics.average_execution_time, float
    )
    assert json.dumps(metrics.to_dict()) == '{"average_execution_time": 10}'


# --- to_dict after changes --------------------------------------------------------------------


def test_changed_fields_are_written_in_the_servers_format() -> None:
    execution = ExecutionModel.from_dict(
        {"status": "running", "created_at": "2026-11-26T12:29:39.012512", "completed_at": None}
    )
    execution.status = ExecutionStatus.COMPLETED
    execution.completed_at = datetime(2026, 11, 26, 13, 29, 40, tzinfo=timezone(timedelta(hours=1)))
    assert execution.to_dict() == {
        "status": "completed",
        "created_at": "2026-11-26T12:29:39.012512",
        "completed_at": "2026-11-26T12:29:40",
    }
    assert type(execution.to_dict()["status"]) is str
    execution.created_at = None
    assert execution.to_dict()["created_at"] is None


def test_a_field_the_dict_lacked_is_written_once_it_is_set() -> None:
    agent = AgentModel.from_dict({"agent_id": "a"})
    assert agent.to_dict() == {"agent_id": "a"}
    agent.is_active = False
    agent.capabilities.append("echo")
    agent.agent_type = AgentType.OUTPUT
    assert agent.to_dict() == {
        "agent_id": "a",
        "capabilities": ["echo"],
        "agent_type": "output",
        "is_active": False,
    }


def test_a_wrong_typed_field_changed_in_place_is_written() -> None:
    flow = FlowModel.from_dict({"exit_points": "b", "nodes": {"a": 1}})
    assert flow.to_dict() == {"exit_points": "b", "nodes": {"a": 1}}
    flow.exit_points.append("b")
    flow.nodes.append(FlowNodeModel(id="b"))
    assert flow.to_dict() == {"exit_points": ["b"], "nodes": [{"id": "b"}]}


def test_nested_nodes_changed_in_place_are_written() -> None:
    flow = FlowModel.from_dict(RECORDED["flow_get"]["response"]["body"])
    flow.nodes[1].agent_id = "other"
    flow.nodes[0].extra["position"] = {"x": 1}
    written = flow.to_dict()
    assert written["nodes"][1]["agent_id"] == "other"
    assert written["nodes"][0]["position"] == {"x": 1}


def test_extra_fields_are_kept_and_can_be_dropped() -> None:
    flow = FlowModel.from_dict({"flow_id": "f", "created_by": "u1", "is_active": True})
    assert flow.extra == {"created_by": "u1", "is_active": True}
    del flow.extra["created_by"]
    flow.extra["tag"] = "x"
    assert flow.to_dict() == {"flow_id": "f", "is_active": True, "tag": "x"}


def test_a_model_built_in_code_writes_only_what_was_set() -> None:
    flow = FlowModel(
        flow_id="f",
        name="F",
        nodes=[FlowNodeModel(id="a", agent_id="x", type=AgentType.INPUT)],
        entry_point="a",
        exit_points=["a"],
    )
    assert flow.to_dict() == {
        "flow_id": "f",
        "name": "F",
        "nodes": [{"id": "a", "agent_id": "x", "type": "input"}],
        "entry_point": "a",
        "exit_points": ["a"],
    }
    assert FlowModel.from_dict(flow.to_dict()) == flow
    assert FlowNodeModel().depends_on is not FlowNodeModel().depends_on  # no shared defaults


# --- Statuses and durations -------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, terminal, successful, failed, cancelled",
    [
        ("pending", False, False, False, False),
        ("running", False, False, False, False),
        ("completed", True, True, False, False),
        ("failed", True, False, True, False),
        ("cancelled", True, False, False, True),
        ("paused", False, False, False, False),
        (None, False, False, False, False),
    ],
)
def test_execution_status_properties(
    status: Any, terminal: bool, successful: bool, failed: bool, cancelled: bool
) -> None:
    execution = ExecutionModel.from_dict({"status": status})
    assert execution.is_terminal is terminal
    assert execution.is_successful is successful
    assert execution.is_failed is failed
    assert execution.is_cancelled is cancelled


def test_execution_duration_runs_from_created_to_completed() -> None:
    running = ExecutionModel.from_dict(RECORDED["execution_get_running"]["response"]["body"])
    assert running.completed_at is None and running.duration is None
    assert ExecutionModel.from_dict({"completed_at": "2026-11-26T12:00:00"}).duration is None
    cancelled = ExecutionModel.from_dict(RECORDED["execution_get_after_cancel"]["response"]["body"])
    assert cancelled.is_cancelled and cancelled.duration == timedelta(microseconds=502146)


def test_node_duration_prefers_the_servers_measure() -> None:
    times = {"created_at": "2026-11-26T12:00:00", "completed_at": "2026-11-26T12:00:01.5"}
    assert NodeResultModel.from_dict(times).duration == timedelta(seconds=1.5)
    assert NodeResultModel.from_dict({**times, "execution_time_ms": 20}).duration == timedelta(
        milliseconds=20
    )
    assert NodeResultModel.from_dict({"created_at": "2026-11-26T12:00:00"}).duration is None
    node = NodeResultModel.from_dict({"status": "completed"})
    assert node.is_successful and not node.is_failed


# --- Timezones --------------------------------------------------------------------------------


def test_naive_timestamps_are_utc_and_offsets_are_converted() -> None:
    agent = AgentModel.from_dict(
        {"created_at": "2026-11-26T12:08:21.222760", "updated_at": "2026-11-26T14:08:21+02:00"}
    )
    assert agent.created_at == datetime(2026, 11, 26, 12, 8, 21, 222760, tzinfo=timezone.utc)
    assert agent.updated_at is not None and agent.updated_at.tzinfo is timezone.utc
    assert agent.updated_at.hour == 12
    assert agent.to_dict()["updated_at"] == "2026-11-26T14:08:21+02:00"  # as sent
    agent.updated_at += timedelta(seconds=1)
    assert agent.to_dict()["updated_at"] == "2026-11-26T12:08:22"


def test_the_health_epoch_is_a_utc_datetime_and_is_written_back_as_a_float() -> None:
    health = HealthModel.from_dict({"timestamp": 0})
    assert health.timestamp == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert health.to_dict() == {"timestamp": 0}
    health.timestamp = datetime(1970, 1, 1, 0, 0, 2, 500000, tzinfo=timezone.utc)
    assert health.to_dict() == {"timestamp": 2.5}


def run_python(code: str) -> List[str]:
    finished = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True
    )
    return finished.stdout.decode().split()


def test_the_dataclasses_are_built_on_first_use() -> None:
    code = (
        "import sys, ai_spine, ai_spine.models\n"
        "print('ai_spine._objects' in sys.modules)\n"
        "from ai_spine.models import ExecutionModel\n"
        "print('ai_spine._objects' in sys.modules)\n"
        "print(ai_spine.models.ExecutionModel is ExecutionModel)\n"
    )
    assert run_python(code) == ["False", "True", "True"]


def test_a_misspelt_model_name_is_an_attribute_error() -> None:
    import ai_spine.models

    with pytest.raises(AttributeError, match="has no attribute 'ExecutonModel'"):
        getattr(ai_spine.models, "ExecutonModel")


def test_dateutil_is_imported_only_when_a_timestamp_is_read() -> None:
    code = (
        "import sys, ai_spine\n"
        "from ai_spine.models import ExecutionModel\n"
        "ExecutionModel.from_dict({'status': 'running', 'completed_at': None})\n"
        "print('dateutil' in sys.modules)\n"
        "ExecutionModel.from_dict({'created_at': '2026-11-26T12:08:21'})\n"
        "print('dateutil' in sys.modules)\n"
    )
    assert run_python(code) == ["False", "True"]


# --- Against the local server -----------------------------------------------------------------


def test_every_answer_of_the_local_server_round_trips() -> None:
    from ai_spine import AISpine
    from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

    with LocalAISpine(with_demo_agents=True) as server, AISpine(base_url=server.url) as client:
        flow = FlowModel.from_dict(client.get_flow(DEMO_FLOW_ID))
        assert flow.to_mermaid().count("-->") == sum(len(n.depends_on) for n in flow.nodes) > 0
        answer = client.execute_and_wait(DEMO_FLOW_ID, {"text": "great", "income": 85000})
        execution = ExecutionModel.from_dict(answer)
        assert execution.is_successful and execution.duration is not None
        assert execution.duration >= timedelta(0)
        results = client.get_execution_results(execution.execution_id)
        answers: List[Tuple[Type[Any], Any]] = [
            (FlowModel, client.get_flow(DEMO_FLOW_ID)),
            (ExecutionModel, answer),
            (ExecutionModel, results["execution"]),
            (HealthModel, client.health_check()),
            (MetricsModel, client.get_metrics()),
            (SystemStatusModel, client.get_status()),
        ]
        answers += [(NodeResultModel, node) for node in results["node_results"]]
        answers += [(AgentModel, agent) for agent in client.list_agents()]
        answers += [(FlowModel, listed) for listed in client.list_flows()]
        answers += [(ExecutionModel, listed) for listed in client.list_executions()]
        for model, body in answers:
            parsed = model.from_dict(body)
            assert_well_typed(parsed)
            assert parsed.to_dict() == body, model
