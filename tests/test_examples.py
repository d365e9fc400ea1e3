"""Every example runs as a user would run it, against the local server, so none can rot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_SPINE_")}
    finished = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    output = finished.stdout.decode("utf-8", "replace")
    assert finished.returncode == 0, output
    assert "using a local AI Spine at http://127.0.0.1:" in output
    return output


def test_basic_usage() -> None:
    output = run_example("basic_usage.py")
    assert "Server: healthy" in output
    assert "Flow 'demo_credit_check': Demo credit check (sentiment -> credit)" in output
    assert "  status: completed" in output
    assert "Output: {'credit': {'credit_score':" in output
    assert "  node sentiment: completed" in output and "  node credit: completed" in output


def test_error_handling() -> None:
    output = run_example("error_handling.py")
    assert "ValidationError: input_data must be a dict" in output
    assert "NotFoundError: Flow 'no_such_flow' not found" in output
    assert "ExecutionError: status=failed id=" in output
    assert "TimeoutError: last status running" in output
    assert "NotFoundError: HTTP 404 Agent 'no_such_agent' not found" in output


def test_async_execution() -> None:
    output = run_example("async_execution.py")
    assert output.count("asyncio: completed") == 4
    for number in range(1, 5):  # each reports its progress; a fast one may only show the end
        assert "bounded #{}: completed".format(number) in output
    assert "all at once: 4 executions" in output and "two at a time: 4 executions" in output


def test_batch_processing() -> None:
    output = run_example("batch_processing.py")
    assert "Ada  approve" in output and "Bob  decline" in output
    assert "Dee  FAILED ExecutionError" in output
    assert output.strip().endswith("4 scored, 1 failed")


@pytest.mark.parametrize("name", ["basic_usage.py", "error_handling.py"])
def test_examples_are_documented(name: str) -> None:
    text = (EXAMPLES / name).read_text("utf-8")
    assert text.startswith('"""') and "Run: python examples/" + name in text
