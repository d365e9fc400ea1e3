"""How the ``ai-spine`` command line is read: its argparse parser, one subparser a command.

:mod:`ai_spine.cli` imports this module only for a command it has to parse: ``--version``
and a command's ``--help`` are answered without argparse (which imports ``re``, and with it
nearly half of Python's start-up), from the text stored in :mod:`ai_spine._cli_help`. That
text is what :meth:`_Parser.format_help` prints too, so every path prints the same help; a
test fails when it no longer matches what argparse makes of the parser built here.

Each command's handler is a ``_cmd_<name>`` function of :mod:`ai_spine.cli`, looked up when
the parser is built.
"""

from __future__ import annotations

import argparse
import math
from . import cli as _cli
from .constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    EXECUTION_STATUSES,
)

# Not typing.TYPE_CHECKING: importing typing costs ~4 ms, and argparse does not need it.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Any, Callable, List, NoReturn, Optional, Sequence, Tuple

    from .client import AISpine

__all__ = ["build", "command_path", "parse"]


class _Version(argparse.Action):
    """``--version`` among other arguments: print ``ai-spine X.Y.Z`` and exit 0, without
    argparse's help formatter (which imports textwrap to wrap one short line)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        _cli.write_version()
        parser.exit()


HELP_WIDTH = 78
"""Help is laid out for an 80-column terminal (argparse keeps a margin of 2) whatever the
terminal, as the text stored in :mod:`ai_spine._cli_help` is."""


class _Formatter(argparse.HelpFormatter):
    """argparse's layout at :data:`HELP_WIDTH`; asking the terminal's width would import
    ``shutil`` (with zlib, bz2 and lzma), which costs more than this module, on every parse:
    argparse formats a usage line to name each subcommand's parser."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: Optional[int] = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or HELP_WIDTH)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (argparse prints the whole usage first) and
    the stored help text (the same ``ai-spine --help`` prints without argparse)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(
            _cli.EXIT_USAGE, "{0}: error: {1} (see '{0} --help')\n".format(self.prog, message)
        )

    def format_help(self) -> str:
        from ._cli_help import HELP

        return HELP.get(self.prog) or super().format_help()

    def print_help(self, file: Any = None) -> None:
        if file is not None:
            super().print_help(file)
        else:  # as the stored help prints: quiet if the reader went away (argparse < 3.11 is not)
            _cli._print_answer(self.format_help())


# --- Argument types: each refuses a bad value with a message saying what is wrong ---------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            "must be a port number from 0 to 65535 (0: any free port), got {!r}".format(text)
        )
    return port


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("must be a number, got {!r}".format(text))
    return value


def _positive_seconds(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            "must be a positive number of seconds, got {!r}".format(text)
        )
    return value


def _non_negative_number(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more, got {!r}".format(text))
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                "must be a whole number of at least {}, got {!r}".format(minimum, text)
            )
        return value

    return parse


def _execution_id(text: str) -> str:
    import uuid

    # Checked here, before any request: the server would answer 422 to a non-UUID.
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "an execution id is a UUID (like 4ee0c6d2-3e51-4af5-a19c-6117546f9cdc), "
            "got {!r}".format(text)
        ) from None


def _server_api_key(text: str) -> str:
    from .utils import validate_secret

    try:
        return validate_secret(text, "the API key")
    except Exception as error:  # ValidationError: its message never echoes the key
        raise argparse.ArgumentTypeError(str(error)) from None


# --- The parser -------------------------------------------------------------------------------


def _add_connection_options(
    parser: argparse.ArgumentParser, *, top: bool, http_timeout: bool = True
) -> None:
    """The options every API command takes, before the command (``top``) or after it.

    After the command their default is ``SUPPRESS``, so that a value given before the
    command is not reset by the subcommand's parser.
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("connection and output options")
    group.add_argument(
        "--base-url",
        default=default(None),
        help="the server's URL (default: ${}, then production)".format(ENV_BASE_URL),
    )
    group.add_argument(
        "--api-key",
        default=default(None),
        help="sent as 'Authorization: Bearer KEY' (default: ${})".format(ENV_API_KEY),
    )
    if http_timeout:
        group.add_argument(
            "--timeout",
            dest="http_timeout",
            type=_positive_seconds,
            default=default(None),
            metavar="SECONDS",
            help="seconds to wait for each answer of the server (default {:g})".format(
                DEFAULT_TIMEOUT
            ),
        )
    group.add_argument(
        "--max-retries",
        type=_int_at_least(0),
        default=default(None),
        metavar="N",
        help="retries of failures safe to retry, 0 for none (default {})".format(
            DEFAULT_MAX_RETRIES
        ),
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="log each request to stderr, and show the traceback of an error",
    )
    group.add_argument(
        "--format",
        choices=("json", "table"),
        default=default(None),
        help="output format (default: table on a terminal, JSON otherwise)",
    )


class _Ignored:
    """Stands in for the parser of a command that was not asked for: takes its options and
    drops them."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        """Drop an option."""

    def set_defaults(self, **kwargs: Any) -> None:
        """Drop defaults."""


class _Commands:
    """One level of subcommands, of which only the one on the command line is built in full.

    Building every parser with its options is most of the time ``ai-spine --version`` takes
    (~20 parsers, ~150 options); a command that was not asked for gets a bare parser that
    only keeps its name and help line for the listing. ``path`` None builds everything.
    """

    def __init__(
        self, action: Any, prefix: Tuple[str, ...], path: Optional[Tuple[str, ...]]
    ) -> None:
        self.action = action
        self.prefix = prefix
        self.path = path

    def add(
        self, name: str, help_text: str, description: Optional[str] = None
    ) -> Optional[argparse.ArgumentParser]:
        """Add the command ``name``: its parser if it is wanted, else None (after a stub)."""
        words = self.prefix + (name,)
        if self.action is None:
            return None
        if self.path is not None and self.path[: len(words)] != words:
            self.action.add_parser(name, help=help_text, add_help=False)
            return None
        parser: argparse.ArgumentParser = self.action.add_parser(
            name, help=help_text, description=description or help_text[0].upper() + help_text[1:]
        )
        return parser


def _api_command(
    commands: _Commands,
    name: str,
    handler: Callable[[argparse.Namespace, "AISpine"], int],
    help_text: str,
    *,
    http_timeout: bool = True,
    description: Optional[str] = None,
) -> Any:
    parser = commands.add(name, help_text, description)
    if parser is None:
        return _Ignored()
    _add_connection_options(parser, top=False, http_timeout=http_timeout)
    parser.set_defaults(api_handler=handler)
    return parser


def _group(commands: _Commands, name: str, help_text: str) -> _Commands:
    parser = commands.add(name, help_text, help_text)
    if parser is None:
        return _Commands(None, commands.prefix + (name,), commands.path)
    children = parser.add_subparsers(dest="{}_command".format(name), metavar="COMMAND")
    children.required = True
    return _Commands(children, commands.prefix + (name,), commands.path)


def _add_wait_options(parser: Any) -> None:
    parser.add_argument(
        "--timeout",
        dest="wait_timeout",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds to wait for the execution to finish (default {:g}); the execution "
        "goes on after it. The HTTP timeout goes before the command".format(DEFAULT_WAIT_TIMEOUT),
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="longest pause between two polls (default {:g})".format(DEFAULT_POLL_INTERVAL),
    )


def _add_api_commands(subparsers: _Commands) -> None:
    _api_command(
        subparsers, "health", _cli._cmd_health, "check that the server is up (exit 1 if not)"
    )
    _api_command(subparsers, "status", _cli._cmd_status, "show the server's components and counts")
    _api_command(subparsers, "metrics", _cli._cmd_metrics, "show the server's execution metrics")

    flows = _group(subparsers, "flows", "list flows or show one")
    _api_command(flows, "list", _cli._cmd_flows_list, "list the flows")
    get = _api_command(flows, "get", _cli._cmd_flows_get, "show one flow and its nodes")
    get.add_argument("flow_id", metavar="FLOW_ID", help="the flow's id")

    agents = _group(subparsers, "agents", "list, show, register or remove agents")
    _api_command(agents, "list", _cli._cmd_agents_list, "list the registered agents")
    get = _api_command(agents, "get", _cli._cmd_agents_get, "show one agent")
    get.add_argument("agent_id", metavar="AGENT_ID", help="the agent's id")
    create = _api_command(
        agents,
        "create",
        _cli._cmd_agents_create,
        "register an agent described by a JSON file",
        description="Register an agent (an existing agent_id is replaced). The file holds a "
        "JSON object with agent_id, name, description, endpoint, capabilities and agent_type.",
    )
    create.add_argument(
        "--file", required=True, metavar="PATH", help="the agent's JSON file, or - for stdin"
    )
    delete = _api_command(agents, "delete", _cli._cmd_agents_delete, "remove an agent")
    delete.add_argument("agent_id", metavar="AGENT_ID", help="the agent's id")

    run = _api_command(
        subparsers,
        "run",
        _cli._cmd_run,
        "execute a flow, and optionally wait for its result",
        http_timeout=False,
        description="Start an execution of a flow. Without --wait, print its id at once; with "
        "--wait, wait for it to finish (a live status line on a terminal) and print it. "
        "Exit status 3 if it failed or was cancelled, 4 if the wait timed out, 130 on "
        "Ctrl-C (the execution goes on).",
    )
    run.add_argument("flow_id", metavar="FLOW_ID", help="the flow to run")
    run.add_argument(
        "--input",
        required=True,
        metavar="JSON",
        help="the flow's input: a JSON object, @file.json, or - to read standard input",
    )
    run.add_argument(
        "--metadata", metavar="JSON", help="metadata stored with the request (same forms)"
    )
    run.add_argument("--wait", action="store_true", help="wait for the execution to finish")
    _add_wait_options(run)

    executions = _group(subparsers, "executions", "list, show, wait for or cancel executions")
    listing = _api_command(
        executions, "list", _cli._cmd_executions_list, "list executions, newest first"
    )
    listing.add_argument(
        "--limit", type=_int_at_least(1), default=20, metavar="N", help="page size (default 20)"
    )
    listing.add_argument(
        "--offset", type=_int_at_least(0), default=0, metavar="N", help="skip the N newest"
    )
    listing.add_argument(
        "--status",
        choices=sorted(EXECUTION_STATUSES),
        help="only executions in this status (filtered here: the server ignores it)",
    )
    for name, handler, help_text in (
        ("get", _cli._cmd_executions_get, "show one execution"),
        ("cancel", _cli._cmd_executions_cancel, "cancel a running execution"),
        ("results", _cli._cmd_executions_results, "show an execution and the result of each node"),
    ):
        command = _api_command(executions, name, handler, help_text)
        command.add_argument(
            "execution_id", type=_execution_id, metavar="EXECUTION_ID", help="a UUID"
        )
    wait = _api_command(
        executions,
        "wait",
        _cli._cmd_executions_wait,
        "wait for an execution to finish",
        http_timeout=False,
        description="Wait for an execution to finish (a live status line on a terminal) and "
        "print it. Exit status 3 if it failed or was cancelled, 4 if the wait timed out, "
        "130 on Ctrl-C (the execution goes on).",
    )
    wait.add_argument("execution_id", type=_execution_id, metavar="EXECUTION_ID", help="a UUID")
    _add_wait_options(wait)


def _add_serve(commands: _Commands) -> None:
    parser = commands.add(
        "serve",
        "run the local in-memory AI Spine server",
        "Run an in-memory AI Spine server on loopback until Ctrl-C. It answers like the "
        "real API and runs executions by calling agents over HTTP.",
    )
    if parser is None:
        return
    parser.add_argument(
        "--host",
        default=_cli.DEFAULT_SERVE_HOST,
        help="loopback address to bind (default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=_cli.DEFAULT_SERVE_PORT,
        help="port to bind, 0 for any free port (default %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        type=_server_api_key,
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
        type=_positive_seconds,
        default=_cli.DEFAULT_AGENT_TIMEOUT,
        metavar="SECONDS",
        help="seconds an agent call may take (default %(default)s)",
    )
    parser.add_argument(
        "--allow-remote-agents",
        action="store_true",
        help="let executions call agents that are not on this machine",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.set_defaults(handler=_cli._cmd_serve)


def _add_demo(commands: _Commands) -> None:
    parser = commands.add(
        "demo",
        "run a flow end to end on a local server (offline)",
        "Start a local AI Spine server and demo agents, then use the SDK to register the "
        "agents, create a sentiment -> credit-scoring flow, execute it for one applicant, "
        "show its progress and print the result. Needs no network.",
    )
    if parser is None:
        return
    parser.add_argument(
        "--text",
        default="Stable job for six years, great references, steady income.",
        help="the applicant's note, scored for sentiment",
    )
    parser.add_argument(
        "--income", type=_non_negative_number, default=85000, help="yearly income (0 or more)"
    )
    parser.add_argument(
        "--debt", type=_non_negative_number, default=12000, help="outstanding debt (0 or more)"
    )
    parser.set_defaults(handler=_cli._cmd_demo)


def build(path: Optional[Tuple[str, ...]]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_cli.PROG,
        description="The AI Spine API from a shell: check the server, run flows and watch "
        "them, manage agents and executions; or run a local server.",
        epilog="Exit status: 0 ok, 1 API or network error, 2 usage error, 3 execution failed "
        "or cancelled, 4 wait timed out, 130 interrupted. 'ai-spine COMMAND --help' for more.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    _add_connection_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    commands = _Commands(subparsers, (), path)
    _add_api_commands(commands)
    _add_serve(commands)
    _add_demo(commands)
    return parser


_TOP_VALUE_OPTIONS = ("--base-url", "--api-key", "--timeout", "--max-retries", "--format")
_TOP_FLAG_OPTIONS = ("--debug", "--version", "--help")
_GROUPS = ("flows", "agents", "executions")


def command_path(argv: Sequence[str]) -> Tuple[str, ...]:
    """The command words in ``argv`` (``("executions", "get")``), read as argparse will.

    Options before the command are skipped with their values (a unique prefix of an option
    counts, as argparse allows); the first other word is the command, and for a group the
    next one is its subcommand.
    """
    words: List[str] = []
    skip_value = options_done = False
    for token in argv:
        if skip_value:
            skip_value = False
        elif token == "--" and not options_done:
            options_done = True
        elif token.startswith("-") and len(token) > 1 and not options_done:
            if not words and "=" not in token:
                names = [o for o in _TOP_VALUE_OPTIONS + _TOP_FLAG_OPTIONS if o.startswith(token)]
                skip_value = len(names) == 1 and names[0] in _TOP_VALUE_OPTIONS
        else:
            words.append(token)
            if len(words) == 2 or words[0] not in _GROUPS:
                break
    return tuple(words)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv`` with a parser built for the command it names.

    Raises:
        SystemExit: For a usage error, ``--help`` or ``--version`` (argparse's own exits).
    """
    parser = build(command_path(argv))
    args, unknown = parser.parse_known_args(argv)
    if not (hasattr(args, "handler") or hasattr(args, "api_handler")):
        # The command read from argv was not the one argparse chose: let the full parser decide.
        return build(None).parse_args(argv)
    if unknown:
        parser.parse_args(argv)  # argparse's own "unrecognized arguments" error
    return args
