"""Running many executions at once: ``execute_batch`` for both clients.

Each item of a batch is one execution: ``execute_flow``, then ``wait_for_execution``. At most
``max_workers`` are in flight at any time, in a sliding window: the next item starts as soon
as any one finishes, never in fixed waves. One item's failure is recorded in its
:class:`BatchResult` and does not stop the others, unless ``stop_on_error=True``.

The decisions both clients share are here and do no I/O: :class:`Batch` checks every item
before anything is sent, hands out the items in input order, records results, counts, and
decides when to stop; :func:`result_of` and :func:`failure_of` build a result. The two
drivers are thin: :func:`run_batch` (threads, or any ``concurrent.futures.Executor``, to
which it submits the module-level :func:`run_item` with the client, which pickles to its
configuration) and :func:`run_batch_async` (``max_workers`` worker coroutines on one loop).
"""

import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
)

from . import _operations
from ._base import validate_count
from ._wait import check_wait_arguments
from .constants import STATUS_COMPLETED
from .exceptions import AISpineError, BatchError, ValidationError

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from .async_client import AsyncAISpine
    from .client import AISpine

__all__ = [
    "Batch",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "failure_of",
    "result_of",
    "run_batch",
    "run_batch_async",
    "run_item",
    "run_item_async",
]

_ITEM_FIELDS = ("flow_id", "input_data", "metadata")


class BatchItem(NamedTuple):
    """One execution of a batch: a flow and its input.

    ``execute_batch`` also takes an item as a plain tuple ``(flow_id, input_data)`` or
    ``(flow_id, input_data, metadata)``, or as a dict with these keys.

    Attributes:
        flow_id: The flow to run.
        input_data: The flow's input, a JSON-serialisable dict.
        metadata: Optional JSON-serialisable dict stored with the request.

    Example:
        >>> BatchItem("credit_analysis", {"income": 50000})
        BatchItem(flow_id='credit_analysis', input_data={'income': 50000}, metadata=None)
    """

    flow_id: str
    input_data: Mapping[str, Any]
    metadata: Optional[Mapping[str, Any]] = None


@dataclass(frozen=True)
class BatchResult:
    """What became of one item of a batch.

    Attributes:
        index: The item's position in the batch's input.
        item: The item, as a :class:`BatchItem`.
        execution_id: The execution's id, or None if it never started (the start failed,
            or ``stop_on_error`` stopped the batch first).
        status: The execution's last status seen: ``completed``, ``failed`` or
            ``cancelled``; for a wait that timed out, the status at the deadline (e.g.
            ``running``); None if no status was seen.
        output: The execution's ``output_data`` when it completed, else None.
        error: Why the item did not complete: the :class:`~ai_spine.AISpineError` that
            ``execute_flow`` or ``wait_for_execution`` raised; None if it completed or was
            skipped.
        duration: Seconds from sending the item's ``execute_flow`` to the end of its wait
            (0.0 when skipped).
        execution: The execution as last returned by the server, when known.

    Example:
        >>> result = BatchResult(0, BatchItem("f", {}), None, None, None, None, 0.0)
        >>> result.ok, result.skipped
        (False, True)
    """

    index: int
    item: BatchItem
    execution_id: Optional[str]
    status: Optional[str]
    output: Optional[Dict[str, Any]]
    error: Optional[AISpineError]
    duration: float
    execution: Optional[Dict[str, Any]] = None

    @property
    def ok(self) -> bool:
        """Whether the execution completed."""
        return self.error is None and self.status == STATUS_COMPLETED

    @property
    def skipped(self) -> bool:
        """Whether the item was never tried, because ``stop_on_error`` stopped the batch."""
        return self.error is None and self.execution_id is None


class BatchProgress(NamedTuple):
    """The counts of a batch, passed to ``on_progress`` with each finished item.

    Attributes:
        done: Items finished so far, this one included.
        total: Items in the batch.
        succeeded: Items finished that completed.
        failed: Items finished that did not.

    Example:
        >>> BatchProgress(done=3, total=10, succeeded=2, failed=1)
        BatchProgress(done=3, total=10, succeeded=2, failed=1)
    """

    done: int
    total: int
    succeeded: int
    failed: int


BatchExecutor = Executor
"""What ``AISpine.execute_batch(executor=...)`` takes: any ``concurrent.futures.Executor``."""
BatchCallback = Callable[[BatchResult, BatchProgress], Any]
BatchItems = Iterable[Any]
"""A batch's items: :class:`BatchItem`, ``(flow_id, input_data[, metadata])`` tuples, or
dicts with these keys."""


def result_of(
    index: int, item: BatchItem, execution: Mapping[str, Any], duration: float
) -> BatchResult:
    """The result of an item whose execution completed.

    Example:
        >>> result_of(0, BatchItem("f", {}), {"execution_id": "e", "status": "completed",
        ...           "output_data": {"x": 1}}, 0.5).output
        {'x': 1}
    """
    return BatchResult(
        index,
        item,
        execution.get("execution_id"),
        execution.get("status"),
        execution.get("output_data"),
        None,
        duration,
        dict(execution),
    )


def failure_of(
    index: int,
    item: BatchItem,
    execution_id: Optional[str],
    error: AISpineError,
    duration: float,
) -> BatchResult:
    """The result of an item that failed to start, failed, was cancelled or timed out.

    The status and execution come from the error when it carries them
    (:class:`~ai_spine.ExecutionError`, :class:`~ai_spine.TimeoutError`).

    Example:
        >>> from ai_spine import NotFoundError
        >>> result = failure_of(0, BatchItem("nope", {}), None, NotFoundError("no flow"), 0.1)
        >>> result.ok, result.status, result.error
        (False, None, NotFoundError('no flow', status_code=None))
    """
    execution = getattr(error, "execution", None)
    status = getattr(error, "status", None)
    if status is None and execution is not None:
        status = execution.get("status")
    return BatchResult(index, item, execution_id, status, None, error, duration, execution)


def check_item(value: Any, index: int) -> BatchItem:
    """Turn one item of the input into a :class:`BatchItem`, checked as ``execute_flow``
    would check it.

    Raises:
        ValidationError: If the item is malformed; the message starts with ``items[index]``.

    Example:
        >>> check_item(("credit_analysis", {"income": 1}), 0).flow_id
        'credit_analysis'
    """
    try:
        if isinstance(value, BatchItem):
            item = value
        elif isinstance(value, Mapping):
            unknown = sorted(set(value) - set(_ITEM_FIELDS), key=str)
            if unknown or "flow_id" not in value or "input_data" not in value:
                raise ValidationError(
                    "a dict item needs 'flow_id' and 'input_data' and may have 'metadata', "
                    "got the keys {}".format(sorted(value, key=str))
                )
            item = BatchItem(**value)
        elif isinstance(value, (tuple, list)) and 2 <= len(value) <= 3:
            item = BatchItem(*value)
        else:
            raise ValidationError(
                "an item must be a BatchItem, a (flow_id, input_data[, metadata]) tuple or a "
                "dict with these keys, got {!r}".format(value)
            )
        _operations.execute_flow(item.flow_id, item.input_data, item.metadata, None, None)
    except ValidationError as error:
        raise ValidationError(
            "items[{}]: {}".format(index, error.message), errors=error.errors
        ) from error
    return item


class Batch:
    """The state of one ``execute_batch``, without I/O: the items, their results, the counts
    and the stop decision. The drivers take items with :meth:`next`, report each result to
    :meth:`record`, and end with :meth:`outcome`.

    Args:
        items: The batch's items (any iterable; see :class:`BatchItem` for the forms).
        max_workers: The most executions in flight at once.
        timeout: Each item's wait, in seconds.
        interval: Each item's longest pause between two polls, in seconds.
        on_progress: The caller's callback, checked here and called by the driver.
        stop_on_error: Whether the first failure stops the batch.

    Raises:
        ValidationError: If an argument or any item is invalid (nothing is sent).

    Example:
        >>> batch = Batch([("f", {"n": 1}), ("f", {"n": 2})], 5, 60, 2, None, False)
        >>> index, item = batch.next()
        >>> batch.record(result_of(index, item, {"status": "completed"}, 0.1))
        BatchProgress(done=1, total=2, succeeded=1, failed=0)
    """

    def __init__(
        self,
        items: BatchItems,
        max_workers: int,
        timeout: float,
        interval: float,
        on_progress: Optional[BatchCallback],
        stop_on_error: bool,
    ) -> None:
        self.max_workers = validate_count(max_workers, "max_workers", 1)
        check_wait_arguments(timeout, interval, on_progress)
        if not isinstance(stop_on_error, bool):
            raise ValidationError(
                "stop_on_error must be True or False, got {!r}".format(stop_on_error)
            )
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise ValidationError(
                "items must be a list (or other iterable) of items, got {}".format(
                    type(items).__name__
                )
            )
        self.items = [check_item(value, index) for index, value in enumerate(items)]
        self.timeout = timeout
        self.interval = interval
        self.on_progress = on_progress
        self.stop_on_error = stop_on_error
        self.id = uuid.uuid4().hex
        self.results: List[Optional[BatchResult]] = [None] * len(self.items)
        self.started = 0
        self.succeeded = 0
        self.failed = 0
        self.stopped_by: Optional[BatchResult] = None

    def next(self) -> Optional[Tuple[int, BatchItem]]:
        """The next item to start, in input order; None when all have started or the batch
        has stopped."""
        if self.stopped_by is not None or self.started == len(self.items):
            return None
        index = self.started
        self.started += 1
        return index, self.items[index]

    def record(self, result: BatchResult) -> BatchProgress:
        """Record a finished item; the first failure stops the batch if ``stop_on_error``.

        Returns:
            The counts, for ``on_progress``.
        """
        self.results[result.index] = result
        if result.ok:
            self.succeeded += 1
        else:
            self.failed += 1
            if self.stop_on_error and self.stopped_by is None:
                self.stopped_by = result
        return BatchProgress(
            self.succeeded + self.failed, len(self.items), self.succeeded, self.failed
        )

    def outcome(self) -> List[BatchResult]:
        """Every item's result in input order, once nothing is in flight any more.

        Raises:
            BatchError: If ``stop_on_error`` stopped the batch; its ``results`` include the
                items never started (``skipped``).
        """
        results = [
            result or BatchResult(index, item, None, None, None, None, 0.0)
            for index, (item, result) in enumerate(zip(self.items, self.results))
        ]
        failed = self.stopped_by
        if failed is None:
            return results
        error = BatchError(
            "Batch stopped by items[{}] (flow {!r}): {}. {} completed, {} failed, {} not "
            "started.".format(
                failed.index,
                failed.item.flow_id,
                failed.error,
                self.succeeded,
                self.failed,
                len(self.items) - self.started,
            ),
            results=results,
            failed=failed,
        )
        error.__cause__ = failed.error
        raise error


def run_item(
    client: "AISpine",
    index: int,
    item: BatchItem,
    timeout: float,
    interval: float,
    batch_id: str = "",
) -> BatchResult:
    """Run one item with a sync client: ``execute_flow``, then ``wait_for_execution``.

    Module-level so that an executor can pickle it; ``client`` pickles to its configuration.
    ``batch_id`` is not used: it makes every call's arguments unique, so that an executor
    which reuses the result of a call with the same arguments (Dask's ``pure=True``, its
    default) can never hand one batch the result of another's item instead of running it.

    Returns:
        The item's result; an :class:`~ai_spine.AISpineError` is recorded in it, not raised.
    """
    start = time.monotonic()
    execution_id = None
    try:
        started = client.execute_flow(item.flow_id, item.input_data, item.metadata)
        execution_id = started["execution_id"]
        execution = client.wait_for_execution(execution_id, timeout, interval)
    except AISpineError as error:
        return failure_of(index, item, execution_id, error, time.monotonic() - start)
    return result_of(index, item, execution, time.monotonic() - start)


async def run_item_async(
    client: "AsyncAISpine", index: int, item: BatchItem, timeout: float, interval: float
) -> BatchResult:
    """:func:`run_item` for the async client."""
    start = time.monotonic()
    execution_id = None
    try:
        started = await client.execute_flow(item.flow_id, item.input_data, item.metadata)
        execution_id = started["execution_id"]
        execution = await client.wait_for_execution(execution_id, timeout, interval)
    except AISpineError as error:
        return failure_of(index, item, execution_id, error, time.monotonic() - start)
    return result_of(index, item, execution, time.monotonic() - start)


def run_batch(client: "AISpine", batch: Batch, executor: Optional[Executor]) -> List[BatchResult]:
    """``AISpine.execute_batch``: a sliding window of futures on ``executor`` or own threads.

    The caller's thread submits an item whenever fewer than ``max_workers`` are in flight,
    collects each one as it finishes and calls ``on_progress`` (so callbacks never run
    concurrently, and never in a worker).

    Raises:
        ValidationError: If ``executor`` is not an ``Executor`` (nothing is sent).
        BatchError: See :meth:`Batch.outcome`.
    """
    if executor is not None and not isinstance(executor, Executor):
        raise ValidationError(
            "executor must be a concurrent.futures.Executor (a ThreadPoolExecutor, a "
            "ProcessPoolExecutor, Dask's client.get_executor()...), got {!r}".format(executor)
        )
    pool = executor or ThreadPoolExecutor(
        min(batch.max_workers, max(len(batch.items), 1)), thread_name_prefix="ai-spine-batch"
    )
    running: Dict["Future[BatchResult]", int] = {}
    try:
        while True:
            job = batch.next() if len(running) < batch.max_workers else None
            if job is not None:
                future = pool.submit(
                    run_item, client, *job, batch.timeout, batch.interval, batch.id
                )
                running[future] = job[0]
                continue
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=running.__getitem__):
                del running[future]
                result = future.result()
                progress = batch.record(result)
                if batch.on_progress is not None:
                    batch.on_progress(result, progress)
    finally:
        # Only after an unexpected error (an on_progress that raised, a broken pool, Ctrl-C)
        # is anything still in flight: what has not started is cancelled, what has is waited
        # for (each item's wait ends by its timeout), so no thread of the batch outlives it.
        for future in running:
            future.cancel()
        wait(running)
        if executor is None:
            pool.shutdown()
    return batch.outcome()


async def run_batch_async(
    client: "AsyncAISpine", batch: Batch, executor: Optional[Executor]
) -> List[BatchResult]:
    """``AsyncAISpine.execute_batch``: ``max_workers`` worker coroutines share one
    :class:`Batch`, each taking the next item as soon as its own finishes.

    Workers rather than a task per item behind a semaphore: the bound is the same, and a
    batch of a million items holds ``max_workers`` tasks, not a million.

    Raises:
        ValidationError: If ``executor`` is not None (nothing is sent).
        BatchError: See :meth:`Batch.outcome`.
    """
    import asyncio  # here: `import ai_spine` loads this module, and must stay light
    import inspect

    if executor is not None:
        raise ValidationError(
            "AsyncAISpine.execute_batch runs its executions on the event loop; executor= is "
            "for AISpine.execute_batch. Leave it None (max_workers bounds the concurrency)."
        )

    async def worker() -> None:
        job = batch.next()
        while job is not None:
            result = await run_item_async(client, *job, batch.timeout, batch.interval)
            progress = batch.record(result)
            if batch.on_progress is not None:
                reported = batch.on_progress(result, progress)
                if inspect.isawaitable(reported):
                    await reported
            job = batch.next()

    workers = [
        asyncio.ensure_future(worker()) for _ in range(min(batch.max_workers, len(batch.items)))
    ]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        # An on_progress that raised, or the batch itself cancelled: stop every worker (their
        # executions go on on the server) before letting the error out.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return batch.outcome()
