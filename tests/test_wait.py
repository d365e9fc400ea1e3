"""The wait_for_execution state machine, driven with fake clock readings: no socket, no sleep."""

import re
from typing import Any, Dict, List, Optional, Tuple

import pytest

from ai_spine import (
    AuthenticationError,
    ExecutionError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from ai_spine._wait import Poll, Step, Wait, check_wait_arguments, pause_after
from ai_spine.exceptions import AISpineError

EXECUTION_ID = "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"


def make_wait(
    timeout: float = 60.0,
    interval: float = 2.0,
    http_timeout: Tuple[float, float] = (5.0, 30.0),
    now: float = 100.0,
    on_progress: Any = None,
) -> Wait:
    return Wait(EXECUTION_ID, timeout, interval, on_progress, http_timeout, now)


def execution(status: str, **fields: Any) -> Dict[str, Any]:
    return dict({"execution_id": EXECUTION_ID, "status": status}, **fields)


def run(
    wait: Wait, answers: List[Any], now: float = 100.0
) -> Tuple[List[Step], List[Dict[str, Any]], float]:
    """Drive ``wait`` like a client does, feeding ``answers`` (executions or errors) in turn;
    return the steps, what was reported, and the clock at the end."""
    steps: List[Step] = []
    reported: List[Dict[str, Any]] = []
    for answer in answers:
        wait.poll(now)
        if isinstance(answer, AISpineError):
            step = wait.failed(answer, now)
        else:
            step = wait.answered(answer, now)
        steps.append(step)
        if step.report is not None:
            reported.append(step.report)
        if step.done:
            break
        now += step.sleep
    return steps, reported, now


# --- Construction ------------------------------------------------------------------------------


def test_the_wait_polls_the_execution_canonically_quoted() -> None:
    wait = Wait("{" + EXECUTION_ID.upper() + "}", 10, 2, None, (5.0, 5.0), 0.0)
    assert wait.execution_id == EXECUTION_ID
    poll = wait.poll(0.0)
    assert isinstance(poll, Poll)
    assert (poll.operation.method, poll.operation.path) == (
        "GET",
        "/api/v1/executions/" + EXECUTION_ID,
    )
    assert wait.deadline == 10.0


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"execution_id": "not-a-uuid"}, "execution_id must be a UUID"),
        ({"execution_id": ""}, "execution_id must be a non-empty string"),
        ({"execution_id": None}, "execution_id must be a non-empty string"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, at most 86400 (a day)"),
        ({"timeout": float("inf")}, "at most 86400 (a day), got inf"),
        ({"timeout": 86400.5}, "at most 86400 (a day), got 86400.5"),
        ({"timeout": -1.5}, "timeout must be a positive number"),
        ({"timeout": True}, "timeout must be a positive number"),
        ({"timeout": "60"}, "timeout must be a positive number"),
        ({"timeout": None}, "timeout must be a positive number"),
        ({"timeout": float("nan")}, "timeout must be a positive number"),
        ({"interval": 0}, "interval must be a positive number of seconds, at most 86400"),
        ({"interval": 1e10}, "interval must be a positive number of seconds, at most 86400"),
        ({"interval": False}, "interval must be a positive number"),
        ({"interval": [1]}, "interval must be a positive number"),
        ({"on_progress": "print"}, "on_progress must be callable, got 'print'"),
        ({"on_progress": 3}, "on_progress must be callable"),
    ],
)
def test_invalid_arguments_are_refused(kwargs: Dict[str, Any], fragment: str) -> None:
    arguments: Dict[str, Any] = dict(
        execution_id=EXECUTION_ID, timeout=60, interval=2, on_progress=None
    )
    arguments.update(kwargs)
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        Wait(
            arguments["execution_id"],
            arguments["timeout"],
            arguments["interval"],
            arguments["on_progress"],
            (5.0, 5.0),
            0.0,
        )


def test_check_wait_arguments_accepts_numbers_and_callables() -> None:
    check_wait_arguments(1, 0.5, None)
    check_wait_arguments(0.01, 10, print)
    check_wait_arguments(300.0, 2.0, lambda execution: None)
    with pytest.raises(ValidationError, match="interval"):
        check_wait_arguments(1, -1, None)


# --- The schedule ----------------------------------------------------------------------------


def test_polls_at_once_then_early_then_steadily_up_to_the_interval() -> None:
    # Polls due at 0, 0.35, 0.55, then every 0.85 s (the old schedule doubled from 0.25 s to
    # the interval: 0.25, 0.5, 1.0, 2.0, which noticed a 0.3 s execution 0.45 s late).
    wait = make_wait(timeout=100, interval=2.0)
    steps, _, _ = run(wait, [execution("running")] * 6)
    assert [s.sleep for s in steps] == pytest.approx([0.35, 0.2, 0.85, 0.85, 0.85, 0.85])
    assert not any(s.done for s in steps)


def test_the_pause_grows_with_the_time_waited_up_to_the_interval() -> None:
    assert pause_after(10.0, 2.0) == pytest.approx(0.75)  # due at 0.55 + 12 x 0.85
    assert pause_after(10.75, 2.0) == pytest.approx(0.85)
    assert pause_after(40.0, 2.0) == pytest.approx(1.2)  # 3% of the time waited
    assert pause_after(100.0, 2.0) == 2.0
    assert pause_after(3600.0, 10.0) == 10.0


def test_a_poll_made_a_hair_early_is_still_the_one_due() -> None:
    # Sleeps round: a poll at 0.5499999 s is the one due at 0.55 s, not a reason to poll again.
    assert pause_after(0.35 + 0.2 - 1e-9, 2.0) == pytest.approx(0.85)


def test_an_interval_shorter_than_the_first_pause_is_the_pause() -> None:
    steps, _, _ = run(make_wait(interval=0.1), [execution("pending")] * 3)
    assert [s.sleep for s in steps] == [0.1, 0.1, 0.1]


def test_an_odd_interval_caps_every_pause() -> None:
    steps, _, _ = run(make_wait(interval=0.7), [execution("pending")] * 4)
    assert [s.sleep for s in steps] == pytest.approx([0.35, 0.2, 0.7, 0.7])


def test_a_wait_for_an_execution_just_started_skips_the_poll_at_once() -> None:
    # The start answered "pending" a moment ago: a poll now would only see "running".
    wait = Wait(EXECUTION_ID, 10, 2, None, (5.0, 5.0), 0.0, None, started=0.0)
    assert wait.first_sleep == 0.35
    assert make_wait().first_sleep == 0.0
    assert Wait(EXECUTION_ID, 0.1, 2, None, (5.0, 5.0), 0.0, started=0.0).first_sleep == 0.1


def test_the_schedule_counts_from_when_the_execution_was_started() -> None:
    # The start's answer took 0.05 s: the first poll is 0.35 s after the execution began.
    wait = Wait(EXECUTION_ID, 10, 2, None, (5.0, 5.0), 100.05, started=100.0)
    assert wait.first_sleep == pytest.approx(0.3)
    assert wait.deadline == pytest.approx(110.05)  # the time left is the caller's to give


def test_never_sleeps_past_the_deadline() -> None:
    wait = make_wait(timeout=3.0, interval=2.0, now=0.0)
    step = wait.answered(execution("running"), 0.0)
    assert step.sleep == 0.35
    step = wait.answered(execution("running"), 2.9)
    assert step.done is False
    assert step.sleep == pytest.approx(0.1)  # 0.2 was due (at 3.1 s); only 0.1 s is left


def test_the_full_schedule_ends_exactly_at_the_deadline_with_a_timeout() -> None:
    wait = make_wait(timeout=5.0, interval=2.0, now=100.0)
    steps, reported, end = run(wait, [execution("running")] * 20, now=100.0)
    sleeps = [s.sleep for s in steps if not s.done]
    assert sleeps == pytest.approx([0.35, 0.2, 0.85, 0.85, 0.85, 0.85, 0.85, 0.2])
    assert end == pytest.approx(105.0)
    assert steps[-1].done
    assert len(reported) == 1
    with pytest.raises(TimeoutError):
        steps[-1].outcome()


# --- Per-poll timeouts -----------------------------------------------------------------------


def test_each_poll_uses_the_client_s_timeouts_while_time_is_plentiful() -> None:
    poll = make_wait(timeout=60, http_timeout=(5.0, 30.0), now=0.0).poll(0.0)
    assert poll.timeout == (5.0, 30.0)
    assert poll.total == 60.0


def test_each_poll_is_capped_by_the_time_left() -> None:
    wait = make_wait(timeout=60, http_timeout=(5.0, 30.0), now=0.0)
    assert wait.poll(50.0).timeout == (5.0, 10.0)
    assert wait.poll(50.0).total == 10.0
    assert wait.poll(57.0).timeout == (3.0, 3.0)
    assert wait.poll(59.5).total == pytest.approx(0.5)


@pytest.mark.parametrize("now", [59.99, 60.0, 75.0])
def test_a_poll_always_gets_at_least_50_ms(now: float) -> None:
    poll = make_wait(timeout=60, http_timeout=(5.0, 30.0), now=0.0).poll(now)
    assert poll.timeout == (0.05, 0.05)
    assert poll.total == 0.05


def test_a_poll_never_gets_more_than_the_client_s_timeouts() -> None:
    poll = make_wait(timeout=600, http_timeout=(0.01, 0.02), now=0.0).poll(0.0)
    assert poll.timeout == (0.05, 0.05)  # the floor applies to the client's own too
    assert poll.total == 600.0


# --- Progress and outcomes -------------------------------------------------------------------


def test_progress_is_reported_on_the_first_status_and_on_each_change_only() -> None:
    answers = [
        execution("pending"),
        execution("pending"),
        execution("running", step=1),
        execution("running", step=2),
        execution("running"),
        execution("completed", output_data={"ok": True}),
    ]
    steps, reported, _ = run(make_wait(), answers)
    assert [r["status"] for r in reported] == ["pending", "running", "completed"]
    assert [s.report is not None for s in steps] == [True, False, True, False, False, True]
    assert reported[1] is answers[2]


def test_a_completed_execution_is_returned() -> None:
    done = execution("completed", output_data={"ok": True})
    step = make_wait().answered(done, 100.0)
    assert step.done and step.report is done
    assert step.outcome() is done
    assert step.error is None


def test_completed_is_returned_even_after_the_deadline() -> None:
    wait = make_wait(timeout=1.0, now=0.0)
    done = execution("completed")
    assert wait.answered(done, 50.0).outcome() is done


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_a_failed_or_cancelled_execution_is_reported_then_raised(status: str) -> None:
    wait = make_wait()
    wait.answered(execution("running"), 100.0)
    final = execution(status, error_message="agent exploded")
    step = wait.answered(final, 101.0)
    assert step.done and step.report is final
    with pytest.raises(ExecutionError) as caught:
        step.outcome()
    error = caught.value
    assert error.message == "Execution {} {}: agent exploded".format(EXECUTION_ID, status)
    assert (error.execution_id, error.status) == (EXECUTION_ID, status)
    assert error.execution == final and error.execution is not final


def test_a_failure_without_a_message_says_so() -> None:
    step = make_wait().answered(execution("failed", error_message=None), 100.0)
    with pytest.raises(ExecutionError, match="failed: no error message$"):
        step.outcome()


def test_a_terminal_status_already_reported_is_not_reported_again() -> None:
    wait = make_wait()
    wait.answered(execution("failed"), 100.0)
    assert wait.answered(execution("failed"), 100.0).report is None


def test_unknown_statuses_keep_the_wait_going() -> None:
    step = make_wait().answered(execution("queued"), 100.0)
    assert not step.done and step.sleep == 0.35
    step = make_wait().answered({}, 100.0)
    assert not step.done and step.report == {}


# --- Poll failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        NetworkError("Could not connect"),
        TimeoutError("No answer", timeout=5.0),
        ServerError("down", status_code=503),
        ServerError("down", status_code=500),
        ServerError("bad gateway", status_code=502),
        RateLimitError("slow down", status_code=429),
    ],
)
def test_transient_failures_are_ridden_out_on_the_schedule(error: AISpineError) -> None:
    wait = make_wait(interval=2.0)
    steps, reported, _ = run(wait, [error, error, execution("running"), error, error])
    assert [s.sleep for s in steps] == pytest.approx([0.35, 0.2, 0.85, 0.85, 0.85])
    assert not any(s.done for s in steps)
    assert [r["status"] for r in reported] == ["running"]
    assert steps[0].report is None


def test_a_rate_limit_s_retry_after_is_honoured_but_never_past_the_deadline() -> None:
    wait = make_wait(timeout=60.0, now=0.0)
    limited = RateLimitError("slow down", status_code=429, retry_after=7.0)
    assert wait.failed(limited, 0.0).sleep == 7.0
    short = RateLimitError("slow down", status_code=429, retry_after=0.1)
    assert wait.failed(short, 7.0).sleep == pytest.approx(0.35)  # the schedule's is longer
    assert wait.failed(limited, 57.0).sleep == pytest.approx(3.0)


def test_a_rate_limit_without_retry_after_follows_the_schedule() -> None:
    wait = make_wait()
    assert wait.failed(RateLimitError("x", status_code=429), 100.0).sleep == 0.35


@pytest.mark.parametrize(
    "error",
    [
        ServerError("no", status_code=404),
        ServerError("redirected", status_code=302),
        ServerError("the API may have changed", status_code=200),
        NotFoundError("Execution not found", status_code=404),
        ValidationError("bad", status_code=422),
        AuthenticationError("Invalid API key", status_code=401),
        AISpineError("something else"),
    ],
)
def test_errors_that_will_not_heal_are_raised_at_once(error: AISpineError) -> None:
    wait = make_wait()
    wait.answered(execution("running"), 100.0)
    with pytest.raises(type(error)) as caught:
        wait.failed(error, 100.25)
    assert caught.value is error


def test_a_server_error_without_status_is_treated_as_a_5xx() -> None:
    step = make_wait().failed(ServerError("no status"), 100.0)
    assert not step.done


# --- The deadline ----------------------------------------------------------------------------


def test_the_deadline_raises_a_timeout_error_with_the_last_execution_seen() -> None:
    wait = make_wait(timeout=2.0, now=0.0)
    wait.answered(execution("pending"), 0.0)
    last = execution("running", progress=3)
    wait.answered(last, 1.0)
    step = wait.answered(last, 2.0)
    assert step.done and step.report is None
    with pytest.raises(TimeoutError) as caught:
        step.outcome()
    error = caught.value
    assert error.message == (
        "Execution {} was still 'running' after 2 s. It keeps running: wait again, or cancel "
        "it with cancel_execution().".format(EXECUTION_ID)
    )
    assert error.timeout == 2.0
    assert error.execution_id == EXECUTION_ID
    assert error.execution == last and error.execution is not last
    assert error.__cause__ is None


def test_a_status_change_at_the_deadline_is_still_reported() -> None:
    wait = make_wait(timeout=1.0, now=0.0)
    wait.answered(execution("pending"), 0.0)
    running = execution("running")
    step = wait.answered(running, 1.5)
    assert step.done and step.report is running
    with pytest.raises(TimeoutError):
        step.outcome()


def test_a_deadline_after_failed_polls_chains_the_last_poll_error() -> None:
    wait = make_wait(timeout=1.0, now=0.0)
    wait.answered(execution("running"), 0.0)
    first = NetworkError("Could not connect: refused")
    last = ServerError("Service Unavailable", status_code=503)
    assert not wait.failed(first, 0.5).done
    step = wait.failed(last, 1.0)
    assert step.done and step.report is None
    with pytest.raises(TimeoutError) as caught:
        step.outcome()
    assert caught.value.__cause__ is last
    assert caught.value.message.startswith(
        "Execution {} was still 'running' after 1 s; last poll failed: ".format(EXECUTION_ID)
    )
    assert str(last) in caught.value.message
    assert caught.value.execution == execution("running")


def test_a_successful_poll_forgets_the_previous_error() -> None:
    wait = make_wait(timeout=1.0, now=0.0)
    wait.failed(NetworkError("refused"), 0.0)
    step = wait.answered(execution("running"), 1.0)
    with pytest.raises(TimeoutError) as caught:
        step.outcome()
    assert caught.value.__cause__ is None
    assert "last poll failed" not in caught.value.message


def test_a_wait_that_never_saw_the_execution_says_so() -> None:
    wait = make_wait(timeout=0.5, now=0.0)
    wait.failed(TimeoutError("No answer", timeout=0.5), 0.0)
    error_in_last_poll = NetworkError("refused")
    step = wait.failed(error_in_last_poll, 0.6)
    with pytest.raises(TimeoutError) as caught:
        step.outcome()
    error = caught.value
    assert error.execution is None
    assert "was still not seen after 0.5 s; last poll failed: refused." in error.message
    assert error.__cause__ is error_in_last_poll


def test_the_timeout_error_is_built_once_per_step() -> None:
    wait = make_wait(timeout=0.1, now=0.0)
    step = wait.answered(execution("running"), 1.0)
    errors: List[Optional[BaseException]] = []
    for _ in range(2):
        try:
            step.outcome()
        except TimeoutError as error:
            errors.append(error)
    assert errors[0] is errors[1]


def test_steady_polls_keep_to_their_grid_whatever_each_poll_takes() -> None:
    # A poll answered 0.3 s after it was due is followed by a shorter pause, so polls do not
    # drift later and later.
    assert pause_after(0.55 + 0.85 + 0.3, 2.0) == pytest.approx(0.55)
