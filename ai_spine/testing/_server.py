"""``LocalAISpine``: the in-memory AI Spine server, its lifecycle and its test hooks.

This module wires the pieces together: the loopback HTTP server (``_http``), the request
log and fault injection (``_faults``), the routes (``_routes``), the store (``_store``),
the execution workers (``_engine``) and, on request, the demo agents (``_agents``).
"""

from __future__ import annotations

import fnmatch
import threading
import time
from types import TracebackType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Type

from ._agents import DemoAgents, demo_agent_definitions, demo_flow_definition
from ._auth import Auth
from ._engine import ExecutionEngine
from ._faults import (
    REQUEST_LOG_BODY_BYTES,
    REQUEST_LOG_SIZE,
    FaultBody,
    FaultInjector,
    InjectedFault,
    RecordedRequest,
    RequestLog,
    make_fault,
)
from ._http import LoopbackHTTPServer, Request, Response, bind_address
from ._routes import Api
from ._store import TERMINAL_STATUSES, Store
from ._validation import ValidationFailed, pydantic_text, validate_agent, validate_flow


class LocalAISpine:
    """An in-memory AI Spine server on loopback, for demos, examples and tests.

    It answers the ``/api/v1`` endpoints (plus ``/health``, ``/metrics``, ``/status``
    and the unprefixed aliases the SDK may meet) with the real server's status codes,
    bodies and quirks, and runs executions for real by calling agents over HTTP in
    background threads. On top it records the latest requests and can inject faults.

    It refuses what a web page could send it (a foreign ``Host`` or ``Origin``: ``403``;
    a body that is not ``application/json``: ``415``), and answers ``422`` for JSON bodies
    nested deeper than 200 levels or with integers of more than 1000 digits.

    Args:
        host: Loopback address to bind.
        port: Port to bind; 0 (the default) picks a free one.
        api_key: When set, every route but ``/health`` and ``/`` requires
            ``Authorization: Bearer <api_key>``, like ``API_KEY_REQUIRED=true``. Like the
            real server, it is not a user token: flow writes and the account routes answer
            it ``401 "Authentication failed"``.
        with_demo_agents: Start a :class:`DemoAgents` server alongside, and register its
            agents and the demo flow ``DEMO_FLOW_ID`` as system entries at start.
        agent_timeout: Seconds an agent call may take before its node fails (with an
            empty error message, as on the real server).
        user_tokens: Map of user token to user id. None (the default) accepts any
            non-empty bearer token as a user token and derives the user id from it
            (API keys excepted); the real server accepts only its identity provider's
            tokens.
        api_key_as_user_token: A departure from the real server, off by default: accept
            ``api_key`` also as the user token of the ``master`` user, so a client holding
            only the API key can create, update and delete flows.
        allow_remote_agents: Let executions call agents that are not on loopback.
        demo_agent_delay: Default answering delay of the demo agents, in seconds.
        request_log_size: How many requests :attr:`requests` keeps (1000 by default);
            older ones are forgotten first.
        request_log_body_bytes: How many bytes of each request body :attr:`requests`
            keeps (64 KiB by default); a longer body is cut, and its entry's
            ``truncated`` is True.

    Raises:
        ValueError: When ``host`` is not a loopback address, or a log bound is negative.

    Example:
        >>> import json, urllib.request
        >>> with LocalAISpine() as server:
        ...     with urllib.request.urlopen(server.url + "/health") as answer:
        ...         json.load(answer)["status"]
        'healthy'
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: Optional[str] = None,
        with_demo_agents: bool = False,
        agent_timeout: float = 30.0,
        user_tokens: Optional[Mapping[str, str]] = None,
        api_key_as_user_token: bool = False,
        allow_remote_agents: bool = False,
        demo_agent_delay: float = 0.0,
        request_log_size: int = REQUEST_LOG_SIZE,
        request_log_body_bytes: int = REQUEST_LOG_BODY_BYTES,
    ) -> None:
        self._host = bind_address(host)
        self._port = port
        self._with_demo_agents = with_demo_agents
        self._agent_timeout = agent_timeout
        self._allow_remote_agents = allow_remote_agents
        self._demo_agent_delay = demo_agent_delay
        self._store = Store()
        self._auth = Auth(api_key, user_tokens, self._store, api_key_as_user_token)
        self._faults = FaultInjector()
        self._log = RequestLog(request_log_size, request_log_body_bytes)
        self._api = Api(self._store, self._auth, self._submit)
        self._lifecycle = threading.Lock()
        self._http: Optional[LoopbackHTTPServer] = None
        self._engine: Optional[ExecutionEngine] = None
        self._demo: Optional[DemoAgents] = None

    # --- lifecycle ------------------------------------------------------------------

    def _running_http(self) -> LoopbackHTTPServer:
        http = self._http
        if http is None:
            raise RuntimeError("LocalAISpine is not running: call start() or use 'with'")
        return http

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash).

        Raises:
            RuntimeError: When the server is not running.
        """
        return self._running_http().url

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``).

        Raises:
            RuntimeError: When the server is not running.
        """
        return self._running_http().server_port

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted since it started: how well a
        client reuses its pooled connections.

        Raises:
            RuntimeError: When the server is not running.
        """
        return self._running_http().accepted

    @property
    def api_key(self) -> Optional[str]:
        """The API key the server enforces, or None."""
        return self._auth.api_key

    @property
    def demo_agents(self) -> Optional[DemoAgents]:
        """The running :class:`DemoAgents` when ``with_demo_agents=True``, else None.

        Example:
            >>> with LocalAISpine(with_demo_agents=True) as server:
            ...     server.demo_agents.agent_url("echo").endswith("/echo")
            True
        """
        return self._demo

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._http is not None

    def start(self) -> "LocalAISpine":
        """Bind the port and serve in a background thread.

        Returns:
            This server, for chaining: ``server = LocalAISpine().start()``.

        Raises:
            RuntimeError: When already running.
            OSError: When the port cannot be bound.

        Example:
            >>> server = LocalAISpine().start()
            >>> server.url.startswith("http://127.0.0.1:")
            True
            >>> server.stop()
        """
        with self._lifecycle:
            if self._http is not None:
                raise RuntimeError("LocalAISpine is already running")
            demo: Optional[DemoAgents] = None
            if self._with_demo_agents:
                demo = DemoAgents(host=self._host, delay=self._demo_agent_delay).start()
            try:
                http = LoopbackHTTPServer(
                    self._host, self._port, self._handle, "ai-spine-local-server"
                )
            except BaseException:
                if demo is not None:
                    demo.stop()
                raise
            self._engine = ExecutionEngine(
                self._store,
                agent_timeout=self._agent_timeout,
                allow_remote_agents=self._allow_remote_agents,
            )
            self._demo = demo
            if demo is not None:
                self._install_demo(demo)
            http.start()
            self._http = http
        return self

    def stop(self) -> None:
        """Stop serving and release everything; calling it again does nothing.

        Closes the listening socket and open connections, joins the serving thread,
        aborts agent calls in flight and waits (at most ``agent_timeout``) for the
        execution workers, then stops the demo agents.

        Example:
            >>> server = LocalAISpine().start()
            >>> server.stop(); server.stop()
            >>> server.running
            False
        """
        with self._lifecycle:
            http, self._http = self._http, None
            engine, self._engine = self._engine, None
            demo, self._demo = self._demo, None
        if http is not None:
            http.stop()
        if engine is not None:
            engine.stop(timeout=self._agent_timeout)
        if demo is not None:
            demo.stop()

    def __enter__(self) -> "LocalAISpine":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        http = self._http
        return "<LocalAISpine %s>" % (http.url if http is not None else "stopped")

    # --- seeding --------------------------------------------------------------------

    def add_agent(self, agent: Mapping[str, Any]) -> Dict[str, Any]:
        """Register an agent directly, as ``POST /api/v1/agents`` would.

        Args:
            agent: ``agent_id``, ``name``, ``description``, ``endpoint``,
                ``capabilities`` and ``agent_type``; ``is_active`` is optional.

        Returns:
            The stored agent, timestamps included.

        Raises:
            ValueError: When a field is missing or mistyped.

        Example:
            >>> LocalAISpine().add_agent({"agent_id": "a", "name": "A", "description": "",
            ...     "endpoint": "http://127.0.0.1:9/a", "capabilities": [],
            ...     "agent_type": "processor"})["is_active"]
            True
        """
        try:
            fields = validate_agent(dict(agent))
        except KeyError as exc:
            raise ValueError("agent is missing the required field %s" % exc) from None
        except ValidationFailed as exc:
            raise ValueError(pydantic_text("AgentInfo", exc.errors)) from None
        return self._store.put_agent(fields)

    def add_flow(self, flow: Mapping[str, Any], owner: Optional[str] = None) -> Dict[str, Any]:
        """Store a flow directly, replacing one with the same id.

        Args:
            flow: A flow definition; defaults (version, exit points...) are filled in.
            owner: The owning user id (as the flow routes derive it from a token), or
                None for a system flow: any signed-in user may update it, no one may delete it
                through the API (as on the real server).

        Returns:
            The stored flow definition.

        Raises:
            ValueError: When the definition is malformed, its graph is invalid, or one of
                its agents is not registered.

        Example:
            >>> LocalAISpine().add_flow({"flow_id": "f", "name": "F", "description": "",
            ...     "nodes": [{"id": "a", "type": "input"}], "entry_point": "a",
            ...     "exit_points": ["a"]})["nodes"][0]["depends_on"]
            []
        """
        try:
            definition = validate_flow(dict(flow), top_level=False)
        except ValidationFailed as exc:
            raise ValueError(pydantic_text("FlowDefinition", exc.errors)) from None
        problem = self._store.flow_problem(definition)
        if problem is not None:
            raise ValueError(problem)
        self._store.insert_flow(definition, owner=owner, replace=True)
        return definition

    def add_api_key(self, user_id: str) -> str:
        """Give a user a new API key, as ``POST /api/v1/user/account/api-key/generate`` would.

        A user without a key gets a first one (1000 credits, rate limit 100); a user with one
        gets a replacement, and the previous key stops working. The key is what the account
        and deprecated key routes show for that user, and it passes the API-key check when
        ``api_key`` is set.

        Args:
            user_id: The user, e.g. an id from ``user_tokens``.

        Returns:
            The new key (``sk_`` and 43 URL-safe characters).

        Example:
            >>> LocalAISpine().add_api_key("5f0c2b7e").startswith("sk_")
            True
        """
        return self._store.issue_api_key(user_id)[0]

    def reset(self) -> None:
        """Forget agents, flows, executions, API keys, recorded requests and faults.

        The demo agents and flow are registered again when they are enabled and running.

        Example:
            >>> server = LocalAISpine()
            >>> server.inject_fault("GET", "/health", status=503) and None
            >>> server.reset()
        """
        self._store.reset()
        self._log.clear()
        self._faults.clear()
        demo = self._demo
        if demo is not None:
            self._install_demo(demo)

    def _install_demo(self, demo: DemoAgents) -> None:
        for agent in demo_agent_definitions(demo.url):
            self.add_agent(agent)
        self.add_flow(demo_flow_definition(), owner=None)

    # --- inspection -----------------------------------------------------------------

    @property
    def requests(self) -> List[RecordedRequest]:
        """A snapshot of the latest requests received, oldest first (faulted ones too).

        At most ``request_log_size`` requests, each body cut to ``request_log_body_bytes``;
        requests refused for their ``Host``, ``Origin`` or ``Content-Type`` are not here.

        Example:
            >>> import urllib.request
            >>> with LocalAISpine() as server:
            ...     urllib.request.urlopen(server.url + "/health").close()
            ...     [(r.method, r.path) for r in server.requests]
            [('GET', '/health')]
        """
        return self._log.snapshot()

    def requests_to(self, method: str, path: str) -> List[RecordedRequest]:
        """Return the recorded requests with a method and a path.

        Args:
            method: HTTP method (case-insensitive; ``"*"`` for any).
            path: Exact path, or an ``fnmatch`` pattern such as ``/api/v1/executions/*``.

        Returns:
            The matching requests, oldest first.

        Example:
            >>> LocalAISpine().requests_to("POST", "/api/v1/flows/execute")
            []
        """
        return [
            entry
            for entry in self._log.snapshot()
            if fnmatch.fnmatchcase(entry.method, method.upper())
            and fnmatch.fnmatchcase(entry.path, path)
        ]

    def clear_requests(self) -> None:
        """Forget the recorded requests.

        Example:
            >>> server = LocalAISpine()
            >>> server.clear_requests(); server.requests
            []
        """
        self._log.clear()

    def wait_for_execution(
        self,
        execution_id: str,
        *,
        timeout: float = 10.0,
        statuses: Sequence[str] = TERMINAL_STATUSES,
    ) -> Dict[str, Any]:
        """Wait until an execution reaches one of ``statuses``, without any HTTP request.

        Args:
            execution_id: The execution.
            timeout: Seconds to wait at most.
            statuses: Statuses to wait for; by default the terminal ones.

        Returns:
            The execution as ``GET /api/v1/executions/{id}`` would show it.

        Raises:
            KeyError: When the execution does not exist.
            TimeoutError: When the status is not reached in time.

        Example:
            >>> import json, urllib.request
            >>> with LocalAISpine(with_demo_agents=True) as server:
            ...     body = json.dumps({"flow_id": "demo_credit_check",
            ...                        "input_data": {"income": 1000, "debt": 900}}).encode()
            ...     request = urllib.request.Request(server.url + "/api/v1/flows/execute", body,
            ...                                      {"Content-Type": "application/json"})
            ...     with urllib.request.urlopen(request) as answer:
            ...         execution_id = json.load(answer)["execution_id"]
            ...     server.wait_for_execution(execution_id)["status"]
            'completed'
        """
        deadline = time.monotonic() + timeout
        while True:
            execution = self._store.get_execution(execution_id)
            if execution is None:
                raise KeyError(execution_id)
            if execution["status"] in statuses:
                return execution
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    "execution %s is still %r after %.1f s"
                    % (execution_id, execution["status"], timeout)
                )
            time.sleep(0.01)

    # --- fault injection ------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        path: str,
        *,
        status: Optional[int] = None,
        times: Optional[int] = 1,
        headers: Optional[Mapping[str, str]] = None,
        body: FaultBody = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> InjectedFault:
        """Make the next matching requests fail the way a proxy or a sick server would.

        Faulted requests are still recorded in :attr:`requests`. Faults apply in the
        order they were injected; each matching request uses up one of ``times``.

        Args:
            method: Method pattern, e.g. ``"POST"`` or ``"*"``.
            path: Path pattern (``fnmatch``: ``*`` matches anything, ``/`` included), e.g.
                ``"/api/v1/executions/*"``.
            status: Answer this status instead of handling the request.
            times: How many requests it applies to; None for all of them.
            headers: Extra headers of the answer, e.g. ``{"Retry-After": "1"}``.
            body: The answer's body: a dict or list (JSON), a str (HTML when it starts
                with ``<``, plain text otherwise), bytes; None for
                ``{"detail": "<reason phrase>"}``.
            delay: Seconds to wait first; alone, the request is then handled normally.
            drop: Close the connection without answering (after ``delay``, if any).

        Returns:
            The rule, whose ``hits`` and ``times`` show how it was used.

        Raises:
            ValueError: When the options do nothing or contradict each other.

        Example:
            >>> server = LocalAISpine()
            >>> server.inject_fault("GET", "/api/v1/executions/*", status=503, times=2,
            ...                     headers={"Retry-After": "1"}).times
            2
        """
        fault = make_fault(
            method,
            path,
            status=status,
            times=times,
            headers=headers,
            body=body,
            delay=delay,
            drop=drop,
        )
        self._faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault.

        Example:
            >>> server = LocalAISpine()
            >>> server.inject_fault("*", "*", status=500, times=None).hits
            0
            >>> server.clear_faults()
        """
        self._faults.clear()

    # --- request handling -----------------------------------------------------------

    def _handle(self, request: Request) -> Optional[Response]:
        self._log.record(request)
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay > 0:
                http = self._http
                if http is not None:
                    # Waiting on the stop event lets stop() cut the delay short.
                    http.stopping.wait(fault.delay)
                else:
                    time.sleep(fault.delay)
            if fault.drop:
                return None
            response = fault.response()
            if response is not None:
                return response
        return self._api(request)

    def _submit(self, execution_id: str, flow: Dict[str, Any], input_data: Dict[str, Any]) -> None:
        engine = self._engine
        if engine is not None:
            engine.submit(execution_id, flow, input_data)
