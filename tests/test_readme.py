"""Every Python snippet of README.md and of the guides in docs/ runs, as a reader would run it.

Each ```python block is written to a file and run by a fresh interpreter, against a fresh
``LocalAISpine`` with the demo agents (so no snippet reaches the network). The snippets that
talk to ``ai-spine serve --with-demo-agents`` name its default address,
``http://127.0.0.1:8000``; the test swaps in the address of the server it started, since that
port may be taken on a shared machine. A comment line just before a block changes how it runs:

- ``<!-- snippet-test: pytest -->``: the block is a test module; pytest runs it, with the
  SDK's plugin.
- ``<!-- snippet-test: skip: WHY -->``: the block cannot run here (it needs the production
  API, say); it is only compiled, and WHY must say why.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import pytest

import ai_spine
from ai_spine.testing import LocalAISpine

ROOT = Path(__file__).resolve().parents[1]
# The package under test: the source tree, or the installed wheel in CI's matrix.
PACKAGE_PARENT = str(Path(ai_spine.__file__).resolve().parent.parent)
SERVE_URL = "http://127.0.0.1:8000"
MARKER = re.compile(r"^<!--\s*snippet-test:\s*(pytest|skip:\s*(?P<why>.+?))\s*-->$")
SNIPPET_TIMEOUT = 180


class Snippet(NamedTuple):
    source: str  # "README.md:42"
    code: str
    mode: str  # "run", "pytest" or "skip"
    why: Optional[str]


def _documents() -> List[Path]:
    docs = ROOT / "docs"
    return [ROOT / "README.md"] + (sorted(docs.rglob("*.md")) if docs.is_dir() else [])


def _snippets(path: Path) -> List[Snippet]:
    found: List[Snippet] = []
    lines = path.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```python":
            i += 1
            continue
        start = i + 1
        end = start
        while lines[end].strip() != "```":
            end += 1
        before = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        match = MARKER.match(before)
        mode = "run" if match is None else match.group(1).split(":")[0]
        why = match.group("why") if match else None
        indent = len(lines[start]) - len(lines[start].lstrip()) if start < end else 0
        code = "\n".join(line[indent:] for line in lines[start:end]) + "\n"
        name = "{}:{}".format(path.relative_to(ROOT).as_posix(), start + 1)
        found.append(Snippet(name, code, mode, why))
        i = end + 1
    return found


SNIPPETS = [snippet for path in _documents() for snippet in _snippets(path)]


def test_the_readme_has_snippets_and_its_quick_start_uses_the_local_demo_flow() -> None:
    readme = [s for s in SNIPPETS if s.source.startswith("README.md:")]
    assert len(readme) >= 8
    assert SERVE_URL in readme[0].code and "demo_credit_check" in readme[0].code
    for snippet in SNIPPETS:
        assert snippet.mode != "skip" or (snippet.why and len(snippet.why) > 10), snippet.source


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_SPINE_")}
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    return env


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.source for s in SNIPPETS])
def test_snippet_runs(snippet: Snippet, tmp_path: Path) -> None:
    if snippet.mode == "skip":
        compile(snippet.code, snippet.source, "exec")  # at least it is Python
        return
    with LocalAISpine(with_demo_agents=True) as server:
        code = snippet.code.replace(SERVE_URL, server.url)
        if snippet.mode == "pytest":
            script = tmp_path / "test_snippet.py"
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            command += ["-p", "ai_spine.testing.pytest_plugin", "-W", "error", str(script)]
        else:
            script = tmp_path / "snippet.py"
            command = [sys.executable, "-W", "error::ResourceWarning", str(script)]
        script.write_text(code, "utf-8")
        done = subprocess.run(
            command,
            cwd=str(tmp_path),
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=SNIPPET_TIMEOUT,
        )
    output = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, "{} failed:\n{}\n--- output ---\n{}".format(
        snippet.source, code, output
    )
