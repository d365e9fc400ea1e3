"""Batch processing: score a list of applicants with bounded concurrency, keep going when
some fail, and report successes and failures at the end.

Run: python examples/batch_processing.py
"""

from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Dict, List, Tuple

from _connect import FLOW_ID, connect

from ai_spine import AISpine, AISpineError

BATCH: List[Dict[str, Any]] = [
    {"name": "Ada", "text": "great references, stable", "income": 90000, "debt": 10000},
    {"name": "Bob", "text": "missed payments", "income": 25000, "debt": 24000},
    {"name": "Cy", "text": "steady job", "income": 55000, "debt": 5000},
    {"name": "Dee", "text": "broken record", "income": 40000, "fail": True},  # agent fails
    {"name": "Eve", "text": "promoted, strong growth", "income": 150000, "debt": 30000},
]


def score(client: AISpine, applicant: Dict[str, Any]) -> Dict[str, Any]:
    done = client.execute_and_wait(FLOW_ID, applicant, timeout=60)
    return dict(done["output_data"]["credit"])


def main() -> None:
    results: List[Tuple[str, Dict[str, Any]]] = []
    failures: List[Tuple[str, str]] = []
    with connect() as client, ThreadPoolExecutor(max_workers=3) as pool:
        futures = {pool.submit(score, client, applicant): applicant["name"] for applicant in BATCH}
        for future in as_completed(futures):
            name = futures[future]
            try:
                results.append((name, future.result()))
            except AISpineError as error:
                failures.append((name, "{}: {}".format(type(error).__name__, error.message)))

    for name, credit in sorted(results):
        print("{:<4} {} ({})".format(name, credit["decision"], credit["credit_score"]))
    for name, reason in sorted(failures):
        print("{:<4} FAILED {}".format(name, reason[:100]))
    print("{} scored, {} failed".format(len(results), len(failures)))


if __name__ == "__main__":
    main()
