"""Basic usage: check the server, look at a flow, run it, and read the results.

Run: python examples/basic_usage.py
"""

from _connect import FLOW_ID, connect

from ai_spine.models import Execution


def main() -> None:
    with connect() as client:
        print("Server:", client.health_check()["status"])
        flow = client.get_flow(FLOW_ID)
        steps = " -> ".join(node["id"] for node in flow["nodes"])
        print("Flow {!r}: {} ({})".format(flow["flow_id"], flow["name"], steps))

        def show(execution: Execution) -> None:
            print("  status:", execution["status"])

        execution = client.execute_and_wait(
            FLOW_ID,
            {"text": "Stable job, great references", "income": 85000, "debt": 12000},
            timeout=60,
            on_progress=show,
        )
        print("Output:", execution["output_data"])

        results = client.get_execution_results(execution["execution_id"])
        for node in results["node_results"]:
            print(
                "  node {}: {} in {} ms".format(
                    node["node_id"], node["status"], node.get("execution_time_ms")
                )
            )


if __name__ == "__main__":
    main()
