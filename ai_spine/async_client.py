"""The :class:`AsyncAISpine` client: :class:`~ai_spine.AISpine` for asyncio, on aiohttp.

The same methods, arguments, defaults, return values, validation, errors, retries and
timeouts as :class:`~ai_spine.AISpine`, as coroutines. Both describe their calls with
:mod:`ai_spine._operations` and wait with :mod:`ai_spine._wait`; this one sends through the
aiohttp transport (:mod:`ai_spine._async`). Install aiohttp with
``pip install "ai-spine-sdk[async]"``.
"""

import asyncio
import inspect
import time
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional

from . import _operations as ops
from ._base import ClientBase
from ._batch import (
    Batch,
    BatchCallback,
    BatchExecutor,
    BatchItems,
    BatchResult,
    run_batch_async,
)
from ._async import AsyncTransport
from ._wait import check_wait_arguments, time_left
from .constants import (
    DEFAULT_MAX_WORKERS,
    DEFAULT_MESSAGES_LIMIT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
)
from .exceptions import AISpineError
from .models import (
    Agent,
    AgentConfig,
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

__all__ = ["AsyncAISpine"]

ProgressCallback = Callable[[Execution], Any]


class AsyncAISpine(ClientBase[AsyncTransport]):
    """An asyncio client for the AI Spine API: flows, executions, agents and system status.

    Its methods are coroutines; many may run at once on one event loop, sharing one pool of
    at most ``max_connections`` connections. A client belongs to the event loop it is first
    used on: using it from another live loop raises ``RuntimeError``.

    Args:
        api_key: Sent as ``Authorization: Bearer <key>``. Defaults to the ``AI_SPINE_API_KEY``
            environment variable; None (the server does not require one today) sends no
            ``Authorization`` header at all.
        base_url: The server's URL. Defaults to ``AI_SPINE_BASE_URL``, then production.
        timeout: Seconds to wait for the server: a number, or a ``(connect, read)`` pair,
            each at most a day. Always on: connecting takes at most ``connect`` seconds,
            and each attempt ends, its whole answer read, within ``connect + read``.
        max_retries: Retries for failures that are safe to retry (see :mod:`ai_spine.retry`);
            0 turns retrying off. A flow execution is never sent twice.
        debug: Log this client's requests and retries (also turned on for every client by
            ``AI_SPINE_LOG=debug``), to your logging handlers if you configured any, else
            to stderr. Other clients are not affected. Keys and headers are never logged.
        access_token: A user access token for the operations that need one: the flow
            writes (``create_flow``, ``update_flow``, ``delete_flow``, ``list_my_flows``)
            and the account ones (``get_user_profile``, ``get_api_key_status``,
            ``generate_api_key``, ``revoke_api_key``).
        max_connections: Connections kept open to the server at most (default 100): up to
            this many calls run at once; more wait for a free connection.
        verify: TLS verification: True (certifi's CA bundle, or ``REQUESTS_CA_BUNDLE``),
            the path of a CA bundle file or directory, or False to turn it off (logged as a
            warning: never do this in production).
        cert: A client certificate: the path of a file holding certificate and key, or a
            ``(certificate, key)`` pair of paths.
        proxies: Proxies by scheme (``{"https": "http://proxy:3128"}``); by default the
            ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` environment variables apply.
        session: An ``aiohttp.ClientSession`` of your own to send through, with this client's
            retry and timeout rules. The client never closes it, and leaves its TLS and proxy
            settings alone unless ``verify``, ``cert`` or ``proxies`` are given.
        max_response_bytes: The longest answer read, decompressed (default 32 MiB); a
            longer one raises :class:`~ai_spine.ResponseTooLargeError` once this much has
            been read.

    Raises:
        ValidationError: If an argument is invalid.

    Example:
        >>> from ai_spine import AsyncAISpine
        >>> async with AsyncAISpine() as client:
        ...     execution = await client.execute_and_wait("credit_analysis", {"income": 50000})
        ...     print(execution["output_data"])
    """

    _transport_class = AsyncTransport

    async def close(self) -> None:
        """Close the pooled connections. The client can still be used: it reconnects.

        A session passed as ``session=`` is left open: it is yours. A client dropped without
        closing is closed when it is garbage-collected, without aiohttp's warnings.

        Example:
            >>> await client.close()
        """
        await self._transport.close()

    async def __aenter__(self) -> "AsyncAISpine":
        """Use the client in an ``async with`` block, which closes it at the end."""
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        """Close the client's connections (see :meth:`close`)."""
        await self.close()

    # --- Executions -------------------------------------------------------------------------

    async def execute_flow(
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
            >>> started = await client.execute_flow("credit_analysis", {"income": 50000})
            >>> started["execution_id"]
            '4ee0c6d2-3e51-4af5-a19c-6117546f9cdc'
        """
        return await self._transport.send(
            ops.execute_flow(flow_id, input_data, metadata, priority, user_id)
        )

    async def get_execution(self, execution_id: str) -> Execution:
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
            >>> (await client.get_execution(started["execution_id"]))["status"]
            'running'
        """
        return await self._transport.send(ops.get_execution(execution_id))

    async def wait_for_execution(
        self,
        execution_id: str,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        *,
        on_progress: Optional[ProgressCallback] = None,
    ) -> Execution:
        """Poll an execution until it finishes, and return it once ``completed``.

        Polls at once, then at 0.35 s and 0.55 s, then every 0.85 s, and after about half a
        minute every 3% of the time waited; ``interval`` caps every pause. Never sleeps past the
        deadline, and each poll's HTTP timeout is bounded by the time left. Transient poll
        failures (network, timeouts, 5xx, 429) are ridden out until the deadline.

        Args:
            execution_id: The execution's UUID.
            timeout: Seconds to wait in total.
            interval: The longest pause between two polls, in seconds.
            on_progress: Called with the execution whenever its status changes (including
                the first status seen); a coroutine function is awaited.

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
            >>> done = await client.wait_for_execution(started["execution_id"], timeout=60,
            ...                                  on_progress=lambda e: print(e["status"]))
        """
        return await self._wait(execution_id, timeout, interval, on_progress, None)

    async def _wait(
        self,
        execution_id: str,
        timeout: float,
        interval: float,
        on_progress: Optional[ProgressCallback],
        started: Optional[float],
    ) -> Execution:
        wait = self._new_wait(
            execution_id, timeout, interval, on_progress, started, time.monotonic()
        )
        if wait.first_sleep:
            await asyncio.sleep(wait.first_sleep)
        while True:
            try:
                execution = await self._poller.send(*wait.poll(time.monotonic()))
            except AISpineError as error:
                step = wait.failed(error, time.monotonic())
            else:
                step = wait.answered(execution, time.monotonic())
            if step.report is not None and on_progress is not None:
                reported = on_progress(step.report)
                if inspect.isawaitable(reported):
                    await reported
            if step.done:
                return step.outcome()
            await asyncio.sleep(step.sleep)

    async def execute_and_wait(
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
            timeout: Seconds for the whole call: starting the execution (its retries
                included) and waiting for it to finish. At most a day.
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
            >>> done = await client.execute_and_wait("credit_analysis", {"income": 50000})
            >>> done["output_data"]
        """
        check_wait_arguments(timeout, interval, on_progress)
        start = time.monotonic()
        # The POST's retries (a Retry-After included) fit in the timeout too.
        started = await self._transport.send(
            ops.execute_flow(flow_id, input_data, metadata, priority, user_id), total=timeout
        )
        left = time_left(start, timeout, time.monotonic())
        return await self._wait(started["execution_id"], left, interval, on_progress, start)

    async def execute_batch(
        self,
        items: BatchItems,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        on_progress: Optional[BatchCallback] = None,
        stop_on_error: bool = False,
        executor: Optional[BatchExecutor] = None,
    ) -> List[BatchResult]:
        """Run many executions, at most ``max_workers`` at a time, and return every result.

        Each item is :meth:`execute_flow` then :meth:`wait_for_execution`. A sliding window:
        the next item starts as soon as any one in flight finishes (never in fixed waves),
        in input order. Every item is checked before anything is sent. One item's failure
        (it could not start, failed, was cancelled or timed out) is recorded in its result
        and never stops the others, unless ``stop_on_error``.
        An exception from ``on_progress`` (or any error that is not an
        :class:`~ai_spine.AISpineError`), or cancelling the call, cancels the items in flight
        (their executions go on on the server) and propagates.

        Args:
            items: The executions, each a :class:`~ai_spine.BatchItem`, a
                ``(flow_id, input_data)`` or ``(flow_id, input_data, metadata)`` tuple, or a
                dict with these keys.
            max_workers: The most executions in flight at once (keep it within the client's
                ``max_connections``).
            timeout: Seconds each item's wait may take (as in :meth:`wait_for_execution`).
            interval: Each item's longest pause between two polls, in seconds.
            on_progress: Called as ``on_progress(result, progress)`` each time an item
                finishes, in completion order: its :class:`~ai_spine.BatchResult` and a
                :class:`~ai_spine.BatchProgress` (``done``, ``total``, ``succeeded``,
                ``failed``). A coroutine function is awaited.
            stop_on_error: Stop at the first item that does not complete: start no more
                items, let the ones in flight finish (their executions are not cancelled),
                then raise :class:`~ai_spine.BatchError` with every result.
            executor: Must be None: the executions run on the event loop. (The parameter
                exists so that both clients have the same signature; see
                :meth:`AISpine.execute_batch`.)

        Returns:
            One :class:`~ai_spine.BatchResult` per item, in input order: ``ok``,
            ``execution_id``, ``status``, ``output`` (the ``output_data``), ``error`` (the
            :class:`~ai_spine.AISpineError`), ``duration`` in seconds.

        Raises:
            ValidationError: If an argument or any item is invalid, or ``executor`` is not
                None (nothing is sent; the message names the item, e.g. ``items[3]: ...``).
            BatchError: With ``stop_on_error``, at the first failure (``.results``,
                ``.failed``).

        Example:
            >>> from ai_spine import BatchItem
            >>> results = await client.execute_batch(
            ...     [BatchItem("credit_analysis", {"income": 50000}),
            ...      ("credit_analysis", {"income": 12000, "debt": 9000})],
            ...     max_workers=10, on_progress=lambda r, p: print(p.done, "/", p.total))
            >>> [r.output if r.ok else r.error for r in results]
        """
        batch = Batch(items, max_workers, timeout, interval, on_progress, stop_on_error)
        return await run_batch_async(self, batch, executor)

    async def cancel_execution(self, execution_id: str) -> Dict[str, Any]:
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
            >>> await client.cancel_execution(started["execution_id"])
            {'message': 'Execution cancelled successfully'}
        """
        return await self._transport.send(ops.cancel_execution(execution_id))

    async def list_executions(
        self, limit: int = 20, offset: int = 0, *, status: Optional[str] = None
    ) -> List[Execution]:
        """List executions, newest first, one page of ``limit`` from ``offset``.

        Args:
            limit: How many to ask for, at least 1.
            offset: How many of the newest to skip.
            status: Only executions in this status: ``pending``, ``running``, ``completed``,
                ``failed`` or ``cancelled``. It is sent to the server and also applied to
                the page here, because today's server ignores it: the page may then hold
                fewer than ``limit`` even when more match (:meth:`iter_executions` walks
                them all).

        Returns:
            The executions of the page (in ``status``, if given).

        Raises:
            ValidationError: If an argument is invalid (nothing is sent).
            AISpineError: Any other failure.

        Example:
            >>> [e["execution_id"] for e in await client.list_executions(limit=5, status="failed")]
        """
        return await self._transport.send(ops.list_executions(limit, offset, status))

    def iter_executions(
        self, page_size: int = 50, *, status: Optional[str] = None
    ) -> AsyncIterator[Execution]:
        """Walk every execution, newest first, fetching ``page_size`` at a time as needed.

        The arguments are checked at once; a page is requested only when the previous one
        is used up, until the server sends a page shorter than ``page_size``. Executions
        started during the walk push older ones into later pages: none is yielded twice.

        Args:
            page_size: Executions asked for per request, at least 1.
            status: Only executions in this status (see :meth:`list_executions`). Filtered
                here, so pages without a match are walked through, not taken as the end.

        Returns:
            An async iterator of the executions (``async for``).

        Raises:
            ValidationError: If an argument is invalid (raised by this call; nothing is
                sent).
            AISpineError: Any failure fetching a page, raised by the iteration.

        Example:
            >>> async for execution in client.iter_executions(status="failed"):
            ...     print(execution["execution_id"], execution["error_message"])
        """
        return self._walk_executions(ops.ExecutionPages(page_size, status))

    async def _walk_executions(self, pages: ops.ExecutionPages) -> AsyncIterator[Execution]:
        while not pages.done:
            for execution in pages.took(await self._transport.send(pages.next_page())):
                yield execution

    async def get_execution_results(self, execution_id: str) -> ExecutionResults:
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
            >>> results = await client.get_execution_results(eid)
            >>> [n["node_id"] for n in results["node_results"]]
        """
        return await self._transport.send(ops.get_execution_results(execution_id))

    async def get_execution_messages(
        self, execution_id: str, limit: int = DEFAULT_MESSAGES_LIMIT, offset: int = 0
    ) -> List[ExecutionMessage]:
        """List the messages the agents of an execution exchanged, oldest first.

        Today's server stores no messages: the list is always empty, and an unknown
        execution gives an empty list too rather than a 404.

        Args:
            execution_id: The execution's UUID.
            limit: How many to return, at least 1 (the server's default, 100).
            offset: How many to skip.

        Returns:
            The messages (the server's ``messages`` list, without its envelope, whose
            ``count`` is the list's length and ``execution_id`` the one asked for).

        Raises:
            ValidationError: If an argument is invalid (nothing is sent).
            AISpineError: Any other failure.

        Example:
            >>> await client.get_execution_messages(started["execution_id"])
            []
        """
        return await self._transport.send(ops.get_execution_messages(execution_id, limit, offset))

    # --- Flows ------------------------------------------------------------------------------

    async def list_flows(self) -> List[Flow]:
        """List the flows visible to this client.

        Returns:
            The flows.

        Raises:
            AISpineError: On failure.

        Example:
            >>> [f["flow_id"] for f in await client.list_flows()]
        """
        return await self._transport.send(ops.list_flows())

    async def get_flow(self, flow_id: str) -> Flow:
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
            >>> (await client.get_flow("credit_analysis"))["entry_point"]
        """
        return await self._transport.send(ops.get_flow(flow_id))

    async def create_flow(
        self, flow: Mapping[str, Any], *, access_token: Optional[str] = None
    ) -> Flow:
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
            >>> await client.create_flow({"flow_id": "f", "name": "F", "description": "...",
            ...                     "nodes": [...], "entry_point": "a"}, access_token=token)
        """
        token = self._user_token(access_token, "create_flow")
        return await self._transport.send(ops.create_flow(flow, token))

    async def update_flow(
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
            >>> await client.update_flow("f", {**flow, "description": "v2"}, access_token=token)
        """
        token = self._user_token(access_token, "update_flow")
        return await self._transport.send(ops.update_flow(flow_id, flow, token))

    async def delete_flow(
        self, flow_id: str, *, access_token: Optional[str] = None
    ) -> Dict[str, Any]:
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
            >>> (await client.delete_flow("f", access_token=token))["status"]
            'deleted'
        """
        token = self._user_token(access_token, "delete_flow")
        return await self._transport.send(ops.delete_flow(flow_id, token))

    async def list_my_flows(self, *, access_token: Optional[str] = None) -> List[Flow]:
        """List the flows created by the token's user.

        Args:
            access_token: The user's token; defaults as for :meth:`create_flow`.

        Returns:
            The user's flows.

        Raises:
            AuthenticationError: If there is no token, or it was rejected.
            AISpineError: Any other failure.

        Example:
            >>> [f["flow_id"] for f in await client.list_my_flows(access_token=token)]
        """
        token = self._user_token(access_token, "list_my_flows")
        return await self._transport.send(ops.list_my_flows(token))

    # --- Agents -----------------------------------------------------------------------------

    async def list_agents(self) -> List[Agent]:
        """List the registered agents.

        Returns:
            The agents.

        Raises:
            AISpineError: On failure.

        Example:
            >>> [a["agent_id"] for a in await client.list_agents()]
        """
        return await self._transport.send(ops.list_agents())

    async def list_active_agents(self) -> List[Agent]:
        """List the registered agents whose ``is_active`` is true.

        Returns:
            The active agents.

        Raises:
            AISpineError: On failure.

        Example:
            >>> [a["agent_id"] for a in await client.list_active_agents()]
        """
        return await self._transport.send(ops.list_active_agents())

    async def get_agent(self, agent_id: str) -> Agent:
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
            >>> (await client.get_agent("sentiment"))["endpoint"]
        """
        return await self._transport.send(ops.get_agent(agent_id))

    async def create_agent(self, agent_config: AgentConfig) -> Agent:
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
            >>> await client.create_agent({"agent_id": "echo", "name": "Echo", "description": "...",
            ...     "endpoint": "http://127.0.0.1:9000/echo", "capabilities": ["echo"],
            ...     "agent_type": "processor"})
        """
        return await self._transport.send(ops.create_agent(agent_config))

    async def delete_agent(self, agent_id: str) -> bool:
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
            >>> await client.delete_agent("echo")
            True
        """
        return await self._transport.send(ops.delete_agent(agent_id))

    # --- System -----------------------------------------------------------------------------

    async def health_check(self) -> Health:
        """Check that the server is up.

        Returns:
            ``{"status": "healthy", "timestamp": <epoch>, ...}``.

        Raises:
            AISpineError: If the server cannot be reached or is failing.

        Example:
            >>> (await client.health_check())["status"]
            'healthy'
        """
        return await self._transport.send(ops.health_check())

    async def get_metrics(self) -> Metrics:
        """Fetch execution counts and timings.

        Returns:
            ``total_executions``, ``successful_executions``, ``failed_executions``...

        Raises:
            AISpineError: On failure.

        Example:
            >>> (await client.get_metrics())["total_executions"]
        """
        return await self._transport.send(ops.get_metrics())

    async def get_status(self) -> SystemStatus:
        """Fetch the status of the server's components and its agent and flow counts.

        Returns:
            ``{"status": "operational", "components": {...}, "agents": {...}, ...}``.

        Raises:
            AISpineError: On failure.

        Example:
            >>> (await client.get_status())["status"]
            'operational'
        """
        return await self._transport.send(ops.get_status())

    async def get_current_user(self) -> User:
        """Fetch the user the API key belongs to.

        Returns:
            ``id``, ``email``, ``name``, ``organization``, ``credits``, ``rate_limit``.

        Raises:
            AuthenticationError: If the key is missing or wrong (when the server checks).
            AISpineError: Any other failure.

        Example:
            >>> (await client.get_current_user())["email"]
        """
        return await self._transport.send(ops.get_current_user())

    async def check_credits(self) -> int:
        """Return the current user's remaining credits.

        Returns:
            The credits.

        Raises:
            AuthenticationError: If the key is missing or wrong (when the server checks).
            AISpineError: Any other failure.

        Example:
            >>> await client.check_credits()
            999999
        """
        return await self._transport.send(ops.check_credits())

    # --- Account (user access token) --------------------------------------------------------

    async def get_user_profile(self, *, access_token: Optional[str] = None) -> UserProfile:
        """Fetch the token's user: id, API key status and usage.

        Args:
            access_token: The user's token; defaults to the client's ``access_token``,
                then its API key.

        Returns:
            ``{"user_id": ..., "api_status": {"has_api_key", "credits", "rate_limit"},
            "usage": {"total_requests", "last_used_at"}}``.

        Raises:
            AuthenticationError: If there is no token, or it was rejected.
            AuthorizationError: If the user's email is not confirmed or the user is
                suspended.
            ServerError: Also when the user has no API key: the server answers ``500
                "Failed to retrieve user profile"`` then (:meth:`get_api_key_status` tells).
            AISpineError: Any other failure.

        Example:
            >>> (await client.get_user_profile(access_token=token))["api_status"]["credits"]
            1000
        """
        token = self._user_token(access_token, "get_user_profile")
        return await self._transport.send(ops.get_user_profile(token))

    async def get_api_key_status(self, *, access_token: Optional[str] = None) -> ApiKeyStatus:
        """Tell whether the token's user has an API key, and its credits, masked.

        Args:
            access_token: The user's token; defaults as for :meth:`get_user_profile`.

        Returns:
            ``{"has_api_key": True, "api_key_masked": "sk_xxx...xxxx", "credits",
            "rate_limit", "created_at", "last_used_at"}``, or without a key
            ``{"has_api_key": False, "api_key_masked": None, "message": ...}``.

        Raises:
            AuthenticationError: If there is no token, or it was rejected.
            AuthorizationError: If the user's email is not confirmed or the user is
                suspended.
            AISpineError: Any other failure.

        Example:
            >>> (await client.get_api_key_status(access_token=token))["has_api_key"]
            True
        """
        token = self._user_token(access_token, "get_api_key_status")
        return await self._transport.send(ops.get_api_key_status(token))

    async def generate_api_key(self, *, access_token: Optional[str] = None) -> ApiKeyIssued:
        """Create the token's user's API key, or replace it: the previous key stops working
        at once. Sent once, never retried after it may have reached the server.

        Args:
            access_token: The user's token; defaults as for :meth:`get_user_profile`.

        Returns:
            ``{"message", "api_key": "sk_...", "action": "created" or "regenerated",
            "warning"}``: the key in full, which the server never shows again.

        Raises:
            AuthenticationError: If there is no token, or it was rejected.
            AuthorizationError: If the user's email is not confirmed or the user is
                suspended.
            AISpineError: Any other failure.

        Example:
            >>> new_key = (await client.generate_api_key(access_token=token))["api_key"]
        """
        token = self._user_token(access_token, "generate_api_key")
        return await self._transport.send(ops.generate_api_key(token))

    async def revoke_api_key(self, *, access_token: Optional[str] = None) -> ApiKeyRevoked:
        """Delete the token's user's API key, and its credits with it.

        Args:
            access_token: The user's token; defaults as for :meth:`get_user_profile`.

        Returns:
            ``{"message": "API key revoked successfully", "status": "revoked"}``.

        Raises:
            AuthenticationError: If there is no token, or it was rejected.
            AuthorizationError: If the user's email is not confirmed or the user is
                suspended.
            NotFoundError: If the user has no API key.
            AISpineError: Any other failure.

        Example:
            >>> (await client.revoke_api_key(access_token=token))["status"]
            'revoked'
        """
        token = self._user_token(access_token, "revoke_api_key")
        return await self._transport.send(ops.revoke_api_key(token))

    # --- Deprecated: the 2.x key methods ----------------------------------------------------

    async def check_user_api_key(self, user_id: str) -> UserApiKey:
        """Fetch a user's API key in full. Deprecated: use :meth:`get_api_key_status`.

        Its route needs no credentials and trusts the ``user_id`` it is sent. Emits a
        ``DeprecationWarning``.

        Args:
            user_id: The user's id.

        Returns:
            As in the 2.x SDK, ``{"has_api_key": True, "api_key": "sk_...", "credits",
            "rate_limit", "created_at", "last_used_at"}``.

        Raises:
            ValidationError: If ``user_id`` is not a non-empty string (nothing is sent).
            ServerError: If the user has no API key: the server answers ``500 "Failed to
                retrieve API key"`` then, as for a database failure.
            AISpineError: Any other failure.

        Example:
            >>> (await client.check_user_api_key("5f0c2b7e"))["api_key"]
        """
        self._deprecated("check_user_api_key", "get_api_key_status")
        return await self._transport.send(ops.check_user_api_key(user_id))

    async def generate_user_api_key(self, user_id: str) -> ApiKeyIssued:
        """Replace a user's API key. Deprecated: use :meth:`generate_api_key`.

        Its route needs no credentials and trusts the ``user_id`` it is sent; it cannot
        create a user's first key. Emits a ``DeprecationWarning``.

        Args:
            user_id: The user's id.

        Returns:
            As in the 2.x SDK, ``{"message", "api_key": "sk_...", "action":
            "regenerated"}``; the previous key stops working.

        Raises:
            ValidationError: If ``user_id`` is not a non-empty string (nothing is sent).
            ServerError: If the user has no API key yet, or the server failed (``500
                "Failed to generate API key: ..."``).
            AISpineError: Any other failure.

        Example:
            >>> (await client.generate_user_api_key("5f0c2b7e"))["api_key"]
        """
        self._deprecated("generate_user_api_key", "generate_api_key")
        return await self._transport.send(ops.generate_user_api_key(user_id))

    async def revoke_user_api_key(self, user_id: str) -> ApiKeyRevoked:
        """Delete a user's API key. Deprecated: use :meth:`revoke_api_key`.

        Its route needs no credentials and trusts the ``user_id`` it is sent. Emits a
        ``DeprecationWarning``.

        Args:
            user_id: The user's id.

        Returns:
            As in the 2.x SDK, ``{"message": "API key revoked successfully", "status":
            "revoked"}``.

        Raises:
            ValidationError: If ``user_id`` is not a non-empty string (nothing is sent).
            ServerError: If the user has no API key (``500 "Failed to revoke API key"``),
                or the server failed.
            AISpineError: Any other failure.

        Example:
            >>> (await client.revoke_user_api_key("5f0c2b7e"))["status"]
            'revoked'
        """
        self._deprecated("revoke_user_api_key", "revoke_api_key")
        return await self._transport.send(ops.revoke_user_api_key(user_id))
