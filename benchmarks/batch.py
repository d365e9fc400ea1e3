"""40 executions of 0.5 s at max_workers=10: ``execute_batch``'s sliding window against the
ideal, against fixed waves of 10, and against one at a time, on the local server.

Each execution is one demo echo node told to sleep (``{"sleep": 0.5}``), so with 10 in flight
the ideal wall time is 40 x 0.5 / 10 = 2 s. The sliding window starts the next execution as
soon as any one ends; fixed waves (the baseline implemented here: ``execute_and_wait`` on 10
threads, then the next 10) wait for the slowest of each wave, which costs more the more
durations vary (``--spread``). ``peak`` is the most executions the server saw running at once
(from its ``created_at``/``completed_at``). A benchmark, not a test: nothing fails on time.

Run: python benchmarks/batch.py [--executions 40] [--seconds 0.5] [--workers 10]
     [--spread 0] [--interval 0.05] [--rounds 3] [--no-sequential] [--json FILE]
"""

import argparse
import asyncio
import json
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

from _common import SLEEP_FLOW, SLEEP_FLOW_ID

from ai_spine import AISpine, AsyncAISpine, BatchItem
from ai_spine.testing import LocalAISpine
from ai_spine.utils import parse_timestamp


Run = Callable[[AISpine, List[BatchItem]], List[str]]
"""Runs the items with a client; returns the execution ids."""


def batch_threads(workers: int, interval: float) -> Run:
    def run(client: AISpine, items: List[BatchItem]) -> List[str]:
        results = client.execute_batch(items, max_workers=workers, interval=interval)
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        return [str(r.execution_id) for r in results]

    return run


def batch_async(workers: int, interval: float) -> Run:
    def run(client: AISpine, items: List[BatchItem]) -> List[str]:
        async def main() -> List[str]:
            async with AsyncAISpine(base_url=client.base_url) as asynchronous:
                await asynchronous.health_check()  # timed too: this row builds its client
                results = await asynchronous.execute_batch(
                    items, max_workers=workers, interval=interval
                )
            assert all(r.ok for r in results)
            return [str(r.execution_id) for r in results]

        return asyncio.run(main())

    return run


def fixed_waves(workers: int, interval: float) -> Run:
    """The baseline: ``workers`` at a time, each wave waiting for its slowest."""

    def run(client: AISpine, items: List[BatchItem]) -> List[str]:
        ids: List[str] = []
        with ThreadPoolExecutor(workers) as pool:
            for first in range(0, len(items), workers):
                wave = items[first : first + workers]
                done = pool.map(
                    lambda item: client.execute_and_wait(
                        item.flow_id, item.input_data, interval=interval
                    ),
                    wave,
                )
                ids.extend(execution["execution_id"] for execution in done)
        return ids

    return run


def sequential(interval: float) -> Run:
    def run(client: AISpine, items: List[BatchItem]) -> List[str]:
        return [
            client.execute_and_wait(item.flow_id, item.input_data, interval=interval)[
                "execution_id"
            ]
            for item in items
        ]

    return run


def peak_in_flight(client: AISpine, execution_ids: List[str]) -> int:
    """The most executions the server had running at once."""
    events: List[Tuple[Any, int]] = []
    for execution_id in execution_ids:
        execution = client.get_execution(execution_id)
        events.append((parse_timestamp(execution["created_at"]), 1))
        events.append((parse_timestamp(execution["completed_at"]), -1))
    peak = current = 0
    for _, step in sorted(events):
        current += step
        peak = max(peak, current)
    return peak


def timed(client: AISpine, run: Run, items: List[BatchItem]) -> Tuple[float, int]:
    started = time.perf_counter()
    ids = run(client, items)
    elapsed = time.perf_counter() - started
    return elapsed, peak_in_flight(client, ids)


def measure(args: argparse.Namespace) -> Dict[str, Any]:
    rng = random.Random(7)
    items = [
        BatchItem(
            SLEEP_FLOW_ID,
            {"n": n, "sleep": max(0.0, args.seconds + rng.uniform(-args.spread, args.spread))},
        )
        for n in range(args.executions)
    ]
    ideal = sum(float(item.input_data["sleep"]) for item in items) / args.workers
    runs: List[Tuple[str, str, Run, int]] = [
        ("batch_threads", "execute_batch, AISpine", batch_threads(args.workers, args.interval), 0),
        ("batch_async", "execute_batch, AsyncAISpine", batch_async(args.workers, args.interval), 0),
        (
            "fixed_waves",
            "fixed waves of {}".format(args.workers),
            fixed_waves(args.workers, args.interval),
            0,
        ),
    ]
    if args.sequential:
        runs.append(("sequential", "sequential execute_and_wait", sequential(args.interval), 1))
    figures: Dict[str, List[Tuple[float, int]]] = {key: [] for key, _, _, _ in runs}
    with LocalAISpine(with_demo_agents=True) as server:
        server.add_flow(SLEEP_FLOW)
        with AISpine(base_url=server.url, max_connections=max(args.workers, 10)) as client:
            client.health_check()
            for round_number in range(args.rounds):  # interleaved: all see the same machine
                for key, _, run, rounds in runs:
                    if not rounds or round_number < rounds:
                        figures[key].append(timed(client, run, items))
    result: Dict[str, Any] = {
        "executions": args.executions,
        "seconds": args.seconds,
        "spread": args.spread,
        "workers": args.workers,
        "interval": args.interval,
        "rounds": args.rounds,
        "ideal_s": round(ideal, 3),
        "labels": {key: label for key, label, _, _ in runs},
    }
    for key, _, _, _ in runs:
        wall = statistics.median(f[0] for f in figures[key])
        result[key] = {
            "wall_s": round(wall, 3),
            "over_ideal": round(wall / ideal, 2),
            "peak_in_flight": max(f[1] for f in figures[key]),
            "runs": len(figures[key]),
        }
    return result


def report(result: Dict[str, Any]) -> None:
    print(
        "{executions} executions of {seconds} s (+/- {spread} s), max_workers={workers}, polling "
        "every {interval} s; median of {rounds} rounds".format(**result)
    )
    print("{:<32} {:>8} {:>9} {:>6}".format("", "wall s", "x ideal", "peak"))
    print(
        "{:<32} {:>8.3f} {:>9.2f} {:>6}".format("ideal", result["ideal_s"], 1.0, result["workers"])
    )
    for key, label in result["labels"].items():
        row = result[key]
        print(
            "{:<32} {:>8.3f} {:>9.2f} {:>6}{}".format(
                label,
                row["wall_s"],
                row["over_ideal"],
                row["peak_in_flight"],
                "" if row["runs"] == result["rounds"] else "  ({} run)".format(row["runs"]),
            )
        )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=0.5, help="each execution's sleep")
    parser.add_argument(
        "--spread", type=float, default=0.0, help="vary each sleep uniformly by +/- this"
    )
    parser.add_argument("--workers", type=int, default=10, help="max_workers, and the wave size")
    parser.add_argument(
        "--interval", type=float, default=0.05, help="longest pause between polls (SDK: 2)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-sequential", dest="sequential", action="store_false", help="skip the slow one"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(args)
    report(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
