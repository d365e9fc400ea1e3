"""The ``ai-spine`` command line.

Subcommands:

- ``serve``: run the local in-memory AI Spine server (:mod:`ai_spine.testing`) in the
  foreground until Ctrl-C.
- ``demo``: the SDK's main job end to end on a local server, offline: register agents,
  create a flow, execute it, show progress while waiting, print the result.

Each subcommand is one ``_cmd_<name>(args) -> int`` function registered by
:func:`build_parser`; heavy imports happen inside it, so ``ai-spine --help`` stays fast.

Example:
    $ ai-spine demo
    $ ai-spine serve --port 8000 --with-demo-agents
    $ python -m ai_spine.cli serve --api-key secret
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any, Optional, Sequence

DEFAULT_SERVE_HOST = "127.0.0.1"
DEFAULT_SERVE_PORT = 8000


def _cmd_serve(args: argparse.Namespace) -> int:
    """Run the local server until Ctrl-C (SIGINT) or SIGTERM.

    Args:
        args: Parsed ``serve`` arguments.

    Returns:
        0 after a clean stop, 1 when the server cannot start, 2 for a bad option.
    """
    from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

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
        print("ai-spine serve: %s" % exc, file=sys.stderr)
        return 2
    try:
        server.start()
    except OSError as exc:
        print(
            "ai-spine serve: cannot listen on %s:%s: %s" % (args.host, args.port, exc),
            file=sys.stderr,
        )
        return 1

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
    return 0


def _add_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the local in-memory AI Spine server",
        description=(
            "Run an in-memory AI Spine server on loopback until Ctrl-C. It answers like the "
            "real API and runs executions by calling agents over HTTP."
        ),
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_SERVE_HOST,
        help="loopback address to bind (default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SERVE_PORT,
        help="port to bind, 0 for any free port (default %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' on every route but /health and /",
    )
    parser.add_argument(
        "--with-demo-agents",
        action="store_true",
        help="also serve the demo agents and register them with the demo flow",
    )
    parser.add_argument(
        "--agent-timeout",
        type=float,
        default=30.0,
        help="seconds an agent call may take (default %(default)s)",
    )
    parser.add_argument(
        "--allow-remote-agents",
        action="store_true",
        help="let executions call agents that are not on this machine",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.set_defaults(handler=_cmd_serve)


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo: every step through the SDK, against a local server and demo agents.

    Args:
        args: Parsed ``demo`` arguments (the applicant's ``text``, ``income`` and ``debt``).

    Returns:
        0 when the flow completed, 1 when the SDK raised an error (printed).
    """
    import time

    from ai_spine import AISpine, AISpineError
    from ai_spine.testing import (
        DemoAgents,
        LocalAISpine,
        demo_agent_definitions,
        demo_flow_definition,
    )

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
                print("The demo failed: {}: {}".format(type(error).__name__, error))
                return 1
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
    return 0


def _add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a flow end to end on a local server (offline)",
        description=(
            "Start a local AI Spine server and demo agents, then use the SDK to register the "
            "agents, create a sentiment -> credit-scoring flow, execute it for one applicant, "
            "show its progress and print the result. Needs no network."
        ),
    )
    parser.add_argument(
        "--text",
        default="Stable job for six years, great references, steady income.",
        help="the applicant's note, scored for sentiment",
    )
    parser.add_argument("--income", type=float, default=85000, help="yearly income")
    parser.add_argument("--debt", type=float, default=12000, help="outstanding debt")
    parser.set_defaults(handler=_cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``ai-spine`` argument parser with one subparser per subcommand.

    Returns:
        The parser; each subcommand sets ``handler`` to its ``_cmd_*`` function.

    Example:
        >>> build_parser().parse_args(["serve", "--port", "0"]).port
        0
    """
    parser = argparse.ArgumentParser(
        prog="ai-spine", description="Command line tools of the AI Spine Python SDK."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    _add_demo(subparsers)
    _add_serve(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ai-spine`` command line.

    Args:
        argv: Arguments without the program name; None reads ``sys.argv``.

    Returns:
        The process exit status.

    Example:
        >>> main(["serve", "--host", "10.0.0.1"])  # doctest: +SKIP
        2
    """
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
