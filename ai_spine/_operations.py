"""Every AI Spine operation as data: what to send, and how to read the answer. No I/O.

Each function here checks its arguments (raising :class:`~ai_spine.ValidationError` before
anything is sent) and returns an :class:`Operation`: method, percent-encoded path, query,
JSON body, the user token if the route needs one, and the function that unwraps and checks
the server's answer. Both clients send the same operations; this is the one place that says
what ``get_execution`` sends and accepts.
"""

from __future__ import annotations

import json
import re
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    List,
    Mapping,
    Optional,
    Set,
    TypeVar,
)

from .constants import (
    ACCOUNT_PROFILE_PATH,
    ACTIVE_AGENTS_PATH,
    AGENT_PATH,
    AGENT_REQUIRED_FIELDS,
    AGENT_TYPES,
    AGENTS_PATH,
    API_KEY_GENERATE_PATH,
    API_KEY_REVOKE_PATH,
    API_KEY_STATUS_PATH,
    CURRENT_USER_PATH,
    EXECUTE_PATH,
    EXECUTION_CANCEL_PATH,
    EXECUTION_MESSAGES_PATH,
    EXECUTION_PATH,
    EXECUTION_RESULTS_PATH,
    EXECUTION_STATUSES,
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
    USER_KEY_GENERATE_PATH,
    USER_KEY_PATH,
    USER_KEY_REVOKE_PATH,
)
from ._protocol import Answer
from .exceptions import AISpineError, ExecutionError, NotFoundError, ServerError, ValidationError
from .utils import (
    build_path,
    ensure_json,
    require_string,
    validate_execution_id,
    validate_resource_id,
    validate_url,
)

T = TypeVar("T")

if TYPE_CHECKING:  # pragma: no cover - the TypedDicts cost ~1.3 ms to import
    from .models import (
        Agent,
        ApiKeyIssued,
        ApiKeyRevoked,
        ApiKeyStatus,
        Execution,
        ExecutionMessage,
        ExecutionResults,
        ExecutionStart,
        Flow,
        Health,
        Metrics,
        SystemStatus,
        User,
        UserApiKey,
        UserProfile,
    )

_UNKNOWN_FLOW = r"(?s)^Flow '.*' not found$"
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
    return Operation("GET", path, expect_execution)


def cancel_execution(execution_id: str) -> "Operation[Dict[str, Any]]":
    """``POST /api/v1/executions/{id}/cancel``."""
    path = build_path(EXECUTION_CANCEL_PATH, execution_id=validate_execution_id(execution_id))
    return Operation("POST", path, expect_dict)


def list_executions(
    limit: int, offset: int, status: Optional[str] = None
) -> "Operation[List[Execution]]":
    """``GET /api/v1/executions?limit=&offset=[&status=]``, unwrapped to the list.

    ``status`` is sent, and the page is also filtered by it here: today's server ignores it.
    """
    page = execution_page(limit, offset, status)
    unfiltered = page.parse
    page.parse = lambda answer: with_status(unfiltered(answer), status)
    return page


def execution_page(
    limit: int, offset: int, status: Optional[str] = None
) -> "Operation[List[Execution]]":
    """``GET /api/v1/executions``, unwrapped to the list as the server sent it (unfiltered)."""
    params = page_params(limit, offset)
    if status is not None:
        if status not in EXECUTION_STATUSES:
            raise ValidationError(
                "status must be one of {}, or None for every status; got {!r}".format(
                    ", ".join(sorted(EXECUTION_STATUSES)), status
                )
            )
        params["status"] = status
    return Operation("GET", EXECUTIONS_PATH, _list_of("executions"), params=params)


def with_status(executions: List[Execution], status: Optional[str]) -> List[Execution]:
    """The executions whose ``status`` is ``status`` (all of them for None)."""
    if status is None:
        return executions
    return [e for e in executions if e.get("status") == status]


class ExecutionPages:
    """The walk of ``iter_executions``, without I/O: which page to ask for next, and what of
    each page to yield.

    Pages are ``limit``/``offset`` windows of the newest-first list. The walk ends after the
    first page shorter than ``page_size``, judged by the page as the server sent it: a page
    in which nothing matches ``status`` does not end it. An execution started during the
    walk pushes older ones into later pages; one already yielded is not yielded again.

    Args:
        page_size: Executions asked for per request, at least 1.
        status: Yield only executions in this status, or None for all.

    Raises:
        ValidationError: If an argument is invalid.

    Example:
        >>> pages = ExecutionPages(2, "failed")
        >>> pages.next_page().params
        {'limit': '2', 'offset': '0', 'status': 'failed'}
        >>> pages.took([{"execution_id": "a", "status": "completed"},
        ...             {"execution_id": "b", "status": "failed"}])
        [{'execution_id': 'b', 'status': 'failed'}]
        >>> pages.done, pages.next_page().params["offset"]
        (False, '2')
        >>> pages.took([]), pages.done
        ([], True)
    """

    def __init__(self, page_size: int, status: Optional[str]) -> None:
        if not is_int(page_size) or page_size < 1:
            raise ValidationError(
                "page_size must be a positive integer, got {!r}".format(page_size)
            )
        execution_page(page_size, 0, status)  # check status now, not at the first page
        self.page_size = page_size
        self.status = status
        self.offset = 0
        self.done = False
        self._seen: Set[Any] = set()

    def next_page(self) -> "Operation[List[Execution]]":
        """The request for the next page."""
        return execution_page(self.page_size, self.offset, self.status)

    def took(self, page: List[Execution]) -> List[Execution]:
        """Move past a page the server sent; return what of it to yield.

        Args:
            page: The page, as :meth:`next_page`'s operation returned it.

        Returns:
            Its executions in ``status`` that were not yielded before, in order.
        """
        self.offset += len(page)
        self.done = len(page) < self.page_size
        fresh = []
        for execution in with_status(page, self.status):
            key = execution.get("execution_id")
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(execution)
        return fresh


def get_execution_messages(
    execution_id: str, limit: int, offset: int
) -> "Operation[List[ExecutionMessage]]":
    """``GET /api/v1/executions/{id}/messages?limit=&offset=``, unwrapped to the list."""
    path = build_path(EXECUTION_MESSAGES_PATH, execution_id=validate_execution_id(execution_id))
    params = page_params(limit, offset)
    return Operation("GET", path, _list_of("messages"), params=params)


def page_params(limit: int, offset: int) -> Dict[str, str]:
    """The query of a ``limit``/``offset`` page, after checking both.

    Raises:
        ValidationError: If ``limit`` is not an integer >= 1 or ``offset`` one >= 0 (the
            server would answer an empty page, or treat a negative one as a Python slice).
    """
    if not is_int(limit) or limit < 1:
        raise ValidationError("limit must be a positive integer, got {!r}".format(limit))
    if not is_int(offset) or offset < 0:
        raise ValidationError("offset must be an integer >= 0, got {!r}".format(offset))
    return {"limit": str(limit), "offset": str(offset)}


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


def list_active_agents() -> "Operation[List[Agent]]":
    """``GET /api/v1/agents/active``, unwrapped to the list."""
    return Operation("GET", ACTIVE_AGENTS_PATH, _list_of("agents"))


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


# --- Account (user token) and the deprecated key routes -------------------------------------


def get_user_profile(token: str) -> "Operation[UserProfile]":
    """``GET /api/v1/user/account/profile`` with a user token."""
    return Operation("GET", ACCOUNT_PROFILE_PATH, expect_dict, token=token)


def get_api_key_status(token: str) -> "Operation[ApiKeyStatus]":
    """``GET /api/v1/user/account/api-key/status`` with a user token."""
    return Operation("GET", API_KEY_STATUS_PATH, expect_dict, token=token)


def generate_api_key(token: str) -> "Operation[ApiKeyIssued]":
    """``POST /api/v1/user/account/api-key/generate`` with a user token, no body."""
    return Operation("POST", API_KEY_GENERATE_PATH, expect_dict, token=token)


def revoke_api_key(token: str) -> "Operation[ApiKeyRevoked]":
    """``POST /api/v1/user/account/api-key/revoke`` with a user token, no body."""
    return Operation("POST", API_KEY_REVOKE_PATH, expect_dict, token=token)


def check_user_api_key(user_id: str) -> "Operation[UserApiKey]":
    """Deprecated ``GET /api/v1/user/keys/my-key?user_id=``: the user's full key."""
    params = {"user_id": require_string(user_id, "user_id")}
    return Operation("GET", USER_KEY_PATH, expect_dict, params=params)


def generate_user_api_key(user_id: str) -> "Operation[ApiKeyIssued]":
    """Deprecated ``POST /api/v1/user/keys/generate`` ``{"user_id"}``: replace the user's key."""
    body = {"user_id": require_string(user_id, "user_id")}
    return Operation("POST", USER_KEY_GENERATE_PATH, expect_dict, body=body)


def revoke_user_api_key(user_id: str) -> "Operation[ApiKeyRevoked]":
    """Deprecated ``DELETE /api/v1/user/keys/revoke`` ``{"user_id"}``: delete the user's key."""
    body = {"user_id": require_string(user_id, "user_id")}
    return Operation("DELETE", USER_KEY_REVOKE_PATH, expect_dict, body=body)


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


def expect_execution(answer: Answer) -> Any:
    """The answer's body, which must be an execution: a JSON object with a text ``status``.

    Raises:
        ServerError: If it is not (a wait could not tell whether it has finished).
    """
    execution = expect_dict(answer)
    if not isinstance(execution.get("status"), str):
        raise unexpected(answer, "an execution with a text 'status'")
    return execution


def _list_of(key: str) -> Callable[[Answer], Any]:
    def unwrap(answer: Answer) -> List[Any]:
        items = expect_dict(answer).get(key)
        if not isinstance(items, list):
            raise unexpected(answer, "an object with a {!r} list".format(key))
        return items

    return unwrap


def _is_uuid(text: str) -> bool:
    try:
        validate_execution_id(text)
    except ValidationError:
        return False
    return True


def _check_started(answer: Answer, flow_id: str) -> Any:
    started = expect_dict(answer)
    execution_id = started.get("execution_id")
    if not isinstance(execution_id, str) or not _is_uuid(execution_id):
        raise unexpected(answer, "a UUID execution_id")
    # The server reports a refused start as 200 + "failed" + the nil UUID.
    if execution_id != NIL_UUID and started.get("status") != STATUS_FAILED:
        return started
    reason = str(started.get("error") or "the server refused to start the execution")
    if re.match(_UNKNOWN_FLOW, reason):
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
