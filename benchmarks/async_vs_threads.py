"""500 concurrent ``get_execution`` calls: one event loop of AsyncAISpine against 16 threads
sharing one AISpine, side by side against the same local server.

The server runs in its own process, as a real one would: in this process it would take the
clients' interpreter lock and measure itself as much as them. By default it is the canned
server (``_canned.py``: the local server's answers replayed from memory), so what is measured
is the clients; ``--server local`` runs ``LocalAISpine`` itself, which then sets the pace.

What is timed is throughput in a steady state, as in a service that has been running: each
client has opened its connections (and the thread pool started its threads) before the clock
starts, and every round starts from a collected heap. The async clients open all 16; the
threads, whose warm-up the interpreter lock serialises, all but one or two at times (the
table counts them). Until 2026-11-30 only one connection was opened beforehand, so the
other 15 were opened inside the timed ~70 ms (and the 16 threads started there too): for
aiohttp, whose new connections take a few loop turns each while 500 tasks crowd the loop,
that ramp cost 10-20% of the round.

Prints a table (and ``--json`` writes the figures) with the wall time of each, the calls per
second, the TCP connections the server accepted (the most in a round) and how many of them
were opened inside the timed part (the most in a round: 0 in a steady state), and the ratio
of throughputs. A benchmark, not a test: nothing here fails on time.

Run: python benchmarks/async_vs_threads.py [--calls 500] [--threads 16] [--rounds 9]
"""

import argparse
import asyncio
import gc
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

from _common import SERVER_HELP, SERVERS, Server, table, write_json

from ai_spine import AISpine, AsyncAISpine


def sync_round(server: Server, execution_id: str, calls: int, threads: int) -> Tuple[float, int]:
    with AISpine(base_url=server.url, max_connections=threads) as client:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            # Steady state: every thread started and every connection open before the timed
            # part. The barrier makes each worker take one health check of a burst; under the
            # interpreter lock a thread often has its answer, and gives its connection back,
            # before the last one asks for one, so bursts repeat until all are open. Often
            # one or two stay unopened however many bursts run: the table shows them, and
            # opening one costs well under a millisecond of a ~200 ms round.
            barrier = threading.Barrier(threads, timeout=30)
            before = server.connections_accepted
            for _ in range(_WARM_UP_BURSTS):
                list(pool.map(lambda _: (barrier.wait(), client.health_check()), range(threads)))
                if server.connections_accepted - before >= threads:
                    break
            started, accepted = _start_timing(server)
            results = list(pool.map(lambda _: client.get_execution(execution_id), range(calls)))
            elapsed = time.perf_counter() - started
    assert len(results) == calls
    return elapsed, server.connections_accepted - accepted


def async_round(
    server: Server, execution_id: str, calls: int, connections: int
) -> Tuple[float, int]:
    async def fan_out() -> Tuple[float, int]:
        async with AsyncAISpine(base_url=server.url, max_connections=connections) as client:
            # Steady state, as for the threads: every connection open before the timed part
            # (the health checks of one burst all start before any has its answer).
            await asyncio.gather(*[client.health_check() for _ in range(connections)])
            started, accepted = _start_timing(server)
            results = await asyncio.gather(
                *[client.get_execution(execution_id) for _ in range(calls)]
            )
            elapsed = time.perf_counter() - started
        assert len(results) == calls
        return elapsed, server.connections_accepted - accepted

    return asyncio.run(fan_out())


def bare_aiohttp_round(
    server: Server, execution_id: str, calls: int, connections: int
) -> Tuple[float, int]:
    """The same calls through a bare ``aiohttp.ClientSession`` (the SDK's headers and
    timeouts, JSON decoded): what aiohttp itself costs, the ceiling of any aiohttp client."""
    import json

    import aiohttp

    from ai_spine._protocol import request_headers

    url = "{}/api/v1/executions/{}".format(server.url, execution_id)
    timeout = aiohttp.ClientTimeout(total=40, sock_connect=10, sock_read=30)

    async def fan_out() -> Tuple[float, int]:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            headers=request_headers(None),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        ) as session:

            async def one(address: str = url) -> Any:
                async with session.get(address, timeout=timeout, allow_redirects=False) as response:
                    return json.loads(await response.read())

            await asyncio.gather(*[one(server.url + "/health") for _ in range(connections)])
            started, accepted = _start_timing(server)
            results = await asyncio.gather(*[one() for _ in range(calls)])
            elapsed = time.perf_counter() - started
        assert len(results) == calls
        return elapsed, server.connections_accepted - accepted

    return asyncio.run(fan_out())


_WARM_UP_BURSTS = 10


def _start_timing(server: Server) -> Tuple[float, int]:
    """The connections the server has accepted so far, then the clock, read once the garbage
    is collected: every round starts from the same heap, so whether a full collection falls
    inside a ~70 ms round is not left to chance (one takes ~10 ms here). Collections that
    the round's own allocations set off are still counted."""
    accepted = server.connections_accepted
    gc.collect()
    return time.perf_counter(), accepted


def measure(
    calls: int, threads: int, connections: int, rounds: int, server_kind: str = "canned"
) -> Dict[str, Any]:
    server = Server(server_kind)
    execution_id = server.execution_id
    try:
        kinds = ("threads", "async", "aiohttp")
        figures: Dict[str, List[float]] = {kind: [] for kind in kinds}
        accepted: Dict[str, List[int]] = {kind: [] for kind in kinds}
        timed_opens: Dict[str, List[int]] = {kind: [] for kind in kinds}
        for _ in range(rounds):  # interleaved, so all see the same machine
            for kind in kinds:
                before = server.connections_accepted
                if kind == "threads":
                    took, opened = sync_round(server, execution_id, calls, threads)
                elif kind == "async":
                    took, opened = async_round(server, execution_id, calls, connections)
                else:
                    took, opened = bare_aiohttp_round(server, execution_id, calls, connections)
                figures[kind].append(took)
                timed_opens[kind].append(opened)
                accepted[kind].append(server.connections_accepted - before)
    finally:
        server.close()
    result: Dict[str, Any] = {
        "calls": calls,
        "thread_count": threads,
        "connections": connections,
        "server": server_kind,
    }
    for kind in kinds:
        median = statistics.median(figures[kind])
        result[kind] = {
            "median_s": round(median, 4),
            "calls_per_s": round(calls / median, 1),
            "connections_accepted": max(accepted[kind]),
            # Not a steady state where this is above 0: a connection opened while timed.
            "opened_while_timed": max(timed_opens[kind]),
        }
    result["throughput_ratio_async_over_threads"] = round(
        result["async"]["calls_per_s"] / result["threads"]["calls_per_s"], 2
    )
    result["throughput_ratio_bare_aiohttp_over_threads"] = round(
        result["aiohttp"]["calls_per_s"] / result["threads"]["calls_per_s"], 2
    )
    return result


def report(result: Dict[str, Any], rounds: int) -> None:
    print(
        "{} concurrent get_execution calls, median of {} rounds; {} server".format(
            result["calls"], rounds, result["server"]
        )
    )
    rows = []
    for kind, label in (
        ("threads", "AISpine, {} threads".format(result["thread_count"])),
        ("async", "AsyncAISpine, one loop ({} conns)".format(result["connections"])),
        ("aiohttp", "bare aiohttp, one loop ({} conns)".format(result["connections"])),
    ):
        row = result[kind]
        rows.append(
            [
                label,
                row["median_s"],
                row["calls_per_s"],
                row["connections_accepted"],
                row["opened_while_timed"],
            ]
        )
    print(table(["", "wall s", "calls/s", "connections", "of them timed"], rows))
    print(
        "throughput async / threads: {:.2f}x (bare aiohttp / threads: {:.2f}x)".format(
            result["throughput_ratio_async_over_threads"],
            result["throughput_ratio_bare_aiohttp_over_threads"],
        )
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--connections", type=int, default=16, help="async max_connections")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--server", choices=SERVERS, default="canned", help=SERVER_HELP)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(args.calls, args.threads, args.connections, args.rounds, args.server)
    report(result, args.rounds)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
