"""A client pickles to its configuration and opens its own connections where it is loaded.

This is what lets ``execute_batch(executor=...)`` send a client to a process pool or a Dask
cluster. A client sending through a session of the user's cannot be pickled, and says so.
"""

import asyncio
import copy
import pickle
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import certifi
import pytest
import requests

from ai_spine import AISpine, AsyncAISpine
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

APPLICANT = {"text": "great references", "income": 85000, "debt": 9000}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalAISpine]:
    with LocalAISpine(with_demo_agents=True) as local:
        yield local


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AI_SPINE_API_KEY", "AI_SPINE_BASE_URL", "AI_SPINE_LOG"):
        monkeypatch.delenv(name, raising=False)


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
            done = loaded.execute_and_wait(DEMO_FLOW_ID, APPLICANT, timeout=10, interval=0.05)
            assert done["output_data"]["credit"]["decision"] == "approve"


def test_an_unpickled_async_client_works(server: LocalAISpine) -> None:
    async def main() -> Any:
        async with round_trip(AsyncAISpine(base_url=server.url, timeout=10)) as loaded:
            return await loaded.execute_and_wait(DEMO_FLOW_ID, APPLICANT, timeout=10, interval=0.05)

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
