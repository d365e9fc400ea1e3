"""The pytest plugin as a user gets it: build the wheel, install it into a fresh virtual
environment, and run ``examples/pytest_plugin`` (a suite written only with the plugin's
fixtures, no conftest) there. It proves the ``pytest11`` entry point and the packaging.

The wheel is built by pip as a user's build would (``pip wheel``, build isolation: the
setuptools of ``pyproject.toml`` come from pip's cache or the index, the one step that may
use the network) and installed by the new environment's own pip, offline (``--no-index
--no-deps``). Its dependencies (requests, python-dateutil, pytest and, when present, aiohttp,
with what they need) are not downloaded: the new environment sees this environment's copies
through a ``.pth`` file listing only those distributions, so the run needs no network and
no copy of this checkout is importable there. Skipped, with the reason, when a virtual
environment cannot be created here (no ``venv``/``ensurepip``) or the wheel cannot be built.
"""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any, Dict, Iterable, List, Set

import pytest

if sys.version_info >= (3, 8):
    from importlib import metadata
else:  # pragma: no cover - Python 3.7
    metadata: Any = pytest.importorskip("importlib_metadata", reason="needs importlib_metadata")

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "examples" / "pytest_plugin"
# Distributions the suite needs besides the wheel, and what they need in turn.
NEEDED = ["requests", "python-dateutil", "pytest", "aiohttp"]
SKIP_DIRS = {".git", ".venv", "build", "dist", ".mypy_cache", ".pytest_cache", "__pycache__"}


def _requirements(names: Iterable[str]) -> List[metadata.Distribution]:
    """The installed distributions ``names`` and their runtime requirements, recursively."""
    from packaging.requirements import Requirement

    found: List[metadata.Distribution] = []
    seen: Set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # optional (aiohttp) or not needed on this Python
        found.append(dist)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def _top_level(dist: metadata.Distribution) -> Set[Path]:
    """The entries of site-packages a distribution owns (packages, modules, its metadata)."""
    base = Path(str(dist.locate_file("")))
    owned: Set[Path] = set()
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if parts and parts[0] not in ("..", "__pycache__") and not parts[0].endswith(".pth"):
            owned.add(base / parts[0])
    return {path for path in owned if path.exists()}


def _copy_project(target: Path) -> None:
    def ignore(directory: str, names: List[str]) -> Set[str]:
        return {n for n in names if n in SKIP_DIRS or n.endswith((".egg-info", ".pyc"))}

    shutil.copytree(str(ROOT), str(target), ignore=ignore)


def _run(args: List[str], cwd: Path, env: Dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120
    )
    output = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, "%s failed:\n%s" % (" ".join(args), output)
    return output


def test_a_suite_using_only_the_plugin_runs_from_the_installed_wheel(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AI_SPINE"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"

    # 1. The wheel, built from a copy so the checkout gets no build/ or egg-info. pip builds
    # it in isolation, with the setuptools pyproject.toml asks for (from pip's cache or the
    # index: the one step that may need the network).
    project, wheels = tmp_path / "project", tmp_path / "wheels"
    _copy_project(project)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(project)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
    )  # fmt: skip
    if build.returncode != 0:
        pytest.skip("cannot build the wheel here: " + build.stdout.decode()[-500:])
    (wheel,) = wheels.glob("ai_spine_sdk-*.whl")

    # 2. A fresh virtual environment with its own pip.
    home = tmp_path / "venv"
    try:
        venv.EnvBuilder(with_pip=True, symlinks=(os.name != "nt")).create(str(home))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip("cannot create a virtual environment with pip here: %s" % exc)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
             tmp_path, env).strip()
    )  # fmt: skip

    # 3. The dependencies, seen through a .pth file (offline), then the wheel, by pip.
    deps = tmp_path / "deps"
    deps.mkdir()
    for dist in _requirements(NEEDED):
        for entry in _top_level(dist):
            link = deps / entry.name
            if not link.exists():
                link.symlink_to(entry, target_is_directory=entry.is_dir())
    (site / "zz_borrowed_dependencies.pth").write_text(str(deps) + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
         tmp_path, env)  # fmt: skip

    # 4. The user's suite, in a folder of its own: no conftest, no -p option.
    suite = tmp_path / "suite"
    shutil.copytree(str(SUITE), str(suite))
    where = _run([str(python), "-c", "import ai_spine; print(ai_spine.__file__)"], suite, env)
    assert str(site) in where, "the suite must import the installed wheel, not " + where
    output = _run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"], suite, env)
    summary = output.strip().splitlines()[-1]
    with_aiohttp = any(d.metadata["Name"].lower() == "aiohttp" for d in _requirements(NEEDED))
    expected = "6 passed" if with_aiohttp else "5 passed, 1 skipped"
    assert summary.startswith(expected + " in "), output

    # 5. A suite that also lists the plugin in pytest_plugins (as this repository's own
    # tests/conftest.py does) does not register it twice.
    (suite / "conftest.py").write_text('pytest_plugins = ["ai_spine.testing.pytest_plugin"]\n')
    output = _run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q"], suite, env)
    assert output.strip().splitlines()[-1].startswith(expected + " in "), output
