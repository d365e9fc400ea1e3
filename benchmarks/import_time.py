"""Import cost of ``ai_spine``, measured against its unavoidable floor, ``requests``.

Budget: ``import ai_spine`` may cost at most 1.5x ``import requests`` (median of the
cumulative ``-X importtime`` figure of the top-level module over fresh interpreters). The SDK
needs requests anyway, so the ratio shows what the SDK itself adds, independent of how fast
this machine is: there is deliberately no threshold in absolute milliseconds.

It also checks that ``import ai_spine`` stays lean: it must not import ``ai_spine.testing``
(the local test server), ``ai_spine.cli`` (the console script), ``ai_spine.async_client`` or
aiohttp (the async client), or ``ai_spine._objects`` (the dataclass models); each loads only
when used.

It measures the ``ai_spine`` that the given interpreter imports from a neutral working
directory, i.e. the installed package (an editable install counts). Stdlib only, Python 3.7+.

Issue 11's figure, printed too: what ``import ai_spine`` and a user's first use of it
(``from ai_spine import AISpine``) add to the wall time of a fresh interpreter over ``import
requests`` (target: at most 3 ms), the median of ``--wall-runs`` fresh processes of each,
interleaved. Byte code is cached in a temporary directory and warmed up first, as an
installed package has its ``.pyc`` files. ``--source DIR`` measures a source tree instead.

Usage::

    python benchmarks/import_time.py [--runs 15] [--budget 1.5] [--python PATH]
        [--wall-runs 20] [--source DIR] [--json FILE]

Exit status: 0 within budget, 1 over budget or an eager import found, 2 when ``ai_spine`` or
``requests`` cannot be imported at all.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

DEFAULT_RUNS = 15
DEFAULT_BUDGET = 1.5
#: Modules that ``import ai_spine`` must not load eagerly.
FORBIDDEN_EAGER = (
    "ai_spine.testing",
    "ai_spine.cli",
    "ai_spine.async_client",
    "aiohttp",
    "ai_spine._objects",
)


class ImportFailed(Exception):
    """The module could not be imported in a fresh interpreter."""


FIRST_USE = "import ai_spine; from ai_spine import AISpine"
_ENV: Optional[Dict[str, str]] = None  # set by main(): the byte-code cache, --source


def _run(python: str, code: str, cwd: str, importtime: bool) -> "subprocess.CompletedProcess[str]":
    args = [python] + (["-X", "importtime"] if importtime else []) + ["-c", code]
    return subprocess.run(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=_ENV,
        check=False,
    )


def wall(python: str, cwd: str, runs: int) -> Dict[str, Any]:
    """Median wall times (ms) of fresh processes: nothing, ``import requests``, first use."""
    codes = {"pass": "pass", "requests": "import requests", "first_use": FIRST_USE}
    for code in codes.values():
        _run(python, code, cwd, importtime=False)  # warm-up: writes the byte code
    times: Dict[str, List[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            began = time.perf_counter()
            _run(python, code, cwd, importtime=False)
            times[name].append((time.perf_counter() - began) * 1000)
    result = {name + "_ms": round(statistics.median(t), 2) for name, t in times.items()}
    result["added_ms"] = round(result["first_use_ms"] - result["requests_ms"], 2)
    # The same figure without the noise of starting processes: in each fresh interpreter,
    # time `import requests`, then the first use on top of it.
    # And once more after a gc.collect(): import requests leaves a garbage collection due,
    # which the next ~400 allocations of whatever runs next (here, the SDK's import) set off.
    split: Dict[str, List[float]] = {"requests": [], "added": [], "collected": []}
    for _ in range(runs):
        for code, key in ((_SPLIT, "added"), (_SPLIT_COLLECTED, "collected")):
            proc = _run(python, code, cwd, importtime=False)
            if proc.returncode != 0:
                raise ImportFailed("the timed first use failed:\n" + proc.stderr[-2000:])
            took_requests, took_sdk = json.loads(proc.stdout.strip().splitlines()[-1])
            if key == "added":
                split["requests"].append(took_requests * 1000)
            split[key].append(took_sdk * 1000)
    result["in_process_requests_ms"] = round(statistics.median(split["requests"]), 2)
    result["in_process_added_ms"] = round(statistics.median(split["added"]), 2)
    result["in_process_added_after_collect_ms"] = round(statistics.median(split["collected"]), 2)
    result["runs"] = runs
    return result


_SPLIT = (
    "import time; t0 = time.perf_counter(); import requests; t1 = time.perf_counter(); "
    + FIRST_USE
    + "; t2 = time.perf_counter(); import json; print(json.dumps([t1 - t0, t2 - t1]))"
)
_SPLIT_COLLECTED = _SPLIT.replace(
    "t1 = time.perf_counter(); ", "import gc; gc.collect(); t1 = time.perf_counter(); "
)


def cumulative_us(stderr: str, module: str) -> Optional[int]:
    """Return the cumulative import time in microseconds of ``module`` as a top-level import.

    ``-X importtime`` prints ``import time: self [us] | cumulative | imported package``; a
    top-level import has no indentation before its name.
    """
    found = None
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        name = parts[2].rstrip()
        if name.strip() == module and not name[1:].startswith(" "):
            try:
                found = int(parts[1].strip())
            except ValueError:
                continue
    return found


def measure_once(python: str, module: str, cwd: str) -> int:
    """Import ``module`` in a fresh interpreter; return its cumulative import time in us."""
    proc = _run(python, "import " + module, cwd, importtime=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-15:])
        raise ImportFailed("`import {}` failed with {}:\n{}".format(module, python, tail))
    value = cumulative_us(proc.stderr, module)
    if value is None:
        raise ImportFailed(
            "no -X importtime line for {!r} (already imported at startup?)".format(module)
        )
    return value


def eager_modules(python: str, cwd: str) -> List[str]:
    """Return the forbidden modules that ``import ai_spine`` loads, and where ai_spine lives."""
    code = "import json, sys, ai_spine; print(json.dumps([ai_spine.__file__, sorted(sys.modules)]))"
    proc = _run(python, code, cwd, importtime=False)
    if proc.returncode != 0:
        raise ImportFailed(
            "`import ai_spine` failed:\n" + "\n".join(proc.stderr.splitlines()[-15:])
        )
    origin, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    print("ai_spine imported from: {}".format(origin))
    return [m for m in FORBIDDEN_EAGER if m in loaded]


def benchmark(python: str, runs: int, cwd: str) -> Tuple[float, float]:
    """Return the medians (ms) of ``import ai_spine`` and ``import requests``, interleaved."""
    # One warm-up each so that .pyc files exist before anything is timed.
    measure_once(python, "requests", cwd)
    measure_once(python, "ai_spine", cwd)
    sdk: List[int] = []
    floor: List[int] = []
    for _ in range(runs):
        floor.append(measure_once(python, "requests", cwd))
        sdk.append(measure_once(python, "ai_spine", cwd))
    return statistics.median(sdk) / 1000.0, statistics.median(floor) / 1000.0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help="fresh interpreters per module"
    )
    parser.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET, help="max ai_spine/requests ratio"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    parser.add_argument("--wall-runs", type=int, default=20, help="fresh processes per row")
    parser.add_argument("--source", default="", help="a source tree to put on PYTHONPATH")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    # A neutral working directory: `python -c` puts the cwd first on sys.path, and the repo
    # root would make the source tree shadow the installed package.
    global _ENV
    with tempfile.TemporaryDirectory(prefix="ai-spine-import-time-") as cwd:
        _ENV = dict(os.environ)
        _ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        if sys.version_info >= (3, 8):
            _ENV["PYTHONPYCACHEPREFIX"] = os.path.join(cwd, "pycache")
        if args.source:
            _ENV["PYTHONPATH"] = os.path.abspath(args.source)
        try:
            eager = eager_modules(args.python, cwd)
            sdk_ms, floor_ms = benchmark(args.python, args.runs, cwd)
            walls = wall(args.python, cwd, args.wall_runs) if args.wall_runs > 0 else None
        except ImportFailed as exc:
            print("import_time: error: {}".format(exc), file=sys.stderr)
            print(
                "import_time: install the package into this interpreter first "
                "(pip install -e . or pip install dist/*.whl)",
                file=sys.stderr,
            )
            return 2

    ratio = sdk_ms / floor_ms if floor_ms > 0 else float("inf")
    print("import requests : {:8.1f} ms  (median of {} runs)".format(floor_ms, args.runs))
    print("import ai_spine : {:8.1f} ms  (median of {} runs)".format(sdk_ms, args.runs))
    print("ratio ai_spine/requests: {:.2f} (budget {:.2f})".format(ratio, args.budget))
    if walls is not None:
        print(
            "wall, median of {runs} fresh processes: python -c pass {pass_ms:.1f} ms, import "
            "requests {requests_ms:.1f} ms, `{code}` {first_use_ms:.1f} ms: adds "
            "{added_ms:.1f} ms over requests".format(code=FIRST_USE, **walls)
        )
        print(
            "in each fresh process, after import requests ({in_process_requests_ms:.1f} ms), "
            "the first use adds {in_process_added_ms:.1f} ms (median of {runs}; target 3 ms); "
            "{in_process_added_after_collect_ms:.1f} ms once the garbage collection that "
            "import requests leaves due has run".format(**walls)
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "importtime_ms": {"ai_spine": sdk_ms, "requests": floor_ms},
                    "ratio": ratio,
                    "budget": args.budget,
                    "eager": eager,
                    "wall": walls,
                },
                f,
                indent=2,
            )

    failed = False
    if eager:
        print("FAIL: `import ai_spine` eagerly imports: {}".format(", ".join(eager)))
        failed = True
    if ratio > args.budget:
        print(
            "FAIL: import ai_spine costs {:.2f}x import requests, over the {:.2f}x budget".format(
                ratio, args.budget
            )
        )
        failed = True
    if not failed:
        print("import_time: OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
