"""Waiting for an execution, as a state machine that never touches a socket or a clock.

Both clients drive one :class:`Wait` the same way: ask :meth:`Wait.poll` what to send (the
operation and the timeouts that fit the time left), send it, hand the execution or the error
to :meth:`Wait.answered` or :meth:`Wait.failed`, and obey the :class:`Step` they return:
report progress, then return or raise (:meth:`Step.outcome`), or sleep and poll again. The
caller passes the clock's reading in, so tests run the whole schedule without sleeping.

The schedule (:func:`pause_after`): poll at once (unless the execution was started a moment
ago: the start's answer said ``pending``), then 0.35 s and 0.55 s after the start, then every
0.85 s; after about half a minute the pause grows with the time waited (3% of it). No pause
is ever longer than ``interval``, and none goes past the deadline. Ride out what may pass
(refused or reset connections, timeouts, 5xx, 429) until the deadline, with a warning at the
first such failure; fail at once on what will not (a host name that does not resolve, TLS, a
4xx, an answer that is not an execution).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Tuple

from . import _operations
from ._logging import Log
from ._operations import Operation
from ._protocol import Failure
from .constants import (
    EARLY_POLLS,
    MAX_TIMEOUT,
    POLL_PAUSE_GROWTH,
    STATUS_COMPLETED,
    STEADY_POLL_PAUSE,
    TERMINAL_STATUSES,
)
from .exceptions import (
    AISpineError,
    ExecutionError,
    NetworkError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from .utils import validate_execution_id

if TYPE_CHECKING:  # pragma: no cover - the TypedDicts cost ~1.3 ms to import
    from .models import Execution

__all__ = ["Poll", "Step", "Wait", "check_wait_arguments", "pause_after", "time_left"]

_MIN_POLL_TIMEOUT = 0.05  # a poll given less than this cannot even connect
_SAME_POLL = 0.001  # a poll due this close to now is the one just made (sleeps round)
_TRANSIENT = (NetworkError, TimeoutError, RateLimitError, ServerError)
# Network failures that mean a wrong base_url or certificate: polling again cannot help.
_MISCONFIGURED = (Failure.NAME_RESOLUTION, Failure.TLS)


class Poll:
    """The next request of a wait: send ``operation`` with these limits (``*poll`` gives
    ``send``'s arguments).

    Attributes:
        operation: The ``get_execution`` to send.
        timeout: ``(connect, read)``, each capped by the time left.
        total: Seconds for the whole request, so that a poll cannot outlive the deadline.
    """

    __slots__ = ("operation", "timeout", "total")

    def __init__(
        self, operation: Operation[Execution], timeout: Tuple[float, float], total: float
    ) -> None:
        self.operation = operation
        self.timeout = timeout
        self.total = total

    def __iter__(self) -> Iterator[Any]:
        return iter((self.operation, self.timeout, self.total))


class Step:
    """What to do after a poll.

    Attributes:
        report: An execution to pass to ``on_progress`` first (its status changed), or None.
        done: Whether the wait is over: then :meth:`outcome` returns or raises.
        sleep: Otherwise, the seconds to sleep before the next poll.
    """

    __slots__ = ("report", "done", "sleep", "execution", "error")

    def __init__(
        self,
        report: Optional[Execution],
        done: bool,
        sleep: float = 0.0,
        execution: Optional[Execution] = None,
        error: Optional[AISpineError] = None,
    ) -> None:
        self.report = report
        self.done = done
        self.sleep = sleep
        self.execution = execution
        self.error = error

    def outcome(self) -> Execution:
        """The completed execution; or raise why the wait ended without one.

        Raises:
            ExecutionError: The execution failed or was cancelled.
            TimeoutError: The deadline passed.
        """
        if self.error is not None:
            raise self.error
        assert self.execution is not None
        return self.execution


class Wait:
    """The state of one ``wait_for_execution``.

    Args:
        execution_id: The execution to wait for (checked: a UUID).
        timeout: Seconds to wait in total.
        interval: The longest pause between two polls.
        on_progress: The caller's callback, checked here and called by the driver.
        http_timeout: The client's ``(connect, read)`` timeout; polls use at most this.
        now: The clock's reading (``time.monotonic()``) at the start.
        log: The client's log, for the warning at the first failed poll.
        started: When the caller started the execution (the clock's reading as it sent the
            ``execute``), if it did: the start answered ``pending``, so the poll at once is
            skipped (:attr:`first_sleep` says how long to sleep before the first poll) and
            the schedule counts from then, when the execution began, not from when the
            start's answer arrived.

    Raises:
        ValidationError: If an argument is invalid.

    Example:
        >>> wait = Wait("4ee0c6d2-3e51-4af5-a19c-6117546f9cdc", 10, 2, None, (5.0, 5.0), 0.0)
        >>> wait.poll(0.0).timeout
        (5.0, 5.0)
        >>> step = wait.answered({"status": "running"}, 0.1)
        >>> step.report["status"], step.done, round(step.sleep, 2)
        ('running', False, 0.25)
        >>> wait.answered({"status": "completed"}, 0.4).outcome()["status"]
        'completed'
    """

    def __init__(
        self,
        execution_id: str,
        timeout: float,
        interval: float,
        on_progress: Optional[Callable[[Execution], Any]],
        http_timeout: Tuple[float, float],
        now: float,
        log: Optional[Log] = None,
        started: Optional[float] = None,
    ) -> None:
        self.execution_id = validate_execution_id(execution_id)
        check_wait_arguments(timeout, interval, on_progress)
        self.operation = _operations.get_execution(self.execution_id)
        self.timeout = timeout
        self.interval = interval
        self.http_timeout = http_timeout
        self.start = now if started is None else min(started, now)
        self.deadline = now + timeout
        self.first_sleep = 0.0
        """Seconds to sleep before the first poll."""
        if started is not None:
            self.first_sleep = min(pause_after(now - self.start, interval), timeout)
        self.last: Optional[Execution] = None
        self.last_error: Optional[AISpineError] = None
        self.log = log or Log(verbose=False)
        self.warned = False

    def poll(self, now: float) -> Poll:
        """The next request, with every limit capped by the time left."""
        remaining = self.deadline - now
        connect, read = self.http_timeout
        return Poll(
            self.operation,
            (_at_least_min(min(connect, remaining)), _at_least_min(min(read, remaining))),
            _at_least_min(remaining),
        )

    def answered(self, execution: Execution, now: float) -> Step:
        """Take a polled execution: report, finish, or schedule the next poll."""
        self.last_error = None
        status = execution.get("status")
        changed = self.last is None or status != self.last.get("status")
        self.last = execution
        report = execution if changed else None
        if status == STATUS_COMPLETED:
            return Step(report, True, execution=execution)
        if status in TERMINAL_STATUSES:
            error = ExecutionError(
                "Execution {} {}: {}".format(
                    self.execution_id, status, execution.get("error_message") or "no error message"
                ),
                execution_id=self.execution_id,
                status=status,
                execution=dict(execution),
            )
            return Step(report, True, error=error)
        return self._next(report, pause_after(now - self.start, self.interval), now)

    def failed(self, error: AISpineError, now: float) -> Step:
        """Take a failed poll: ride out what may pass, raise what will not.

        Raises:
            AISpineError: ``error`` itself, when asking again cannot help (a 4xx, a bad
                answer, an unknown execution, a host name that does not resolve, TLS).
        """
        if (
            not isinstance(error, _TRANSIENT)
            or (isinstance(error, ServerError) and (error.status_code or 500) < 500)
            or (isinstance(error, NetworkError) and error.kind in _MISCONFIGURED)
        ):
            raise error
        if not self.warned:
            self.warned = True
            self.log.warning(
                "Polling execution %s failed (%s); polling on until the deadline, %.0f s "
                "from now",
                self.execution_id,
                error,
                max(0.0, self.deadline - now),
            )
        wait = pause_after(now - self.start, self.interval)
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        self.last_error = error
        return self._next(None, wait, now)

    def _next(self, report: Optional[Execution], wait: float, now: float) -> Step:
        remaining = self.deadline - now
        if remaining <= 0:
            return Step(report, True, error=self._timeout_error())
        return Step(report, False, min(wait, remaining))

    def _timeout_error(self) -> TimeoutError:
        error = TimeoutError(
            "Execution {} was still {} after {:g} s{}. It keeps running: wait again, "
            "or cancel it with cancel_execution().".format(
                self.execution_id,
                repr(self.last.get("status")) if self.last else "not seen",
                self.timeout,
                "; last poll failed: {}".format(self.last_error) if self.last_error else "",
            ),
            timeout=self.timeout,
            execution=dict(self.last) if self.last is not None else None,
            execution_id=self.execution_id,
        )
        error.__cause__ = self.last_error
        return error


def pause_after(elapsed: float, interval: float) -> float:
    """The pause before the next poll, ``elapsed`` seconds into a wait. Pure.

    Polls land at 0.35 s and 0.55 s, then every 0.85 s on a grid from there (a poll that took
    a while is followed by a shorter pause), then (past about 28 s) every 3% of the time
    waited; ``interval`` caps every pause.

    Example:
        >>> [round(pause_after(t, 2.0), 2) for t in (0.0, 0.35, 0.55, 1.45, 60.0, 600.0)]
        [0.35, 0.2, 0.85, 0.8, 1.8, 2.0]
        >>> pause_after(0.0, 0.1)
        0.1
    """
    if interval <= EARLY_POLLS[0]:
        return interval  # the caller asked for polls closer than even the early ones
    for at in EARLY_POLLS:
        if at > elapsed + _SAME_POLL:
            return min(at - elapsed, interval)
    if elapsed * POLL_PAUSE_GROWTH > STEADY_POLL_PAUSE:
        return min(elapsed * POLL_PAUSE_GROWTH, interval)
    # On a grid from the last early poll, so that the time each poll takes does not add up.
    last, step = EARLY_POLLS[-1], min(STEADY_POLL_PAUSE, interval)
    return last + (math.floor((elapsed + _SAME_POLL - last) / step) + 1) * step - elapsed


def time_left(start: float, timeout: float, now: float) -> float:
    """What is left of ``timeout`` seconds started at ``start`` (at least a usable moment).

    Example:
        >>> time_left(100.0, 30.0, 110.0)
        20.0
    """
    return _at_least_min(timeout - (now - start))


def _at_least_min(seconds: float) -> float:
    return max(_MIN_POLL_TIMEOUT, seconds)


def check_wait_arguments(timeout: Any, interval: Any, on_progress: Any) -> None:
    """Check the arguments of a wait before anything is sent.

    Raises:
        ValidationError: If ``timeout`` or ``interval`` is not a positive number of seconds,
            or ``on_progress`` is not callable.
    """
    _require_positive(timeout, "timeout")
    _require_positive(interval, "interval")
    if on_progress is not None and not callable(on_progress):
        raise ValidationError("on_progress must be callable, got {!r}".format(on_progress))


def _require_positive(value: Any, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= MAX_TIMEOUT
    ):
        raise ValidationError(
            "{} must be a positive number of seconds, at most {:g} (a day), got {!r}".format(
                name, MAX_TIMEOUT, value
            )
        )
