"""execute_batch: the pure core (ai_spine._batch.Batch), argument checking, executors, and
the pickling of clients that lets an executor of other processes run a batch.

The behaviour both clients share (order, sliding window, failures, stop_on_error, progress)
runs against both in tests/integration/test_batch.py. Here: that nothing is sent for a bad
batch, the forms an item may take, that a client pickles to its configuration and opens its
own connections where it is loaded (a client on a user's session refuses), executors (a
process pool included), and what happens when a callback or a worker raises.
"""

import asyncio
import copy
import multiprocessing
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List

import aiohttp
import certifi
import pytest
import requests

from ai_spine import (
    AISpine,
    AsyncAISpine,
    BatchError,
    BatchItem,
    BatchProgress,
    BatchResult,
    ExecutionError,
    NotFoundError,
    TimeoutError,
    ValidationError,
)
from ai_spine._batch import Batch, check_item, failure_of, result_of
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

EXECUTE = "/api/v1/flows/execute"
GOOD = {"text": "stable job", "income": 85000, "debt": 9000}
FAST = {"interval": 0.05, "timeout": 30}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalAISpine]:
    with LocalAISpine(with_demo_agents=True) as local:
        local.add_flow(
            {
                "flow_id": "echo_once",
                "name": "Echo once",
                "description": "One echo node; {'sleep': s} makes it sleep s seconds",
                "nodes": [{"id": "a", "agent_id": "demo_echo", "type": "input"}],
                "entry_point": "a",
                "exit_points": ["a"],
            }
        )
        yield local


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AI_SPINE_API_KEY", "AI_SPINE_BASE_URL", "AI_SPINE_LOG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sync_client(server: LocalAISpine) -> Iterator[AISpine]:
    with AISpine(base_url=server.url, timeout=10) as client:
        yield client


def run_async(server: LocalAISpine, **kwargs: Any) -> List[BatchResult]:
    async def main() -> List[BatchResult]:
        async with AsyncAISpine(base_url=server.url, timeout=10) as client:
            return await client.execute_batch(**kwargs)

    return asyncio.run(main())


def run_sync(server: LocalAISpine, **kwargs: Any) -> List[BatchResult]:
    with AISpine(base_url=server.url, timeout=10) as client:
        return client.execute_batch(**kwargs)


RUNNERS = [run_sync, run_async]


# --- The pure core ----------------------------------------------------------------------------


def test_an_item_may_be_a_batch_item_a_tuple_or_a_dict() -> None:
    expected = BatchItem("f", {"x": 1}, {"m": 2})
    assert check_item(expected, 0) is expected
    assert check_item(("f", {"x": 1}, {"m": 2}), 0) == expected
    assert check_item(["f", {"x": 1}], 0) == BatchItem("f", {"x": 1})
    assert check_item({"flow_id": "f", "input_data": {"x": 1}, "metadata": {"m": 2}}, 0) == expected


@pytest.mark.parametrize(
    "item, fragment",
    [
        (("f",), r"items\[4\]: an item must be a BatchItem"),
        ("f", "an item must be"),
        (("f", {}, None, "extra"), "an item must be"),
        ({"flow_id": "f", "input": {}}, r"a dict item needs 'flow_id' and 'input_data'"),
        ({"flow_id": "f", "input_data": {}, "priority": 1}, "got the keys"),
        (("", {}), r"items\[4\]: flow_id"),
        (("f", [1]), r"items\[4\]: input_data must be a dict"),
        (("f", {"x": object()}), r"items\[4\]: input_data"),
        (("f", {}, "meta"), r"items\[4\]: metadata must be a dict"),
    ],
)
def test_a_malformed_item_is_named_by_its_index(item: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        check_item(item, 4)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"max_workers": 0}, "max_workers must be an integer >= 1"),
        ({"max_workers": 2.5}, "max_workers"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"interval": "2"}, "interval must be a positive number"),
        ({"on_progress": "print"}, "on_progress must be callable"),
        ({"stop_on_error": 1}, "stop_on_error must be True or False"),
        ({"items": {"flow_id": "f", "input_data": {}}}, "items must be a list"),
        ({"items": "abc"}, "items must be a list"),
        ({"items": 3}, "items must be a list"),
    ],
)
def test_batch_arguments_are_checked(kwargs: Dict[str, Any], fragment: str) -> None:
    arguments: Dict[str, Any] = dict(
        items=[("f", {})], max_workers=5, timeout=60, interval=2, on_progress=None
    )
    arguments["stop_on_error"] = False
    arguments.update(kwargs)
    with pytest.raises(ValidationError, match=fragment):
        Batch(**arguments)


def test_the_core_hands_out_items_in_order_and_stops_at_the_first_failure() -> None:
    batch = Batch([("f", {"n": n}) for n in range(4)], 2, 60, 2, None, True)
    first, second = batch.next(), batch.next()
    assert first is not None and second is not None
    assert [first[0], second[0]] == [0, 1]
    error = ExecutionError("boom", execution_id="e1", status="failed", execution={"n": 1})
    assert batch.record(failure_of(1, second[1], "e1", error, 0.2)) == BatchProgress(1, 4, 0, 1)
    assert batch.next() is None  # stopped: nothing more starts
    done = {"execution_id": "e0", "status": "completed", "output_data": {"ok": 1}}
    assert batch.record(result_of(0, first[1], done, 0.3)) == BatchProgress(2, 4, 1, 1)
    with pytest.raises(BatchError, match=r"items\[1\] \(flow 'f'\): boom") as caught:
        batch.outcome()
    results = caught.value.results
    assert [r.ok for r in results] == [True, False, False, False]
    assert [r.skipped for r in results] == [False, False, True, True]
    assert results[1].status == "failed" and results[1].execution == {"n": 1}
    assert results[2].duration == 0.0 and caught.value.failed is results[1]


def test_without_stop_on_error_every_item_is_handed_out() -> None:
    batch = Batch([("f", {})] * 3, 1, 60, 2, None, False)
    batch.record(failure_of(0, BatchItem("f", {}), None, NotFoundError("no"), 0.1))
    assert [batch.next(), batch.next(), batch.next(), batch.next()][3] is None
    assert batch.stopped_by is None


def test_a_timeout_result_takes_its_status_from_the_last_execution_seen() -> None:
    error = TimeoutError("late", timeout=1, execution={"status": "running"}, execution_id="e")
    result = failure_of(0, BatchItem("f", {}), "e", error, 1.0)
    assert (result.status, result.ok, result.skipped) == ("running", False, False)


# --- Clients pickle to their configuration ------------------------------------------------------


def round_trip(client: Any) -> Any:
    return pickle.loads(pickle.dumps(client))


@pytest.mark.parametrize("cls", [AISpine, AsyncAISpine])
def test_every_setting_survives_pickling(cls: Any, tmp_path: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("cert")
    key.write_text("key")
    client = cls(
        api_key="sk-live-123456",
        base_url="https://api.example.com/",
        timeout=(3, 7),
        max_retries=1,
        access_token="user-token",
        max_connections=7,
        verify=certifi.where(),
        cert=(str(cert), str(key)),
        proxies={"https": "http://proxy.example.com:3128"},
    )
    loaded = round_trip(client)
    assert type(loaded) is cls
    assert loaded._transport.settings == client._transport.settings
    assert (loaded.base_url, loaded.timeout, loaded.max_retries) == (
        "https://api.example.com",
        (3.0, 7.0),
        1,
    )
    assert repr(loaded) == repr(client)
    # Its own connections, which it owns; polls still never retry on their own.
    assert loaded._transport is not client._transport and loaded._transport._owner
    assert loaded._poller.policy.max_retries == 0 and loaded._poller.timeout == (3.0, 7.0)


def test_with_options_survives_pickling() -> None:
    client = AISpine(base_url="http://127.0.0.1:9", timeout=5, max_retries=2)
    patient = round_trip(client.with_options(timeout=(1, 60), max_retries=6))
    assert (patient.timeout, patient.max_retries) == ((1.0, 60.0), 6)
    assert patient._transport._owner  # closing it closes its own pool
    assert patient._transport.settings.timeout == (1.0, 60.0)


def test_an_unpickled_client_works(server: LocalAISpine) -> None:
    with AISpine(base_url=server.url, timeout=10) as client:
        client.health_check()
        with round_trip(client) as loaded:
            assert loaded._transport._session is not client._transport._session
            done = loaded.execute_and_wait(DEMO_FLOW_ID, GOOD, timeout=10, interval=0.05)
            assert done["output_data"]["credit"]["decision"] == "approve"


def test_an_unpickled_async_client_works(server: LocalAISpine) -> None:
    async def main() -> Any:
        async with round_trip(AsyncAISpine(base_url=server.url, timeout=10)) as loaded:
            return await loaded.execute_and_wait(DEMO_FLOW_ID, GOOD, timeout=10, interval=0.05)

    assert asyncio.run(main())["status"] == "completed"


def test_a_client_on_a_users_session_refuses_to_pickle() -> None:
    with requests.Session() as session:
        client = AISpine(base_url="http://127.0.0.1:9", session=session)
        with pytest.raises(TypeError, match="cannot pickle this AISpine: it sends through a sess"):
            pickle.dumps(client)
        with pytest.raises(TypeError, match="without session="):
            copy.deepcopy(client)


def test_an_async_client_on_a_users_session_refuses_to_pickle() -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            client = AsyncAISpine(base_url="http://127.0.0.1:9", session=session)
            with pytest.raises(TypeError, match="cannot pickle this AsyncAISpine"):
                pickle.dumps(client)

    asyncio.run(main())


def test_copy_shares_the_connections_and_deepcopy_opens_new_ones() -> None:
    with AISpine(base_url="http://127.0.0.1:9") as client:
        assert copy.copy(client)._transport is client._transport
        assert client.with_options(timeout=1)._transport._session is client._transport._session
        independent = copy.deepcopy(client)
        assert independent._transport._session is not client._transport._session
        assert independent._transport.settings == client._transport.settings
        independent.close()


# --- Nothing is sent for a bad batch ------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_every_item_is_checked_before_anything_is_sent(server: LocalAISpine, runner: Any) -> None:
    server.clear_requests()
    items = [(DEMO_FLOW_ID, GOOD)] * 3 + [(DEMO_FLOW_ID, {"bad": {1, 2}})]
    with pytest.raises(ValidationError, match=r"items\[3\]: input_data"):
        runner(server, items=items)
    assert server.requests == []


def test_the_async_client_refuses_an_executor(server: LocalAISpine) -> None:
    server.clear_requests()
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValidationError, match="executor= is for AISpine.execute_batch"):
            run_async(server, items=[(DEMO_FLOW_ID, GOOD)], executor=pool)
    assert server.requests == []


def test_the_sync_client_wants_a_real_executor(server: LocalAISpine) -> None:
    with pytest.raises(ValidationError, match="executor must be a concurrent.futures.Executor"):
        run_sync(server, items=[(DEMO_FLOW_ID, GOOD)], executor=object())


# --- Executors ----------------------------------------------------------------------------------


def test_a_caller_executor_is_used_and_left_open(server: LocalAISpine) -> None:
    names: List[str] = []
    with ThreadPoolExecutor(3, thread_name_prefix="mine") as pool:
        results = run_sync(
            server,
            items=[("echo_once", {"n": n}) for n in range(5)],
            executor=pool,
            on_progress=lambda r, p: names.append(threading.current_thread().name),
            **FAST,
        )
        assert pool.submit(lambda: 1).result() == 1  # still open
    assert [r.output["a"]["n"] for r in results if r.output] == [0, 1, 2, 3, 4]
    assert set(names) == {threading.current_thread().name}  # callbacks in the caller's thread


class Recording(ThreadPoolExecutor):
    """A thread pool that keeps the arguments of every call submitted to it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls: List[Any] = []

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(args)
        return super().submit(fn, *args, **kwargs)


def test_no_two_submitted_calls_have_the_same_arguments(server: LocalAISpine) -> None:
    # Dask's executor (pure=True by default) would answer a call whose arguments it has seen
    # with the earlier result, and the execution would never run.
    item = ("echo_once", {"same": "input"})
    with Recording() as pool:
        for _ in range(2):
            run_sync(server, items=[item, item], executor=pool, **FAST)
    assert len(pool.calls) == 4
    assert len({pickle.dumps(call) for call in pool.calls}) == 4
    assert len(server.requests_to("POST", EXECUTE)) >= 4


def test_a_batch_runs_on_a_process_pool(server: LocalAISpine) -> None:
    items = [
        BatchItem(DEMO_FLOW_ID, GOOD),
        BatchItem("echo_once", {"n": 1, "sleep": 0.2}),
        BatchItem(DEMO_FLOW_ID, {"text": "no income"}),  # the credit node answers 422
        BatchItem("no_such_flow", {}),
        BatchItem("echo_once", {"n": 4}),
    ]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = run_sync(server, items=items, max_workers=2, executor=pool, **FAST)
    assert [r.ok for r in results] == [True, True, False, False, True]
    assert results[0].output is not None and results[0].output["credit"]["decision"] == "approve"
    assert results[1].output == {
        "a": {"n": 1, "sleep": 0.2, "node_id": "a", "handled_by": "/echo/execute"}
    }
    failed = results[2].error
    assert isinstance(failed, ExecutionError) and failed.status == "failed"
    assert results[2].execution_id == failed.execution_id
    assert isinstance(results[3].error, NotFoundError) and results[3].execution_id is None
    assert 0.2 <= results[1].duration < 10


# --- What escapes a batch -------------------------------------------------------------------------


class Stop(Exception):
    """Raised by a test's on_progress."""


def test_an_on_progress_error_stops_the_batch_and_escapes(
    server: LocalAISpine, sync_client: AISpine
) -> None:
    server.clear_requests()

    def explode(result: BatchResult, progress: BatchProgress) -> None:
        raise Stop(result.index)

    items = [("echo_once", {"n": 0})] + [("echo_once", {"sleep": 0.3})] * 4
    with pytest.raises(Stop):
        sync_client.execute_batch(items, max_workers=2, on_progress=explode, **FAST)
    assert len(server.requests_to("POST", EXECUTE)) == 2  # no item started after it
    # The item in flight was waited for: no thread of the batch is left polling.
    assert not [t for t in threading.enumerate() if t.name.startswith("ai-spine-batch")]


def test_an_unexpected_worker_error_escapes(
    sync_client: AISpine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(sync_client, "execute_flow", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        sync_client.execute_batch([("echo_once", {})] * 3, max_workers=2)


def test_an_async_on_progress_is_awaited_and_its_error_stops_the_batch(
    server: LocalAISpine,
) -> None:
    seen: List[int] = []

    async def report(result: BatchResult, progress: BatchProgress) -> None:
        await asyncio.sleep(0)
        seen.append(progress.done)
        if progress.done == 2:
            raise Stop()

    items = [("echo_once", {"n": n}) for n in range(2)] + [("echo_once", {"sleep": 5})] * 3
    started = time.monotonic()
    with pytest.raises(Stop):
        run_async(server, items=items, max_workers=2, on_progress=report, **FAST)
    assert seen == [1, 2] and time.monotonic() - started < 4  # the sleepers were cancelled


def test_cancelling_an_async_batch_cancels_its_workers(server: LocalAISpine) -> None:
    async def main() -> None:
        async with AsyncAISpine(base_url=server.url, timeout=10) as client:
            batch = asyncio.ensure_future(
                client.execute_batch([("echo_once", {"sleep": 5})] * 4, max_workers=2, **FAST)
            )
            await asyncio.sleep(0.2)
            batch.cancel()
            with pytest.raises(asyncio.CancelledError):
                await batch
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert others == []

    asyncio.run(main())
