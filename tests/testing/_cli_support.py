"""Helpers for the ``ai-spine`` command line tests: run it in-process or as a subprocess.

The subprocess imports the same ``ai_spine`` as the test run (the source tree, or the wheel
CI installed), by putting that package's parent first on ``PYTHONPATH``; it never relies on
an ``ai-spine`` script on ``PATH``.
"""

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Set

import pytest

import ai_spine
from ai_spine.cli import main

PACKAGE_PARENT = str(Path(ai_spine.__file__).resolve().parents[1])


class Outcome(NamedTuple):
    """What one run of the command line did."""

    status: int
    out: str
    err: str


def child_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of a child ``python -m ai_spine``: this test run's package, no
    ``AI_SPINE_*`` settings from the outside, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.update(extra or {})
    return env


def command(*argv: str) -> List[str]:
    """The command line of a child running ``ai-spine argv...``."""
    return [sys.executable, "-m", "ai_spine"] + list(argv)


def run_child(
    args: Sequence[str], stdin: str = "", env: Optional[Dict[str, str]] = None
) -> "subprocess.CompletedProcess[str]":
    """Run ``args`` (a Python command line) with pipes, in :func:`child_env` plus ``env``."""
    return subprocess.run(
        list(args),
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(env),
        universal_newlines=True,
        timeout=60,
        check=False,
    )


def run_subprocess(
    argv: Sequence[str], stdin: str = "", env: Optional[Dict[str, str]] = None
) -> Outcome:
    """Run ``python -m ai_spine argv`` with pipes (so stdout is not a terminal)."""
    done = run_child(command(*argv), stdin, env)
    return Outcome(done.returncode, done.stdout, done.stderr)


def modules_imported_by(argv: Sequence[str]) -> Set[str]:
    """The modules a child ``python -m ai_spine argv`` imports, from ``-X importtime``.

    The command may succeed or fail on usage (exit 0 or 2); anything else fails the test.
    """
    done = run_child([sys.executable, "-X", "importtime"] + command(*argv)[1:])
    assert done.returncode in (0, 2), done.stderr
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "ai_spine.cli" in imported
    return imported


def run_in_process(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: Sequence[str],
    stdin: str = "",
    env: Optional[Dict[str, str]] = None,
) -> Outcome:
    """Run ``cli.main(argv)`` in this process, capturing stdout and stderr."""
    for name in list(os.environ):
        if name.startswith("AI_SPINE_"):
            monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    try:
        status = main(list(argv))
    except SystemExit as exit:  # argparse: usage errors, --help, --version
        status = exit.code if isinstance(exit.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(status, captured.out, captured.err)
