"""The local server's in-memory state: agents, flows, executions, node results, API keys.

One lock guards everything; every method takes it for a short, I/O-free critical section
and hands out deep copies, so callers (HTTP handlers, execution workers, tests) never
share a mutable structure with the store. Flow graph checks live here too, because the
store is what decides whether a flow may be stored.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

NIL_UUID = "00000000-0000-0000-0000-000000000000"
TERMINAL_STATUSES = ("completed", "failed", "cancelled")
CANCEL_MESSAGE = "Execution cancelled by user"
# What the real server gives a user's first API key.
FIRST_KEY_CREDITS = 1000
FIRST_KEY_RATE_LIMIT = 100


def utc_now() -> str:
    """Return the current UTC time as the server writes it: ISO-8601 without a timezone.

    Returns:
        e.g. ``"2026-11-26T12:08:21.222760"``.

    Example:
        >>> "T" in utc_now() and "+" not in utc_now()
        True
    """
    # datetime.utcnow() is deprecated from 3.12 on; this gives the same naive text.
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()


def utc_now_with_offset() -> str:
    """Return the current UTC time as the database behind the account routes writes it.

    Returns:
        ISO-8601 with its UTC offset, e.g. ``"2026-11-26T12:08:21.222760+00:00"``.

    Example:
        >>> utc_now_with_offset().endswith("+00:00")
        True
    """
    return datetime.now(timezone.utc).isoformat()


def new_api_key() -> str:
    """Return a fresh API key in the real server's format.

    Returns:
        ``"sk_"`` followed by 43 URL-safe characters (32 random bytes).

    Example:
        >>> key = new_api_key()
        >>> key.startswith("sk_"), len(key)
        (True, 46)
    """
    return "sk_" + secrets.token_urlsafe(32)


def bump_version(version: str) -> str:
    """Increment the last numeric part of a version string.

    Args:
        version: e.g. ``"1.0.0"``.

    Returns:
        e.g. ``"1.0.1"``; a version without a numeric tail gets ``".1"`` appended.

    Example:
        >>> bump_version("1.0.9")
        '1.0.10'
    """
    parts = version.split(".")
    if parts[-1].isdigit():
        parts[-1] = str(int(parts[-1]) + 1)
        return ".".join(parts)
    return version + ".1"


def topological_order(nodes: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Order flow nodes so that each comes after the nodes it depends on.

    Ties keep the flow's own node order, so a flow runs the same way every time.

    Args:
        nodes: Flow nodes (``id`` and ``depends_on`` are read).

    Returns:
        The nodes in execution order.

    Raises:
        ValueError: On a dependency on an unknown node, or a cycle.

    Example:
        >>> [n["id"] for n in topological_order([{"id": "b", "depends_on": ["a"]},
        ...                                      {"id": "a", "depends_on": []}])]
        ['a', 'b']
    """
    by_id = {node["id"]: node for node in nodes}
    for node in nodes:
        for dependency in node.get("depends_on") or []:
            if dependency not in by_id:
                raise ValueError(
                    "Node '%s' depends on unknown node '%s'" % (node["id"], dependency)
                )
    done: Set[str] = set()
    ordered: List[Dict[str, Any]] = []
    while len(ordered) < len(nodes):
        ready = [
            node
            for node in nodes
            if node["id"] not in done and all(dep in done for dep in node.get("depends_on") or [])
        ]
        if not ready:
            stuck = [node["id"] for node in nodes if node["id"] not in done]
            raise ValueError(
                "Flow has a dependency cycle among nodes %s"
                % ", ".join("'%s'" % node_id for node_id in stuck)
            )
        node = ready[0]
        done.add(node["id"])
        ordered.append(node)
    return ordered


def flow_problem(flow: Dict[str, Any], agent_ids: Set[str]) -> Optional[str]:
    """Explain why a (schema-valid) flow cannot be stored, or return None.

    Args:
        flow: A normalised flow definition.
        agent_ids: Ids of the registered agents.

    Returns:
        A message for a ``400`` answer, or None when the flow is a valid graph whose
        agents all exist.

    Example:
        >>> flow_problem({"nodes": [], "entry_point": "a", "exit_points": []}, set())
        "Entry point 'a' is not a node of the flow"
    """
    nodes = flow["nodes"]
    ids: Set[str] = set()
    for node in nodes:
        if node["id"] in ids:
            return "Duplicate node id '%s' in the flow" % node["id"]
        ids.add(node["id"])
    if flow["entry_point"] not in ids:
        return "Entry point '%s' is not a node of the flow" % flow["entry_point"]
    for exit_point in flow["exit_points"]:
        if exit_point not in ids:
            return "Exit point '%s' is not a node of the flow" % exit_point
    try:
        topological_order(nodes)
    except ValueError as exc:
        return str(exc)
    for node in nodes:
        agent_id = node.get("agent_id")
        if agent_id is not None and agent_id not in agent_ids:
            return "Agent '%s' used by node '%s' is not registered" % (agent_id, node["id"])
    return None


@dataclass
class _FlowRecord:
    definition: Dict[str, Any]
    owner: Optional[str]


@dataclass
class _Execution:
    execution_id: str
    flow_id: str
    input_data: Dict[str, Any]
    created_at: str
    started: float
    status: str = "pending"
    output_data: Dict[str, Any] = field(default_factory=dict)
    error_message: Optional[str] = None
    updated_at: str = ""
    completed_at: Optional[str] = None
    duration: Optional[float] = None
    node_results: List[Dict[str, Any]] = field(default_factory=list)

    def public(self) -> Dict[str, Any]:
        return copy.deepcopy(
            {
                "execution_id": self.execution_id,
                "flow_id": self.flow_id,
                "status": self.status,
                "input_data": self.input_data,
                "output_data": self.output_data,
                "error_message": self.error_message,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "completed_at": self.completed_at,
            }
        )

    def end(self, status: str) -> None:
        now = utc_now()
        self.status = status
        self.updated_at = now
        self.completed_at = now
        self.duration = time.monotonic() - self.started


@dataclass
class _ApiKey:
    api_key: str
    created_at: str
    credits: int = FIRST_KEY_CREDITS
    rate_limit: int = FIRST_KEY_RATE_LIMIT
    last_used_at: Optional[str] = None
    total_requests: int = 0

    def public(self) -> Dict[str, Any]:
        return {
            "api_key": self.api_key,
            "credits": self.credits,
            "rate_limit": self.rate_limit,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "total_requests": self.total_requests,
        }


class Store:
    """Thread-safe in-memory store for the local AI Spine server.

    Example:
        >>> store = Store()
        >>> store.get_flow("nope") is None
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._agents: Dict[str, Dict[str, Any]] = {}
        self._flows: Dict[str, _FlowRecord] = {}
        # Insertion order is creation order: the list endpoint reads it backwards.
        self._executions: Dict[str, _Execution] = {}
        # The real server's api_users table: at most one key per user id.
        self._api_keys: Dict[str, _ApiKey] = {}

    def reset(self) -> None:
        """Forget every agent, flow, execution and API key."""
        with self._lock:
            self._agents.clear()
            self._flows.clear()
            self._executions.clear()
            self._api_keys.clear()

    # --- agents ---------------------------------------------------------------------

    def put_agent(self, fields: Dict[str, Any]) -> Dict[str, Any]:
        """Store (or overwrite) a validated agent, stamping its timestamps.

        Args:
            fields: Validated ``AgentInfo`` fields without timestamps.

        Returns:
            A copy of the stored agent.
        """
        now = utc_now()
        agent = dict(copy.deepcopy(fields), created_at=now, updated_at=now)
        with self._lock:
            self._agents[agent["agent_id"]] = agent
            return copy.deepcopy(agent)

    def get_agent(self, agent_id: str) -> Optional[Dict[str, Any]]:
        """Return a copy of one agent, or None."""
        with self._lock:
            agent = self._agents.get(agent_id)
            return copy.deepcopy(agent) if agent is not None else None

    def list_agents(self, active_only: bool = False) -> List[Dict[str, Any]]:
        """Return copies of the agents in registration order."""
        with self._lock:
            agents = [a for a in self._agents.values() if a["is_active"] or not active_only]
            return copy.deepcopy(agents)

    def delete_agent(self, agent_id: str) -> bool:
        """Remove an agent; return False when it did not exist."""
        with self._lock:
            return self._agents.pop(agent_id, None) is not None

    # --- flows ----------------------------------------------------------------------

    def flow_problem(self, flow: Dict[str, Any]) -> Optional[str]:
        """Check a flow's graph against the agents registered right now (see flow_problem)."""
        with self._lock:
            agent_ids = set(self._agents)
        return flow_problem(flow, agent_ids)

    def get_flow(self, flow_id: str) -> Optional[Tuple[Dict[str, Any], Optional[str]]]:
        """Return a copy of a flow and its owner (None for a system flow), or None."""
        with self._lock:
            record = self._flows.get(flow_id)
            if record is None:
                return None
            return copy.deepcopy(record.definition), record.owner

    def list_flows(self, owner: Optional[str] = None) -> List[Dict[str, Any]]:
        """Return copies of all flows, or only those of ``owner`` when given."""
        with self._lock:
            return [
                copy.deepcopy(record.definition)
                for record in self._flows.values()
                if owner is None or record.owner == owner
            ]

    def insert_flow(self, flow: Dict[str, Any], owner: Optional[str], replace: bool) -> bool:
        """Store a flow; without ``replace``, refuse (return False) when the id exists."""
        with self._lock:
            if not replace and flow["flow_id"] in self._flows:
                return False
            self._flows[flow["flow_id"]] = _FlowRecord(copy.deepcopy(flow), owner)
            return True

    def update_flow(self, flow: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Replace an existing flow, keeping its owner and bumping its version.

        Returns:
            A copy of the stored flow, or None when the flow does not exist.
        """
        with self._lock:
            record = self._flows.get(flow["flow_id"])
            if record is None:
                return None
            updated = copy.deepcopy(flow)
            updated["version"] = bump_version(record.definition.get("version") or "1.0.0")
            record.definition = updated
            return copy.deepcopy(updated)

    def delete_flow(self, flow_id: str) -> bool:
        """Remove a flow; return False when it did not exist."""
        with self._lock:
            return self._flows.pop(flow_id, None) is not None

    def counts(self) -> Dict[str, int]:
        """Return ``agents``, ``active_agents`` and ``flows`` totals for ``/status``."""
        with self._lock:
            return {
                "agents": len(self._agents),
                "active_agents": sum(1 for a in self._agents.values() if a["is_active"]),
                "flows": len(self._flows),
            }

    # --- API keys -------------------------------------------------------------------

    def issue_api_key(self, user_id: str) -> Tuple[str, str]:
        """Give a user a new API key; the previous one, if any, stops working at once.

        A first key gets the first key's credits and rate limit; a regenerated key keeps
        the user's balance.

        Args:
            user_id: The user.

        Returns:
            ``(api_key, "created" or "regenerated")``.

        Example:
            >>> store = Store()
            >>> store.issue_api_key("u1")[1], store.issue_api_key("u1")[1]
            ('created', 'regenerated')
        """
        with self._lock:
            api_key = self._replace_api_key(user_id)
            if api_key is not None:
                return api_key, "regenerated"
            api_key = new_api_key()
            self._api_keys[user_id] = _ApiKey(api_key, created_at=utc_now_with_offset())
            return api_key, "created"

    def regenerate_api_key(self, user_id: str) -> Optional[str]:
        """Replace the key of a user who has one; return the new key, or None."""
        with self._lock:
            return self._replace_api_key(user_id)

    def _replace_api_key(self, user_id: str) -> Optional[str]:
        # The caller holds the lock.
        record = self._api_keys.get(user_id)
        if record is None:
            return None
        record.api_key = new_api_key()
        return record.api_key

    def api_key_record(self, user_id: str) -> Optional[Dict[str, Any]]:
        """Return a copy of a user's key record, or None when the user has no key.

        Returns:
            ``api_key``, ``credits``, ``rate_limit``, ``created_at``, ``last_used_at``
            and ``total_requests`` (requests the key authenticated).
        """
        with self._lock:
            record = self._api_keys.get(user_id)
            return record.public() if record is not None else None

    def revoke_api_key(self, user_id: str) -> bool:
        """Delete a user's key record, credits included; False when there was none."""
        with self._lock:
            return self._api_keys.pop(user_id, None) is not None

    def api_key_owner(self, api_key: str, count_use: bool = False) -> Optional[str]:
        """Return the user a stored API key belongs to, or None.

        Args:
            api_key: The key as sent by a client.
            count_use: Record a request made with the key (``total_requests`` and
                ``last_used_at``).

        Returns:
            The owner's user id, or None for a key that is not (or no longer) stored.
        """
        with self._lock:
            for user_id, record in self._api_keys.items():
                if record.api_key == api_key:
                    if count_use:
                        record.total_requests += 1
                        record.last_used_at = utc_now_with_offset()
                    return user_id
            return None

    # --- executions -----------------------------------------------------------------

    def create_execution(
        self, flow_id: str, input_data: Dict[str, Any]
    ) -> Optional[Tuple[str, Dict[str, Any]]]:
        """Store a new pending execution of a flow.

        Args:
            flow_id: The flow to run.
            input_data: The execution's input.

        Returns:
            ``(execution_id, snapshot of the flow)``, or None when the flow does not exist
            (nothing is stored then).
        """
        now = utc_now()
        with self._lock:
            record = self._flows.get(flow_id)
            if record is None:
                return None
            execution = _Execution(
                execution_id=str(uuid.uuid4()),
                flow_id=flow_id,
                input_data=copy.deepcopy(input_data),
                created_at=now,
                updated_at=now,
                started=time.monotonic(),
            )
            self._executions[execution.execution_id] = execution
            return execution.execution_id, copy.deepcopy(record.definition)

    def mark_running(self, execution_id: str) -> None:
        """Move a pending execution to running (a cancelled one stays cancelled)."""
        with self._lock:
            execution = self._executions.get(execution_id)
            if execution is not None and execution.status == "pending":
                execution.status = "running"
                execution.updated_at = utc_now()

    def add_node_result(self, execution_id: str, result: Dict[str, Any]) -> None:
        """Append a finished node's result (ignored if the execution was reset away)."""
        with self._lock:
            execution = self._executions.get(execution_id)
            if execution is not None:
                execution.node_results.append(copy.deepcopy(result))

    def finish(
        self,
        execution_id: str,
        status: str,
        output_data: Optional[Dict[str, Any]] = None,
        error_message: Optional[str] = None,
    ) -> None:
        """Record the worker's final verdict, overwriting a cancel like the real server.

        Args:
            execution_id: The execution.
            status: ``completed`` or ``failed``.
            output_data: The exit points' outputs (completed only).
            error_message: The failing node's error (failed only); a completed execution
                keeps whatever message it had, such as the cancel's.
        """
        with self._lock:
            execution = self._executions.get(execution_id)
            if execution is None:
                return
            if status == "completed":
                execution.output_data = copy.deepcopy(output_data or {})
            else:
                execution.error_message = error_message
            execution.end(status)

    def cancel(self, execution_id: str) -> bool:
        """Mark a pending or running execution cancelled; False when it is not running."""
        with self._lock:
            execution = self._executions.get(execution_id)
            if execution is None or execution.status not in ("pending", "running"):
                return False
            execution.error_message = CANCEL_MESSAGE
            execution.end("cancelled")
            return True

    def get_execution(self, execution_id: str) -> Optional[Dict[str, Any]]:
        """Return a copy of an execution's public fields, or None."""
        with self._lock:
            execution = self._executions.get(execution_id)
            return execution.public() if execution is not None else None

    def get_results(
        self, execution_id: str
    ) -> Optional[Tuple[Dict[str, Any], List[Dict[str, Any]]]]:
        """Return copies of an execution and its node results, or None."""
        with self._lock:
            execution = self._executions.get(execution_id)
            if execution is None:
                return None
            return execution.public(), copy.deepcopy(execution.node_results)

    def list_executions(self, limit: int, offset: int) -> List[Dict[str, Any]]:
        """Return one page of executions, newest first.

        The slice is taken literally (``[offset:offset + limit]``), as the real route does.
        """
        with self._lock:
            newest_first = list(self._executions.values())[::-1]
            return [execution.public() for execution in newest_first[offset : offset + limit]]

    def metrics(self) -> Dict[str, Any]:
        """Return the ``/metrics`` document computed from the stored executions."""
        with self._lock:
            executions = list(self._executions.values())
            durations = [e.duration for e in executions if e.duration is not None]
            total_time = float(sum(durations))

            def count(*statuses: str) -> int:
                return sum(1 for e in executions if e.status in statuses)

            return {
                "total_executions": len(executions),
                "successful_executions": count("completed"),
                "failed_executions": count("failed"),
                # The real server declares these two and never fills them in.
                "cancelled_executions": 0,
                "running_executions": 0,
                "average_execution_time": total_time / len(durations) if durations else 0.0,
                "total_execution_time": total_time,
                "last_execution": executions[-1].created_at if executions else None,
            }
