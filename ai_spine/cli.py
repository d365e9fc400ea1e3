"""The ``ai-spine`` command line: the whole API from a shell, scriptable and readable.

Commands::

    ai-spine health | status | metrics
    ai-spine flows list | get FLOW_ID
    ai-spine agents list | get AGENT_ID | create --file agent.json | delete AGENT_ID
    ai-spine run FLOW_ID --input JSON|@file.json|- [--metadata ...] [--wait ...]
    ai-spine executions list [--limit N] [--offset N] [--status S]
    ai-spine executions get | wait | cancel | results EXECUTION_ID
    ai-spine serve [--port N] [--with-demo-agents] ...   (local in-memory server)
    ai-spine demo                                         (offline, end to end)

``python -m ai_spine`` runs the same program. The connection options (``--base-url``,
``--api-key``, ``--timeout``, ``--max-retries``, ``--debug``, ``--format``) go before the
command or after it; ``AI_SPINE_BASE_URL`` and ``AI_SPINE_API_KEY`` are read when they are
not given. After ``run`` and ``executions wait``, ``--timeout`` is the wait's timeout (the
HTTP timeout then goes before the command).

Output is JSON when standard output is not a terminal and a table when it is (``--format``
chooses). ``run --wait`` and ``executions wait`` draw a live status line on standard error
while it is a terminal, and nothing extra when it is not.

Exit status: 0 success; 1 API or network error; 2 usage error (bad option, bad JSON, a
missing file, an id refused before any request); 3 the execution failed or was cancelled;
4 the wait timed out; 130 interrupted (Ctrl-C), which stops waiting but never cancels. An
error is one line on standard error (``--debug`` adds the traceback and logs each request).

Each command is one ``_cmd_<name>`` function, registered by the parser in
:mod:`ai_spine._cli_parser`. Nothing here imports the HTTP stack (requests, the client) at
module level, nor argparse: ``--version`` and a command's ``--help`` are answered from
stored text before any parser is built, and ``serve`` and bad-usage errors never load the
client, so they start about as fast as Python itself.

Example:
    $ ai-spine serve --with-demo-agents &
    $ export AI_SPINE_BASE_URL=http://127.0.0.1:8000
    $ ai-spine run demo_credit_check --input '{"text": "steady job", "income": 85000}' --wait
    $ ai-spine executions list --limit 5 --format table
"""

from __future__ import annotations

import sys
import time

from ._cli_output import (
    one_line,
    render_json,
    render_record,
    render_table,
    status_text,
)
from .__version__ import __version__
from .constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    HEALTHY,
)

# Not typing.TYPE_CHECKING: importing typing alone costs ~4 ms, a third of Python's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - annotations only: the client loads when a command runs
    import argparse
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

    from ._cli_output import Column
    from .client import AISpine

# Start-up time matters here (`ai-spine --version` should cost about what `python -c pass`
# does), so modules that only some commands need (json, uuid, threading, logging, signal,
# and above all the client with requests) are imported inside the functions that use them.

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_EXECUTION_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_WAIT_TIMEOUT",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_API_ERROR = 1
"""The API answered with an error, or could not be reached."""
EXIT_USAGE = 2
"""Bad command line: argparse's own status for usage errors."""
EXIT_EXECUTION_FAILED = 3
EXIT_WAIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as shells report a command stopped by Ctrl-C."""

DEFAULT_SERVE_HOST = "127.0.0.1"
DEFAULT_SERVE_PORT = 8000
DEFAULT_AGENT_TIMEOUT = 30.0

STATUS_LINE_TICK = 0.25
"""Seconds between two redraws of the live status line (the issue asks for at least one a
second; four keep the elapsed time readable)."""
NODE_PROGRESS_REFRESH = 1.0
"""Seconds between two reads of an execution's node results for the status line."""

PROG = "ai-spine"


class UsageError(Exception):
    """Bad input found after parsing (invalid JSON, a missing file): exit status 2."""


# --- Input ------------------------------------------------------------------------------------


def _json_object(text: str, option: str, source: Optional[str]) -> Dict[str, Any]:
    import json

    try:
        value = json.loads(text)
    except ValueError as error:
        # json.JSONDecodeError (a ValueError) says where; name the line and column.
        where = " in {}".format(source) if source else ""
        lineno = getattr(error, "lineno", None)
        if lineno is None:
            raise UsageError("{}: invalid JSON{}: {}".format(option, where, error)) from None
        raise UsageError(
            "{}: invalid JSON{} at line {}, column {}: {}".format(
                option, where, lineno, getattr(error, "colno", "?"), getattr(error, "msg", error)
            )
        ) from None
    if not isinstance(value, dict):
        raise UsageError(
            "{}: expected a JSON object ({{...}}), got {}".format(option, _json_type(value))
        )
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _read_text(path: str, option: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        raise UsageError(
            "{}: cannot read file {!r}: {}".format(option, path, error.strerror or error)
        ) from None
    except UnicodeDecodeError as error:
        raise UsageError("{}: file {!r} is not UTF-8 text: {}".format(option, path, error))


def _json_argument(value: str, option: str) -> Dict[str, Any]:
    """Read ``--input``-style JSON: literal text, ``@file.json``, or ``-`` for stdin."""
    if value == "-":
        return _json_object(_read_text("-", option), option, "standard input")
    if value.startswith("@"):
        path = value[1:]
        return _json_object(_read_text(path, option), option, "file {!r}".format(path))
    return _json_object(value, option, None)


def _json_file(path: str, option: str) -> Dict[str, Any]:
    """Read a JSON object from a file named by ``option``, or stdin for ``-``."""
    source = "standard input" if path == "-" else "file {!r}".format(path)
    return _json_object(_read_text(path, option), option, source)


# --- Output -----------------------------------------------------------------------------------

FLOW_COLUMNS: List[Column] = [
    ("FLOW_ID", "flow_id"),
    ("NAME", "name"),
    ("VERSION", "version"),
    ("NODES", lambda flow: [str(node.get("id")) for node in flow.get("nodes") or []]),
]
NODE_COLUMNS: List[Column] = [
    ("NODE", "id"),
    ("TYPE", "type"),
    ("AGENT", "agent_id"),
    ("DEPENDS_ON", "depends_on"),
]
AGENT_COLUMNS: List[Column] = [
    ("AGENT_ID", "agent_id"),
    ("NAME", "name"),
    ("TYPE", "agent_type"),
    ("ACTIVE", "is_active"),
    ("ENDPOINT", "endpoint"),
]
EXECUTION_COLUMNS: List[Column] = [
    ("EXECUTION_ID", "execution_id"),
    ("FLOW_ID", "flow_id"),
    ("STATUS", "status"),
    ("CREATED_AT", "created_at"),
    ("COMPLETED_AT", "completed_at"),
]
NODE_RESULT_COLUMNS: List[Column] = [
    ("NODE", "node_id"),
    ("AGENT", "agent_id"),
    ("STATUS", "status"),
    ("TIME_MS", "execution_time_ms"),
    ("ERROR", "error_message"),
]
EXECUTION_KEYS = (
    "execution_id",
    "flow_id",
    "status",
    "created_at",
    "completed_at",
    "error_message",
    "input_data",
    "output_data",
)
FLOW_KEYS = ("flow_id", "name", "description", "version", "entry_point", "exit_points")


def _format(args: argparse.Namespace) -> str:
    chosen: Optional[str] = getattr(args, "format", None)
    if chosen:
        return chosen
    return "table" if _is_terminal(sys.stdout) else "json"


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def _emit(args: argparse.Namespace, value: Any, table: Callable[[], str]) -> None:
    text = table() if _format(args) == "table" else render_json(value)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _error(message: str) -> None:
    print("{}: error: {}".format(PROG, one_line(message)), file=sys.stderr, flush=True)


def _execution_table(execution: Mapping[str, Any]) -> str:
    return render_record(execution, EXECUTION_KEYS)


# --- API commands: each takes the parsed arguments and a client -----------------------------


def _cmd_health(args: argparse.Namespace, client: "AISpine") -> int:
    health = client.health_check()
    _emit(args, health, lambda: render_record(health))
    if health.get("status") != HEALTHY:
        _error(
            "the server at {} is {!r}, not healthy".format(client.base_url, health.get("status"))
        )
        return EXIT_API_ERROR
    return EXIT_OK


def _cmd_status(args: argparse.Namespace, client: "AISpine") -> int:
    status = client.get_status()
    _emit(args, status, lambda: render_record(status))
    return EXIT_OK


def _cmd_metrics(args: argparse.Namespace, client: "AISpine") -> int:
    metrics = client.get_metrics()
    _emit(args, metrics, lambda: render_record(metrics))
    return EXIT_OK


def _cmd_flows_list(args: argparse.Namespace, client: "AISpine") -> int:
    flows = client.list_flows()
    _emit(args, flows, lambda: render_table(flows, FLOW_COLUMNS))
    return EXIT_OK


def _cmd_flows_get(args: argparse.Namespace, client: "AISpine") -> int:
    flow = client.get_flow(args.flow_id)

    def table() -> str:
        nodes = render_table(flow.get("nodes") or [], NODE_COLUMNS)
        return render_record(flow, FLOW_KEYS) + "\n\n" + nodes

    _emit(args, flow, table)
    return EXIT_OK


def _cmd_agents_list(args: argparse.Namespace, client: "AISpine") -> int:
    agents = client.list_agents()
    _emit(args, agents, lambda: render_table(agents, AGENT_COLUMNS))
    return EXIT_OK


def _cmd_agents_get(args: argparse.Namespace, client: "AISpine") -> int:
    agent = client.get_agent(args.agent_id)
    _emit(args, agent, lambda: render_record(agent))
    return EXIT_OK


def _cmd_agents_create(args: argparse.Namespace, client: "AISpine") -> int:
    config = _json_file(args.file, "--file")
    agent = client.create_agent(config)  # type: ignore[arg-type]  # checked by the client
    _emit(args, agent, lambda: render_record(agent))
    return EXIT_OK


def _cmd_agents_delete(args: argparse.Namespace, client: "AISpine") -> int:
    client.delete_agent(args.agent_id)
    answer = {"agent_id": args.agent_id, "deleted": True}
    _emit(args, answer, lambda: "Deleted agent {}.".format(args.agent_id))
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, client: "AISpine") -> int:
    if not args.wait and (args.wait_timeout is not None or args.interval is not None):
        raise UsageError("--timeout and --interval apply only with --wait")
    if args.input == "-" and args.metadata == "-":
        raise UsageError("--input and --metadata cannot both read standard input")
    input_data = _json_argument(args.input, "--input")
    metadata = None if args.metadata is None else _json_argument(args.metadata, "--metadata")
    began = time.monotonic()
    started = client.execute_flow(args.flow_id, input_data, metadata)
    execution_id = started["execution_id"]
    if not args.wait:
        _emit(args, started, lambda: render_record(started))
        if _is_terminal(sys.stderr):
            hint = "Wait for it with: {} executions wait {}".format(PROG, execution_id)
            print(hint, file=sys.stderr)
        return EXIT_OK
    return _wait(args, client, execution_id, args.flow_id, began)


def _cmd_executions_list(args: argparse.Namespace, client: "AISpine") -> int:
    executions = client.list_executions(args.limit, args.offset, status=args.status)
    _emit(args, executions, lambda: render_table(executions, EXECUTION_COLUMNS))
    return EXIT_OK


def _cmd_executions_get(args: argparse.Namespace, client: "AISpine") -> int:
    execution = client.get_execution(args.execution_id)
    _emit(args, execution, lambda: _execution_table(execution))
    return EXIT_OK


def _cmd_executions_wait(args: argparse.Namespace, client: "AISpine") -> int:
    return _wait(args, client, args.execution_id, None, time.monotonic())


def _cmd_executions_cancel(args: argparse.Namespace, client: "AISpine") -> int:
    answer = client.cancel_execution(args.execution_id)
    _emit(args, answer, lambda: render_record(answer))
    return EXIT_OK


def _cmd_executions_results(args: argparse.Namespace, client: "AISpine") -> int:
    results = client.get_execution_results(args.execution_id)

    def table() -> str:
        nodes = render_table(results.get("node_results") or [], NODE_RESULT_COLUMNS)
        return _execution_table(results.get("execution") or {}) + "\n\n" + nodes

    _emit(args, results, table)
    return EXIT_OK


# --- Waiting, with the live status line -------------------------------------------------------


class _StatusLine:
    """The line ``run --wait`` and ``executions wait`` redraw on a terminal's stderr.

    One thread redraws it every :data:`STATUS_LINE_TICK` seconds, so the elapsed time moves
    even between polls; another reads the execution's node results every
    :data:`NODE_PROGRESS_REFRESH` seconds for the node count (best effort: a failed read
    leaves the last count). The wait itself runs in the caller's thread, so Ctrl-C reaches it.
    """

    def __init__(
        self,
        client: "AISpine",
        execution_id: str,
        flow_id: Optional[str],
        began: float,
        stream: Any,
    ) -> None:
        import threading

        self._client = client
        self._execution_id = execution_id
        self._flow_id = flow_id
        self._began = began
        self._stream = stream
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._status: Optional[str] = None
        self._nodes_done: Optional[int] = None
        self._nodes_total: Optional[int] = None
        self._threads: List[threading.Thread] = [
            threading.Thread(target=self._redraw, name="ai-spine-status-line", daemon=True),
            threading.Thread(target=self._watch_nodes, name="ai-spine-node-progress", daemon=True),
        ]

    def start(self) -> None:
        self._draw()
        for thread in self._threads:
            thread.start()

    def seen(self, execution: Mapping[str, Any]) -> None:
        """``on_progress`` of the wait: the status changed."""
        with self._lock:
            self._status = execution.get("status") or self._status
            self._flow_id = self._flow_id or execution.get("flow_id")

    def stop(self) -> None:
        """Stop both threads and erase the line, so that what follows starts clean."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
            self._stream.write("\r\x1b[K")
            self._stream.flush()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(timeout=2.0)

    def _draw(self) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            text = status_text(
                self._execution_id,
                self._status,
                time.monotonic() - self._began,
                self._nodes_done,
                self._nodes_total,
            )
            self._stream.write("\r" + text + "\x1b[K")
            self._stream.flush()

    def _redraw(self) -> None:
        while not self._stopped.wait(STATUS_LINE_TICK):
            self._draw()

    def _watch_nodes(self) -> None:
        asked_flow = False
        while not self._stopped.wait(NODE_PROGRESS_REFRESH):
            try:
                results = self._client.get_execution_results(self._execution_id)
            except Exception:  # the wait itself reports real failures
                continue
            execution = results.get("execution") or {}
            with self._lock:
                self._nodes_done = len(results.get("node_results") or [])
                self._status = execution.get("status") or self._status
                self._flow_id = self._flow_id or execution.get("flow_id")
                flow_id = self._flow_id
            if not asked_flow and flow_id:
                asked_flow = True
                try:
                    total = len(self._client.get_flow(flow_id).get("nodes") or []) or None
                except Exception:  # no total then: the line shows the count alone
                    total = None
                with self._lock:
                    self._nodes_total = total


def _wait(
    args: argparse.Namespace,
    client: "AISpine",
    execution_id: str,
    flow_id: Optional[str],
    began: float,
) -> int:
    from .exceptions import ExecutionError, TimeoutError

    timeout = args.wait_timeout or DEFAULT_WAIT_TIMEOUT
    interval = args.interval or DEFAULT_POLL_INTERVAL
    resume = "{} executions wait {}".format(PROG, execution_id)
    line = None
    # --debug logs every poll to stderr: redrawing a line between those would garble both.
    if _is_terminal(sys.stderr) and not args.debug:
        line = _StatusLine(client, execution_id, flow_id, began, sys.stderr)
    try:
        try:
            if line is not None:
                line.start()
            execution = client.wait_for_execution(
                execution_id, timeout, interval, on_progress=None if line is None else line.seen
            )
        finally:  # erase the line before anything else is printed
            if line is not None:
                line.stop()
    except KeyboardInterrupt:
        print(
            "{}: stopped waiting; execution {} was not cancelled and goes on. "
            "Resume with: {}".format(PROG, execution_id, resume),
            file=sys.stderr,
            flush=True,
        )
        return EXIT_INTERRUPTED
    except ExecutionError as error:
        if error.execution is not None:
            failed = error.execution
            _emit(args, failed, lambda: _execution_table(failed))
        _error(str(error))
        return EXIT_EXECUTION_FAILED
    except TimeoutError as error:
        last = error.execution.get("status") if error.execution else None
        _error(
            "execution {} was still {} after {:g} s; it goes on. Resume with: {} "
            "(or stop it: {} executions cancel {})".format(
                execution_id, last or "not seen", timeout, resume, PROG, execution_id
            )
        )
        return EXIT_WAIT_TIMEOUT
    _emit(args, execution, lambda: _execution_table(execution))
    return EXIT_OK


# --- Local commands: serve and demo -----------------------------------------------------------


def _cmd_serve(args: argparse.Namespace) -> int:
    """Run the local server until Ctrl-C (SIGINT) or SIGTERM.

    Args:
        args: Parsed ``serve`` arguments (already checked by their argparse types).

    Returns:
        0 after a clean stop, 1 when the server cannot start, 2 for a bad option.
    """
    import logging
    import signal
    import threading

    from .testing import DEMO_FLOW_ID, LocalAISpine

    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    try:
        server = LocalAISpine(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            with_demo_agents=args.with_demo_agents,
            agent_timeout=args.agent_timeout,
            allow_remote_agents=args.allow_remote_agents,
        )
    except ValueError as exc:
        print("{} serve: error: {}".format(PROG, exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        server.start()
    except OSError as exc:
        _error("serve: cannot listen on {}:{}: {}".format(args.host, args.port, exc))
        return EXIT_API_ERROR

    stop_requested = threading.Event()

    def on_sigterm(signum: int, frame: Any) -> None:
        stop_requested.set()

    previous = None
    try:
        # Inside the try: a Ctrl-C from here on still stops the server cleanly.
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, on_sigterm)
        print("AI Spine local server listening on %s" % server.url, flush=True)
        if args.api_key:
            print("API key required: Authorization: Bearer <key>", flush=True)
        demo = server.demo_agents
        if demo is not None:
            print("Demo agents at %s" % demo.url, flush=True)
            print("Demo flow id: %s" % DEMO_FLOW_ID, flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop_requested.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("Stopped.", flush=True)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo: every step through the SDK, against a local server and demo agents.

    Args:
        args: Parsed ``demo`` arguments (the applicant's ``text``, ``income`` and ``debt``).

    Returns:
        0 when the flow completed, 3 when it failed, 1 for any other SDK error (its
        message on stderr).
    """
    import json

    from . import AISpine, AISpineError, ExecutionError
    from .testing import DemoAgents, LocalAISpine, demo_agent_definitions, demo_flow_definition

    began = time.monotonic()
    applicant = {"text": args.text, "income": args.income, "debt": args.debt}
    print("AI Spine demo: a local server and demo agents on 127.0.0.1, no network needed.")
    with LocalAISpine() as server, DemoAgents() as agents:
        with AISpine(base_url=server.url, access_token="demo-user") as client:
            try:
                print("1. Server {} is {}".format(server.url, client.health_check()["status"]))
                for agent in demo_agent_definitions(agents.url):
                    client.create_agent(agent)  # type: ignore[arg-type]
                names = ", ".join(a["agent_id"] for a in client.list_agents())
                print("2. Registered agents: {}".format(names))
                flow = client.create_flow(demo_flow_definition())
                steps = " -> ".join(node["id"] for node in flow["nodes"])
                print("3. Created flow {!r}: {}".format(flow["flow_id"], steps))
                started = client.execute_flow(flow["flow_id"], applicant)
                print("4. Started execution {} with {}".format(started["execution_id"], applicant))

                def progress(execution: Any) -> None:
                    print(
                        "   ... {} after {:.2f} s".format(
                            execution["status"], time.monotonic() - began
                        ),
                        flush=True,
                    )

                done = client.wait_for_execution(
                    started["execution_id"], timeout=60, on_progress=progress
                )
                results = client.get_execution_results(done["execution_id"])
            except AISpineError as error:
                sys.stdout.flush()
                _error("demo failed: {}".format(error))
                if isinstance(error, ExecutionError):
                    return EXIT_EXECUTION_FAILED
                return EXIT_API_ERROR
    credit = done["output_data"]["credit"]
    print(
        "5. Result: {} (credit score {})".format(credit["decision"].upper(), credit["credit_score"])
    )
    for node in results["node_results"]:
        print(
            "   node {:<10} {} in {} ms".format(
                node["node_id"], node["status"], node.get("execution_time_ms")
            )
        )
    print("   output_data = {}".format(json.dumps(done["output_data"], sort_keys=True)))
    print("Done in {:.2f} s.".format(time.monotonic() - began))
    return EXIT_OK


def _client(args: argparse.Namespace) -> "AISpine":
    from .client import AISpine

    return AISpine(
        api_key=args.api_key,
        base_url=args.base_url,
        timeout=args.http_timeout if getattr(args, "http_timeout", None) else DEFAULT_TIMEOUT,
        max_retries=DEFAULT_MAX_RETRIES if args.max_retries is None else args.max_retries,
        debug=args.debug,
    )


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind stdout (in-process)
        pass


def _sdk_error(error: BaseException) -> bool:
    # An AISpineError can only exist if ai_spine.exceptions was imported: never import it
    # (and with it requests) just to classify an error.
    exceptions = sys.modules.get("ai_spine.exceptions")
    return exceptions is not None and isinstance(error, exceptions.AISpineError)


def _exit_status(error: BaseException) -> int:
    from .exceptions import ExecutionError, ValidationError

    if isinstance(error, ExecutionError):
        return EXIT_EXECUTION_FAILED
    if isinstance(error, ValidationError) and error.status_code is None:
        return EXIT_USAGE  # refused before any request: a bad argument
    return EXIT_API_ERROR


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "api_handler", None) is None:
        status: int = args.handler(args)
        return status
    if not args.debug:
        return _run_api(args)
    import logging

    from .constants import LOGGER_NAME

    # --debug attaches a stderr handler to the SDK's logger; take it off again, so that a
    # program calling main() in-process is left as it was.
    logger = logging.getLogger(LOGGER_NAME)
    level, handlers = logger.level, list(logger.handlers)
    try:
        return _run_api(args)
    finally:
        logger.setLevel(level)
        for handler in logger.handlers[:]:
            if handler not in handlers:
                logger.removeHandler(handler)


def _run_api(args: argparse.Namespace) -> int:
    with _client(args) as client:
        status: int = args.api_handler(args, client)
        return status


def write_version() -> None:
    """Print ``ai-spine X.Y.Z``: what ``--version`` prints, with or without a parser."""
    _print_answer("{} {}\n".format(PROG, __version__))


def _print_answer(text: str) -> None:
    # As argparse (3.11+) prints help: to stderr when there is no stdout, and nothing (no traceback
    # either) when the reader has gone away, e.g. `ai-spine --help | head -1`.
    stream = sys.stdout or sys.stderr
    try:
        stream.write(text)
        stream.flush()
    except (AttributeError, OSError):
        _silence_stdout()  # so that the flush at exit does not report it either


def _answered_at_once(argv: Sequence[str]) -> bool:
    """Answer ``--version`` alone, or ``[COMMAND...] --help``, without argparse; True if so.

    Importing argparse (it imports ``re``) and building a parser cost more than Python's
    own start-up; this prints the same text they would (the stored help that
    ``_Parser.format_help`` returns too). Any other command line goes to the parser.
    """
    if list(argv) == ["--version"]:
        write_version()
        return True
    if not argv or argv[-1] not in ("-h", "--help"):
        return False
    words = list(argv[:-1])
    if any(word.split() != [word] for word in words):
        return False  # not a command word ("flows list" as one argument is argparse's error)
    from ._cli_help import HELP

    text = HELP.get(" ".join([PROG] + words))
    if text is None:
        return False
    _print_answer(text)
    return True


def build_parser() -> "argparse.ArgumentParser":
    """Build the ``ai-spine`` argument parser with one subparser per command.

    Returns:
        The parser. Local commands set ``handler(args)``; API commands set
        ``api_handler(args, client)``.

    Example:
        >>> build_parser().parse_args(["serve", "--port", "0"]).port
        0
        >>> build_parser().parse_args(["--format", "json", "flows", "get", "f1"]).flow_id
        'f1'
    """
    from . import _cli_parser

    return _cli_parser.build(None)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ai-spine`` command line.

    Args:
        argv: Arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status: 0 ok, 1 API or network error, 2 usage error, 3 execution failed or
        cancelled, 4 wait timed out, 130 interrupted. argparse's own usage errors (and
        ``--help``, ``--version``) raise ``SystemExit`` instead, with status 2 (or 0).

    Example:
        >>> main(["--format", "json", "health"])  # doctest: +SKIP
        0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if _answered_at_once(argv):
        raise SystemExit(0)  # what argparse's --version and --help actions do
    from . import _cli_parser

    args = _cli_parser.parse(argv)
    debug = bool(getattr(args, "debug", False))
    command = " ".join(
        part for part in (args.command, getattr(args, args.command + "_command", None)) if part
    )
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("{}: interrupted".format(PROG), file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`ai-spine executions list | head -1`): nothing to report,
        # and stdout must not be flushed again at exit (Python would print a warning).
        _silence_stdout()
        return EXIT_API_ERROR
    except UsageError as error:
        print("{} {}: error: {}".format(PROG, command, error), file=sys.stderr, flush=True)
        return EXIT_USAGE
    except Exception as error:
        if debug:
            import traceback

            traceback.print_exc()
        if not _sdk_error(error):
            _error(
                "unexpected {}: {} (run with --debug for the traceback)".format(
                    type(error).__name__, error
                )
            )
            return EXIT_API_ERROR
        _error(str(error))
        return _exit_status(error)


if __name__ == "__main__":
    # `python -m ai_spine.cli`: run the module imported under its own name, the one that
    # ai_spine._cli_parser registers the commands of (their UsageError is that module's).
    from ai_spine.cli import main as _main

    sys.exit(_main())
