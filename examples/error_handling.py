"""Error handling: each failure mode has its own exception, with the server's words.

Run: python examples/error_handling.py
"""

from _connect import FLOW_ID, connect

from ai_spine import (
    AISpineError,
    ExecutionError,
    NotFoundError,
    TimeoutError,
    ValidationError,
)


def main() -> None:
    with connect() as client:
        # Bad arguments are refused before anything is sent.
        try:
            client.execute_flow(FLOW_ID, "not a dict")  # type: ignore[arg-type]
        except ValidationError as error:
            print("ValidationError:", error)

        # For an unknown flow the server answers 200 with status "failed", not a 404; the
        # SDK raises NotFoundError for it (its status_code is that 200).
        try:
            client.execute_flow("no_such_flow", {})
        except NotFoundError as error:
            print("NotFoundError:", error.message)

        # An agent failing fails the execution: the error carries the execution.
        try:
            client.execute_and_wait(FLOW_ID, {"text": "hi", "income": 1, "fail": True})
        except ExecutionError as error:
            print("ExecutionError: status={} id={}".format(error.status, error.execution_id))

        # A deadline that passes raises TimeoutError; the execution keeps running.
        started = client.execute_flow(FLOW_ID, {"text": "hi", "income": 1, "sleep": 1})
        try:
            client.wait_for_execution(started["execution_id"], timeout=0.3)
        except TimeoutError as error:
            print("TimeoutError: last status", (error.execution or {}).get("status"))
            client.cancel_execution(started["execution_id"])

        # Everything the SDK raises is an AISpineError.
        try:
            client.get_agent("no_such_agent")
        except AISpineError as error:
            print("{}: HTTP {} {}".format(type(error).__name__, error.status_code, error.message))


if __name__ == "__main__":
    main()
