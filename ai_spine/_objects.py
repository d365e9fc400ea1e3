"""The dataclasses of :mod:`ai_spine.models` (``ExecutionModel``, ``FlowModel``, ...).

Import them from :mod:`ai_spine.models`, which loads this module on first use: building eight
dataclasses takes about 8 ms, which ``import ai_spine`` should not pay for callers who only use
the dicts.

Each model reads one of the server's dicts with ``from_dict`` and writes it back with
``to_dict``. A field's kind (:class:`_Kind`) says how: ``from_dict`` tolerates any dict (a
wrong-typed field keeps its default, an unknown one goes to ``extra``) and ``to_dict`` writes
the server's own text back for every field left unchanged, so that
``Model.from_dict(d).to_dict() == d``.
"""

from dataclasses import Field, dataclass, field, fields
from datetime import datetime, timedelta
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Type,
    TypeVar,
    cast,
)

from .constants import HEALTHY
from .exceptions import ValidationError
from .models import (
    Agent,
    AgentType,
    Execution,
    ExecutionStatus,
    Flow,
    FlowNode,
    Health,
    Metrics,
    NodeResult,
    SystemStatus,
    _StrEnum,
)
from .utils import format_timestamp, parse_epoch, parse_timestamp


class _Kind(NamedTuple):
    """How one field is read from the server's JSON (``parse``) and written back (``dump``)."""

    parse: Callable[[Any], Any]
    """Return the field's value, or raise ``_WrongType`` for a value of the wrong type."""
    dump: Callable[[Any], Any]
    lossy: bool
    """``dump(parse(raw))`` may differ from ``raw`` (timestamp text, an int read as float):
    ``to_dict`` then writes ``raw`` itself back while the value is unchanged."""


class _WrongType(Exception):
    """A field's JSON value has the wrong type; the field keeps its default."""


def _same(value: Any) -> Any:
    return value


def _instance_of(*types: type) -> Callable[[Any], Any]:
    def parse(raw: Any) -> Any:
        # bool is an int to Python, never to the server's schema.
        if not isinstance(raw, types) or (isinstance(raw, bool) and bool not in types):
            raise _WrongType(raw)
        return raw

    return parse


def _parse_float(raw: Any) -> float:
    return float(_instance_of(int, float)(raw))


def _parse_strings(raw: Any) -> List[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _WrongType(raw)
    return raw


def _parse_timestamp(raw: Any) -> datetime:
    try:
        return parse_timestamp(_instance_of(str)(raw))
    except ValidationError:
        raise _WrongType(raw) from None


def _parse_epoch(raw: Any) -> datetime:
    try:
        return parse_epoch(_instance_of(int, float)(raw))
    except ValidationError:
        raise _WrongType(raw) from None


def _enum(cls: Type[_StrEnum]) -> _Kind:
    def parse(raw: Any) -> _StrEnum:
        try:
            return cls(raw)
        except ValueError:  # an unknown text, or not a string at all
            raise _WrongType(raw) from None

    return _Kind(parse, str, True)


_STR = _Kind(_instance_of(str), _same, False)
_INT = _Kind(_instance_of(int), _same, False)
_FLOAT = _Kind(_parse_float, _same, True)
_BOOL = _Kind(_instance_of(bool), _same, False)
_DICT = _Kind(_instance_of(dict), _same, False)
_STRINGS = _Kind(_parse_strings, _same, False)
_TIMESTAMP = _Kind(_parse_timestamp, format_timestamp, True)
_EPOCH = _Kind(_parse_epoch, lambda value: value.timestamp(), True)
_STATUS = _enum(ExecutionStatus)
_AGENT_TYPE = _enum(AgentType)


def _field(kind: _Kind, default: Any = None) -> Any:
    """A dataclass field read and written with ``kind``: JSON null is a value when the default
    is None; a list or dict default is a fresh empty one per instance."""
    new_default: Callable[[], Any] = (
        type(default) if isinstance(default, (list, dict)) else (lambda: default)
    )
    metadata = {"kind": kind, "nullable": default is None, "default": new_default}
    if isinstance(default, (list, dict)):
        return field(default_factory=new_default, metadata=metadata)
    return field(default=default, metadata=metadata)


def _extra() -> Any:
    return field(default_factory=dict, metadata={"kind": None})


def _specs(model: Any) -> Dict[str, "Field[Any]"]:
    return {spec.name: spec for spec in fields(model) if spec.metadata["kind"] is not None}


def _default_of(spec: "Field[Any]") -> Any:
    return spec.metadata["default"]()


def _elapsed(start: Optional[datetime], end: Optional[datetime]) -> Optional[timedelta]:
    return None if start is None or end is None else end - start


_M = TypeVar("_M", bound="_Model")


class _Model:
    """What every model shares: ``from_dict``, and the dict it was read from."""

    # Set by from_dict: the dict read (a shallow copy), and the values that to_dict compares
    # with to decide whether to write that dict's text back (see _Kind.lossy).
    _source: Optional[Dict[str, Any]] = None
    _read: Dict[str, Any] = {}

    @classmethod
    def from_dict(cls: Type[_M], data: Mapping[str, Any]) -> _M:
        """Build the model from a dict the server sent (or any part of one).

        Tolerant, as the server's answers may change: a missing field takes its default, a
        field of the wrong type (or an unknown status) keeps its default, and an unknown field
        is kept in ``extra``. ``to_dict`` gives back the same dict, all of those included.

        Args:
            data: The dict, e.g. what ``AISpine.get_execution`` returned.

        Returns:
            The model.

        Raises:
            ValidationError: If ``data`` is not a mapping at all.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                "{}.from_dict needs a dict, got {}".format(cls.__name__, type(data).__name__)
            )
        known = _specs(cls)
        values: Dict[str, Any] = {"extra": {}}
        read: Dict[str, Any] = {}
        for key, raw in data.items():
            spec = known.get(key)
            if spec is None:
                values["extra"][key] = raw
                continue
            kind: _Kind = spec.metadata["kind"]
            try:
                value = None if raw is None and spec.metadata["nullable"] else kind.parse(raw)
            except _WrongType:
                value = _default_of(spec)
                read[key] = _default_of(spec)  # a copy: in-place changes must show
            else:
                if kind.lossy:
                    read[key] = value
            values[key] = value
        model = cls(**values)
        model._source = dict(data)
        model._read = read
        return model

    def _to_dict(self) -> Dict[str, Any]:
        source = self._source or {}
        extra: Dict[str, Any] = getattr(self, "extra")
        specs = _specs(self)
        out: Dict[str, Any] = {}
        for key in source:
            if key in specs:
                out[key] = self._dump(specs[key], source)
            elif key in extra:
                out[key] = extra[key]
        for name, spec in specs.items():
            if name not in out and getattr(self, name) != _default_of(spec):
                out[name] = self._dump(spec, source)
        for key, value in extra.items():
            out.setdefault(key, value)
        return out

    def _dump(self, spec: "Field[Any]", source: Dict[str, Any]) -> Any:
        value = getattr(self, spec.name)
        if spec.name in self._read and value == self._read[spec.name]:
            return source[spec.name]  # unchanged: the server's own text
        if value is None:
            return None
        dump: Callable[[Any], Any] = spec.metadata["kind"].dump
        return dump(value)


@dataclass
class FlowNodeModel(_Model):
    """A node of a flow, as an object: see :class:`~ai_spine.models.FlowNode` for the dict.

    Attributes:
        id: The node's id, unique within its flow.
        agent_id: The agent the node calls, or None.
        type: What the node does (:class:`~ai_spine.AgentType`), or None when absent or unknown.
        depends_on: The ids of the nodes that run before it, whose outputs it receives.
        config: Sent to the agent with each call.
        conditions: For a ``conditional`` node, or None.
        extra: Fields this SDK does not know, as the server sent them.

    Example:
        >>> node = FlowNodeModel.from_dict({"id": "b", "agent_id": "echo", "depends_on": ["a"]})
        >>> node.depends_on, node.type
        (['a'], None)
    """

    id: str = _field(_STR, "")
    agent_id: Optional[str] = _field(_STR)
    type: Optional[AgentType] = _field(_AGENT_TYPE)
    depends_on: List[str] = _field(_STRINGS, [])
    config: Dict[str, Any] = _field(_DICT, {})
    conditions: Optional[Dict[str, Any]] = _field(_DICT)
    extra: Dict[str, Any] = _extra()

    def to_dict(self) -> FlowNode:
        """Return the node as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(FlowNode, self._to_dict())


def _parse_nodes(raw: Any) -> List[FlowNodeModel]:
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise _WrongType(raw)
    return [FlowNodeModel.from_dict(item) for item in raw]


_NODES = _Kind(_parse_nodes, lambda nodes: [node.to_dict() for node in nodes], False)


@dataclass
class FlowModel(_Model):
    """A flow, as an object: a DAG of agent nodes. See :class:`~ai_spine.models.Flow` for the dict.

    Attributes:
        flow_id: The flow's id.
        name: Its display name.
        description: What it does.
        version: Its version text (the server starts at ``"1.0.0"``).
        nodes: Its nodes (:class:`FlowNodeModel`).
        entry_point: The id of the node that receives the execution's ``input_data``.
        exit_points: The ids of the nodes whose outputs make the execution's ``output_data``.
        metadata: Free-form data stored with the flow.
        extra: Fields this SDK does not know (listed flows carry ``created_by`` and others).

    Example:
        >>> flow = FlowModel.from_dict({
        ...     "flow_id": "f", "entry_point": "a", "exit_points": ["b"],
        ...     "nodes": [{"id": "a", "agent_id": "x"}, {"id": "b", "depends_on": ["a"]}],
        ... })
        >>> [node.id for node in flow.nodes]
        ['a', 'b']
    """

    flow_id: str = _field(_STR, "")
    name: str = _field(_STR, "")
    description: str = _field(_STR, "")
    version: str = _field(_STR, "")
    nodes: List[FlowNodeModel] = _field(_NODES, [])
    entry_point: str = _field(_STR, "")
    exit_points: List[str] = _field(_STRINGS, [])
    metadata: Dict[str, Any] = _field(_DICT, {})
    extra: Dict[str, Any] = _extra()

    def to_dict(self) -> Flow:
        """Return the flow as the server's dict.

        ``FlowModel.from_dict(d).to_dict() == d`` for any dict ``d``: fields read keep their
        text unless changed, unknown fields come back from ``extra``, and a field the dict did
        not have is written only once it differs from its default.

        Returns:
            A plain dict, typed :class:`~ai_spine.models.Flow` (what ``create_flow`` and
            ``update_flow`` take).
        """
        return cast(Flow, self._to_dict())

    def to_mermaid(self, direction: str = "TD") -> str:
        """Draw the flow as a Mermaid flowchart, for a notebook, a README or mermaid.live.

        Each node is labelled with its id and agent; an arrow runs from each node to each node
        that ``depends_on`` it. The entry point is a stadium ``([...])`` and the exit points are
        double-bordered ``[[...]]``, also styled by the ``entry`` and ``exit`` classes. A node
        named in ``depends_on``, ``entry_point`` or ``exit_points`` but missing from ``nodes``
        is drawn dashed (class ``missing``). The text is the same for the same flow, and any
        text of the server's is escaped, so no id can break the chart.

        Args:
            direction: ``"TD"`` (top down, the default), ``"TB"``, ``"BT"``, ``"LR"`` or
                ``"RL"``.

        Returns:
            The chart's Mermaid source, ending with a newline.

        Raises:
            ValidationError: For an unknown ``direction``.

        Example:
            >>> flow = FlowModel.from_dict({
            ...     "flow_id": "f", "entry_point": "a", "exit_points": ["b"],
            ...     "nodes": [{"id": "a", "agent_id": "x"}, {"id": "b", "depends_on": ["a"]}],
            ... })
            >>> print(flow.to_mermaid(), end="")
            flowchart TD
                %% ([entry point]) [[exit point]]
                n0(["a<br/>agent: x"])
                n1[["b"]]
                n0 --> n1
                classDef entry stroke-width:3px
                classDef exit stroke-width:3px
                classDef missing stroke-dasharray:4 4
                class n0 entry
                class n1 exit
        """
        if direction not in _MERMAID_DIRECTIONS:
            raise ValidationError(
                "direction must be one of {}, got {!r}".format(
                    ", ".join(_MERMAID_DIRECTIONS), direction
                )
            )
        # Generated ids (n0, n1, ...): a node's own id could be a Mermaid keyword ("end").
        names: Dict[str, str] = {}
        for index, node in enumerate(self.nodes):
            names.setdefault(node.id, "n{}".format(index))
        missing: List[str] = []

        def name_of(node_id: str) -> str:
            if node_id not in names:
                names[node_id] = "m{}".format(len(missing))
                missing.append(node_id)
            return names[node_id]

        edges = [
            "{} --> n{}".format(name_of(dependency), index)
            for index, node in enumerate(self.nodes)
            for dependency in node.depends_on
        ]
        entry = [name_of(self.entry_point)] if self.entry_point else []
        exits = [name_of(node_id) for node_id in self.exit_points]

        lines = ["flowchart " + direction, "%% ([entry point]) [[exit point]]"]
        for index, node in enumerate(self.nodes):
            label = _mermaid_text(node.id)
            if node.agent_id is not None:
                label += "<br/>agent: " + _mermaid_text(node.agent_id)
            name = "n{}".format(index)
            shape = '(["{}"])' if name in entry else '[["{}"]]' if name in exits else '["{}"]'
            lines.append(name + shape.format(label))
        for index, node_id in enumerate(missing):
            lines.append('m{}["{}"]'.format(index, _mermaid_text(node_id)))
        lines.extend(edges)
        lines.extend(
            [
                "classDef entry stroke-width:3px",
                "classDef exit stroke-width:3px",
                "classDef missing stroke-dasharray:4 4",
            ]
        )
        for css_class, members in (("entry", entry), ("exit", exits)):
            if members:
                lines.append("class {} {}".format(",".join(_unique(members)), css_class))
        if missing:
            lines.append(
                "class {} missing".format(",".join("m{}".format(i) for i in range(len(missing))))
            )
        return lines[0] + "\n" + "".join("    {}\n".format(line) for line in lines[1:])


_MERMAID_DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")
# Characters that end or reshape a quoted Mermaid label, written as Mermaid's "#<code>;".
_MERMAID_SPECIAL = frozenset('"#&<>`')


def _mermaid_text(text: str) -> str:
    return "".join(
        (
            "#{};".format(ord(char))
            if char in _MERMAID_SPECIAL
            else char if char.isprintable() else " "
        )
        for char in text
    )


def _unique(items: List[str]) -> List[str]:
    return list(dict.fromkeys(items))


@dataclass
class ExecutionModel(_Model):
    """An execution, as an object: see :class:`~ai_spine.models.Execution` for the dict.

    Attributes:
        execution_id: The execution's id (a UUID).
        flow_id: The flow it runs.
        status: Its :class:`~ai_spine.ExecutionStatus`, or None when absent or unknown.
        input_data: What it was started with.
        output_data: On completion ``{exit_point_node_id: that node's output}``, else ``{}``.
        error_message: None, the failing node's error, ``""`` for an agent timeout, or the
            cancel's note (which a ``completed`` execution can still carry).
        created_at: When it was started, UTC.
        updated_at: When it last changed, UTC.
        completed_at: When it finished (or was cancelled), UTC; None while it runs.
        extra: Fields this SDK does not know.

    Example:
        >>> execution = ExecutionModel.from_dict({
        ...     "status": "completed",
        ...     "created_at": "2026-11-26T12:29:39.100000",
        ...     "completed_at": "2026-11-26T12:29:40.350000",
        ... })
        >>> execution.is_successful, execution.duration.total_seconds()
        (True, 1.25)
    """

    execution_id: str = _field(_STR, "")
    flow_id: str = _field(_STR, "")
    status: Optional[ExecutionStatus] = _field(_STATUS)
    input_data: Dict[str, Any] = _field(_DICT, {})
    output_data: Dict[str, Any] = _field(_DICT, {})
    error_message: Optional[str] = _field(_STR)
    created_at: Optional[datetime] = _field(_TIMESTAMP)
    updated_at: Optional[datetime] = _field(_TIMESTAMP)
    completed_at: Optional[datetime] = _field(_TIMESTAMP)
    extra: Dict[str, Any] = _extra()

    @property
    def is_terminal(self) -> bool:
        """Whether it has finished: ``completed``, ``failed`` or ``cancelled``. A cancelled
        execution may still turn ``completed`` or ``failed`` when its last node finishes."""
        return self.status is not None and self.status.is_terminal

    @property
    def is_successful(self) -> bool:
        """Whether it ``completed``."""
        return self.status is ExecutionStatus.COMPLETED

    @property
    def is_failed(self) -> bool:
        """Whether it ``failed`` (a node failed; ``cancelled`` is not a failure here)."""
        return self.status is ExecutionStatus.FAILED

    @property
    def is_cancelled(self) -> bool:
        """Whether it is ``cancelled``."""
        return self.status is ExecutionStatus.CANCELLED

    @property
    def duration(self) -> Optional[timedelta]:
        """From ``created_at`` to ``completed_at``, or None until both are known.

        The server records no start time: an execution is ``running`` about a millisecond
        after it is created, so this is its run time. For a cancelled one it ends at the
        cancel.
        """
        return _elapsed(self.created_at, self.completed_at)

    def to_dict(self) -> Execution:
        """Return the execution as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(Execution, self._to_dict())


@dataclass
class NodeResultModel(_Model):
    """One node's run within an execution, as an object: see :class:`~ai_spine.models.NodeResult`.

    Attributes:
        id: The result's id.
        execution_id: The execution it belongs to.
        node_id: The node that ran.
        agent_id: The agent it called, or None.
        status: ``completed`` or ``failed`` (:class:`~ai_spine.ExecutionStatus`), or None.
        input_data: What the agent received.
        output_data: What it answered.
        error_message: Why it failed, or None.
        execution_time_ms: How long the agent call took, in milliseconds, or None.
        created_at: When the node started, UTC.
        updated_at: When it last changed, UTC.
        completed_at: When it finished, UTC.
        extra: Fields this SDK does not know.

    Example:
        >>> NodeResultModel.from_dict({"status": "failed", "execution_time_ms": 16}).duration
        datetime.timedelta(microseconds=16000)
    """

    id: str = _field(_STR, "")
    execution_id: str = _field(_STR, "")
    node_id: str = _field(_STR, "")
    agent_id: Optional[str] = _field(_STR)
    status: Optional[ExecutionStatus] = _field(_STATUS)
    input_data: Dict[str, Any] = _field(_DICT, {})
    output_data: Dict[str, Any] = _field(_DICT, {})
    error_message: Optional[str] = _field(_STR)
    execution_time_ms: Optional[int] = _field(_INT)
    created_at: Optional[datetime] = _field(_TIMESTAMP)
    updated_at: Optional[datetime] = _field(_TIMESTAMP)
    completed_at: Optional[datetime] = _field(_TIMESTAMP)
    extra: Dict[str, Any] = _extra()

    @property
    def is_successful(self) -> bool:
        """Whether the node ``completed``."""
        return self.status is ExecutionStatus.COMPLETED

    @property
    def is_failed(self) -> bool:
        """Whether the node ``failed``."""
        return self.status is ExecutionStatus.FAILED

    @property
    def duration(self) -> Optional[timedelta]:
        """The agent call's time: ``execution_time_ms`` as measured by the server, else
        ``completed_at - created_at``, else None."""
        if self.execution_time_ms is not None:
            return timedelta(milliseconds=self.execution_time_ms)
        return _elapsed(self.created_at, self.completed_at)

    def to_dict(self) -> NodeResult:
        """Return the node result as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(NodeResult, self._to_dict())


@dataclass
class AgentModel(_Model):
    """A registered agent, as an object: see :class:`~ai_spine.models.Agent` for the dict.

    Attributes:
        agent_id: The agent's id.
        name: Its display name.
        description: What it does.
        endpoint: Its base URL; the server calls ``POST {endpoint}/execute``.
        capabilities: What it can do, free text.
        agent_type: Its :class:`~ai_spine.AgentType`, or None when absent or unknown.
        is_active: Whether it is listed as active, or None when absent.
        created_at: When it was registered, UTC.
        updated_at: When it last changed, UTC.
        extra: Fields this SDK does not know.

    Example:
        >>> AgentModel.from_dict({"agent_id": "echo", "agent_type": "processor"}).agent_type
        <AgentType.PROCESSOR: 'processor'>
    """

    agent_id: str = _field(_STR, "")
    name: str = _field(_STR, "")
    description: str = _field(_STR, "")
    endpoint: str = _field(_STR, "")
    capabilities: List[str] = _field(_STRINGS, [])
    agent_type: Optional[AgentType] = _field(_AGENT_TYPE)
    is_active: Optional[bool] = _field(_BOOL)
    created_at: Optional[datetime] = _field(_TIMESTAMP)
    updated_at: Optional[datetime] = _field(_TIMESTAMP)
    extra: Dict[str, Any] = _extra()

    def to_dict(self) -> Agent:
        """Return the agent as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(Agent, self._to_dict())


@dataclass
class HealthModel(_Model):
    """What ``health_check`` returns, as an object: see :class:`~ai_spine.models.Health`.

    Attributes:
        status: ``"healthy"`` when the server is up.
        timestamp: The server's clock, UTC (sent as a Unix epoch float).
        message: The server's words.
        startup_complete: Whether the server finished starting, or None.
        extra: Fields this SDK does not know.

    Example:
        >>> health = HealthModel.from_dict({"status": "healthy", "timestamp": 1795696178.5})
        >>> health.is_healthy, health.timestamp.isoformat()
        (True, '2026-11-26T12:29:38.500000+00:00')
    """

    status: str = _field(_STR, "")
    timestamp: Optional[datetime] = _field(_EPOCH)
    message: str = _field(_STR, "")
    startup_complete: Optional[bool] = _field(_BOOL)
    extra: Dict[str, Any] = _extra()

    @property
    def is_healthy(self) -> bool:
        """Whether the server says it is healthy."""
        return self.status == HEALTHY

    def to_dict(self) -> Health:
        """Return the health answer as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(Health, self._to_dict())


@dataclass
class MetricsModel(_Model):
    """What ``get_metrics`` returns, as an object: see :class:`~ai_spine.models.Metrics`.

    Attributes:
        total_executions: Executions the server counted.
        successful_executions: Of those, completed.
        failed_executions: Of those, failed.
        cancelled_executions: Of those, cancelled.
        running_executions: Running now.
        average_execution_time: Mean run time, as the server reports it.
        total_execution_time: Sum of the run times, as the server reports it.
        last_execution: When the last execution started, UTC, or None.
        extra: Fields this SDK does not know.

    Example:
        >>> MetricsModel.from_dict({"total_executions": 5, "failed_executions": 1}).total_executions
        5
    """

    total_executions: int = _field(_INT, 0)
    successful_executions: int = _field(_INT, 0)
    failed_executions: int = _field(_INT, 0)
    cancelled_executions: int = _field(_INT, 0)
    running_executions: int = _field(_INT, 0)
    average_execution_time: float = _field(_FLOAT, 0.0)
    total_execution_time: float = _field(_FLOAT, 0.0)
    last_execution: Optional[datetime] = _field(_TIMESTAMP)
    extra: Dict[str, Any] = _extra()

    def to_dict(self) -> Metrics:
        """Return the metrics as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(Metrics, self._to_dict())


@dataclass
class SystemStatusModel(_Model):
    """What ``get_status`` returns, as an object: see :class:`~ai_spine.models.SystemStatus`.

    Attributes:
        status: ``"operational"`` when all is well.
        components: Each component's state, e.g. ``{"registry": "active"}``.
        agents: Agent counts: ``{"total": n, "active": n}``.
        flows: Flow counts: ``{"total": n}``.
        extra: Fields this SDK does not know.

    Example:
        >>> SystemStatusModel.from_dict({"status": "operational", "flows": {"total": 1}}).flows
        {'total': 1}
    """

    status: str = _field(_STR, "")
    components: Dict[str, str] = _field(_DICT, {})
    agents: Dict[str, int] = _field(_DICT, {})
    flows: Dict[str, int] = _field(_DICT, {})
    extra: Dict[str, Any] = _extra()

    def to_dict(self) -> SystemStatus:
        """Return the status answer as the server's dict (see :meth:`FlowModel.to_dict`)."""
        return cast(SystemStatus, self._to_dict())
