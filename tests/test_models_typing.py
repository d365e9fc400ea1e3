"""What a user's type checker sees: ``mypy --strict`` rejects a misspelt execution status.

Runs mypy on small user scripts that import the SDK as an installed package would be.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Tuple

import pytest

import ai_spine

try:
    import mypy  # noqa: F401
except ImportError:  # requirements-dev.txt installs mypy on Python 3.9+ only
    pytest.skip(
        "mypy is not installed on this Python (requirements-dev.txt pins it for 3.9+)",
        allow_module_level=True,
    )

PACKAGE_ROOT = str(Path(ai_spine.__file__).resolve().parent.parent)

CORRECT = """
    from ai_spine import AISpine, ExecutionError, ExecutionStatus
    from ai_spine.models import ExecutionModel


    def report(client: AISpine, execution_id: str) -> str:
        execution = client.get_execution(execution_id)
        if execution["status"] == "completed":
            return "done"
        if execution["status"] == ExecutionStatus.FAILED:
            return "failed"
        if execution.get("status") in ExecutionStatus.TERMINAL:
            return "over"
        try:
            client.wait_for_execution(execution_id)
        except ExecutionError as error:
            if error.execution is not None and error.execution["status"] != "cancelled":
                return "failed"
        model = ExecutionModel.from_dict(execution)
        if model.status is ExecutionStatus.COMPLETED and model.duration is not None:
            return str(model.duration.total_seconds())
        return str(model.to_dict()["status"])
    """

MISSPELT = """
    from ai_spine import AISpine


    def report(client: AISpine, execution_id: str) -> str:
        execution = client.get_execution(execution_id)
        if execution["status"] == "complete":
            return "done"
        return "not yet"
    """


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(script: str, tmp_path: Path, cache: Path) -> Tuple[int, str]:
    path = tmp_path / "user_script.py"
    path.write_text(textwrap.dedent(script), "utf-8")
    env: Any = dict(os.environ)
    env.pop("MYPYPATH", None)
    if Path(PACKAGE_ROOT).name not in ("site-packages", "dist-packages"):
        # A source tree or an editable install, which mypy cannot find by itself; an installed
        # wheel (py.typed) it finds, and it refuses site-packages in MYPYPATH.
        env["MYPYPATH"] = PACKAGE_ROOT
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--config-file",
            os.devnull,
            "--cache-dir",
            str(cache),
            str(path),
        ],
        cwd=str(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300,
    )
    return finished.returncode, finished.stdout.decode("utf-8", "replace")


def test_mypy_accepts_status_comparisons_that_can_be_true(tmp_path: Path, mypy_cache: Path) -> None:
    code, output = run_mypy(CORRECT, tmp_path, mypy_cache)
    assert code == 0, output


def test_mypy_rejects_a_misspelt_status(tmp_path: Path, mypy_cache: Path) -> None:
    code, output = run_mypy(MISSPELT, tmp_path, mypy_cache)
    assert code == 1, output
    assert "user_script.py:7: error: Non-overlapping equality check" in output, output
    assert "\"Literal['complete']\"" in output and "[comparison-overlap]" in output, output
