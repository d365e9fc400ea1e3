"""Fixtures shared by the unit tests: recorded server answers, a mocked HTTP layer, and
sleeps that are recorded instead of slept (so retry and polling tests run instantly)."""

import asyncio
import copy
import functools
import inspect
import json
import os
import threading
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import responses

from ai_spine import AISpine, AsyncAISpine

# The SDK's own pytest plugin. An installed wheel registers it through its pytest11 entry
# point (of the same name, so it is not registered twice); the editable checkout may not.
pytest_plugins = ["ai_spine.testing.pytest_plugin", "pytester"]


def pytest_configure(config: pytest.Config) -> None:
    """Point the plugin's fixtures (and so tests/integration) at $AI_SPINE_BASE_URL when it is
    set and --ai-spine-url is not given. Not an ini option: pytest refuses unknown ini keys
    when the plugin is not registered (a run outside tests/ without the installed wheel)."""
    url = os.environ.get("AI_SPINE_BASE_URL")
    if url and not config.getoption("ai_spine_url", None):
        config.option.ai_spine_url = url


FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "https://api.example.test"

# Real exchanges recorded from the server, keyed by name, in recording order. The echo
# agents' address was recorded as a placeholder; any loopback URL stands in for it here.
_RECORDED: Dict[str, Any] = json.loads(
    (FIXTURES / "responses.json")
    .read_text("utf-8")
    .replace("{AGENT_BASE_URL}", "http://127.0.0.1:9000")
)


@pytest.fixture
def recorded() -> Callable[[str], Dict[str, Any]]:
    """Look up an exchange recorded from the real server: ``{"request": ..., "response": ...}``
    (``{AGENT_BASE_URL}`` already replaced by ``http://127.0.0.1:9000``)."""
    return lambda name: copy.deepcopy(_RECORDED[name])


@pytest.fixture
def recorded_body() -> Callable[[str], Any]:
    """Look up the response body the real server sent in a recorded exchange."""
    return lambda name: copy.deepcopy(_RECORDED[name]["response"]["body"])


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    """Every sleep the SDK asks for, recorded and skipped; the clock moves on as if slept."""
    import ai_spine._sync
    import ai_spine.client

    slept: List[float] = []
    clock = {"now": 1000.0}

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    def fake_monotonic() -> float:
        return clock["now"]

    # Replace the modules' view of `time` only, not the time module every library shares.
    fake_time = types.SimpleNamespace(sleep=fake_sleep, monotonic=fake_monotonic)
    monkeypatch.setattr(ai_spine._sync, "time", fake_time)
    monkeypatch.setattr(ai_spine.client, "time", fake_time)
    return slept


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    """A mocked HTTP layer; every registered response must be used by the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, sleeps: List[float]) -> Iterator[AISpine]:
    """A client of a mocked server, with no environment configuration leaking in."""
    for name in ("AI_SPINE_API_KEY", "AI_SPINE_BASE_URL", "AI_SPINE_LOG"):
        monkeypatch.delenv(name, raising=False)
    with AISpine(base_url=BASE_URL) as sdk:
        yield sdk


# --- Both clients, one test ------------------------------------------------------------------


class BlockingAsync:
    """An :class:`AsyncAISpine` driven from synchronous test code.

    Every coroutine method runs on one background event loop and blocks until done, so a
    behaviour test written against ``AISpine`` runs unchanged against the async client.
    """

    def __init__(self, client: AsyncAISpine, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop

    def run(self, awaitable: Any) -> Any:
        """Run a coroutine on the client's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(awaitable, self.loop).result(timeout=120)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.client, name)
        if name == "with_options":
            return lambda **kw: BlockingAsync(value(**kw), self.loop)
        if inspect.iscoroutinefunction(value):
            return functools.wraps(value)(lambda *a, **kw: self.run(value(*a, **kw)))
        if name.startswith("iter_"):  # returns an async iterator: iterate it on the loop
            return functools.wraps(value)(lambda *a, **kw: self.iterate(value(*a, **kw)))
        return value

    def iterate(self, iterator: Any) -> Iterator[Any]:
        """Turn an async iterator into a generator, each step run on the client's loop."""
        while True:
            try:
                yield self.run(iterator.__anext__())
            except StopAsyncIteration:
                return

    def __enter__(self) -> "BlockingAsync":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.run(self.client.close())

    def __repr__(self) -> str:
        return "BlockingAsync({!r})".format(self.client)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a background thread for the whole session."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="async-client-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture(scope="session")
def new_client(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``new_client(kind, **kwargs)``: an ``AISpine`` (``"sync"``) or an ``AsyncAISpine``
    wrapped in :class:`BlockingAsync` (``"async"``), built with ``kwargs``."""

    def build(kind: str, **kwargs: Any) -> Any:
        if kind == "sync":
            return AISpine(**kwargs)
        return BlockingAsync(AsyncAISpine(**kwargs), request.getfixturevalue("loop_thread"))

    return build


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    """Runs the test once with AISpine and once with AsyncAISpine."""
    return str(request.param)


@pytest.fixture
def make_client(client_kind: str, new_client: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Build clients of the kind under test; they are closed after the test."""
    made: List[Any] = []

    def make(**kwargs: Any) -> Any:
        made.append(new_client(client_kind, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.__exit__(None, None, None)
