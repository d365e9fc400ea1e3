"""The :class:`AISpine` client: one method per operation of the AI Spine API.

Each method validates its arguments (raising :class:`~ai_spine.ValidationError` before any
request is sent), calls the transport with a method and a path, and unwraps the server's
envelope. HTTP details live in :mod:`ai_spine.api`.
"""

import copy
import dataclasses
import json
import logging
import os
import re
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union, cast

from .api import Answer, Transport, enable_debug_logging
from .constants import (
    AGENT_PATH,
    AGENT_REQUIRED_FIELDS,
    AGENT_TYPES,
    AGENTS_PATH,
    CURRENT_USER_PATH,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_LOG,
    EXECUTE_PATH,
    EXECUTION_CANCEL_PATH,
    EXECUTION_PATH,
    EXECUTION_RESULTS_PATH,
    EXECUTIONS_PATH,
    FIRST_POLL_DELAY,
    FLOW_PATH,
    FLOWS_PATH,
    HEALTH_PATH,
    LOGGER_NAME,
    METRICS_PATH,
    MY_FLOWS_PATH,
    NIL_UUID,
    PRIORITY_MAX,
    PRIORITY_MIN,
    RESERVED_AGENT_IDS,
    RESERVED_FLOW_IDS,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_PATH,
    TERMINAL_STATUSES,
)
from .exceptions import (
    AISpineError,
    AuthenticationError,
    ExecutionError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from .models import (
    Agent,
    AgentConfig,
    Execution,
    ExecutionResults,
    ExecutionStart,
    Flow,
    Health,
    Metrics,
    SystemStatus,
    User,
)
from .retry import RetryPolicy
from .utils import (
    build_path,
    ensure_json,
    mask_secret,
    normalize_timeout,
    require_string,
    validate_execution_id,
    validate_resource_id,
    validate_secret,
    validate_url,
)

__all__ = ["AISpine"]

logger = logging.getLogger(LOGGER_NAME)

TimeoutArg = Union[float, Tuple[float, float]]
ProgressCallback = Callable[[Execution], Any]

_UNKNOWN_FLOW = re.compile(r"^Flow '.*' not found$", re.DOTALL)
_FLOW_REQUIRED_FIELDS = ("flow_id", "name", "description", "nodes", "entry_point")
_MIN_POLL_TIMEOUT = 0.05  # a poll given less than this cannot even connect


class AISpine:
    """A client for the AI Spine API: flows, executions, agents and system status.

    Args:
        api_key: Sent as ``Authorization: Bearer <key>``. Defaults to the ``AI_SPINE_API_KEY``
            environment variable; None (the server does not require one today) sends no
            ``Authorization`` header at all.
        base_url: The server's URL. Defaults to ``AI_SPINE_BASE_URL``, then production.
        timeout: Seconds to wait for the server: a number, or a ``(connect, read)`` pair.
            Always on.
        max_retries: Retries for failures that are safe to retry (see :mod:`ai_spine.retry`);
            0 turns retrying off. A flow execution is never sent twice.
        debug: Log every request and retry to stderr (also turned on by ``AI_SPINE_LOG=debug``).
        access_token: A user access token for the flow operations that need one
            (``create_flow``, ``update_flow``, ``delete_flow``, ``list_my_flows``).

    Raises:
        ValidationError: If an argument is invalid.

    Example:
        >>> from ai_spine import AISpine
        >>> with AISpine() as client:
        ...     execution = client.execute_and_wait("credit_analysis", {"income": 50000})
        ...     print(execution["output_data"])
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        debug: bool = False,
        *,
        access_token: Optional[str] = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get(ENV_API_KEY) or None
        if api_key is not None:
            api_key = validate_secret(api_key, "api_key")
        if access_token is not None:
            access_token = validate_secret(access_token, "access_token")
        if base_url is None:
            base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        url = validate_url(base_url, "base_url", base=True)
        if debug or os.environ.get(ENV_LOG, "").strip().lower() == "debug":
            enable_debug_logging()
        self._transport = Transport(
            url,
            api_key=api_key,
            timeout=normalize_timeout(timeout),
            policy=RetryPolicy(max_retries=_validate_max_retries(max_retries)),
        )
        self._access_token = access_token
        self._poll_transport = self._derive_poll_transport()

    def _derive_poll_transport(self) -> Transport:
        # Retries inside a poll could sleep past the wait's deadline; the poll loop retries.
        return self._transport.derive(
            policy=dataclasses.replace(self._transport.policy, max_retries=0)
        )

    # --- Configuration --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server's URL, without trailing slash."""
        return self._transport.base_url

    @property
    def timeout(self) -> Tuple[float, float]:
        """The ``(connect, read)`` timeout in seconds."""
        return self._transport.timeout

    @property
    def max_retries(self) -> int:
        """How many times a safely retryable failure is retried."""
        return self._transport.policy.max_retries

    def with_options(
        self, *, timeout: Optional[TimeoutArg] = None, max_retries: Optional[int] = None
    ) -> "AISpine":
        """Return a client with other timeout or retry settings, sharing this one's
        connection pool and credentials.

        Args:
            timeout: A number or ``(connect, read)`` pair, or None to keep the current one.
            max_retries: A retry count, or None to keep the current one.

        Returns:
            The new client. Close the original to close the shared pool.

        Raises:
            ValidationError: If an argument is invalid.

        Example:
            >>> patient = client.with_options(timeout=120, max_retries=5)
        """
        policy = None
        if max_retries is not None:
            policy = dataclasses.replace(
                self._transport.policy, max_retries=_validate_max_retries(max_retries)
            )
        clone = copy.copy(self)
        clone._transport = self._transport.derive(
            timeout=None if timeout is None else normalize_timeout(timeout), policy=policy
        )
        clone._poll_transport = clone._derive_poll_transport()
        return clone

    def close(self) -> None:
        """Close the pooled connections. The client can still be used: it reconnects.

        Example:
            >>> client.close()
        """
        self._transport.close()

    def __enter__(self) -> "AISpine":
        """Use the client in a ``with`` block, which closes its connections at the end."""
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Close the client's connections (see :meth:`close`)."""
        self.close()

    def __repr__(self) -> str:
        """Show the configuration, with the API key masked."""
        return "AISpine(base_url={!r}, api_key={}, timeout={!r}, max_retries={})".format(
            self.base_url, mask_secret(self._transport.api_key), self.timeout, self.max_retries
        )

    # --- Executions -----------------------------------------------------------------------

    def execute_flow(
        self,
        flow_id: str,
        input_data: Mapping[str, Any],
        metadata: Optional[Mapping[str, Any]] = None,
        *,
        priority: Optional[int] = None,
        user_id: Optional[str] = None,
    ) -> ExecutionStart:
        """Start an execution of a flow. It runs in the background: poll it, or use
        :meth:`wait_for_execution` / :meth:`execute_and_wait`.

        The request is sent once: it is retried only when the connection failed before
        sending, or on a 429 (refused, not run), so a flow never runs twice.

        Args:
            flow_id: The flow to run.
            input_data: The flow's input, a JSON-serialisable dict.
            metadata: Optional JSON-serialisable dict stored with the request.
            priority: Optional priority from 0 to 10.
            user_id: Optional id of the user the execution is for.

        Returns:
            ``{"execution_id": ..., "status": "pending", ...}``.

        Raises:
            ValidationError: If an argument is invalid (nothing is sent).
            NotFoundError: If the flow does not exist.
            ExecutionError: If the server refused to start the execution.
            AISpineError: Any other failure; see :mod:`ai_spine.exceptions`.

        Example:
            >>> started = client.execute_flow("credit_analysis", {"income": 50000})
            >>> started["execution_id"]
            '4ee0c6d2-3e51-4af5-a19c-6117546f9cdc'
        """
        validate_resource_id(flow_id, "flow_id", RESERVED_FLOW_IDS)
        body: Dict[str, Any] = {"flow_id": flow_id, "input_data": _json_object(input_data)}
        if metadata is not None:
            body["metadata"] = _json_object(metadata, "metadata")
        if priority is not None:
            if not _is_int(priority) or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
                raise ValidationError(
                    "priority must be an integer from {} to {}, got {!r}".format(
                        PRIORITY_MIN, PRIORITY_MAX, priority
                    )
                )
            body["priority"] = priority
        if user_id is not None:
            body["user_id"] = require_string(user_id, "user_id")
        answer = self._transport.request("POST", EXECUTE_PATH, json=body)
        return cast(ExecutionStart, _check_started(answer, flow_id))

    def get_execution(self, execution_id: str) -> Execution:
        """Fetch an execution's current state.

        Args:
            execution_id: The execution's UUID.

        Returns:
            The execution: ``status``, ``input_data``, ``output_data``, ``error_message``...

        Raises:
            ValidationError: If ``execution_id`` is not a UUID (nothing is sent).
            NotFoundError: If there is no such execution.
            AISpineError: Any other failure.

        Example:
            >>> client.get_execution(started["execution_id"])["status"]
            'running'
        """
        return self._get_execution(validate_execution_id(execution_id), self._transport)

    def _get_execution(self, execution_id: str, transport: Transport, **kw: Any) -> Execution:
        path = build_path(EXECUTION_PATH, execution_id=execution_id)
        return cast(Execution, _expect_dict(transport.request("GET", path, **kw)))

    def wait_for_execution(
        self,
        execution_id: str,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        *,
        on_progress: Optional[ProgressCallback] = None,
    ) -> Execution:
        """Poll an execution until it finishes, and return it once ``completed``.

        Polls at once, then after 0.25 s, doubling up to ``interval``. Never sleeps past the
        deadline, and each poll's HTTP timeout is bounded by the time left. Transient poll
        failures (network, timeouts, 5xx, 429) are ridden out until the deadline.

        Args:
            execution_id: The execution's UUID.
            timeout: Seconds to wait in total.
            interval: The longest pause between two polls, in seconds.
            on_progress: Called with the execution whenever its status changes (including
                the first status seen).

        Returns:
            The completed execution; its result is in ``output_data``.

        Raises:
            ValidationError: If an argument is invalid (nothing is sent).
            ExecutionError: If the execution ended ``failed`` or ``cancelled``
                (``.execution_id``, ``.status``, ``.execution``).
            TimeoutError: If it had not finished at the deadline (``.execution`` is the last
                state seen). The execution goes on; wait again or cancel it.
            NotFoundError: If there is no such execution.
            AISpineError: Any other non-transient failure.

        Example:
            >>> done = client.wait_for_execution(started["execution_id"], timeout=60,
            ...                                  on_progress=lambda e: print(e["status"]))
        """
        execution_id = validate_execution_id(execution_id)
        _check_wait_arguments(timeout, interval, on_progress)
        poller = self._poll_transport
        connect_timeout, read_timeout = self.timeout

        deadline = time.monotonic() + timeout
        pause = min(FIRST_POLL_DELAY, interval)
        last: Optional[Execution] = None
        last_error: Optional[AISpineError] = None
        while True:
            remaining = deadline - time.monotonic()
            poll_timeout = (
                max(_MIN_POLL_TIMEOUT, min(connect_timeout, remaining)),
                max(_MIN_POLL_TIMEOUT, min(read_timeout, remaining)),
            )
            wait = pause
            try:
                execution = self._get_execution(
                    execution_id,
                    poller,
                    timeout=poll_timeout,
                    total=max(_MIN_POLL_TIMEOUT, remaining),
                )
            except (NetworkError, TimeoutError, RateLimitError, ServerError) as error:
                if isinstance(error, ServerError) and (error.status_code or 500) < 500:
                    raise  # an unexpected status will not go away by asking again
                if isinstance(error, RateLimitError) and error.retry_after is not None:
                    wait = max(wait, error.retry_after)
                logger.info("Polling %s failed, will retry: %s", execution_id, error)
                last_error = error
            else:
                last_error = None
                status = execution.get("status")
                if last is None or status != last.get("status"):
                    if on_progress is not None:
                        on_progress(execution)
                last = execution
                if status == STATUS_COMPLETED:
                    return execution
                if status in TERMINAL_STATUSES:
                    raise ExecutionError(
                        "Execution {} {}: {}".format(
                            execution_id,
                            status,
                            execution.get("error_message") or "no error message",
                        ),
                        execution_id=execution_id,
                        status=status,
                        execution=dict(execution),
                    )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    "Execution {} was still {} after {:g} s{}. It keeps running: wait again, "
                    "or cancel it with cancel_execution().".format(
                        execution_id,
                        repr(last.get("status")) if last else "not seen",
                        timeout,
                        "; last poll failed: {}".format(last_error) if last_error else "",
                    ),
                    timeout=timeout,
                    execution=dict(last) if last is not None else None,
                    execution_id=execution_id,
                ) from last_error
            time.sleep(min(wait, remaining))
            pause = min(pause * 2, interval)

    def execute_and_wait(
        self,
        flow_id: str,
        input_data: Mapping[str, Any],
        metadata: Optional[Mapping[str, Any]] = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        *,
        priority: Optional[int] = None,
        user_id: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
    ) -> Execution:
        """Start an execution and wait for it: :meth:`execute_flow` then
        :meth:`wait_for_execution`.

        Args:
            flow_id: The flow to run.
            input_data: The flow's input, a JSON-serialisable dict.
            metadata: Optional JSON-serialisable dict stored with the request.
            timeout: Seconds to wait for the execution to finish.
            interval: The longest pause between two polls, in seconds.
            priority: Optional priority from 0 to 10.
            user_id: Optional id of the user the execution is for.
            on_progress: Called with the execution whenever its status changes.

        Returns:
            The completed execution.

        Raises:
            ValidationError: If an argument is invalid (nothing is sent).
            NotFoundError: If the flow does not exist.
            ExecutionError: If the execution failed, was cancelled or did not start.
            TimeoutError: If it had not finished within ``timeout``.
            AISpineError: Any other failure.

        Example:
            >>> done = client.execute_and_wait("credit_analysis", {"income": 50000})
            >>> done["output_data"]
        """
        _check_wait_arguments(timeout, interval, on_progress)
        started = self.execute_flow(
            flow_id, input_data, metadata, priority=priority, user_id=user_id
        )
        return self.wait_for_execution(
            started["execution_id"], timeout, interval, on_progress=on_progress
        )

    def cancel_execution(self, execution_id: str) -> Dict[str, Any]:
        """Ask the server to cancel a running execution.

        The server marks it ``cancelled`` but does not stop the node in flight: when the
        remaining nodes finish, the status may still turn ``completed`` or ``failed``.

        Args:
            execution_id: The execution's UUID.

        Returns:
            ``{"message": "Execution cancelled successfully"}``.

        Raises:
            ValidationError: If ``execution_id`` is not a UUID (nothing is sent).
            NotFoundError: If there is no such execution or it is not running.
            AISpineError: Any other failure.

        Example:
            >>> client.cancel_execution(started["execution_id"])
            {'message': 'Execution cancelled successfully'}
        """
        path = build_path(EXECUTION_CANCEL_PATH, execution_id=validate_execution_id(execution_id))
        return _expect_dict(self._transport.request("POST", path))

    def list_executions(self, limit: int = 20, offset: int = 0) -> List[Execution]:
        """List executions, newest first.

        Args:
            limit: How many to return, at least 1.
            offset: How many of the newest to skip.

        Returns:
            The executions.

        Raises:
            ValidationError: If ``limit`` or ``offset`` is invalid (nothing is sent).
            AISpineError: Any other failure.

        Example:
            >>> [e["status"] for e in client.list_executions(limit=5)]
        """
        if not _is_int(limit) or limit < 1:
            raise ValidationError("limit must be a positive integer, got {!r}".format(limit))
        if not _is_int(offset) or offset < 0:
            raise ValidationError("offset must be an integer >= 0, got {!r}".format(offset))
        page = self._transport.request(
            "GET", EXECUTIONS_PATH, params={"limit": limit, "offset": offset}
        )
        return cast(List[Execution], _unwrap_list(page, "executions"))

    def get_execution_results(self, execution_id: str) -> ExecutionResults:
        """Fetch an execution together with the result of each node that ran.

        Args:
            execution_id: The execution's UUID.

        Returns:
            ``{"execution": {...}, "node_results": [...]}``.

        Raises:
            ValidationError: If ``execution_id`` is not a UUID (nothing is sent).
            NotFoundError: If there is no such execution.
            AISpineError: Any other failure.

        Example:
            >>> [n["node_id"] for n in client.get_execution_results(eid)["node_results"]]
        """
        path = build_path(EXECUTION_RESULTS_PATH, execution_id=validate_execution_id(execution_id))
        return cast(ExecutionResults, _expect_dict(self._transport.request("GET", path)))

    # --- Flows ----------------------------------------------------------------------------

    def list_flows(self) -> List[Flow]:
        """List the flows visible to this client.

        Returns:
            The flows.

        Raises:
            AISpineError: On failure.

        Example:
            >>> [f["flow_id"] for f in client.list_flows()]
        """
        return cast(List[Flow], _unwrap_list(self._transport.request("GET", FLOWS_PATH), "flows"))

    def get_flow(self, flow_id: str) -> Flow:
        """Fetch one flow's definition.

        Args:
            flow_id: The flow's id.

        Returns:
            The flow: ``nodes``, ``entry_point``, ``exit_points``...

        Raises:
            ValidationError: If ``flow_id`` is invalid (nothing is sent).
            NotFoundError: If there is no such flow.
            AISpineError: Any other failure.

        Example:
            >>> client.get_flow("credit_analysis")["entry_point"]
        """
        path = build_path(
            FLOW_PATH, flow_id=validate_resource_id(flow_id, "flow_id", RESERVED_FLOW_IDS)
        )
        return cast(Flow, _expect_dict(self._transport.request("GET", path)))

    def create_flow(self, flow: Mapping[str, Any], *, access_token: Optional[str] = None) -> Flow:
        """Create a flow. Needs a user access token.

        Args:
            flow: The definition: ``flow_id``, ``name``, ``description``, ``nodes``,
                ``entry_point`` and optionally ``exit_points``, ``version``, ``metadata``.
            access_token: The user's token; defaults to the client's ``access_token``,
                then its API key.

        Returns:
            The created flow.

        Raises:
            ValidationError: If the flow is invalid, locally or for the server.
            AuthenticationError: If there is no token, or it was rejected.
            ConflictError: If a flow with that id exists.
            AISpineError: Any other failure.

        Example:
            >>> client.create_flow({"flow_id": "f", "name": "F", "description": "...",
            ...                     "nodes": [...], "entry_point": "a"}, access_token=token)
        """
        body = _flow_body(flow)
        token = self._token(access_token, "create_flow")
        return cast(
            Flow, _expect_dict(self._transport.request("POST", FLOWS_PATH, json=body, bearer=token))
        )

    def update_flow(
        self, flow_id: str, flow: Mapping[str, Any], *, access_token: Optional[str] = None
    ) -> Flow:
        """Replace a flow's definition (the server bumps its version). Needs a user token.

        Args:
            flow_id: The flow to update.
            flow: The full new definition; its ``flow_id``, if given, must equal ``flow_id``.
            access_token: The user's token; defaults as for :meth:`create_flow`.

        Returns:
            The updated flow.

        Raises:
            ValidationError: If the flow is invalid, locally or for the server.
            AuthenticationError: If there is no token, or it was rejected.
            AuthorizationError: If the flow belongs to someone else.
            NotFoundError: If there is no such flow.
            AISpineError: Any other failure.

        Example:
            >>> client.update_flow("f", {**flow, "description": "v2"}, access_token=token)
        """
        validate_resource_id(flow_id, "flow_id", RESERVED_FLOW_IDS)
        if isinstance(flow, Mapping) and flow.get("flow_id", flow_id) != flow_id:
            raise ValidationError(
                "flow['flow_id'] is {!r} but flow_id is {!r}: they must match".format(
                    flow.get("flow_id"), flow_id
                )
            )
        body = _flow_body(dict(flow, flow_id=flow_id) if isinstance(flow, Mapping) else flow)
        token = self._token(access_token, "update_flow")
        path = build_path(FLOW_PATH, flow_id=flow_id)
        return cast(
            Flow, _expect_dict(self._transport.request("PUT", path, json=body, bearer=token))
        )

    def delete_flow(self, flow_id: str, *, access_token: Optional[str] = None) -> Dict[str, Any]:
        """Delete a flow you own. Needs a user access token.

        Args:
            flow_id: The flow to delete.
            access_token: The user's token; defaults as for :meth:`create_flow`.

        Returns:
            The server's confirmation, ``{"message": ..., "status": "deleted"}``.

        Raises:
            ValidationError: If ``flow_id`` is invalid (nothing is sent).
            AuthenticationError: If there is no token, or it was rejected.
            AuthorizationError: If the flow is someone else's, or a system flow.
            NotFoundError: If there is no such flow.
            AISpineError: Any other failure.

        Example:
            >>> client.delete_flow("f", access_token=token)["status"]
            'deleted'
        """
        path = build_path(
            FLOW_PATH, flow_id=validate_resource_id(flow_id, "flow_id", RESERVED_FLOW_IDS)
        )
        token = self._token(access_token, "delete_flow")
        return _expect_dict(self._transport.request("DELETE", path, bearer=token))

    def list_my_flows(self, *, access_token: Optional[str] = None) -> List[Flow]:
        """List the flows created by the token's user.

        Args:
            access_token: The user's token; defaults as for :meth:`create_flow`.

        Returns:
            The user's flows.

        Raises:
            AuthenticationError: If there is no token, or it was rejected.
            AISpineError: Any other failure.

        Example:
            >>> [f["flow_id"] for f in client.list_my_flows(access_token=token)]
        """
        token = self._token(access_token, "list_my_flows")
        page = self._transport.request("GET", MY_FLOWS_PATH, bearer=token)
        return cast(List[Flow], _unwrap_list(page, "flows"))

    def _token(self, access_token: Optional[str], operation: str) -> str:
        if access_token is not None:
            return validate_secret(access_token, "access_token")
        token = self._access_token or self._transport.api_key
        if token is None:
            raise AuthenticationError(
                "{} needs a user access token: pass access_token= to the call or to "
                "AISpine().".format(operation)
            )
        return token

    # --- Agents ---------------------------------------------------------------------------

    def list_agents(self) -> List[Agent]:
        """List the registered agents.

        Returns:
            The agents.

        Raises:
            AISpineError: On failure.

        Example:
            >>> [a["agent_id"] for a in client.list_agents()]
        """
        return cast(
            List[Agent], _unwrap_list(self._transport.request("GET", AGENTS_PATH), "agents")
        )

    def get_agent(self, agent_id: str) -> Agent:
        """Fetch one agent.

        Args:
            agent_id: The agent's id.

        Returns:
            The agent.

        Raises:
            ValidationError: If ``agent_id`` is invalid (nothing is sent).
            NotFoundError: If there is no such agent.
            AISpineError: Any other failure.

        Example:
            >>> client.get_agent("sentiment")["endpoint"]
        """
        path = build_path(
            AGENT_PATH, agent_id=validate_resource_id(agent_id, "agent_id", RESERVED_AGENT_IDS)
        )
        return cast(Agent, _expect_dict(self._transport.request("GET", path)))

    def create_agent(self, agent_config: AgentConfig) -> Agent:
        """Register an agent; an agent with the same ``agent_id`` is replaced.

        The whole config is checked before sending, because the server answers a 500 for a
        missing field or a bad ``agent_type``.

        Args:
            agent_config: ``agent_id``, ``name``, ``description``, ``endpoint`` (an http(s)
                URL whose ``/execute`` the server will POST to), ``capabilities`` (a list of
                strings), ``agent_type`` (``input``, ``processor``, ``output`` or
                ``conditional``), and optionally ``is_active``.

        Returns:
            The registered agent.

        Raises:
            ValidationError: If the config is invalid (nothing is sent).
            AISpineError: Any other failure.

        Example:
            >>> client.create_agent({"agent_id": "echo", "name": "Echo", "description": "...",
            ...     "endpoint": "http://127.0.0.1:9000/echo", "capabilities": ["echo"],
            ...     "agent_type": "processor"})
        """
        body = _agent_body(agent_config)
        return cast(Agent, _expect_dict(self._transport.request("POST", AGENTS_PATH, json=body)))

    def delete_agent(self, agent_id: str) -> bool:
        """Unregister an agent.

        Args:
            agent_id: The agent's id.

        Returns:
            True if it was deleted, False if it did not exist. (If the connection broke after
            the server deleted it, the automatic retry finds nothing and returns False.)

        Raises:
            ValidationError: If ``agent_id`` is invalid (nothing is sent).
            AISpineError: Any other failure.

        Example:
            >>> client.delete_agent("echo")
            True
        """
        path = build_path(
            AGENT_PATH, agent_id=validate_resource_id(agent_id, "agent_id", RESERVED_AGENT_IDS)
        )
        try:
            self._transport.request("DELETE", path)
        except NotFoundError:
            return False
        return True

    # --- System ---------------------------------------------------------------------------

    def health_check(self) -> Health:
        """Check that the server is up.

        Returns:
            ``{"status": "healthy", "timestamp": <epoch>, ...}``.

        Raises:
            AISpineError: If the server cannot be reached or is failing.

        Example:
            >>> client.health_check()["status"]
            'healthy'
        """
        return cast(Health, _expect_dict(self._transport.request("GET", HEALTH_PATH)))

    def get_metrics(self) -> Metrics:
        """Fetch execution counts and timings.

        Returns:
            ``total_executions``, ``successful_executions``, ``failed_executions``...

        Raises:
            AISpineError: On failure.

        Example:
            >>> client.get_metrics()["total_executions"]
        """
        return cast(Metrics, _expect_dict(self._transport.request("GET", METRICS_PATH)))

    def get_status(self) -> SystemStatus:
        """Fetch the status of the server's components and its agent and flow counts.

        Returns:
            ``{"status": "operational", "components": {...}, "agents": {...}, ...}``.

        Raises:
            AISpineError: On failure.

        Example:
            >>> client.get_status()["status"]
            'operational'
        """
        return cast(SystemStatus, _expect_dict(self._transport.request("GET", STATUS_PATH)))

    def get_current_user(self) -> User:
        """Fetch the user the API key belongs to.

        Returns:
            ``id``, ``email``, ``name``, ``organization``, ``credits``, ``rate_limit``.

        Raises:
            AuthenticationError: If the key is missing or wrong (when the server checks).
            AISpineError: Any other failure.

        Example:
            >>> client.get_current_user()["email"]
        """
        return cast(User, _expect_dict(self._transport.request("GET", CURRENT_USER_PATH)))

    def check_credits(self) -> int:
        """Return the current user's remaining credits.

        Returns:
            The credits.

        Raises:
            AuthenticationError: If the key is missing or wrong (when the server checks).
            AISpineError: Any other failure.

        Example:
            >>> client.check_credits()
            999999
        """
        answer = self._transport.request("GET", CURRENT_USER_PATH)
        credits = _expect_dict(answer).get("credits")
        if not _is_int(credits):
            raise _unexpected(answer, "a user with integer 'credits'")
        return cast(int, credits)


# --- Argument checks and envelope unwrapping -----------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_max_retries(value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise ValidationError("max_retries must be an integer >= 0, got {!r}".format(value))
    return cast(int, value)


def _require_positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(
            "{} must be a positive number of seconds, got {!r}".format(name, value)
        )


def _json_object(value: Any, name: str = "input_data") -> Dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            "{} must be a dict, got {} ({})".format(name, repr(value)[:80], type(value).__name__)
        )
    result = dict(value)
    ensure_json(result, name)
    return result


def _flow_body(flow: Any) -> Dict[str, Any]:
    body = _json_object(flow, "flow")
    missing = [f for f in _FLOW_REQUIRED_FIELDS if f not in body]
    if missing:
        raise ValidationError("flow is missing required field(s): {}".format(", ".join(missing)))
    validate_resource_id(body["flow_id"], "flow['flow_id']", RESERVED_FLOW_IDS)
    nodes = body["nodes"]
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and "id" in n for n in nodes):
        raise ValidationError("flow['nodes'] must be a list of dicts, each with an 'id'")
    return body


def _agent_body(config: Any) -> Dict[str, Any]:
    body = _json_object(config, "agent_config")
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


def _unexpected(answer: Answer, expected: str) -> ServerError:
    return ServerError(
        "The server answered {} where {} was expected; the API may have changed".format(
            json.dumps(answer.body)[:200] if answer.body is not None else "nothing", expected
        ),
        **answer.error_context(),
    )


def _expect_dict(answer: Answer) -> Dict[str, Any]:
    if not isinstance(answer.body, dict):
        raise _unexpected(answer, "a JSON object")
    return answer.body


def _unwrap_list(answer: Answer, key: str) -> List[Any]:
    items = _expect_dict(answer).get(key)
    if not isinstance(items, list):
        raise _unexpected(answer, "an object with a {!r} list".format(key))
    return items


def _check_started(answer: Answer, flow_id: str) -> Dict[str, Any]:
    started = _expect_dict(answer)
    execution_id = started.get("execution_id")
    if not isinstance(execution_id, str) or not execution_id:
        raise _unexpected(answer, "an execution_id")
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


def _check_wait_arguments(timeout: Any, interval: Any, on_progress: Any) -> None:
    _require_positive(timeout, "timeout")
    _require_positive(interval, "interval")
    if on_progress is not None and not callable(on_progress):
        raise ValidationError("on_progress must be callable, got {!r}".format(on_progress))
