"""execute_batch against a deployment, with both clients (the ``client`` fixture).

The seeded echo flow runs two nodes; ``{"sleep": s}`` makes each sleep ``s`` seconds, so an
execution takes about ``2 s``; ``{"fail": True}`` fails it. Its output is the exit node's:
``{"b": {...the input...}}``. Concurrency is measured with the
server's own timestamps (``created_at``, ``completed_at``), so these tests need nothing of
the local server's internals.
"""

from datetime import datetime
from typing import Any, List, Tuple

import pytest

from ai_spine import (
    AISpine,
    BatchError,
    BatchItem,
    BatchProgress,
    BatchResult,
    ExecutionError,
    NotFoundError,
    TimeoutError,
)
from ai_spine.utils import parse_timestamp

Seed = Any  # tests/integration/conftest.py's Seed: credit_flow, echo_flow, agent_ids

pytestmark = pytest.mark.integration

FAST = {"interval": 0.05, "timeout": 30}


def echo(seed: Seed, number: int, sleep: float = 0.0, **extra: Any) -> BatchItem:
    return BatchItem(seed.echo_flow, dict({"n": number, "sleep": sleep}, **extra))


def spans(client: AISpine, results: List[BatchResult]) -> List[Tuple[datetime, datetime]]:
    """Each execution's ``(created_at, completed_at)`` as the server recorded them."""
    found = []
    for result in results:
        execution = client.get_execution(result.execution_id)  # type: ignore[arg-type]
        found.append(
            (parse_timestamp(execution["created_at"]), parse_timestamp(execution["completed_at"]))
        )
    return found


def most_at_once(intervals: List[Tuple[datetime, datetime]]) -> int:
    """The most intervals open at the same instant (an end comes before a start at a tie)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def test_results_come_in_input_order_with_outputs_and_durations(
    client: AISpine, seed: Seed
) -> None:
    items = [echo(seed, 0, 0.3), echo(seed, 1), echo(seed, 2, 0.1), echo(seed, 3)]
    results = client.execute_batch(items, max_workers=2, **FAST)
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.item for r in results] == items
    for number, result in enumerate(results):
        assert result.ok and result.status == "completed" and result.error is None
        assert result.output is not None and result.output["b"]["n"] == number
        assert result.execution is not None
        assert result.execution["execution_id"] == result.execution_id
    assert 0.6 <= results[0].duration < 5  # two nodes of 0.3 s
    assert results[1].duration < results[0].duration


def test_a_sliding_window_never_exceeds_max_workers(client: AISpine, seed: Seed) -> None:
    # One long execution first; the short ones queued behind it must not wait for it.
    items = [echo(seed, 0, 0.5)] + [echo(seed, n, 0.02) for n in range(1, 7)]
    results = client.execute_batch(items, max_workers=2, **FAST)
    assert all(r.ok for r in results)
    intervals = spans(client, results)
    assert most_at_once(intervals) == 2
    long_end = intervals[0][1]
    # In fixed waves of 2, items[2] could only start after items[0] ended.
    assert all(start < long_end for start, _ in intervals[2:])


def test_as_many_as_max_workers_run_at_once(client: AISpine, seed: Seed) -> None:
    results = client.execute_batch([echo(seed, n, 0.2) for n in range(6)], max_workers=3, **FAST)
    assert most_at_once(spans(client, results)) == 3


def test_failures_are_recorded_and_do_not_stop_the_others(client: AISpine, seed: Seed) -> None:
    items = [
        echo(seed, 0),
        echo(seed, 1, fail=True),
        ("no_such_flow_for_batch", {"n": 2}),
        {"flow_id": seed.echo_flow, "input_data": {"n": 3}, "metadata": {"source": "batch"}},
    ]
    results = client.execute_batch(items, max_workers=2, **FAST)
    assert [r.ok for r in results] == [True, False, False, True]
    failed, unknown = results[1], results[2]
    assert isinstance(failed.error, ExecutionError)
    assert failed.status == "failed" and failed.execution_id == failed.error.execution_id
    assert failed.output is None and failed.execution is not None
    assert isinstance(unknown.error, NotFoundError)
    assert (unknown.execution_id, unknown.status, unknown.skipped) == (None, None, False)
    assert results[3].item == BatchItem(seed.echo_flow, {"n": 3}, {"source": "batch"})
    assert results[3].output is not None and results[3].output["b"]["n"] == 3


def test_an_item_that_outlives_its_timeout_is_a_timeout_result(client: AISpine, seed: Seed) -> None:
    results = client.execute_batch(
        [echo(seed, 0, 0.6), echo(seed, 1)], max_workers=2, timeout=0.3, interval=0.05
    )
    late, quick = results
    assert isinstance(late.error, TimeoutError) and late.status in ("pending", "running")
    assert late.execution_id is not None and 0.3 <= late.duration < 2
    assert quick.ok


def test_stop_on_error_starts_nothing_more_and_waits_for_those_in_flight(
    client: AISpine, seed: Seed
) -> None:
    reported: List[int] = []
    items = [echo(seed, 0, fail=True), echo(seed, 1, 0.3)] + [echo(seed, n) for n in range(2, 6)]
    with pytest.raises(BatchError) as caught:
        client.execute_batch(
            items,
            max_workers=2,
            stop_on_error=True,
            on_progress=lambda result, _: reported.append(result.index),
            **FAST,
        )
    error = caught.value
    assert [r.index for r in error.results] == list(range(6))
    assert error.failed is error.results[0] and isinstance(error.failed.error, ExecutionError)
    assert error.__cause__ is error.failed.error
    assert error.results[1].ok  # in flight when the batch stopped: waited for, not cancelled
    assert all(r.skipped and r.execution_id is None for r in error.results[2:])
    assert sorted(reported) == [0, 1]
    assert "items[0]" in str(error) and "1 completed, 1 failed, 4 not started" in str(error)


def test_on_progress_reports_each_result_as_it_finishes(client: AISpine, seed: Seed) -> None:
    calls: List[Tuple[BatchResult, BatchProgress]] = []
    items = [echo(seed, 0, 0.3), echo(seed, 1, fail=True), echo(seed, 2)]
    results = client.execute_batch(
        items, max_workers=3, on_progress=lambda r, p: calls.append((r, p)), **FAST
    )
    assert [p.done for _, p in calls] == [1, 2, 3]
    assert {p.total for _, p in calls} == {3}
    assert calls[-1][1] == BatchProgress(done=3, total=3, succeeded=2, failed=1)
    assert calls[-1][0].index == 0  # the slow one finishes last
    assert sorted((r for r, _ in calls), key=lambda r: r.index) == results


def test_an_empty_batch_and_a_generator(client: AISpine, seed: Seed) -> None:
    assert client.execute_batch([], on_progress=lambda r, p: pytest.fail("no items")) == []
    results = client.execute_batch((echo(seed, n) for n in range(3)), **FAST)
    assert [r.output["b"]["n"] for r in results if r.output] == [0, 1, 2]
