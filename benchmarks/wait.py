"""How soon a finished execution is noticed: ``execute_and_wait`` against a fixed 2 s schedule
(the 2.3.1 SDK's: poll at once, then every 2 s), side by side on the local server.

Executions of durations spread evenly over ``[0, --longest]`` seconds (a demo echo node told
to sleep) all run at once, each waited for by one thread, with this SDK's schedule and with
the fixed one. For each: the lateness (when the wait returned, minus when the server marked
the execution completed) and the polls it took (GETs of that execution, counted by the
server). Also the time from calling ``execute_and_wait`` to its return for one short
execution (``--short``, 0.3 s), the median of ``--repeat``. A benchmark, not a test: nothing
fails on time.

``--passes`` (default 3) runs the spread that many times, each shifted by a fraction of its
step, and averages over all of them: ``passes * count`` evenly spread durations, with no
more executions at once than one spread.

Run: python benchmarks/wait.py [--longest 12] [--count 24] [--passes 3] [--short 0.3]
    [--json FILE]
"""

import argparse
import statistics
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from _common import SLEEP_FLOW, SLEEP_FLOW_ID, table, write_json

from ai_spine import AISpine
from ai_spine.testing import LocalAISpine
from ai_spine.utils import parse_timestamp

FIXED_INTERVAL = 2.0

Waiter = Callable[[AISpine, float], Dict[str, Any]]


def ours(client: AISpine, seconds: float) -> Dict[str, Any]:
    return client.execute_and_wait(SLEEP_FLOW_ID, {"sleep": seconds}, timeout=120)


def fixed(client: AISpine, seconds: float) -> Dict[str, Any]:
    """The 2.3.1 SDK's loop: poll, return if finished, else sleep 2 s."""
    execution_id = client.execute_flow(SLEEP_FLOW_ID, {"sleep": seconds})["execution_id"]
    while True:
        execution = client.get_execution(execution_id)
        if execution["status"] in ("completed", "failed", "cancelled"):
            return execution
        time.sleep(FIXED_INTERVAL)


def one(server: LocalAISpine, client: AISpine, waiter: Waiter, seconds: float) -> Dict[str, Any]:
    called = time.time()
    execution = waiter(client, seconds)
    returned = time.time()
    completed = parse_timestamp(execution["completed_at"]).timestamp()
    path = "/api/v1/executions/" + execution["execution_id"]
    return {
        "seconds": seconds,
        "lateness_s": returned - completed,
        "call_s": returned - called,
        "polls": len(server.requests_to("GET", path)),
    }


def spread(
    server: LocalAISpine, client: AISpine, waiters: Dict[str, Waiter], durations: List[float]
) -> Dict[str, List[Dict[str, Any]]]:
    """Every duration with every waiter, all at once (one thread each)."""
    found: Dict[str, List[Dict[str, Any]]] = {name: [] for name in waiters}
    lock = threading.Lock()

    def run(name: str, seconds: float) -> None:
        row = one(server, client, waiters[name], seconds)
        with lock:
            found[name].append(row)

    threads = [
        threading.Thread(target=run, args=(name, seconds))
        for seconds in durations
        for name in waiters
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def measure(
    longest: float, count: int, short: float, repeat: int, passes: int = 1
) -> Dict[str, Any]:
    # Pass k spreads its `count` durations at offset (k + 0.5) / passes of a step, so that all
    # passes together are `passes * count` evenly spread durations. Which poll notices an
    # execution turns on tens of milliseconds of the server's timing when it ends close to
    # one, so a single pass of 24 swings the mean by a few hundredths of a second.
    durations = [
        [longest * (i + (k + 0.5) / passes) / count for i in range(count)] for k in range(passes)
    ]
    waiters: Dict[str, Waiter] = {"ours": ours, "fixed_2s": fixed}
    with LocalAISpine(with_demo_agents=True, request_log_size=100000) as server:
        server.add_flow(SLEEP_FLOW)
        with AISpine(base_url=server.url, max_connections=2 * count + 2) as client:
            client.health_check()
            rows: Dict[str, List[Dict[str, Any]]] = {name: [] for name in waiters}
            for durations_of_pass in durations:
                for name, found in spread(server, client, waiters, durations_of_pass).items():
                    rows[name] += found
            shorts: Dict[str, List[float]] = {name: [] for name in waiters}
            for _ in range(repeat):
                for name, waiter in waiters.items():
                    shorts[name].append(one(server, client, waiter, short)["call_s"])
    result: Dict[str, Any] = {
        "longest_s": longest,
        "count": count,
        "passes": passes,
        "short_s": short,
        "repeat": repeat,
        "fixed_interval_s": FIXED_INTERVAL,
    }
    for name in waiters:
        result[name] = {
            "mean_lateness_s": round(statistics.mean(r["lateness_s"] for r in rows[name]), 3),
            "max_lateness_s": round(max(r["lateness_s"] for r in rows[name]), 3),
            "mean_polls": round(statistics.mean(r["polls"] for r in rows[name]), 2),
            "short_call_s": round(statistics.median(shorts[name]), 3),
            "rows": sorted(rows[name], key=lambda r: r["seconds"]),
        }
    result["lateness_ratio_ours_over_fixed"] = round(
        result["ours"]["mean_lateness_s"] / result["fixed_2s"]["mean_lateness_s"], 2
    )
    result["polls_ratio_ours_over_fixed"] = round(
        result["ours"]["mean_polls"] / result["fixed_2s"]["mean_polls"], 2
    )
    return result


def report(result: Dict[str, Any]) -> None:
    print(
        "{count} executions spread over 0-{longest_s:g} s, all at once, {passes} time(s) at "
        "offsets; a {short_s:g} s execution {repeat} times".format(**result)
    )
    rows = []
    for name, label in (("ours", "execute_and_wait (this tree)"), ("fixed_2s", "fixed 2 s")):
        row = result[name]
        rows.append(
            [
                label,
                row["mean_lateness_s"],
                row["max_lateness_s"],
                row["mean_polls"],
                row["short_call_s"],
            ]
        )
    print(table(["schedule", "mean late s", "max late s", "polls", "short call s"], rows))
    print(
        "ours / fixed: lateness {:.2f}x, polls {:.2f}x".format(
            result["lateness_ratio_ours_over_fixed"], result["polls_ratio_ours_over_fixed"]
        )
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--longest", type=float, default=12.0)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--short", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--passes", type=int, default=3, help="spreads of --count, each at its own offset"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.passes < 1:
        parser.error("--passes must be at least 1")
    result = measure(args.longest, args.count, args.short, args.repeat, args.passes)
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
