"""The ``ai-spine`` API commands end to end against the local server (issue 10).

Every test runs twice through the ``cli`` fixture: in-process (``cli.main([...])``, output
captured) and as a subprocess (``python -m ai_spine ...`` with pipes). Both have a stdout
that is not a terminal, so the default output is JSON; the terminal cases (tables, the live
status line) are in ``test_cli_terminal.py``.
"""

import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import pytest

from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

from ._cli_support import Outcome, run_in_process, run_subprocess
from ._support import agent_body

Cli = Callable[..., Outcome]

APPROVED = {"text": "steady job, great references", "income": 85000, "debt": 12000}


@pytest.fixture(params=["in-process", "subprocess"])
def cli(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """``cli(*argv, stdin="", env=None) -> Outcome``, in-process or as a subprocess."""

    def run(*argv: str, stdin: str = "", env: Optional[Dict[str, str]] = None) -> Outcome:
        if request.param == "subprocess":
            return run_subprocess(argv, stdin, env)
        return run_in_process(capsys, monkeypatch, argv, stdin, env)

    return run


@pytest.fixture
def demo() -> Iterator[LocalAISpine]:
    with LocalAISpine(with_demo_agents=True, agent_timeout=10.0) as server:
        yield server


def ok(outcome: Outcome) -> Any:
    """Check a successful run (exit 0, nothing on stderr) and return its JSON output."""
    assert outcome.status == 0, outcome
    assert outcome.err == ""
    return json.loads(outcome.out)


def one_error_line(outcome: Outcome, status: int) -> str:
    """Check a failed run: its status, and one error line (no traceback) on stderr."""
    assert outcome.status == status, outcome
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    assert "Traceback" not in outcome.err
    return lines[0]


def start(server: LocalAISpine, input_data: Dict[str, Any]) -> str:
    """Start a demo-flow execution directly on the server's store; return its id."""
    import requests

    with requests.Session() as http:
        answer = http.post(
            server.url + "/api/v1/flows/execute",
            json={"flow_id": DEMO_FLOW_ID, "input_data": input_data},
        )
    execution_id: str = answer.json()["execution_id"]
    return execution_id


# --- System ------------------------------------------------------------------------------------


def test_health(cli: Cli, demo: LocalAISpine) -> None:
    health = ok(cli("--base-url", demo.url, "health"))
    assert health["status"] == "healthy" and health["message"] == "AI Spine API is running"


def test_status_and_metrics(cli: Cli, demo: LocalAISpine) -> None:
    status = ok(cli("--base-url", demo.url, "status"))
    assert status["status"] == "operational" and status["flows"]["total"] == 1
    metrics = ok(cli("metrics", "--base-url", demo.url))
    assert metrics["total_executions"] == 0


def test_base_url_and_api_key_from_the_environment(cli: Cli) -> None:
    with LocalAISpine(api_key="sk-test-key") as server:
        env = {"AI_SPINE_BASE_URL": server.url}
        line = one_error_line(cli("flows", "list", env=env), 1)
        assert line.startswith("ai-spine: error: Missing API key")
        assert line.endswith("(HTTP 401 from GET {}/api/v1/flows)".format(server.url))
        assert ok(cli("flows", "list", env=dict(env, AI_SPINE_API_KEY="sk-test-key"))) == []
        assert ok(cli("--api-key", "sk-test-key", "flows", "list", env=env)) == []
        assert ok(cli("flows", "list", "--api-key", "sk-test-key", env=env)) == []


# --- Flows and agents -------------------------------------------------------------------------


def test_flows_list_and_get(cli: Cli, demo: LocalAISpine) -> None:
    flows = ok(cli("--base-url", demo.url, "flows", "list"))
    assert [flow["flow_id"] for flow in flows] == [DEMO_FLOW_ID]
    flow = ok(cli("--base-url", demo.url, "flows", "get", DEMO_FLOW_ID))
    assert [node["id"] for node in flow["nodes"]] == ["sentiment", "credit"]


def test_an_unknown_flow_is_one_line_with_the_servers_message_and_status(
    cli: Cli, demo: LocalAISpine
) -> None:
    line = one_error_line(cli("--base-url", demo.url, "flows", "get", "nope"), 1)
    assert line == (
        "ai-spine: error: Flow 'nope' not found (HTTP 404 from GET "
        "{}/api/v1/flows/nope)".format(demo.url)
    )


def test_agents_create_get_list_delete(cli: Cli, demo: LocalAISpine, tmp_path: Path) -> None:
    assert demo.demo_agents is not None
    body = agent_body("cli_echo", demo.demo_agents.url + "/echo")
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    created = ok(cli("--base-url", demo.url, "agents", "create", "--file", str(path)))
    assert created["agent_id"] == "cli_echo" and created["is_active"] is True
    assert ok(cli("--base-url", demo.url, "agents", "get", "cli_echo"))["name"] == "Agent cli_echo"
    listed = ok(cli("--base-url", demo.url, "agents", "list"))
    assert "cli_echo" in [agent["agent_id"] for agent in listed]
    deleted = ok(cli("--base-url", demo.url, "agents", "delete", "cli_echo"))
    assert deleted == {"agent_id": "cli_echo", "deleted": True}
    line = one_error_line(cli("--base-url", demo.url, "agents", "get", "cli_echo"), 1)
    assert "Agent 'cli_echo' not found (HTTP 404" in line


def test_agents_create_reads_standard_input(cli: Cli, demo: LocalAISpine) -> None:
    body = json.dumps(agent_body("from_stdin", "http://127.0.0.1:9/x"))
    created = ok(cli("--base-url", demo.url, "agents", "create", "--file", "-", stdin=body))
    assert created["agent_id"] == "from_stdin"


def test_agents_create_refuses_an_incomplete_agent_before_sending(
    cli: Cli, demo: LocalAISpine, tmp_path: Path
) -> None:
    path = tmp_path / "agent.json"
    path.write_text('{"agent_id": "half"}', encoding="utf-8")
    demo.clear_requests()
    line = one_error_line(cli("--base-url", demo.url, "agents", "create", "--file", str(path)), 2)
    assert line.startswith("ai-spine: error: ") and "name" in line
    assert demo.requests_to("POST", "/api/v1/agents") == []


# --- run --------------------------------------------------------------------------------------


def test_run_without_wait_prints_the_new_execution(cli: Cli, demo: LocalAISpine) -> None:
    started = ok(cli("--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", json.dumps(APPROVED)))
    assert started["status"] == "pending"
    assert demo.wait_for_execution(started["execution_id"])["status"] == "completed"


def test_run_wait_prints_the_completed_execution(cli: Cli, demo: LocalAISpine) -> None:
    done = ok(
        cli(
            "--base-url",
            demo.url,
            "run",
            DEMO_FLOW_ID,
            "--input",
            json.dumps(APPROVED),
            "--metadata",
            '{"ticket": "T-1"}',
            "--wait",
            "--timeout",
            "30",
            "--interval",
            "0.2",
        )
    )
    assert done["status"] == "completed"
    assert done["output_data"]["credit"]["decision"] == "approve"


def test_run_reads_input_from_a_file_and_from_standard_input(
    cli: Cli, demo: LocalAISpine, tmp_path: Path
) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(APPROVED), encoding="utf-8")
    from_file = ok(cli("--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", "@" + str(path)))
    from_stdin = ok(
        cli("--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", "-", stdin=json.dumps(APPROVED))
    )
    for started in (from_file, from_stdin):
        assert demo.wait_for_execution(started["execution_id"])["input_data"] == APPROVED


def test_a_failed_execution_exits_3_with_the_execution_on_stdout(
    cli: Cli, demo: LocalAISpine
) -> None:
    outcome = cli(
        "--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", '{"income": -1}', "--wait"
    )
    line = one_error_line(outcome, 3)
    failed = json.loads(outcome.out)
    assert failed["status"] == "failed"
    assert line.startswith("ai-spine: error: Execution {} failed: ".format(failed["execution_id"]))


def test_a_wait_that_times_out_exits_4_and_says_how_to_resume(cli: Cli, demo: LocalAISpine) -> None:
    outcome = cli(
        "--base-url",
        demo.url,
        "run",
        DEMO_FLOW_ID,
        "--input",
        '{"income": 1, "sleep": 3}',
        "--wait",
        "--timeout",
        "0.3",
    )
    line = one_error_line(outcome, 4)
    assert outcome.out == ""
    execution_id = line.split("Resume with: ai-spine executions wait ", 1)[1].split()[0]
    assert "was still running after 0.3 s; it goes on" in line
    assert demo.wait_for_execution(execution_id)["status"] == "completed"  # not cancelled


def test_an_unknown_flow_on_run_exits_1(cli: Cli, demo: LocalAISpine) -> None:
    line = one_error_line(cli("--base-url", demo.url, "run", "nope", "--input", "{}"), 1)
    assert "Flow 'nope' not found" in line


# --- executions -------------------------------------------------------------------------------


def test_executions_get_wait_results(cli: Cli, demo: LocalAISpine) -> None:
    execution_id = start(demo, APPROVED)
    done = ok(cli("--base-url", demo.url, "executions", "wait", execution_id, "--interval", "0.2"))
    assert done["status"] == "completed"
    assert ok(cli("--base-url", demo.url, "executions", "get", execution_id)) == done
    results = ok(cli("--base-url", demo.url, "executions", "results", execution_id))
    assert [node["node_id"] for node in results["node_results"]] == ["sentiment", "credit"]


def test_executions_wait_on_a_failed_execution_exits_3(cli: Cli, demo: LocalAISpine) -> None:
    execution_id = start(demo, {"income": "lots"})
    demo.wait_for_execution(execution_id)
    outcome = cli("--base-url", demo.url, "executions", "wait", execution_id)
    assert "failed" in one_error_line(outcome, 3)
    assert json.loads(outcome.out)["execution_id"] == execution_id


def test_executions_cancel(cli: Cli, demo: LocalAISpine) -> None:
    execution_id = start(demo, {"income": 1, "sleep": 3})
    demo.wait_for_execution(execution_id, statuses=["running"])
    answer = ok(cli("--base-url", demo.url, "executions", "cancel", execution_id))
    assert answer == {"message": "Execution cancelled successfully"}
    line = one_error_line(cli("--base-url", demo.url, "executions", "cancel", execution_id), 1)
    assert "not found or not running (HTTP 404" in line


def test_executions_list_pages_and_filters(cli: Cli, demo: LocalAISpine) -> None:
    ids = [start(demo, APPROVED) for _ in range(3)]
    failed = start(demo, {"income": -1})
    for execution_id in ids + [failed]:
        demo.wait_for_execution(execution_id)
    newest = ok(cli("--base-url", demo.url, "executions", "list", "--limit", "2"))
    assert [e["execution_id"] for e in newest] == [failed, ids[2]]
    older = ok(cli("--base-url", demo.url, "executions", "list", "--limit", "2", "--offset", "2"))
    assert [e["execution_id"] for e in older] == [ids[1], ids[0]]
    only = ok(cli("--base-url", demo.url, "executions", "list", "--status", "failed"))
    assert [e["execution_id"] for e in only] == [failed]


# --- Bad input: exit 2, one line, nothing sent ------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--input", '{"income": 1 "debt": 2}'],
            "ai-spine run: error: --input: invalid JSON at line 1, column 14: "
            "Expecting ',' delimiter",
        ),
        (
            ["--input", '{"a": 1}', "--metadata", "{\n  nope\n}"],
            "ai-spine run: error: --metadata: invalid JSON at line 2, column 3: "
            "Expecting property name enclosed in double quotes",
        ),
        (
            ["--input", "[1, 2]"],
            "ai-spine run: error: --input: expected a JSON object ({...}), got an array",
        ),
        (
            ["--input", "{}", "--timeout", "5"],
            "ai-spine run: error: --timeout and --interval apply only with --wait",
        ),
    ],
)
def test_bad_input_is_refused_before_any_request(
    cli: Cli, demo: LocalAISpine, argv: Any, message: str
) -> None:
    demo.clear_requests()
    line = one_error_line(cli("--base-url", demo.url, "run", DEMO_FLOW_ID, *argv), 2)
    assert line == message
    assert demo.requests == []


def test_invalid_json_in_a_file_names_the_file_and_the_position(
    cli: Cli, demo: LocalAISpine, tmp_path: Path
) -> None:
    path = tmp_path / "input.json"
    path.write_text('{\n  "income": 1\n  "debt": 2\n}\n', encoding="utf-8")
    outcome = cli("--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", "@" + str(path))
    assert one_error_line(outcome, 2) == (
        "ai-spine run: error: --input: invalid JSON in file {!r} at line 3, column 3: "
        "Expecting ',' delimiter".format(str(path))
    )


def test_a_missing_file_is_named(cli: Cli, demo: LocalAISpine, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    line = one_error_line(cli("run", DEMO_FLOW_ID, "--input", "@" + missing), 2)
    assert line == (
        "ai-spine run: error: --input: cannot read file {!r}: No such file or directory".format(
            missing
        )
    )
    line = one_error_line(cli("agents", "create", "--file", missing), 2)
    assert line == "ai-spine agents create: error: --file: cannot read file {!r}: {}".format(
        missing, "No such file or directory"
    )


@pytest.mark.parametrize("command", ["get", "wait", "cancel", "results"])
def test_a_non_uuid_execution_id_is_refused_before_any_request(
    cli: Cli, demo: LocalAISpine, command: str
) -> None:
    demo.clear_requests()
    line = one_error_line(cli("--base-url", demo.url, "executions", command, "12345"), 2)
    assert line == (
        "ai-spine executions {0}: error: argument EXECUTION_ID: an execution id is a UUID "
        "(like 4ee0c6d2-3e51-4af5-a19c-6117546f9cdc), got '12345' "
        "(see 'ai-spine executions {0} --help')".format(command)
    )
    assert demo.requests == []


def test_an_id_the_sdk_refuses_is_a_usage_error(cli: Cli, demo: LocalAISpine) -> None:
    demo.clear_requests()
    line = one_error_line(cli("--base-url", demo.url, "flows", "get", "my-flows"), 2)
    assert "cannot be addressed" in line
    assert demo.requests == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--timeout", "0", "health"], "argument --timeout: must be a positive number"),
        (["--max-retries", "-1", "health"], "argument --max-retries: must be a whole number"),
        (["--format", "xml", "health"], "argument --format: invalid choice: 'xml'"),
        (["executions", "list", "--limit", "0"], "argument --limit: must be a whole number"),
        (["executions", "list", "--status", "done"], "argument --status: invalid choice"),
        (["run", DEMO_FLOW_ID], "the following arguments are required: --input"),
        (["flows"], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, argv: Any, message: str) -> None:
    line = one_error_line(cli(*argv), 2)
    assert message in line and line.endswith(" --help')")


# --- Errors, --debug, --version ---------------------------------------------------------------


def test_a_network_error_is_one_line_and_debug_adds_the_traceback(cli: Cli) -> None:
    with LocalAISpine() as server:
        closed = server.url  # nothing listens there once the server stopped
    line = one_error_line(cli("--base-url", closed, "--max-retries", "0", "health"), 1)
    assert line.startswith("ai-spine: error: Could not connect to " + closed)
    outcome = cli("--base-url", closed, "--max-retries", "0", "--debug", "health")
    assert outcome.status == 1
    assert "Traceback (most recent call last)" in outcome.err
    assert outcome.err.splitlines()[-1] == line


def test_a_bad_base_url_is_a_usage_error(cli: Cli) -> None:
    line = one_error_line(cli("--base-url", "ftp://example.invalid", "health"), 2)
    assert line.startswith("ai-spine: error: base_url")


def test_version(cli: Cli) -> None:
    import ai_spine

    outcome = cli("--version")
    assert (outcome.status, outcome.out, outcome.err) == (
        0,
        "ai-spine {}\n".format(ai_spine.__version__),
        "",
    )


def test_version_alone_is_answered_without_building_a_parser(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ai_spine
    from ai_spine import _cli_parser
    from ai_spine import cli as module

    def no_parser(*args: Any) -> Any:
        raise AssertionError("a parser was built for --version")

    monkeypatch.setattr(_cli_parser, "build", no_parser)
    with pytest.raises(SystemExit) as exited:
        module.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == "ai-spine {}\n".format(ai_spine.__version__)
    with pytest.raises(AssertionError, match="a parser was built"):
        module.main(["--vers"])  # an abbreviation is argparse's to read


def test_help_lists_every_command(cli: Cli) -> None:
    outcome = cli("--help")
    assert outcome.status == 0
    for name in ("health", "status", "metrics", "flows", "agents", "run", "executions"):
        assert name in outcome.out
    assert "serve" in outcome.out and "demo" in outcome.out


def test_format_table_overrides_json(cli: Cli, demo: LocalAISpine) -> None:
    outcome = cli("--base-url", demo.url, "--format", "table", "flows", "list")
    assert outcome.status == 0
    assert outcome.out.splitlines() == [
        "FLOW_ID            NAME               VERSION  NODES",
        "demo_credit_check  Demo credit check  1.0.0    sentiment, credit",
    ]


def test_an_unexpected_error_is_one_line_pointing_at_debug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo: LocalAISpine
) -> None:
    from ai_spine import cli

    def broken(args: Any, client: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_cmd_health", broken)
    outcome = run_in_process(capsys, monkeypatch, ["--base-url", demo.url, "health"])
    assert one_error_line(outcome, 1) == (
        "ai-spine: error: unexpected RuntimeError: boom (run with --debug for the traceback)"
    )


def test_execution_ids_are_sent_in_canonical_form(cli: Cli, demo: LocalAISpine) -> None:
    execution_id = start(demo, APPROVED)
    demo.wait_for_execution(execution_id)
    shouting = str(uuid.UUID(execution_id)).upper()
    assert ok(cli("--base-url", demo.url, "executions", "get", shouting))["status"] == "completed"


def test_a_reader_that_goes_away_is_no_error_message(demo: LocalAISpine) -> None:
    import subprocess

    from ._cli_support import child_env, command

    # `ai-spine flows list | head -c 0`: the pipe is closed before the command writes.
    process = subprocess.Popen(
        command("--base-url", demo.url, "flows", "list"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=30) == 1
    assert err == b""


# --- In-process only: the terminal paths, with the terminal checks patched -------------------


@pytest.fixture
def terminal_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the command line take the captured stderr for a terminal (stdout stays a pipe)."""
    import sys

    from ai_spine import cli

    monkeypatch.setattr(cli, "_is_terminal", lambda stream: stream is sys.stderr)
    monkeypatch.setattr(cli, "STATUS_LINE_TICK", 0.05)
    monkeypatch.setattr(cli, "NODE_PROGRESS_REFRESH", 0.2)


@pytest.mark.usefixtures("terminal_stderr")
def test_the_status_line_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo: LocalAISpine
) -> None:
    argv = ["--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", '{"income": 5, "sleep": 0.6}']
    outcome = run_in_process(capsys, monkeypatch, argv + ["--wait", "--interval", "0.2"])
    assert outcome.status == 0, outcome
    assert json.loads(outcome.out)["status"] == "completed"
    drawn = [part for part in outcome.err.split("\r") if part.startswith("Waiting for")]
    assert len(drawn) >= 3
    assert any("/2 nodes done" in part for part in drawn), drawn
    assert outcome.err.endswith("\r\x1b[K"), "the line is erased at the end"


@pytest.mark.usefixtures("terminal_stderr")
def test_run_without_wait_on_a_terminal_prints_how_to_wait(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo: LocalAISpine
) -> None:
    argv = ["--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", "{}"]
    outcome = run_in_process(capsys, monkeypatch, argv)
    execution_id = json.loads(outcome.out)["execution_id"]
    assert outcome.err == "Wait for it with: ai-spine executions wait {}\n".format(execution_id)


def test_the_status_line_rides_out_failed_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import time

    from ai_spine import cli
    from ai_spine.exceptions import NetworkError

    class FlakyClient:
        calls = 0

        def get_execution_results(self, execution_id: str) -> Dict[str, Any]:
            self.calls += 1
            if self.calls == 1:
                raise NetworkError("down")
            return {"execution": {"status": "running", "flow_id": "f"}, "node_results": [{}]}

        def get_flow(self, flow_id: str) -> Dict[str, Any]:
            raise NetworkError("down")

    stream = io.StringIO()
    execution_id = str(uuid.uuid4())
    client: Any = FlakyClient()
    line = cli._StatusLine(client, execution_id, None, time.monotonic(), stream)
    line.seen({"status": "pending"})
    monkeypatch.setattr(cli, "NODE_PROGRESS_REFRESH", 0.05)
    monkeypatch.setattr(cli, "STATUS_LINE_TICK", 0.02)
    try:
        line.start()
        deadline = time.monotonic() + 10
        while "1 nodes done" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        line.stop()
    text = stream.getvalue()
    assert "Waiting for {}: pending".format(execution_id[:8]) in text
    # The first read failed, the flow could not be read: a count without a total.
    assert "running" in text and "1 nodes done" in text and "1/" not in text
    assert text.endswith("\r\x1b[K")
    line.stop()  # a second stop is harmless


def test_a_server_that_is_not_healthy_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo: LocalAISpine
) -> None:
    from ai_spine import AISpine

    monkeypatch.setattr(AISpine, "health_check", lambda self: {"status": "starting"})
    outcome = run_in_process(capsys, monkeypatch, ["--base-url", demo.url, "health"])
    assert json.loads(outcome.out) == {"status": "starting"}
    assert one_error_line(outcome, 1) == (
        "ai-spine: error: the server at {} is 'starting', not healthy".format(demo.url)
    )


@pytest.mark.parametrize(
    "text, kind",
    [('"x"', "a string"), ("null", "null"), ("true", "a boolean"), ("3", "a number")],
)
def test_input_that_is_not_an_object_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, text: str, kind: str
) -> None:
    outcome = run_in_process(capsys, monkeypatch, ["run", "f", "--input", text])
    assert one_error_line(outcome, 2) == (
        "ai-spine run: error: --input: expected a JSON object ({...}), got " + kind
    )


def test_more_usage_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"name": "caf\xe9"}')
    cases = [
        (["run", "f", "--input", "@" + str(latin)], "is not UTF-8 text"),
        (["run", "f", "--input", "-", "--metadata", "-"], "cannot both read standard input"),
        (["executions", "list", "--limit", "many"], "must be a whole number of at least 1"),
        (["serve", "--agent-timeout", "soon"], "must be a number, got 'soon'"),
        (["health", "--bogus"], "unrecognized arguments: --bogus"),
    ]
    for argv, message in cases:
        assert message in one_error_line(run_in_process(capsys, monkeypatch, argv), 2)


def test_results_as_a_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo: LocalAISpine
) -> None:
    execution_id = start(demo, APPROVED)
    demo.wait_for_execution(execution_id)
    argv = ["--base-url", demo.url, "--format", "table", "executions", "results", execution_id]
    lines = run_in_process(capsys, monkeypatch, argv).out.splitlines()
    assert lines[0].split() == ["execution_id", execution_id]
    assert "output_data.credit.decision           approve" in lines
    header = lines.index("NODE       AGENT              STATUS     TIME_MS  ERROR")
    assert [line.split()[0] for line in lines[header + 1 :]] == ["sentiment", "credit"]


def test_python_dash_m_runs_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy
    import sys

    import ai_spine

    monkeypatch.setattr(sys, "argv", ["ai-spine", "--version"])
    # run_path, not run_module: pytest's assertion-rewriting import hook (it imports the SDK's
    # pytest plugin) cannot hand runpy the code of ai_spine.__main__ on some Pythons.
    main = os.path.join(os.path.dirname(ai_spine.__file__), "__main__.py")
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(main, run_name="__main__")
    assert exited.value.code in (0, None)
    assert capsys.readouterr().out == "ai-spine {}\n".format(ai_spine.__version__)
