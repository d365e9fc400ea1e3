"""500 concurrent ``get_execution`` calls: one event loop of AsyncAISpine against 16 threads
sharing one AISpine, side by side against the same local server.

The server runs in its own process (``_server.py``), as a real one would: in this process it
would take the clients' interpreter lock and measure itself as much as them.

Prints a table (and ``--json`` writes the figures) with the wall time of each, the calls per
second, the TCP connections the server accepted, and the ratio of throughputs. A benchmark,
not a test: nothing here fails on time.

Run: python benchmarks/async_vs_threads.py [--calls 500] [--threads 16] [--rounds 5]
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Dict, List, Optional

from _common import source_env, table, write_json

from ai_spine import AISpine, AsyncAISpine

HERE = os.path.dirname(os.path.abspath(__file__))


class Server:
    """``_server.py`` in a child process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "_server.py")],
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


def sync_round(server: Server, execution_id: str, calls: int, threads: int) -> float:
    with AISpine(base_url=server.url, max_connections=threads) as client:
        client.health_check()  # connect outside the timed part, as the async round does
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda _: client.get_execution(execution_id), range(calls)))
        elapsed = time.perf_counter() - started
    assert len(results) == calls
    return elapsed


def async_round(server: Server, execution_id: str, calls: int, connections: int) -> float:
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
    server = Server()
    execution_id = server.execution_id
    try:
        figures: Dict[str, List[float]] = {"async": [], "threads": []}
        accepted: Dict[str, List[int]] = {"async": [], "threads": []}
        for _ in range(rounds):  # interleaved, so both see the same machine
            before = server.connections_accepted
            figures["threads"].append(sync_round(server, execution_id, calls, threads))
            accepted["threads"].append(server.connections_accepted - before)
            before = server.connections_accepted
            figures["async"].append(async_round(server, execution_id, calls, connections))
            accepted["async"].append(server.connections_accepted - before)
    finally:
        server.close()
    result: Dict[str, Any] = {"calls": calls, "thread_count": threads, "connections": connections}
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


def report(result: Dict[str, Any], rounds: int) -> None:
    print("{} concurrent get_execution calls, median of {} rounds".format(result["calls"], rounds))
    rows = []
    for kind, label in (
        ("threads", "AISpine, {} threads".format(result["thread_count"])),
        ("async", "AsyncAISpine, one loop ({} conns)".format(result["connections"])),
    ):
        row = result[kind]
        rows.append([label, row["median_s"], row["calls_per_s"], row["connections_accepted"]])
    print(table(["", "wall s", "calls/s", "connections"], rows))
    print(
        "throughput async / threads: {:.2f}x".format(result["throughput_ratio_async_over_threads"])
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--connections", type=int, default=16, help="async max_connections")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(args.calls, args.threads, args.connections, args.rounds)
    report(result, args.rounds)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
