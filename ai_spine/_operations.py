"""Every AI Spine operation as data: what to send, and how to read the answer. No I/O.

Each function here checks its arguments (raising :class:`~ai_spine.ValidationError` before
anything is sent) and returns an :class:`Operation`: method, percent-encoded path, query,
JSON body, the user token if the route needs one, and the function that unwraps and checks
the server's answer. Both clients send the same operations; this is the one place that says
what ``get_execution`` sends and accepts.
"""

import json
import re
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, TypeVar

from .constants import (
    AGENT_PATH,
    AGENT_REQUIRED_FIELDS,
    AGENT_TYPES,
    AGENTS_PATH,
    CURRENT_USER_PATH,
    EXECUTE_PATH,
    EXECUTION_CANCEL_PATH,
    EXECUTION_PATH,
    EXECUTION_RESULTS_PATH,
    EXECUTIONS_PATH,
    FLOW_PATH,
    FLOWS_PATH,
    HEALTH_PATH,
    METRICS_PATH,
    MY_FLOWS_PATH,
    NIL_UUID,
    PRIORITY_MAX,
    PRIORITY_MIN,
    RESERVED_AGENT_IDS,
    RESERVED_FLOW_IDS,
    STATUS_FAILED,
    STATUS_PATH,
)
from ._protocol import Answer
from .exceptions import AISpineError, ExecutionError, NotFoundError, ServerError, ValidationError
from .models import (
    Agent,
    Execution,
    ExecutionResults,
    ExecutionStart,
    Flow,
    Health,
    Metrics,
    SystemStatus,
    User,
)
from .utils import (
    build_path,
    ensure_json,
    require_string,
    validate_execution_id,
    validate_resource_id,
    validate_url,
)

T = TypeVar("T")

_UNKNOWN_FLOW = re.compile(r"^Flow '.*' not found$", re.DOTALL)
_FLOW_REQUIRED_FIELDS = ("flow_id", "name", "description", "nodes", "entry_point")


class Operation(Generic[T]):
    """One API call, described: send it with any transport, get a ``T`` back.

    Attributes:
        method: The HTTP method.
        path: The path, percent-encoded, starting with ``/``.
        params: Query parameters, or None.
        body: The JSON body, or None to send none.
        token: A user access token to send instead of the API key, or None.
        parse: Turns the 2xx :class:`~ai_spine._protocol.Answer` into the result, or raises
            :class:`~ai_spine.ServerError` when its shape is not what the API promises.
        recover: Turns an error into a result (``delete_agent``'s 404 is ``False``); None
            lets every error through.

    Example:
        >>> op = get_flow("credit_analysis")
        >>> op.method, op.path
        ('GET', '/api/v1/flows/credit_analysis')
    """

    __slots__ = ("method", "path", "params", "body", "token", "parse", "recover")

    def __init__(
        self,
        method: str,
        path: str,
        parse: Callable[[Answer], T],
        *,
        params: Optional[Dict[str, Any]] = None,
        body: Optional[Dict[str, Any]] = None,
        token: Optional[str] = None,
        recover: Optional[Callable[[AISpineError], T]] = None,
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.body = body
        self.token = token
        self.parse = parse
        self.recover = recover

    def __repr__(self) -> str:
        return "Operation({} {})".format(self.method, self.path)

    def recovered(self, error: AISpineError) -> T:
        """The result that stands for ``error``, or raise it when there is none."""
        if self.recover is None:
            raise error
        return self.recover(error)


# --- Executions ------------------------------------------------------------------------------


def execute_flow(
    flow_id: str,
    input_data: Mapping[str, Any],
    metadata: Optional[Mapping[str, Any]],
    priority: Optional[int],
    user_id: Optional[str],
) -> "Operation[ExecutionStart]":
    """``POST /api/v1/flows/execute``; a refused start raises instead of returning."""
    validate_resource_id(flow_id, "flow_id", RESERVED_FLOW_IDS)
    body: Dict[str, Any] = {"flow_id": flow_id, "input_data": json_object(input_data)}
    if metadata is not None:
        body["metadata"] = json_object(metadata, "metadata")
    if priority is not None:
        if not is_int(priority) or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            raise ValidationError(
                "priority must be an integer from {} to {}, got {!r}".format(
                    PRIORITY_MIN, PRIORITY_MAX, priority
                )
            )
        body["priority"] = priority
    if user_id is not None:
        body["user_id"] = require_string(user_id, "user_id")
    return Operation("POST", EXECUTE_PATH, lambda a: _check_started(a, flow_id), body=body)


def get_execution(execution_id: str) -> "Operation[Execution]":
    """``GET /api/v1/executions/{id}``."""
    path = build_path(EXECUTION_PATH, execution_id=validate_execution_id(execution_id))
    return Operation("GET", path, expect_dict)


def cancel_execution(execution_id: str) -> "Operation[Dict[str, Any]]":
    """``POST /api/v1/executions/{id}/cancel``."""
    path = build_path(EXECUTION_CANCEL_PATH, execution_id=validate_execution_id(execution_id))
    return Operation("POST", path, expect_dict)


def list_executions(limit: int, offset: int) -> "Operation[List[Execution]]":
    """``GET /api/v1/executions?limit=&offset=``, unwrapped to the list."""
    if not is_int(limit) or limit < 1:
        raise ValidationError("limit must be a positive integer, got {!r}".format(limit))
    if not is_int(offset) or offset < 0:
        raise ValidationError("offset must be an integer >= 0, got {!r}".format(offset))
    params = {"limit": str(limit), "offset": str(offset)}
    return Operation("GET", EXECUTIONS_PATH, _list_of("executions"), params=params)


def get_execution_results(execution_id: str) -> "Operation[ExecutionResults]":
    """``GET /api/v1/executions/{id}/results``."""
    path = build_path(EXECUTION_RESULTS_PATH, execution_id=validate_execution_id(execution_id))
    return Operation("GET", path, expect_dict)


# --- Flows -----------------------------------------------------------------------------------


def list_flows() -> "Operation[List[Flow]]":
    """``GET /api/v1/flows``, unwrapped to the list."""
    return Operation("GET", FLOWS_PATH, _list_of("flows"))


def get_flow(flow_id: str) -> "Operation[Flow]":
    """``GET /api/v1/flows/{flow_id}``."""
    return Operation("GET", _flow_path(flow_id), expect_dict)


def create_flow(flow: Mapping[str, Any], token: str) -> "Operation[Flow]":
    """``POST /api/v1/flows`` with a user token."""
    return Operation("POST", FLOWS_PATH, expect_dict, body=_flow_body(flow), token=token)


def update_flow(flow_id: str, flow: Mapping[str, Any], token: str) -> "Operation[Flow]":
    """``PUT /api/v1/flows/{flow_id}`` with a user token; the body's ``flow_id`` must match."""
    path = _flow_path(flow_id)
    if isinstance(flow, Mapping) and flow.get("flow_id", flow_id) != flow_id:
        raise ValidationError(
            "flow['flow_id'] is {!r} but flow_id is {!r}: they must match".format(
                flow.get("flow_id"), flow_id
            )
        )
    body = _flow_body(dict(flow, flow_id=flow_id) if isinstance(flow, Mapping) else flow)
    return Operation("PUT", path, expect_dict, body=body, token=token)


def delete_flow(flow_id: str, token: str) -> "Operation[Dict[str, Any]]":
    """``DELETE /api/v1/flows/{flow_id}`` with a user token."""
    return Operation("DELETE", _flow_path(flow_id), expect_dict, token=token)


def list_my_flows(token: str) -> "Operation[List[Flow]]":
    """``GET /api/v1/flows/my-flows`` with a user token, unwrapped to the list."""
    return Operation("GET", MY_FLOWS_PATH, _list_of("flows"), token=token)


def _flow_path(flow_id: str) -> str:
    return build_path(
        FLOW_PATH, flow_id=validate_resource_id(flow_id, "flow_id", RESERVED_FLOW_IDS)
    )


# --- Agents ----------------------------------------------------------------------------------


def list_agents() -> "Operation[List[Agent]]":
    """``GET /api/v1/agents``, unwrapped to the list."""
    return Operation("GET", AGENTS_PATH, _list_of("agents"))


def get_agent(agent_id: str) -> "Operation[Agent]":
    """``GET /api/v1/agents/{agent_id}``."""
    return Operation("GET", _agent_path(agent_id), expect_dict)


def create_agent(agent_config: Mapping[str, Any]) -> "Operation[Agent]":
    """``POST /api/v1/agents``, after checking the whole config (the server 500s on gaps)."""
    return Operation("POST", AGENTS_PATH, expect_dict, body=_agent_body(agent_config))


def delete_agent(agent_id: str) -> "Operation[bool]":
    """``DELETE /api/v1/agents/{agent_id}``: True if deleted, False if there was none."""
    return Operation("DELETE", _agent_path(agent_id), lambda _: True, recover=_false_if_missing)


def _agent_path(agent_id: str) -> str:
    agent_id = validate_resource_id(agent_id, "agent_id", RESERVED_AGENT_IDS)
    return build_path(AGENT_PATH, agent_id=agent_id)


def _false_if_missing(error: AISpineError) -> bool:
    if isinstance(error, NotFoundError):
        return False
    raise error


# --- System ----------------------------------------------------------------------------------


def health_check() -> "Operation[Health]":
    """``GET /health``."""
    return Operation("GET", HEALTH_PATH, expect_dict)


def get_metrics() -> "Operation[Metrics]":
    """``GET /metrics``."""
    return Operation("GET", METRICS_PATH, expect_dict)


def get_status() -> "Operation[SystemStatus]":
    """``GET /status``."""
    return Operation("GET", STATUS_PATH, expect_dict)


def get_current_user() -> "Operation[User]":
    """``GET /api/v1/users/me``."""
    return Operation("GET", CURRENT_USER_PATH, expect_dict)


def check_credits() -> "Operation[int]":
    """``GET /api/v1/users/me``, reduced to its integer ``credits``."""
    return Operation("GET", CURRENT_USER_PATH, _credits)


def _credits(answer: Answer) -> int:
    credits = expect_dict(answer).get("credits")
    if not is_int(credits):
        raise unexpected(answer, "a user with integer 'credits'")
    return int(credits)


# --- Argument checks ---------------------------------------------------------------------------


def is_int(value: Any) -> bool:
    """Whether ``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def json_object(value: Any, name: str = "input_data") -> Dict[str, Any]:
    """Check that ``value`` is a JSON-serialisable mapping; return it as a dict.

    Raises:
        ValidationError: If it is not.
    """
    if not isinstance(value, Mapping):
        raise ValidationError(
            "{} must be a dict, got {} ({})".format(name, repr(value)[:80], type(value).__name__)
        )
    result = dict(value)
    ensure_json(result, name)
    return result


def _flow_body(flow: Any) -> Dict[str, Any]:
    body = json_object(flow, "flow")
    missing = [f for f in _FLOW_REQUIRED_FIELDS if f not in body]
    if missing:
        raise ValidationError("flow is missing required field(s): {}".format(", ".join(missing)))
    validate_resource_id(body["flow_id"], "flow['flow_id']", RESERVED_FLOW_IDS)
    nodes = body["nodes"]
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and "id" in n for n in nodes):
        raise ValidationError("flow['nodes'] must be a list of dicts, each with an 'id'")
    return body


def _agent_body(config: Any) -> Dict[str, Any]:
    body = json_object(config, "agent_config")
    missing = [f for f in AGENT_REQUIRED_FIELDS if f not in body]
    if missing:
        raise ValidationError(
            "agent_config is missing required field(s): {}".format(", ".join(missing))
        )
    validate_resource_id(body["agent_id"], "agent_config['agent_id']", RESERVED_AGENT_IDS)
    require_string(body["name"], "agent_config['name']")
    if not isinstance(body["description"], str):
        raise ValidationError("agent_config['description'] must be a string")
    validate_url(body["endpoint"], "agent_config['endpoint']")
    capabilities = body["capabilities"]
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise ValidationError(
            "agent_config['capabilities'] must be a list of strings, got {!r}".format(capabilities)
        )
    if body["agent_type"] not in AGENT_TYPES:
        raise ValidationError(
            "agent_config['agent_type'] must be one of {}, got {!r}".format(
                ", ".join(sorted(AGENT_TYPES)), body["agent_type"]
            )
        )
    if "is_active" in body and not isinstance(body["is_active"], bool):
        raise ValidationError("agent_config['is_active'] must be True or False")
    return body


# --- Answers -----------------------------------------------------------------------------------


def unexpected(answer: Answer, expected: str) -> ServerError:
    """The error for a 2xx answer whose shape is not what the API promises."""
    return ServerError(
        "The server answered {} where {} was expected; the API may have changed".format(
            json.dumps(answer.body)[:200] if answer.body is not None else "nothing", expected
        ),
        **answer.error_context(),
    )


def expect_dict(answer: Answer) -> Any:
    """The answer's body, which must be a JSON object.

    Raises:
        ServerError: If it is not.
    """
    if not isinstance(answer.body, dict):
        raise unexpected(answer, "a JSON object")
    return answer.body


def _list_of(key: str) -> Callable[[Answer], Any]:
    def unwrap(answer: Answer) -> List[Any]:
        items = expect_dict(answer).get(key)
        if not isinstance(items, list):
            raise unexpected(answer, "an object with a {!r} list".format(key))
        return items

    return unwrap


def _check_started(answer: Answer, flow_id: str) -> Any:
    started = expect_dict(answer)
    execution_id = started.get("execution_id")
    if not isinstance(execution_id, str) or not execution_id:
        raise unexpected(answer, "an execution_id")
    # The server reports a refused start as 200 + "failed" + the nil UUID.
    if execution_id != NIL_UUID and started.get("status") != STATUS_FAILED:
        return started
    reason = str(started.get("error") or "the server refused to start the execution")
    if _UNKNOWN_FLOW.match(reason):
        raise NotFoundError(
            "{}. list_flows() shows the flows that exist.".format(reason), **answer.error_context()
        )
    raise ExecutionError(
        "Flow {!r} did not start: {}".format(flow_id, reason),
        execution_id=execution_id,
        status=STATUS_FAILED,
        execution=started,
        **answer.error_context(),
    )
