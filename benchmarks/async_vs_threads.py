"""500 concurrent ``get_execution`` calls: one event loop of AsyncAISpine against 16 threads
sharing one AISpine, side by side against the same local server.

Prints a table (and ``--json`` writes the figures) with the wall time of each, the calls per
second, the TCP connections the server accepted, and the ratio of throughputs. A benchmark,
not a test: nothing here fails on time.

Run: python benchmarks/async_vs_threads.py [--calls 500] [--threads 16] [--rounds 5]
"""

import argparse
import asyncio
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

from ai_spine import AISpine, AsyncAISpine
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine


def sync_round(server: LocalAISpine, execution_id: str, calls: int, threads: int) -> float:
    with AISpine(base_url=server.url, max_connections=threads) as client:
        client.health_check()  # connect outside the timed part, as the async round does
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda _: client.get_execution(execution_id), range(calls)))
        elapsed = time.perf_counter() - started
    assert len(results) == calls
    return elapsed


def async_round(server: LocalAISpine, execution_id: str, calls: int, connections: int) -> float:
    async def fan_out() -> float:
        async with AsyncAISpine(base_url=server.url, max_connections=connections) as client:
            await client.health_check()
            started = time.perf_counter()
            results = await asyncio.gather(
                *[client.get_execution(execution_id) for _ in range(calls)]
            )
            elapsed = time.perf_counter() - started
        assert len(results) == calls
        return elapsed

    return asyncio.run(fan_out())


def measure(calls: int, threads: int, connections: int, rounds: int) -> Dict[str, Any]:
    with LocalAISpine(with_demo_agents=True) as server:
        client = AISpine(base_url=server.url)
        execution_id = client.execute_and_wait(
            DEMO_FLOW_ID, {"text": "fine", "income": 50000, "debt": 1000}, interval=0.05
        )["execution_id"]
        figures: Dict[str, List[float]] = {"async": [], "threads": []}
        accepted: Dict[str, List[int]] = {"async": [], "threads": []}
        for _ in range(rounds):  # interleaved, so both see the same machine
            before = server.connections_accepted
            figures["threads"].append(sync_round(server, execution_id, calls, threads))
            accepted["threads"].append(server.connections_accepted - before)
            before = server.connections_accepted
            figures["async"].append(async_round(server, execution_id, calls, connections))
            accepted["async"].append(server.connections_accepted - before)
    result: Dict[str, Any] = {"calls": calls, "threads": threads, "connections": connections}
    for kind in ("async", "threads"):
        median = statistics.median(figures[kind])
        result[kind] = {
            "median_s": round(median, 4),
            "calls_per_s": round(calls / median, 1),
            "connections_accepted": max(accepted[kind]),
        }
    result["throughput_ratio_async_over_threads"] = round(
        result["async"]["calls_per_s"] / result["threads"]["calls_per_s"], 2
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--connections", type=int, default=16, help="async max_connections")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    result = measure(args.calls, args.threads, args.connections, args.rounds)
    print("{} concurrent get_execution calls, median of {} rounds".format(args.calls, args.rounds))
    print("{:<34} {:>10} {:>10} {:>12}".format("", "wall s", "calls/s", "connections"))
    for kind, label in (
        ("threads", "AISpine, {} threads".format(args.threads)),
        ("async", "AsyncAISpine, one loop ({} conns)".format(args.connections)),
    ):
        row = result[kind]
        print(
            "{:<34} {:>10.3f} {:>10.1f} {:>12}".format(
                label, row["median_s"], row["calls_per_s"], row["connections_accepted"]
            )
        )
    print(
        "throughput async / threads: {:.2f}x".format(result["throughput_ratio_async_over_threads"])
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
