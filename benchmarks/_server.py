"""A local AI Spine server in its own process, for benchmarks whose clients must not share
the server's interpreter (and its GIL): ``python _server.py`` prints ``URL EXECUTION_ID`` (a
completed execution to fetch), then answers each line ``accepted`` on stdin with the number
of TCP connections accepted so far, and stops at end of input. Loopback only."""

import sys

from ai_spine import AISpine
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine


def main() -> None:
    with LocalAISpine(with_demo_agents=True, request_log_size=100) as server:
        with AISpine(base_url=server.url) as client:
            execution = client.execute_and_wait(
                DEMO_FLOW_ID, {"text": "fine", "income": 50000, "debt": 1000}, interval=0.05
            )
        print(server.url, execution["execution_id"], flush=True)
        for line in sys.stdin:
            if line.strip() == "accepted":
                print(server.connections_accepted, flush=True)


if __name__ == "__main__":
    main()
