"""The shapes the server sends and accepts: ``TypedDict`` s, and dataclasses built from them.
Data only, no I/O.

Every method of :class:`~ai_spine.AISpine` returns plain ``dict`` and ``list`` values; the
``TypedDict`` s (:class:`Execution`, :class:`Flow`, :class:`Agent`, ...) describe them for type
checkers and editors. They are declared ``total=False`` because the server may omit fields,
and the dicts keep any field the server adds later. An execution's ``status`` is typed
:data:`ExecutionStatusLiteral`, so ``mypy --strict`` rejects a misspelt status comparison.

For objects instead, each shape has a dataclass named after it with a ``Model`` suffix
(:class:`ExecutionModel`, :class:`FlowModel`, ...): ``from_dict`` reads a dict tolerantly (a
missing or wrong-typed field takes its default, an unknown field is kept in ``extra``) and
``to_dict`` gives the same dict back. Timestamps become timezone-aware UTC ``datetime`` s
(the server writes them as ISO-8601 text without timezone, in UTC; ``/health`` as a Unix
epoch). The dataclasses are built on first use (in :mod:`ai_spine._objects`), and
python-dateutil is imported only when a timestamp is parsed: neither slows ``import ai_spine``.

Example:
    >>> from ai_spine.models import ExecutionModel, ExecutionStatus
    >>> execution = ExecutionModel.from_dict({"status": "failed", "error_message": "boom"})
    >>> execution.status is ExecutionStatus.FAILED, execution.is_terminal
    (True, True)
"""

import sys
from enum import Enum, EnumMeta
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional

if sys.version_info >= (3, 8):
    from typing import Literal, TypedDict
else:  # pragma: no cover - exercised only on Python 3.7
    from typing_extensions import Literal, TypedDict

from .constants import (
    STATUS_CANCELLED,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_RUNNING,
    TERMINAL_STATUSES,
)

__all__ = [
    "ExecutionStatus",
    "ExecutionStatusLiteral",
    "AgentType",
    "Execution",
    "ExecutionStart",
    "NodeResult",
    "ExecutionResults",
    "FlowNode",
    "Flow",
    "Agent",
    "AgentConfig",
    "Health",
    "Metrics",
    "SystemStatus",
    "User",
    # The dataclasses, from ai_spine._objects on first use (see __getattr__ below).
    "FlowModel",
    "FlowNodeModel",
    "ExecutionModel",
    "NodeResultModel",
    "AgentModel",
    "HealthModel",
    "MetricsModel",
    "SystemStatusModel",
]

# --- Statuses and types -----------------------------------------------------------------------

ExecutionStatusLiteral = Literal["pending", "running", "completed", "failed", "cancelled"]
"""The ``status`` of an execution or a node result, as the type checker sees it: comparing it
with any other string (``execution["status"] == "complete"``) fails ``mypy --strict``."""


class _StrEnum(str, Enum):
    """A string enum whose members are the raw strings: equal, hashed, printed and serialised
    to JSON exactly as the server's text."""

    # An explicit __eq__ tells mypy the comparison is custom, so ``execution["status"] ==
    # ExecutionStatus.COMPLETED`` (a Literal string against an enum member) is not reported as
    # a non-overlapping comparison. Behaviour is str's own.
    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return str.__ne__(self, other)

    __hash__ = str.__hash__

    # Python 3.12 prints a mixed-in enum as "ExecutionStatus.COMPLETED"; print the text.
    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)


class _ExecutionStatusType(EnumMeta):
    """The class of :class:`ExecutionStatus`, which gives it ``TERMINAL``: in the enum's body
    any attribute, even one only annotated, would be a sixth status to type checkers."""

    @property
    def TERMINAL(cls) -> "FrozenSet[ExecutionStatus]":
        """``completed``, ``failed`` and ``cancelled``: the execution will not run further."""
        return _TERMINAL


class ExecutionStatus(_StrEnum, metaclass=_ExecutionStatusType):
    """The statuses an execution goes through: ``pending -> running -> completed|failed``,
    or ``cancelled`` (which the server may still overwrite when its nodes finish).

    Each member is the raw string (``ExecutionStatus.COMPLETED == "completed"``), so it compares
    with the plain dicts the clients return. ``ExecutionStatus.TERMINAL`` holds the final ones.

    Example:
        >>> ExecutionStatus("completed") is ExecutionStatus.COMPLETED
        True
        >>> {"status": "failed"}["status"] in ExecutionStatus.TERMINAL
        True
        >>> ExecutionStatus.RUNNING.is_terminal
        False
    """

    PENDING = STATUS_PENDING
    RUNNING = STATUS_RUNNING
    COMPLETED = STATUS_COMPLETED
    FAILED = STATUS_FAILED
    CANCELLED = STATUS_CANCELLED

    @property
    def is_terminal(self) -> bool:
        """Whether an execution in this status has finished."""
        return self in _TERMINAL


_TERMINAL = frozenset(ExecutionStatus(status) for status in TERMINAL_STATUSES)


class AgentType(_StrEnum):
    """What an agent (and a flow node) does in a flow: ``agent_type`` of an agent, ``type`` of
    a node. Each member is the raw string (``AgentType.INPUT == "input"``).

    Example:
        >>> AgentType("processor") is AgentType.PROCESSOR
        True
    """

    INPUT = "input"
    PROCESSOR = "processor"
    OUTPUT = "output"
    CONDITIONAL = "conditional"


# --- Shapes: what the clients return ----------------------------------------------------------


class Execution(TypedDict, total=False):
    """One run of a flow, as ``get_execution`` returns it."""

    execution_id: str
    flow_id: str
    status: ExecutionStatusLiteral
    input_data: Dict[str, Any]
    output_data: Dict[str, Any]
    """On completion: ``{exit_point_node_id: that node's output}``."""
    error_message: Optional[str]
    """Null, the failing node's error, ``""`` for an agent timeout, or the cancel's note."""
    created_at: str
    updated_at: str
    completed_at: Optional[str]


class ExecutionStart(TypedDict, total=False):
    """What ``execute_flow`` returns: the new execution's id, ``pending``."""

    execution_id: str
    status: ExecutionStatusLiteral
    """``pending``, or ``failed`` when the server refused to start it."""
    result: Optional[Dict[str, Any]]
    error: Optional[str]
    execution_time: Optional[float]


class NodeResult(TypedDict, total=False):
    """One node's run within an execution."""

    id: str
    execution_id: str
    node_id: str
    agent_id: Optional[str]
    status: ExecutionStatusLiteral
    """``completed`` or ``failed``."""
    input_data: Dict[str, Any]
    output_data: Dict[str, Any]
    error_message: Optional[str]
    execution_time_ms: int
    created_at: str
    updated_at: str
    completed_at: Optional[str]


class ExecutionResults(TypedDict, total=False):
    """What ``get_execution_results`` returns."""

    execution: Execution
    node_results: List[NodeResult]


class FlowNode(TypedDict, total=False):
    """A node of a flow: an agent call that runs after the nodes it ``depends_on``."""

    id: str
    agent_id: Optional[str]
    type: str
    depends_on: List[str]
    config: Dict[str, Any]
    conditions: Optional[Dict[str, Any]]


class Flow(TypedDict, total=False):
    """A flow: a DAG of agent nodes, from ``entry_point`` to ``exit_points``."""

    flow_id: str
    name: str
    description: str
    version: str
    nodes: List[FlowNode]
    entry_point: str
    exit_points: List[str]
    metadata: Dict[str, Any]


class AgentConfig(TypedDict, total=False):
    """What ``create_agent`` sends; every field but ``is_active`` is required."""

    agent_id: str
    name: str
    description: str
    endpoint: str
    capabilities: List[str]
    agent_type: str
    is_active: bool


class Agent(AgentConfig, total=False):
    """A registered agent, as the server returns it."""

    created_at: str
    updated_at: str


class Health(TypedDict, total=False):
    """What ``health_check`` returns; ``timestamp`` is a Unix epoch float."""

    status: str
    timestamp: float
    message: str
    startup_complete: bool


class Metrics(TypedDict, total=False):
    """What ``get_metrics`` returns."""

    total_executions: int
    successful_executions: int
    failed_executions: int
    cancelled_executions: int
    running_executions: int
    average_execution_time: float
    total_execution_time: float
    last_execution: Optional[str]


class SystemStatus(TypedDict, total=False):
    """What ``get_status`` returns."""

    status: str
    components: Dict[str, str]
    agents: Dict[str, int]
    flows: Dict[str, int]


# --- Objects: loaded on first use ------------------------------------------------------------

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time, see __getattr__
    from ._objects import (
        AgentModel,
        ExecutionModel,
        FlowModel,
        FlowNodeModel,
        HealthModel,
        MetricsModel,
        NodeResultModel,
        SystemStatusModel,
    )
else:

    def __getattr__(name: str) -> Any:
        # Building the eight dataclasses takes about 8 ms, most of what `import ai_spine` may
        # add to requests' import time; so they are built when first named (PEP 562). Hidden
        # from mypy, which would otherwise accept any misspelt name of this module. Only the
        # dataclasses are listed in __all__ yet missing from this module.
        if name in __all__:
            from . import _objects

            value = getattr(_objects, name)
            globals()[name] = value
            return value
        raise AttributeError("module {!r} has no attribute {!r}".format(__name__, name))


# --- Current user -----------------------------------------------------------------------------


class User(TypedDict, total=False):
    """What ``get_current_user`` returns."""

    id: str
    email: str
    name: Optional[str]
    organization: Optional[str]
    credits: int
    rate_limit: int


# --- Account and messages (issue 7 surface) ---------------------------------------------------

__all__ += [
    "ExecutionMessage",
    "ApiKeyStatus",
    "ApiKeyIssued",
    "ApiKeyRevoked",
    "AccountApiStatus",
    "AccountUsage",
    "UserProfile",
    "UserApiKey",
]


class ExecutionMessage(TypedDict, total=False):
    """One message between agents, as ``get_execution_messages`` lists them. The server
    stores none today, so the list is always empty; the fields are those its code declares."""

    id: str
    execution_id: str
    node_id: Optional[str]
    agent_id: Optional[str]
    from_agent: Optional[str]
    to_agent: Optional[str]
    message_type: str
    content: Any
    metadata: Dict[str, Any]
    timestamp: str


class ApiKeyStatus(TypedDict, total=False):
    """What ``get_api_key_status`` returns. Without a key: ``has_api_key`` False,
    ``api_key_masked`` None and a ``message``; with one, its credits and timestamps (which,
    unlike the rest of the API, may carry a UTC offset)."""

    has_api_key: bool
    api_key_masked: Optional[str]
    credits: int
    rate_limit: int
    created_at: str
    last_used_at: Optional[str]
    message: str


class ApiKeyIssued(TypedDict, total=False):
    """What ``generate_api_key`` and ``generate_user_api_key`` return: the new key in full,
    the only time it is shown. ``action`` is ``created`` or ``regenerated``."""

    message: str
    api_key: str
    action: str
    warning: str


class ApiKeyRevoked(TypedDict, total=False):
    """What ``revoke_api_key`` and ``revoke_user_api_key`` return; ``status`` is ``revoked``."""

    message: str
    status: str


class AccountApiStatus(TypedDict, total=False):
    """The ``api_status`` part of a :class:`UserProfile`."""

    has_api_key: bool
    credits: int
    rate_limit: int


class AccountUsage(TypedDict, total=False):
    """The ``usage`` part of a :class:`UserProfile`."""

    total_requests: int
    last_used_at: Optional[str]


class UserProfile(TypedDict, total=False):
    """What ``get_user_profile`` returns."""

    user_id: str
    api_status: AccountApiStatus
    usage: AccountUsage


class UserApiKey(TypedDict, total=False):
    """What the deprecated ``check_user_api_key`` returns, as in the 2.x SDK: the **full**
    key, its credits, rate limit and timestamps."""

    has_api_key: bool
    api_key: Optional[str]
    credits: int
    rate_limit: int
    created_at: str
    last_used_at: Optional[str]
