"""Start-up time of the ``ai-spine`` command line, side by side with ``python -c pass``.

Issue 10 asks that commands which do not call the API start fast: ``ai-spine --version`` and
``ai-spine --help`` should cost at most about twice an empty interpreter. This prints, for
each command, the median wall time of fresh processes and its ratio to ``python -c pass``
measured the same way, so the figure is independent of how fast this machine is. It also
lists any module of the HTTP stack the command imported (there should be none).

It runs the ``ai-spine`` console script as pip writes it, from a neutral working directory:
the launcher of pip 25.2 and newer (``import sys; from ai_spine.cli import main;
sys.exit(main())``, as uv's) for the headline figures, and the one older pips write, whose
``import re`` alone costs about half of ``python -c pass`` on Python 3.12, for context. By
default the interpreter is a clean virtual environment made for the run (nothing in its
site-packages): a
development environment is no baseline, since an editable install's ``.pth`` hook alone
doubles ``python -c pass`` there and imports ``re`` and ``pathlib`` before any command runs.
``--python`` measures another interpreter instead; ``--source`` puts a source tree first on
``PYTHONPATH`` (the commands measured need none of the package's dependencies). Byte code
is cached in a temporary directory and warmed up first, as an installed package has its
``.pyc`` files (so a ``PYTHONDONTWRITEBYTECODE`` environment does not count compiling as
start-up). The processes of all commands are interleaved, round after round, so that a
burst of load on a shared machine falls on every command alike. Stdlib only, Python 3.7+
(the byte-code cache directory needs 3.8; on 3.7 the usual ``__pycache__`` is used).
Informational: no threshold, exit status 0 unless a command fails to run.

Usage::

    python benchmarks/cli_startup.py [--runs 20] [--python PATH] [--source DIR] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Sequence

DEFAULT_RUNS = 20
COMMANDS = (
    ["--version"],
    ["--help"],
    ["run", "--help"],
    ["executions", "get", "not-a-uuid"],
)
HEAVY = ("requests", "urllib3", "ai_spine.client", "aiohttp")
LAUNCHER = """import sys
from ai_spine.cli import main
if __name__ == '__main__':
    if sys.argv[0].endswith('.exe'):
        sys.argv[0] = sys.argv[0][:-4]
    sys.exit(main())
"""
"""What uv writes as ``bin/ai-spine``; pip 25.2 and newer write the same with
``str.removesuffix`` (Python 3.9+), so this one runs on 3.7 and 3.8 too."""
LEGACY_LAUNCHER = """import re
import sys
from ai_spine.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""
"""What older pips write (the newest pip for Python 3.7 and 3.8 among them)."""


def clean_python(where: str) -> str:
    """A virtual environment with nothing installed, made in ``where``; its interpreter."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", where], check=True, stdout=subprocess.PIPE
    )
    name = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return os.path.join(where, name)


def _env(source: str, cache: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache
    if source:
        env["PYTHONPATH"] = os.pathsep.join(
            [source] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
    return env


def median_seconds(
    commands: Sequence[Sequence[str]], runs: int, env: Dict[str, str], cwd: str
) -> List[float]:
    """Median wall time of ``runs`` fresh processes of each command, run interleaved (after
    one warm-up round, which writes the byte code)."""
    times: List[List[float]] = [[] for _ in commands]
    for index in range(runs + 1):
        for argv, seconds in zip(commands, times):
            began = time.perf_counter()
            subprocess.run(
                list(argv),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                check=False,
            )
            if index:
                seconds.append(time.perf_counter() - began)
    return [statistics.median(seconds) for seconds in times]


def heavy_imports(argv: Sequence[str], env: Dict[str, str], cwd: str) -> List[str]:
    """The modules of :data:`HEAVY` that ``argv`` imports (from ``-X importtime``)."""
    done = subprocess.run(
        [argv[0], "-X", "importtime"] + list(argv[1:]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        universal_newlines=True,
        check=False,
    )
    found = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            found.add(line.rsplit("|", 1)[1].strip())
    return [name for name in HEAVY if name in found]


def main(argv: Sequence[str] = ()) -> int:
    """Measure and print the table. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="processes per command")
    parser.add_argument("--python", default="", help="interpreter to measure (else a clean venv)")
    parser.add_argument("--source", default="", help="a source tree to put on PYTHONPATH")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(list(argv) or None)
    figures: Dict[str, Any] = {"runs": args.runs, "commands": {}}
    source = os.path.abspath(args.source) if args.source else ""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as cwd:
        env = _env(source, cache)
        python = args.python or clean_python(os.path.join(cache, "venv"))
        script = os.path.join(cache, "ai-spine")
        legacy = os.path.join(cache, "ai-spine-legacy")
        for path, text in ((script, LAUNCHER), (legacy, LEGACY_LAUNCHER)):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        figures["python"] = "clean venv" if not args.python else args.python
        version = subprocess.run(
            [python, script, "--version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            universal_newlines=True,
            check=False,
        )
        if version.returncode != 0:
            print("cannot run ai_spine:", version.stderr.strip(), file=sys.stderr)
            return 2
        measured = [[python, "-c", "pass"]]
        for command in COMMANDS:
            measured.append([python, script] + list(command))
            measured.append([python, legacy] + list(command))
        medians = median_seconds(measured, args.runs, env, cwd)
        base = medians[0]
        print(
            "{} with {} ({}); median of {} runs, interleaved".format(
                version.stdout.strip(), python, figures["python"], args.runs
            )
        )
        print(
            "{:<38} {:>8} {:>7}  {:>10} {:>7}  {}".format(
                "command", "ms", "ratio", "legacy ms", "ratio", "HTTP stack imported"
            )
        )
        print("{:<38} {:>8.1f} {:>7.2f}".format("python -c pass", base * 1000, 1.0))
        figures["python_c_pass_ms"] = round(base * 1000, 2)
        for index, command in enumerate(COMMANDS):
            seconds, old = medians[1 + 2 * index], medians[2 + 2 * index]
            name = "ai-spine " + " ".join(command)
            heavy = ", ".join(heavy_imports([python, script] + list(command), env, cwd))
            figures["commands"][name] = {
                "ms": round(seconds * 1000, 2),
                "ratio": round(seconds / base, 2),
                "legacy_launcher_ms": round(old * 1000, 2),
                "legacy_launcher_ratio": round(old / base, 2),
                "heavy": heavy or "none",
            }
            print(
                "{:<38} {:>8.1f} {:>7.2f}  {:>10.1f} {:>7.2f}  {}".format(
                    name, seconds * 1000, seconds / base, old * 1000, old / base, heavy or "none"
                )
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
