"""Per-call overhead: a GET (``get_execution``) and a POST (``create_agent``) through this SDK,
side by side with the 2.3.1 SDK, a bare ``requests.Session``, httpx, urllib3 and
``http.client``, against one local server on loopback; and connection reuse, as the number
of TCP connections the server accepted for each client's calls.

Each client runs in its own fresh process (so no client warms another's imports or pools):
the project's interpreter for this SDK and the stdlib/``requests`` peers, a virtual
environment made by the benchmark itself for the 2.3.1 SDK and httpx (``_common.py``; they
are never dependencies of the project). Rounds are interleaved, the order of the clients
rotating, and each figure is the median over rounds of the p50 of ``--calls`` calls. The
ratios (``ours / 2.3.1``) are what to read: they hold on any machine. ``--pad-env N`` adds N
variables to each client's environment, as in a CI job or a container (requests scans the
environment on every call). A benchmark, not a test: nothing fails on time.

Run: python benchmarks/percall.py [--calls 300] [--rounds 5] [--pad-env 0] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any, Dict, List, Optional

from _common import (
    SERVER_HELP,
    SERVERS,
    Server,
    peer_env,
    peer_python,
    source_env,
    table,
    write_json,
)

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "_percall_client.py")
LOCAL = ("http_client", "urllib3", "requests", "ours")
PEERS = ("httpx", "sdk231")
LABELS = {
    "http_client": "http.client (stdlib)",
    "urllib3": "urllib3 PoolManager",
    "requests": "requests.Session, bare",
    "httpx": "httpx.Client",
    "sdk231": "ai-spine-sdk 2.3.1",
    "ours": "ai_spine (this tree)",
}


def run_child(
    python: str, env: Dict[str, str], kind: str, server: Server, calls: int
) -> Dict[str, Any]:
    before = server.connections_accepted
    done = subprocess.run(
        [python, CHILD, kind, server.url, server.execution_id, "--calls", str(calls)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit("percall: {} failed:\n{}".format(kind, done.stderr[-2000:]))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["accepted"] = server.connections_accepted - before
    return result


def measure(
    calls: int, rounds: int, pad_env: int, kinds: List[str], server_kind: str = "canned"
) -> Dict[str, Any]:
    padding = {"AI_SPINE_BENCH_PAD_{}".format(n): "x" * 40 for n in range(pad_env)}
    peers = peer_python() if any(k in PEERS for k in kinds) else None
    if peers is None:
        kinds = [k for k in kinds if k not in PEERS]
    runs: Dict[str, List[Dict[str, Any]]] = {k: [] for k in kinds}
    pythons: Dict[str, str] = {}
    server = Server(server_kind)
    try:
        for round_number in range(rounds):
            shift = round_number % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:  # each client goes first in turn
                if kind in PEERS:
                    assert peers is not None
                    result = run_child(peers, peer_env(padding), kind, server, calls)
                else:
                    result = run_child(sys.executable, source_env(padding), kind, server, calls)
                pythons[kind] = result["python"]
                runs[kind].append(result)
    finally:
        server.close()
    out: Dict[str, Any] = {
        "calls": calls,
        "rounds": rounds,
        "pad_env": pad_env,
        "server": server_kind,
        "clients": {},
    }
    for kind in kinds:
        out["clients"][kind] = {
            "label": LABELS[kind],
            "python": pythons[kind],
            "get_p50_us": round(statistics.median(_p50(r["get_us"]) for r in runs[kind]), 1),
            "post_p50_us": round(statistics.median(_p50(r["post_us"]) for r in runs[kind]), 1),
            "connections_per_run": max(r["accepted"] for r in runs[kind]),
        }
    clients = out["clients"]
    for verb in ("get", "post"):
        for peer in ("sdk231", "requests"):
            if peer in clients and "ours" in clients:
                out["ratio_{}_ours_over_{}".format(verb, peer)] = round(
                    clients["ours"][verb + "_p50_us"] / clients[peer][verb + "_p50_us"], 2
                )
    return out


def _p50(values: List[float]) -> float:
    return float(statistics.median(values))


def report(result: Dict[str, Any]) -> None:
    print(
        "per call, p50 of {calls} calls, median of {rounds} rounds; {pad_env} extra "
        "environment variables; {server} server".format(**result)
    )
    rows = []
    base = result["clients"].get("sdk231")
    for kind, row in result["clients"].items():
        rows.append(
            [
                row["label"],
                row["python"],
                row["get_p50_us"],
                row["post_p50_us"],
                row["get_p50_us"] / base["get_p50_us"] if base else None,
                row["post_p50_us"] / base["post_p50_us"] if base else None,
                row["connections_per_run"],
            ]
        )
    print(
        table(
            ["client", "python", "GET us", "POST us", "GET/2.3.1", "POST/2.3.1", "connections"],
            rows,
        )
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pad-env", type=int, default=0, help="extra environment variables")
    parser.add_argument(
        "--kinds", default=",".join(LOCAL[:3] + PEERS + LOCAL[3:]), help="clients, comma-separated"
    )
    parser.add_argument("--server", choices=SERVERS, default="canned", help=SERVER_HELP)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(args.calls, args.rounds, args.pad_env, args.kinds.split(","), args.server)
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
