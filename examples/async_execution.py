"""Running many executions at once with the synchronous client.

Three patterns: start everything then poll; a thread pool of execute_and_wait calls; and
the same from asyncio code through an executor. The client is thread-safe and its
connection pool is shared.

Run: python examples/async_execution.py
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from _connect import FLOW_ID, connect

from ai_spine import AISpine

APPLICANTS = [
    {"text": "stable job, great references", "income": 95000, "debt": 5000},
    {"text": "missed payments, worried", "income": 30000, "debt": 26000},
    {"text": "new job, steady income", "income": 60000, "debt": 15000},
    {"text": "promoted twice, excellent record", "income": 120000, "debt": 40000},
]


def fire_then_poll(client: AISpine) -> None:
    started = [client.execute_flow(FLOW_ID, applicant) for applicant in APPLICANTS]
    for execution in started:
        done = client.wait_for_execution(execution["execution_id"], timeout=60)
        print("  fire-then-poll:", done["output_data"]["credit"]["decision"])


def thread_pool(client: AISpine) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in pool.map(lambda a: client.execute_and_wait(FLOW_ID, a, timeout=60), APPLICANTS):
            print("  thread pool:", done["output_data"]["credit"]["credit_score"])


async def from_asyncio(client: AISpine) -> None:
    loop = asyncio.get_running_loop()
    tasks = [
        loop.run_in_executor(None, lambda a=a: client.execute_and_wait(FLOW_ID, a, timeout=60))
        for a in APPLICANTS
    ]
    for done in await asyncio.gather(*tasks):
        print("  asyncio:", done["status"])


def main() -> None:
    with connect() as client:
        for name, run in [("fire then poll", fire_then_poll), ("thread pool", thread_pool)]:
            began = time.monotonic()
            run(client)
            print(
                "{}: {} executions in {:.2f} s".format(
                    name, len(APPLICANTS), time.monotonic() - began
                )
            )
        asyncio.run(from_asyncio(client))


if __name__ == "__main__":
    main()
