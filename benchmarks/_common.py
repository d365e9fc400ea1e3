"""What the benchmarks share: the project root, the benchmark's own virtual environment (the
2.3.1 SDK from PyPI and httpx, never project dependencies), tables and JSON. Stdlib only."""

import json
import os
import subprocess
import sys
from typing import IO, Any, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SLEEP_FLOW_ID = "bench_sleep"
SLEEP_FLOW = {
    "flow_id": SLEEP_FLOW_ID,
    "name": "Sleep",
    "description": "One demo echo node; {'sleep': s} makes it answer after s seconds",
    "nodes": [{"id": "a", "agent_id": "demo_echo", "type": "input"}],
    "entry_point": "a",
    "exit_points": ["a"],
}
"""The cheapest execution there is, lasting as long as its input's ``sleep`` (0 by default)."""
BASELINE = "ai-spine-sdk==2.3.1"
PEERS = (BASELINE, "httpx")


def venv_dir() -> str:
    """Where the benchmark's own environment lives (outside the repository)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    tag = "py{}.{}".format(*sys.version_info[:2])
    return os.environ.get("AI_SPINE_BENCH_VENV") or os.path.join(
        cache, "ai-spine-benchmarks", "peers-" + tag
    )


def peer_python(log: bool = True) -> Optional[str]:
    """The python of a virtual environment holding the 2.3.1 SDK and httpx; made on first use.

    Returns None (and says why) when it cannot be made, e.g. without access to PyPI: the
    rows that need it are then left out, never faked.
    """
    where = venv_dir()
    python = os.path.join(where, "bin", "python")
    marker = os.path.join(where, "peers.json")
    try:
        with open(marker, encoding="utf-8") as f:
            if json.load(f) == list(PEERS):
                return python
    except (OSError, ValueError):
        pass
    if log:
        print("benchmarks: installing {} into {} ...".format(" and ".join(PEERS), where))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", where], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + list(PEERS),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        print("benchmarks: cannot install the peers ({}); their rows are left out".format(error))
        return None
    with open(marker, "w", encoding="utf-8") as f:
        json.dump(list(PEERS), f)
    return python


def source_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for a child that must import this project's ``ai_spine`` source."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.update(extra or {})
    return env


def peer_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for a child of the peers' venv: our source must not shadow 2.3.1."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra or {})
    return env


def table(headers: Sequence[str], rows: List[Sequence[Any]]) -> str:
    """A plain text table, first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        line = "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)
        )
        lines.append(line.rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "{:.2f}".format(value)
    return "-" if value is None else str(value)


def write_json(path: Optional[str], result: Dict[str, Any]) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


SERVERS = ("canned", "local")
SERVER_HELP = (
    "canned (default): the local server's answers replayed from memory, so the figures are the "
    "clients' own cost; local: LocalAISpine itself, whose ~300 us an answer all clients share"
)


class Server:
    """A server for the benchmarks in a child process: ``_canned.py`` (``kind="canned"``) or
    ``_server.py`` (``"local"``), each printing ``URL EXECUTION_ID`` and counting the TCP
    connections it accepted."""

    def __init__(self, kind: str = "canned") -> None:
        script = {"canned": "_canned.py", "local": "_server.py"}[kind]
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            universal_newlines=True,
            env=source_env(),
        )
        self.url, self.execution_id = self._stdout.readline().split()

    @property
    def _stdout(self) -> "IO[str]":
        assert self.process.stdout is not None
        return self.process.stdout

    @property
    def connections_accepted(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write("accepted\n")
        self.process.stdin.flush()
        return int(self._stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)
