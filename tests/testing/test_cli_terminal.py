"""The ``ai-spine`` command line on a terminal, under Ctrl-C, and at start-up (issue 10).

- In a pseudo-terminal, ``run --wait`` redraws its status line on stderr (status, elapsed
  time, node progress) at least once a second, then prints a table.
- Ctrl-C (SIGINT) during a wait exits 130, says how to resume, and cancels nothing.
- Commands that do not call the API never import requests or the client.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

from ._cli_support import child_env, command, modules_imported_by, run_in_process

try:
    import pty
except ImportError:  # pragma: no cover - Windows
    pty = None  # type: ignore[assignment]

needs_pty = pytest.mark.skipif(
    pty is None or sys.platform == "win32", reason="pseudo-terminals (the pty module) need POSIX"
)
needs_signals = pytest.mark.skipif(
    sys.platform == "win32", reason="sending SIGINT to a process needs POSIX signals"
)

STATUS_LINE = re.compile(
    r"Waiting for (?P<id>[0-9a-f]{8}): (?P<status>\w+), (?P<elapsed>\d+\.\d) s"
    r"(?:, (?P<done>\d+)(?:/(?P<total>\d+))? nodes done)? \(Ctrl-C stops waiting\)"
)


@pytest.fixture
def demo() -> Iterator[LocalAISpine]:
    with LocalAISpine(with_demo_agents=True, agent_timeout=10.0) as server:
        yield server


def run_in_terminal(argv: List[str], timeout: float = 60.0) -> Tuple[int, str]:
    """Run ``python -m ai_spine argv`` with stdin, stdout and stderr on a pseudo-terminal.

    Returns:
        The exit status and everything written to the terminal.
    """
    assert pty is not None
    import select

    master, slave = pty.openpty()
    process = subprocess.Popen(
        command(*argv), stdin=slave, stdout=slave, stderr=slave, env=child_env()
    )
    os.close(slave)
    chunks: List[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        status = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


@needs_pty
def test_run_wait_in_a_terminal_updates_its_status_line_every_second(
    demo: LocalAISpine,
) -> None:
    # Each of the demo flow's two nodes sleeps 1.2 s: the execution takes about 2.5 s.
    argv = ["--base-url", demo.url, "run", DEMO_FLOW_ID, "--input"]
    argv += ['{"income": 5, "sleep": 1.2}', "--wait", "--interval", "1"]
    status, screen = run_in_terminal(argv)
    assert status == 0, screen
    drawn = [part for part in screen.split("\r") if part.startswith("Waiting for")]
    updates = [STATUS_LINE.match(part) for part in drawn]
    assert all(updates), drawn
    elapsed = [float(m.group("elapsed")) for m in updates if m]
    distinct = sorted(set(elapsed))
    assert elapsed == sorted(elapsed), "the elapsed time only moves forward"
    # At least one update per second over the whole wait, and a wait of over 2 s.
    assert distinct[-1] >= 2.0, drawn
    assert len(distinct) >= distinct[-1] + 1, drawn
    statuses = [m.group("status") for m in updates if m]
    assert "running" in statuses
    assert any(m.group("total") == "2" for m in updates if m), "node progress: N/2 nodes done"
    # The line is erased before the result, which is a table on a terminal.
    result = screen.rsplit("\r\x1b[K", 1)[1]
    assert "Waiting for" not in result
    assert re.search(r"^status +completed\r?$", result, re.M), result
    assert re.search(r"^flow_id +demo_credit_check\r?$", result, re.M), result


@needs_pty
def test_debug_logs_instead_of_drawing_the_status_line(demo: LocalAISpine) -> None:
    argv = ["--base-url", demo.url, "--debug", "run", DEMO_FLOW_ID, "--input"]
    status, screen = run_in_terminal(argv + ['{"income": 5, "sleep": 0.5}', "--wait"])
    assert status == 0, screen
    assert "Waiting for" not in screen
    assert "GET {}/api/v1/executions/".format(demo.url) in screen


@needs_pty
def test_a_terminal_gets_tables_unless_json_is_asked_for(demo: LocalAISpine) -> None:
    status, screen = run_in_terminal(["--base-url", demo.url, "agents", "list"])
    assert status == 0
    assert screen.splitlines()[0].split() == ["AGENT_ID", "NAME", "TYPE", "ACTIVE", "ENDPOINT"]
    status, screen = run_in_terminal(["--base-url", demo.url, "--format", "json", "agents", "list"])
    assert status == 0
    assert [a["agent_id"] for a in json.loads(screen)][0] == "demo_sentiment"


@needs_pty
def test_run_without_wait_on_a_terminal_says_how_to_wait(demo: LocalAISpine) -> None:
    status, screen = run_in_terminal(
        ["--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", '{"income": 5}']
    )
    assert status == 0
    match = re.search(r"Wait for it with: ai-spine executions wait ([0-9a-f-]{36})", screen)
    assert match, screen
    assert demo.wait_for_execution(match.group(1))["status"] == "completed"


def _slow_execution(server: LocalAISpine, seconds: float = 3.0) -> str:
    import requests

    with requests.Session() as http:
        answer = http.post(
            server.url + "/api/v1/flows/execute",
            json={"flow_id": DEMO_FLOW_ID, "input_data": {"income": 5, "sleep": seconds}},
        )
    execution_id: str = answer.json()["execution_id"]
    server.wait_for_execution(execution_id, statuses=["running"])
    return execution_id


def _polled(server: LocalAISpine, execution_id: str, timeout: float = 15.0) -> None:
    """Return once the command line has polled the execution (its wait has begun)."""
    deadline = time.monotonic() + timeout
    path = "/api/v1/executions/" + execution_id
    while not server.requests_to("GET", path):
        assert time.monotonic() < deadline, "the command never polled the execution"
        time.sleep(0.02)


def _assert_not_cancelled(server: LocalAISpine, execution_id: str) -> None:
    assert server.requests_to("POST", "/api/v1/executions/*/cancel") == []
    finished: Dict[str, Any] = server.wait_for_execution(execution_id)
    assert finished["status"] == "completed", finished


@needs_signals
def test_ctrl_c_during_a_wait_exits_130_says_how_to_resume_and_cancels_nothing(
    demo: LocalAISpine,
) -> None:
    execution_id = _slow_execution(demo)
    process = subprocess.Popen(
        command("--base-url", demo.url, "executions", "wait", execution_id),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        universal_newlines=True,
    )
    try:
        _polled(demo, execution_id)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert out == ""
    assert err.splitlines() == [
        "ai-spine: stopped waiting; execution {0} was not cancelled and goes on. "
        "Resume with: ai-spine executions wait {0}".format(execution_id)
    ]
    _assert_not_cancelled(demo, execution_id)


@needs_signals
def test_ctrl_c_during_run_wait_in_process_returns_130(
    demo: LocalAISpine,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    main_thread = threading.main_thread().ident
    assert main_thread is not None
    seen: List[str] = []

    def interrupt_once_polled() -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            polls = demo.requests_to("GET", "/api/v1/executions/*")
            if polls:
                seen.append(polls[0].path.rsplit("/", 1)[1])
                signal.pthread_kill(main_thread, signal.SIGINT)
                return
            time.sleep(0.02)

    helper = threading.Thread(target=interrupt_once_polled, daemon=True)
    helper.start()
    argv = ["--base-url", demo.url, "run", DEMO_FLOW_ID, "--input", '{"income": 5, "sleep": 2}']
    outcome = run_in_process(capsys, monkeypatch, argv + ["--wait"])
    helper.join(5)
    assert outcome.status == 130, outcome
    assert seen, "the helper never saw a poll"
    assert "Resume with: ai-spine executions wait {}".format(seen[0]) in outcome.err
    _assert_not_cancelled(demo, seen[0])


# --- Start-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["run", "--help"],
        ["executions", "get", "not-a-uuid"],
        ["serve", "--port", "99999"],
    ],
)
def test_commands_that_do_not_call_the_api_never_import_the_http_stack(argv: List[str]) -> None:
    imported = modules_imported_by(argv)
    for heavy in ("requests", "urllib3", "ai_spine.client", "ai_spine.exceptions", "aiohttp"):
        assert heavy not in imported, "{} imported {}".format(argv, heavy)
