"""Running many executions at once from asyncio with AsyncAISpine.

One event loop starts every execution and waits for all of them together: no threads, one
pool of connections. A semaphore bounds how many run at once, and progress callbacks may be
coroutines. Needs the async extra: pip install "ai-spine-sdk[async]".

Run: python examples/async_execution.py
"""

import asyncio
import time
from typing import Any, Optional

from _connect import FLOW_ID, server_url

from ai_spine import AsyncAISpine, ExecutionError

APPLICANTS = [
    {"text": "stable job, great references", "income": 95000, "debt": 5000},
    {"text": "missed payments, worried", "income": 30000, "debt": 26000},
    {"text": "new job, steady income", "income": 60000, "debt": 15000},
    {"text": "promoted twice, excellent record", "income": 120000, "debt": 40000},
]


async def run_all(client: AsyncAISpine) -> None:
    """Start and wait for every applicant at once."""
    results = await asyncio.gather(
        *[client.execute_and_wait(FLOW_ID, a, timeout=60, interval=0.5) for a in APPLICANTS]
    )
    for done in results:
        print("  asyncio:", done["status"], "-", done["output_data"]["credit"]["decision"])


async def run_bounded(client: AsyncAISpine, limit: int = 2) -> None:
    """At most ``limit`` executions in flight; each reports its progress as it goes."""
    gate = asyncio.Semaphore(limit)

    async def one(number: int, applicant: Any) -> None:
        async def progress(execution: Any) -> None:
            print("  bounded #{}: {}".format(number, execution["status"]))

        async with gate:
            try:
                await client.execute_and_wait(FLOW_ID, applicant, timeout=60, on_progress=progress)
            except ExecutionError as error:  # one failure does not stop the others
                print("  bounded #{} failed: {}".format(number, error))

    await asyncio.gather(*[one(n, a) for n, a in enumerate(APPLICANTS, 1)])


async def main(base_url: Optional[str]) -> None:
    async with AsyncAISpine(base_url=base_url) as client:
        for name, run in [("all at once", run_all), ("two at a time", run_bounded)]:
            began = time.monotonic()
            await run(client)
            print(
                "{}: {} executions in {:.2f} s".format(
                    name, len(APPLICANTS), time.monotonic() - began
                )
            )


if __name__ == "__main__":
    with server_url() as url:
        asyncio.run(main(url))
