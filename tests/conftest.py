"""Fixtures shared by the unit tests: recorded server answers, a mocked HTTP layer, and
sleeps that are recorded instead of slept (so retry and polling tests run instantly)."""

import copy
import json
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import responses

from ai_spine import AISpine

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
