"""The execution engine: one background worker thread per execution, as the real server.

A worker flips the execution to ``running``, then calls the flow's agents one node at a
time in dependency order with ``POST {endpoint}/execute``. The first failure ends the
execution as ``failed``; otherwise it ends ``completed`` with the exit points' outputs.
The store's lock is never held during an agent call.

Agents are called with ``http.client`` and their failures are described with the same
words the real server's ``httpx`` client uses, so an SDK sees the same error texts.
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
import socket
import threading
import time
import uuid
from typing import Any, Dict, Optional, Set, Tuple, Union
from urllib.parse import urlsplit

from ._http import is_loopback_host
from ._store import Store, topological_order, utc_now

logger = logging.getLogger("ai_spine.testing")

_MDN_STATUS = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/"
_Connection = Union[http.client.HTTPConnection, http.client.HTTPSConnection]
# (succeeded, output, error message)
_NodeOutcome = Tuple[bool, Dict[str, Any], Optional[str]]


def status_error_message(status: int, reason: str, url: str, location: Optional[str]) -> str:
    """Describe a non-2xx agent answer the way ``httpx.Response.raise_for_status`` does.

    Args:
        status: The agent's HTTP status.
        reason: The agent's reason phrase.
        url: The URL that was called.
        location: The ``Location`` header of a redirect, if any.

    Returns:
        e.g. ``"Server error '500 Internal Server Error' for url '...'\\nFor more ..."``.

    Example:
        >>> status_error_message(404, "Not Found", "http://x/execute", None).split("\\n")[0]
        "Client error '404 Not Found' for url 'http://x/execute'"
    """
    if 100 <= status < 200:
        kind = "Informational response"
    elif 300 <= status < 400:
        kind = "Redirect response"
    elif 400 <= status < 500:
        kind = "Client error"
    elif 500 <= status < 600:
        kind = "Server error"
    else:
        kind = "Invalid status code"
    message = "%s '%d %s' for url '%s'" % (kind, status, reason, url)
    if 300 <= status < 400 and location:
        message += "\nRedirect location: '%s'" % location
    return message + "\nFor more information check: %s%d" % (_MDN_STATUS, status)


class ExecutionEngine:
    """Runs executions in daemon worker threads and can abandon them all at shutdown.

    Args:
        store: Where executions and node results are recorded.
        agent_timeout: Seconds an agent call may stay silent before the node fails with
            an empty error message (the real server's 30 s httpx timeout).
        allow_remote_agents: Call agents whose endpoint is not on loopback. Off by
            default so a test suite can never reach out of the machine by accident.

    Example:
        >>> engine = ExecutionEngine(Store(), agent_timeout=1.0, allow_remote_agents=False)
        >>> engine.stop(timeout=0.1)
    """

    def __init__(self, store: Store, *, agent_timeout: float, allow_remote_agents: bool) -> None:
        self._store = store
        self._agent_timeout = agent_timeout
        self._allow_remote_agents = allow_remote_agents
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers: Set[threading.Thread] = set()
        self._connections: Set[_Connection] = set()

    def submit(self, execution_id: str, flow: Dict[str, Any], input_data: Dict[str, Any]) -> None:
        """Start the worker of a freshly stored execution.

        Args:
            execution_id: The stored execution.
            flow: Snapshot of the flow taken when the execution was created.
            input_data: The execution's input.
        """
        worker = threading.Thread(
            target=self._run,
            args=(execution_id, flow, copy.deepcopy(input_data)),
            name="ai-spine-execution-%s" % execution_id[:8],
            daemon=True,
        )
        with self._lock:
            self._workers.add(worker)
        worker.start()

    def stop(self, timeout: float) -> None:
        """Abort agent calls in flight and wait (bounded) for the workers to end.

        Args:
            timeout: Total seconds to wait; workers still alive then are abandoned (they
                are daemon threads and record nothing more).
        """
        self._stopping.set()
        with self._lock:
            connections = list(self._connections)
            workers = list(self._workers)
        for conn in connections:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _run(self, execution_id: str, flow: Dict[str, Any], input_data: Dict[str, Any]) -> None:
        try:
            self._execute(execution_id, flow, input_data)
        except Exception as exc:  # a worker must record its failure, never vanish silently
            logger.error("execution %s crashed", execution_id, exc_info=True)
            self._store.finish(execution_id, "failed", error_message=str(exc))
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _execute(self, execution_id: str, flow: Dict[str, Any], input_data: Dict[str, Any]) -> None:
        self._store.mark_running(execution_id)
        outputs: Dict[str, Dict[str, Any]] = {}
        for node in topological_order(flow["nodes"]):
            if self._stopping.is_set():
                return
            node_input = copy.deepcopy(input_data)
            for dependency in node.get("depends_on") or []:
                node_input.update(outputs.get(dependency, {}))
            created_at = utc_now()
            started = time.monotonic()
            succeeded, output, error = self._run_node(execution_id, node, node_input)
            if self._stopping.is_set():
                # The server is shutting down and may have cut this call short.
                return
            finished_at = utc_now()
            result: Dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "execution_id": execution_id,
                "node_id": node["id"],
                "agent_id": node.get("agent_id"),
                "status": "completed" if succeeded else "failed",
                "input_data": node_input,
                "output_data": output,
                "created_at": created_at,
            }
            if not succeeded:
                result["error_message"] = error
            result["execution_time_ms"] = int((time.monotonic() - started) * 1000)
            result["updated_at"] = finished_at
            result["completed_at"] = finished_at
            self._store.add_node_result(execution_id, result)
            if not succeeded:
                self._store.finish(execution_id, "failed", error_message=error)
                return
            outputs[node["id"]] = output
        exits = {exit_point: outputs.get(exit_point, {}) for exit_point in flow["exit_points"]}
        self._store.finish(execution_id, "completed", output_data=exits)

    def _run_node(
        self, execution_id: str, node: Dict[str, Any], node_input: Dict[str, Any]
    ) -> _NodeOutcome:
        agent_id = node.get("agent_id")
        if agent_id is None:
            # A node without an agent passes its input through unchanged.
            return True, copy.deepcopy(node_input), None
        agent = self._store.get_agent(agent_id)
        if agent is None or not agent.get("is_active", True):
            return False, {}, "Agent '%s' not found or not active" % agent_id
        payload = {
            "execution_id": execution_id,
            "node_id": node["id"],
            "input": node_input,
            "config": node.get("config") or {},
        }
        return self._post(str(agent["endpoint"]).rstrip("/") + "/execute", payload)

    def _post(self, url: str, payload: Dict[str, Any]) -> _NodeOutcome:
        parts = urlsplit(url)
        if not parts.scheme:
            return False, {}, "Request URL is missing an 'http://' or 'https://' protocol."
        if parts.scheme not in ("http", "https"):
            return False, {}, "Request URL has an unsupported protocol '%s://'." % parts.scheme
        if not self._allow_remote_agents and not is_loopback_host(parts.hostname):
            return (
                False,
                {},
                "Agent endpoint '%s' is not on loopback: LocalAISpine only calls local agents "
                "unless it is created with allow_remote_agents=True" % url,
            )
        try:
            port = parts.port
        except ValueError as exc:
            return False, {}, str(exc)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        conn_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_class(parts.hostname or "", port, timeout=self._agent_timeout)
        with self._lock:
            self._connections.add(conn)
        try:
            if self._stopping.is_set():
                return False, {}, "server stopping"
            conn.request(
                "POST",
                target,
                body=json.dumps(payload).encode("utf-8"),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            response = conn.getresponse()
            data = response.read()
        except socket.timeout:
            # httpx's timeout exceptions carry no text, so the real server stores "".
            return False, {}, ""
        except ConnectionRefusedError:
            return False, {}, "All connection attempts failed"
        except http.client.RemoteDisconnected:
            return False, {}, "Server disconnected without sending a response."
        except (OSError, http.client.HTTPException) as exc:
            return False, {}, str(exc) or type(exc).__name__
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()
        if not 200 <= response.status < 300:
            location = response.getheader("Location")
            return False, {}, status_error_message(response.status, response.reason, url, location)
        try:
            document = json.loads(data)
        except ValueError as exc:
            return False, {}, str(exc)
        output = document.get("output") if isinstance(document, dict) else None
        return True, output if isinstance(output, dict) else {}, None
