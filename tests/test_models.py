"""The TypedDict models describe what the real server sends."""

import json
import sys
from typing import Any, Callable, Dict, Type, get_type_hints

import pytest

from ai_spine import ExecutionStatus
from ai_spine import models
from ai_spine.constants import AGENT_TYPES, EXECUTION_STATUSES, TERMINAL_STATUSES
from ai_spine.models import AgentType
from ai_spine.utils import parse_timestamp

if sys.version_info >= (3, 8):
    from typing import get_args
else:  # pragma: no cover - Python 3.7
    from typing_extensions import get_args

Recorded = Callable[[str], Any]


def keys_of(model: Type[Any]) -> set:
    return set(model.__annotations__) | set(getattr(model, "__optional_keys__", ()))


@pytest.mark.parametrize(
    "model, name, pick",
    [
        (models.Execution, "execution_get_completed", lambda b: b),
        (models.ExecutionStart, "execute", lambda b: b),
        (models.ExecutionResults, "execution_results", lambda b: b),
        (models.NodeResult, "execution_results_failed", lambda b: b["node_results"][0]),
        (models.Flow, "flow_get", lambda b: b),
        (models.FlowNode, "flow_get", lambda b: b["nodes"][1]),
        (models.Agent, "agent_get", lambda b: b),
        (models.Health, "health", lambda b: b),
        (models.Metrics, "metrics_after_runs", lambda b: b),
        (models.SystemStatus, "status_after_runs", lambda b: b),
        (models.User, "users_me", lambda b: b),
    ],
)
def test_models_name_every_field_the_server_sends(
    recorded_body: Recorded, model: Type[Any], name: str, pick: Callable[[Any], Dict[str, Any]]
) -> None:
    sent = set(pick(recorded_body(name)))
    assert sent <= keys_of(model), sent - keys_of(model)


def test_agent_config_is_what_create_agent_needs() -> None:
    from ai_spine.constants import AGENT_REQUIRED_FIELDS

    assert keys_of(models.AgentConfig) == set(AGENT_REQUIRED_FIELDS) | {"is_active"}
    assert keys_of(models.Agent) == keys_of(models.AgentConfig) | {"created_at", "updated_at"}


def test_models_are_plain_dicts_at_runtime(recorded_body: Recorded) -> None:
    execution: models.Execution = recorded_body("execution_get_completed")
    assert type(execution) is dict
    assert models.Execution(status="running") == {"status": "running"}


def test_execution_statuses() -> None:
    assert ExecutionStatus.TERMINAL == {"completed", "failed", "cancelled"}
    assert ExecutionStatus.PENDING == "pending" and ExecutionStatus.RUNNING == "running"
    assert {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED} == (
        ExecutionStatus.TERMINAL
    )


def test_execution_status_members_are_the_raw_strings() -> None:
    assert [s.value for s in ExecutionStatus] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
    ]
    assert ExecutionStatus.COMPLETED == "completed" and "completed" == ExecutionStatus.COMPLETED
    assert ExecutionStatus.FAILED != "completed"
    assert ExecutionStatus("cancelled") is ExecutionStatus.CANCELLED
    assert {"completed": 1}[ExecutionStatus.COMPLETED] == 1
    assert str(ExecutionStatus.RUNNING) == "{}".format(ExecutionStatus.RUNNING) == "running"
    assert "{:>8}".format(ExecutionStatus.FAILED) == "  failed"
    assert json.dumps({"status": ExecutionStatus.PENDING}) == '{"status": "pending"}'
    assert [s.is_terminal for s in ExecutionStatus] == [False, False, True, True, True]
    assert (
        ExecutionStatus.TERMINAL == TERMINAL_STATUSES and set(ExecutionStatus) == EXECUTION_STATUSES
    )
    assert "TERMINAL" not in ExecutionStatus.__members__


def test_execution_status_literal_names_every_status() -> None:
    assert set(get_args(models.ExecutionStatusLiteral)) == {s.value for s in ExecutionStatus}
    for model in (models.Execution, models.ExecutionStart, models.NodeResult):
        assert get_type_hints(model)["status"] == models.ExecutionStatusLiteral


def test_agent_type_members_are_the_raw_strings() -> None:
    assert {t.value for t in AgentType} == AGENT_TYPES
    assert AgentType.INPUT == "input" and AgentType("conditional") is AgentType.CONDITIONAL
    assert str(AgentType.OUTPUT) == "output"


def test_recorded_timestamps_parse_as_utc(recorded_body: Recorded) -> None:
    body = recorded_body("execution_get_completed")
    created = parse_timestamp(body["created_at"])
    completed = parse_timestamp(body["completed_at"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    assert completed > created


def test_models_allow_missing_fields() -> None:
    for model in (models.Execution, models.Flow, models.Agent, models.AgentConfig):
        assert model.__total__ is False
