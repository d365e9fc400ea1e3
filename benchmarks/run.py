"""Run every benchmark, side by side on this machine, and print each figure beside its
target: the one entry point.

Each benchmark runs as its own process with this source tree first on ``PYTHONPATH``,
prints its table and writes its JSON into ``--out`` (default ``benchmarks/results``); then
this prints the summary, where every figure is a ratio measured in the same run (ours
against its peer), so it holds on any machine. ``--quick`` runs each in a short form (a
minute or so; no per-call peers that need the 2.3.1 SDK's environment) and ``--check``
fails (exit 1) only when a ratio is far past any noise a shared machine makes: a smoke
check against regressions for ``.ci/run``, never a gate on absolute time.

Run: python benchmarks/run.py [--quick] [--check] [--only NAME[,NAME]] [--out DIR]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from _common import ROOT, source_env, table

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (script, full arguments, quick arguments)
BENCHMARKS: Dict[str, Tuple[str, List[str], List[str]]] = {
    "import_time": (
        "import_time.py",
        ["--source", ROOT, "--runs", "15", "--wall-runs", "20"],
        ["--source", ROOT, "--runs", "5", "--wall-runs", "5"],
    ),
    "cli_startup": ("cli_startup.py", ["--source", ROOT], ["--source", ROOT, "--runs", "5"]),
    "percall": (
        "percall.py",
        ["--calls", "300", "--rounds", "5"],
        ["--calls", "100", "--rounds", "2", "--kinds", "requests,ours"],
    ),
    "percall_local": (
        "percall.py",
        ["--calls", "300", "--rounds", "3", "--server", "local", "--kinds", "urllib3,sdk231,ours"],
        [],
    ),
    "percall_big_env": (
        "percall.py",
        ["--calls", "300", "--rounds", "3", "--pad-env", "142", "--kinds", "requests,sdk231,ours"],
        [],
    ),
    "wait": ("wait.py", [], ["--longest", "4", "--count", "8", "--repeat", "2", "--passes", "1"]),
    "batch": (
        "batch.py",
        ["--interval", "2", "--rounds", "3"],
        ["--interval", "2", "--rounds", "1", "--executions", "20", "--no-sequential"],
    ),
    "async_vs_threads": ("async_vs_threads.py", [], ["--rounds", "3"]),
}

Row = Tuple[str, Optional[float], Optional[float], str, Optional[bool]]
"""figure, ours, peer (or ratio), target text, met (None: not measured)."""


def run(name: str, quick: bool, out: str) -> Optional[Dict[str, Any]]:
    script, full, short = BENCHMARKS[name]
    args = short if quick else full
    if quick and not short:
        return None
    path = os.path.join(out, name + ".json")
    print("\n==> {} {}".format(script, " ".join(args)), flush=True)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, os.path.join(HERE, script)] + args + ["--json", path],
        env=source_env(),
        cwd=out,
        check=False,
    )
    print("({} took {:.0f} s)".format(name, time.perf_counter() - began))
    if done.returncode not in (0, 1) or not os.path.exists(path):
        raise SystemExit("run: {} failed (exit {})".format(script, done.returncode))
    with open(path, encoding="utf-8") as f:
        result: Dict[str, Any] = json.load(f)
    result["_exit"] = done.returncode
    return result


def summary(results: Dict[str, Dict[str, Any]]) -> List[Row]:
    rows: List[Row] = []
    imp = results.get("import_time")
    if imp and imp.get("wall"):
        w = imp["wall"]
        rows.append(
            (
                "import ai_spine, ms (-X importtime; import requests beside)",
                imp["importtime_ms"]["ai_spine"],
                imp["importtime_ms"]["requests"],
                "<= 3 ms",
                imp["importtime_ms"]["ai_spine"] <= 3,
            )
        )
        rows.append(
            (
                "import + from ai_spine import AISpine after requests, ms",
                w["in_process_added_ms"],
                w["in_process_requests_ms"],
                "<= 3 ms",
                w["in_process_added_ms"] <= 3,
            )
        )
        rows.append(
            (
                "same, once the collection import requests leaves due has run, ms",
                w["in_process_added_after_collect_ms"],
                None,
                "(context)",
                None,
            )
        )
        rows.append(
            (
                "same, fresh process wall time minus import requests', ms",
                w["added_ms"],
                w["requests_ms"],
                "(noisier)",
                None,
            )
        )
    cli = results.get("cli_startup")
    if cli:
        for command in ("ai-spine --version", "ai-spine --help"):
            ratio = cli["commands"][command]["ratio"]
            rows.append((command + " / python -c pass", ratio, None, "<= 2x", ratio <= 2))
        for command in ("ai-spine --version", "ai-spine --help"):
            ratio = cli["commands"][command]["legacy_launcher_ratio"]
            rows.append((command + ", launcher of pip < 25.2", ratio, None, "<= 2x", ratio <= 2))
    for key in ("percall", "percall_big_env", "percall_local"):
        per = results.get(key)
        if not per:
            continue
        where = " ({} env vars)".format(per["pad_env"]) if per["pad_env"] else ""
        if per.get("server") == "local":
            where += " (LocalAISpine answering: its ~300 us shared by all)"
        for verb in ("get", "post"):
            for peer, target in (("sdk231", 0.65), ("requests", None)):
                ratio = per.get("ratio_{}_ours_over_{}".format(verb, peer))
                if ratio is None:
                    continue
                label = "2.3.1 SDK" if peer == "sdk231" else "bare requests.Session"
                rows.append(
                    (
                        "per-call p50 {}{}, ours / {}".format(verb.upper(), where, label),
                        ratio,
                        None,
                        "<= {}x".format(target) if target else "(peer)",
                        ratio <= target if target and key != "percall_local" else None,
                    )
                )
    wait = results.get("wait")
    if wait:
        rows.append(
            (
                "{:g} s execution: call to return, s (fixed 2 s beside)".format(wait["short_s"]),
                wait["ours"]["short_call_s"],
                wait["fixed_2s"]["short_call_s"],
                "<= 0.45 s",
                wait["ours"]["short_call_s"] <= 0.45,
            )
        )
        rows.append(
            (
                "mean lateness over 0-{:g} s, s (fixed 2 s beside)".format(wait["longest_s"]),
                wait["ours"]["mean_lateness_s"],
                wait["fixed_2s"]["mean_lateness_s"],
                "<= 0.45 s",
                wait["ours"]["mean_lateness_s"] <= 0.45,
            )
        )
        rows.append(
            (
                "polls per execution, ours / fixed 2 s",
                wait["polls_ratio_ours_over_fixed"],
                None,
                "<= 2x",
                wait["polls_ratio_ours_over_fixed"] <= 2,
            )
        )
    batch = results.get("batch")
    if batch:
        rows.append(
            (
                "batch {} x {:g} s, workers {}: wall / ideal".format(
                    batch["executions"], batch["seconds"], batch["workers"]
                ),
                batch["batch_threads"]["over_ideal"],
                batch["fixed_waves"]["over_ideal"],
                "<= 1.3x",
                batch["batch_threads"]["over_ideal"] <= 1.3,
            )
        )
    conc = results.get("async_vs_threads")
    if conc:
        ratio = conc["throughput_ratio_async_over_threads"]
        rows.append(("async / 16 threads, throughput", ratio, None, ">= 3x", ratio >= 3))
        rows.append(
            (
                "bare aiohttp / 16 threads (the ceiling of any aiohttp client)",
                conc["throughput_ratio_bare_aiohttp_over_threads"],
                None,
                "(peer)",
                None,
            )
        )
    return rows


# Smoke limits for --check: far past what noise on a shared 2-core machine makes.
CHECKS: Dict[str, Callable[[Dict[str, Any]], Optional[str]]] = {
    "import_time": lambda r: "import_time.py failed its budget" if r["_exit"] else None,
    "cli_startup": lambda r: _over(r["commands"]["ai-spine --help"]["ratio"], 3, "--help"),
    "percall": lambda r: _over(r.get("ratio_get_ours_over_requests", 0), 1.0, "GET/requests")
    or _over(r.get("ratio_post_ours_over_requests", 0), 1.0, "POST/requests"),
    "wait": lambda r: _over(r["lateness_ratio_ours_over_fixed"], 0.8, "lateness/fixed")
    or _over(r["polls_ratio_ours_over_fixed"], 3.0, "polls/fixed"),
    "batch": lambda r: _over(r["batch_threads"]["over_ideal"], 2.0, "batch/ideal"),
    "async_vs_threads": lambda r: _over(
        1 / r["throughput_ratio_async_over_threads"], 1.0, "threads/async"
    ),
}


def _over(value: float, limit: float, what: str) -> Optional[str]:
    return (
        "{} is {:.2f}, over the smoke limit {:.2f}".format(what, value, limit)
        if (value > limit)
        else None
    )


def machine() -> Dict[str, Any]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short forms, for CI")
    parser.add_argument("--check", action="store_true", help="fail on a gross regression")
    parser.add_argument("--only", default="", help="benchmarks to run, comma-separated")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error("unknown benchmark(s): {}".format(", ".join(unknown)))
    os.makedirs(args.out, exist_ok=True)
    about = machine()
    print("machine: {nproc} cores, {cpu}; Python {python}; {platform}".format(**about))
    results: Dict[str, Dict[str, Any]] = {}
    for name in names:
        result = run(name, args.quick, args.out)
        if result is not None:
            results[name] = result
    rows = summary(results)
    print(
        "\n==> summary ({}; every figure measured side by side in this run)".format(
            "quick" if args.quick else "full"
        )
    )
    print(
        table(
            ["figure", "ours", "beside", "target", "met"],
            [[f, o, p, t, {True: "yes", False: "NO", None: "-"}[m]] for f, o, p, t, m in rows],
        )
    )
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "machine": about,
                "quick": args.quick,
                "rows": [dict(zip(("figure", "ours", "beside", "target", "met"), r)) for r in rows],
            },
            f,
            indent=2,
        )
    if args.check:
        problems = [p for p in (CHECKS[n](r) for n, r in results.items() if n in CHECKS) if p]
        for problem in problems:
            print("benchmarks: smoke check FAILED: " + problem)
        if problems:
            return 1
        print("benchmarks: smoke checks passed (loose limits: a regression guard, not targets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
