"""The ``ai-spine serve`` command."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import requests

import ai_spine
from ai_spine.cli import build_parser, main


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.api_key, args.with_demo_agents) == (
        "127.0.0.1",
        8000,
        None,
        False,
    )
    args = build_parser().parse_args(
        ["serve", "--port", "0", "--api-key", "k", "--with-demo-agents"]
    )
    assert (args.port, args.api_key, args.with_demo_agents) == (0, "k", True)


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2


def test_non_loopback_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback only" in capsys.readouterr().err


def test_busy_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    assert "cannot listen on 127.0.0.1:%d" % port in capsys.readouterr().err


def _signal_when_serving(signum: int) -> threading.Thread:
    """Send ``signum`` to the main thread once ``serve`` has installed its SIGTERM handler."""

    def run() -> None:
        deadline = time.monotonic() + 10
        while getattr(signal.getsignal(signal.SIGTERM), "__name__", "") != "on_sigterm":
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        main_thread = threading.main_thread().ident
        assert main_thread is not None
        signal.pthread_kill(main_thread, signum)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_in_process_stops_on_signal(
    capsys: pytest.CaptureFixture[str], stop_signal: int
) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    before = set(threading.enumerate())
    helper = _signal_when_serving(stop_signal)
    assert main(["serve", "--port", "0", "--api-key", "k", "--with-demo-agents"]) == 0
    helper.join(5)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("AI Spine local server listening on http://127.0.0.1:")
    assert out[1] == "API key required: Authorization: Bearer <key>"
    assert out[-1] == "Stopped."
    assert signal.getsignal(signal.SIGTERM) is previous
    assert [t for t in threading.enumerate() if t not in before and not t.daemon] == []


@pytest.fixture
def serve_process() -> Iterator["subprocess.Popen[str]"]:
    # The child imports the same ai_spine as this test run (installed or source tree).
    env: Dict[str, str] = dict(os.environ)
    package_parent = str(Path(ai_spine.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + env.get("PYTHONPATH", "").split(os.pathsep)
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ai_spine.cli", "serve", "--port", "0", "--with-demo-agents", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _read_banner(process: "subprocess.Popen[str]") -> List[str]:
    assert process.stdout is not None
    lines: List[str] = []
    deadline = time.monotonic() + 15
    while not lines or lines[-1] != "Press Ctrl-C to stop.":
        assert time.monotonic() < deadline, "no banner; got %r" % lines
        line = process.stdout.readline()
        assert line, "the server exited early: %r" % lines
        lines.append(line.strip())
    return lines


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_until_interrupted(
    serve_process: "subprocess.Popen[str]", stop_signal: int
) -> None:
    lines = _read_banner(serve_process)
    url = lines[0].rsplit(" ", 1)[1]
    assert lines[0] == "AI Spine local server listening on " + url
    assert url.startswith("http://127.0.0.1:")
    assert lines[1].startswith("Demo agents at http://127.0.0.1:")
    assert lines[2] == "Demo flow id: demo_credit_check"
    with requests.Session() as http:
        assert http.get(url + "/health").json()["status"] == "healthy"
        assert http.get(url + "/api/v1/flows/demo_credit_check").status_code == 200
    serve_process.send_signal(stop_signal)
    out, err = serve_process.communicate(timeout=10)
    assert serve_process.returncode == 0, err
    assert out.strip().endswith("Stopped.")
    assert "Traceback" not in err
    assert '"GET /health HTTP/1.1" 200' in err, "-v logs every request"


def test_demo_runs_the_flow_end_to_end_through_the_sdk(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "1. Server http://127.0.0.1:" in out and "is healthy" in out
    assert "2. Registered agents: demo_sentiment, demo_credit_score, demo_echo" in out
    assert "3. Created flow 'demo_credit_check': sentiment -> credit" in out
    assert "   ... completed after " in out
    assert "5. Result: APPROVE (credit score 829)" in out
    assert "   node sentiment  completed" in out and "   node credit     completed" in out


def test_demo_takes_the_applicant_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["demo", "--income", "20000", "--debt", "30000", "--text", "missed payments"]
    assert main(argv) == 0
    assert "5. Result: DECLINE (credit score 300)" in capsys.readouterr().out


def test_demo_refuses_a_bad_applicant_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--income", "-5"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "ai-spine demo: error: argument --income: must be 0 or more, got '-5' "
        "(see 'ai-spine demo --help')\n"
    )


def test_demo_reports_a_failed_execution_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine.testing import _agents

    # Every demo agent fails: the execution fails at its first node.
    monkeypatch.setattr(_agents, "run_agent", lambda name, path, payload: (500, {"detail": "x"}))
    assert main(["demo"]) == 3
    captured = capsys.readouterr()
    assert "5. Result" not in captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert lines[0].startswith("ai-spine: error: demo failed: Execution ")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--port", "99999"], "argument --port: must be a port number from 0 to 65535"),
        (["--port", "-1"], "argument --port: must be a port number from 0 to 65535"),
        (["--port", "http"], "argument --port: must be a port number from 0 to 65535"),
        (["--agent-timeout", "-5"], "argument --agent-timeout: must be a positive number"),
        (["--agent-timeout", "0"], "argument --agent-timeout: must be a positive number"),
        (["--agent-timeout", "nan"], "argument --agent-timeout: must be a number"),
        (["--api-key", "a b"], "argument --api-key: the API key must be a non-empty string"),
        (["--api-key", ""], "argument --api-key: the API key must be a non-empty string"),
    ],
)
def test_serve_says_what_is_wrong_with_an_option(
    capsys: pytest.CaptureFixture[str], argv: List[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve"] + argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("ai-spine serve: error: " + message), err
    assert "a b" not in err, "the key is never echoed"


def test_python_dash_m_ai_spine_is_the_command_line() -> None:
    from ._cli_support import run_subprocess

    outcome = run_subprocess(["--version"])
    assert (outcome.status, outcome.out) == (0, "ai-spine {}\n".format(ai_spine.__version__))
    outcome = run_subprocess(["serve", "--port", "99999"])
    assert outcome.status == 2 and "Traceback" not in outcome.err
    assert "argument --port: must be a port number" in outcome.err


@pytest.mark.parametrize(
    "argv, path",
    [
        ([], ()),
        (["--version"], ()),
        (["health"], ("health",)),
        (
            ["--base-url", "http://127.0.0.1:1", "--format", "json", "flows", "get", "x"],
            ("flows", "get"),
        ),
        (
            ["--base=http://127.0.0.1:1", "--debug", "executions", "list", "--limit", "2"],
            ("executions", "list"),
        ),
        (["--bas", "health", "status"], ("status",)),  # a unique prefix takes its value
        (["--api-key", "k", "run", "f", "--input", "{}"], ("run",)),
        (["agents", "--help"], ("agents",)),
        (["nope", "list"], ("nope",)),
    ],
)
def test_the_command_path_is_read_as_argparse_reads_it(
    argv: List[str], path: Tuple[str, ...]
) -> None:
    from ai_spine._cli_parser import command_path

    assert command_path(argv) == path


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "json", "flows", "get", "f1"],
        ["--base-url", "http://127.0.0.1:1", "executions", "list", "--status", "failed"],
        ["run", "f", "--input", "{}", "--wait", "--timeout", "3"],
        ["serve", "--port", "0", "--with-demo-agents"],
    ],
)
def test_the_parser_built_for_one_command_parses_as_the_full_one(argv: List[str]) -> None:
    from ai_spine._cli_parser import parse

    assert vars(parse(argv)) == vars(build_parser().parse_args(argv))


def test_a_misread_command_falls_back_to_the_full_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ai_spine import _cli_parser

    monkeypatch.setattr(_cli_parser, "command_path", lambda argv: ("demo",))
    args = _cli_parser.parse(["serve", "--port", "0"])
    assert (args.command, args.port) == ("serve", 0)


@pytest.mark.parametrize("module", ["ai_spine", "ai_spine.cli"])
def test_python_m_reports_a_usage_error_as_the_console_script_does(module: str) -> None:
    # `python -m ai_spine.cli` runs cli.py as __main__: its commands must still raise the
    # UsageError that main() catches, not a second copy's.
    from ._cli_support import run_child

    done = run_child(
        [sys.executable, "-m", module, "--base-url", "http://127.0.0.1:9"]
        + ["run", "flow-1", "--input", "{bad"]
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("ai-spine run: error: --input: invalid JSON"), done.stderr
