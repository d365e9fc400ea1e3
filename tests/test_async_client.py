"""AsyncAISpine: the twin of AISpine, and what only an asyncio client must get right.

The behaviour both clients share (every method, error, retry and wait) is tested against both
in tests/integration (the ``client`` and ``make_client`` fixtures run each test with each
client). Here: that the two surfaces are the same, the optional aiohttp dependency, event
loops, cancellation, garbage collection, pooling and the transport options.
"""

import asyncio
import gc
import inspect
import logging
import os
import ssl
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List

import aiohttp
import pytest

from ai_spine import AISpine, AsyncAISpine, ExecutionError, NetworkError, ValidationError
from ai_spine._async import classify, proxy_for, tls_context
from ai_spine._protocol import Failure
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

APPLICANT = {"text": "great references", "income": 85000, "debt": 9000}
RUNNING = {
    "execution_id": "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc",
    "flow_id": DEMO_FLOW_ID,
    "status": "running",
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalAISpine]:
    with LocalAISpine(with_demo_agents=True) as local:
        yield local


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AI_SPINE_API_KEY", "AI_SPINE_BASE_URL", "AI_SPINE_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(coroutine: Any) -> Any:
    """Run a coroutine on a fresh event loop that reports anything left unclosed."""
    reports: List[Dict[str, Any]] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: reports.append(context))
        try:
            return await coroutine
        finally:
            gc.collect()
            await asyncio.sleep(0)  # let closed transports finish closing

    result = asyncio.run(main())
    assert reports == [], reports
    return result


# --- One surface ------------------------------------------------------------------------------


def public_methods(cls: type) -> Dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member)
    }


IMMEDIATE = ("with_options", "iter_executions")


def test_every_public_method_has_an_async_twin_with_the_same_parameters() -> None:
    sync, asynchronous = public_methods(AISpine), public_methods(AsyncAISpine)
    assert set(sync) == set(asynchronous)
    assert len(sync) >= 24
    for name, method in sync.items():
        twin = asynchronous[name]
        parameters = inspect.signature(method).parameters
        twin_parameters = inspect.signature(twin).parameters
        assert [(p.name, p.kind, p.default) for p in parameters.values()] == [
            (p.name, p.kind, p.default) for p in twin_parameters.values()
        ], name
        # with_options returns a client at once, iter_executions an async iterator at once
        # (its arguments checked); everything else that talks to the server awaits.
        assert inspect.iscoroutinefunction(twin) == (name not in IMMEDIATE), name
    constructor = inspect.signature(AISpine.__init__).parameters
    assert constructor == inspect.signature(AsyncAISpine.__init__).parameters
    assert list(constructor)[1:6] == ["api_key", "base_url", "timeout", "max_retries", "debug"]
    assert {"max_connections", "verify", "cert", "proxies", "session"} <= set(constructor)


def test_both_clients_read_the_same_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_SPINE_API_KEY", "sk-env")
    monkeypatch.setenv("AI_SPINE_BASE_URL", "http://127.0.0.1:9/")
    for client in (AISpine(), AsyncAISpine()):
        assert client.base_url == "http://127.0.0.1:9"
        assert client._transport.settings.api_key == "sk-env"
        assert repr(client).endswith(
            "(base_url='http://127.0.0.1:9', api_key='***', timeout=(30.0, 30.0), max_retries=3)"
        )


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"max_connections": 0}, "max_connections must be an integer >= 1"),
        ({"max_connections": True}, "max_connections"),
        ({"verify": "/no/such/bundle.pem"}, "verify must be True, False, or the path"),
        ({"verify": 1}, "verify"),
        ({"cert": "/no/such/cert.pem"}, "cert must be the path"),
        ({"proxies": "http://proxy"}, "proxies must be a dict"),
        ({"proxies": {"ftp": "http://proxy:1"}}, "proxies keys must be"),
        ({"proxies": {"https": "proxy:1"}}, "proxies['https'] must be an http"),
        ({"session": object()}, "session must be"),
        ({"timeout": 0}, "timeout must be a positive number"),
    ],
)
def test_both_clients_refuse_bad_transport_options(kwargs: Dict[str, Any], fragment: str) -> None:
    for cls in (AISpine, AsyncAISpine):
        with pytest.raises(ValidationError, match=fragment.replace("[", "\\[").replace("(", "\\(")):
            cls(base_url="http://127.0.0.1:9", **kwargs)


def test_verify_false_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ai_spine"):
        AsyncAISpine(base_url="http://127.0.0.1:9", verify=False)
    assert "TLS certificate verification is OFF" in caplog.text


# --- The optional dependency ------------------------------------------------------------------


def python(code: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_ai_spine_never_imports_aiohttp() -> None:
    done = python(
        "import sys, ai_spine; from ai_spine import AISpine\n"
        "assert 'aiohttp' not in sys.modules and 'ai_spine.async_client' not in sys.modules\n"
        "from ai_spine import AsyncAISpine\n"
        "print('aiohttp' in sys.modules)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # looked up on purpose: now it is loaded


def test_without_aiohttp_the_client_says_which_extra_to_install() -> None:
    done = python(
        "import sys\n"
        "sys.modules['aiohttp'] = None  # as if it were not installed\n"
        "from ai_spine import AsyncAISpine\n"
        "try:\n"
        "    AsyncAISpine()\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'AsyncAISpine needs aiohttp: pip install "ai-spine-sdk[async]"'


# --- Pooling ----------------------------------------------------------------------------------


def test_500_concurrent_calls_share_at_most_max_connections(server: LocalAISpine) -> None:
    started = AISpine(base_url=server.url).execute_flow(DEMO_FLOW_ID, APPLICANT)

    async def fan_out() -> List[Any]:
        async with AsyncAISpine(base_url=server.url, max_connections=20) as client:
            calls = [client.get_execution(started["execution_id"]) for _ in range(500)]
            return await asyncio.gather(*calls)

    before = server.connections_accepted
    executions = run(fan_out())
    assert len(executions) == 500
    assert {e["execution_id"] for e in executions} == {started["execution_id"]}
    assert 1 <= server.connections_accepted - before <= 20


def test_64_threads_on_one_sync_client_never_overflow_its_pool(
    server: LocalAISpine, caplog: pytest.LogCaptureFixture
) -> None:
    before = server.connections_accepted
    barrier = threading.Barrier(64)
    with AISpine(base_url=server.url, max_connections=64) as client:

        def call(_: int) -> str:
            barrier.wait(10)
            return client.health_check()["status"]

        with caplog.at_level(logging.WARNING, logger="urllib3"):
            with ThreadPoolExecutor(max_workers=64) as pool:
                assert set(pool.map(call, range(64 * 4))) == {"healthy"}
    assert "Connection pool is full" not in caplog.text
    assert server.connections_accepted - before <= 64


# --- Event loops, cancellation, closing -------------------------------------------------------


def test_an_unclosed_client_is_collected_without_any_report(server: LocalAISpine) -> None:
    async def abandon() -> None:
        client = AsyncAISpine(base_url=server.url)
        assert (await client.health_check())["status"] == "healthy"
        del client  # never closed: garbage collection must close it quietly

    run(abandon())


# A loop that ended with the client's sockets open cannot close them any more: asyncio leaves
# them to the garbage collector with a ResourceWarning (silent outside tests). What matters is
# that the client works on the next loop and aiohttp reports nothing unclosed (run() checks).
LEFT_OPEN = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@LEFT_OPEN
def test_a_client_left_open_when_its_loop_ended_works_on_the_next_loop(
    server: LocalAISpine,
) -> None:
    client = AsyncAISpine(base_url=server.url)
    assert run(client.health_check())["status"] == "healthy"
    assert run(client.health_check())["status"] == "healthy"  # a new asyncio.run(): new loop
    run(client.close())


@LEFT_OPEN
def test_a_client_bound_to_a_live_loop_refuses_another(
    server: LocalAISpine, loop_thread: asyncio.AbstractEventLoop
) -> None:
    client = AsyncAISpine(base_url=server.url)
    first = asyncio.run_coroutine_threadsafe(client.health_check(), loop_thread)
    assert first.result(10)["status"] == "healthy"
    with pytest.raises(RuntimeError, match="bound to another event loop"):
        asyncio.run(client.health_check())
    asyncio.run_coroutine_threadsafe(client.close(), loop_thread).result(10)
    assert run(client.health_check())["status"] == "healthy"  # closed: free to move
    run(client.close())


def test_close_is_idempotent_and_the_client_reconnects(server: LocalAISpine) -> None:
    async def scenario() -> None:
        client = AsyncAISpine(base_url=server.url)
        await client.close()  # before any use
        assert (await client.get_status())["status"] == "operational"
        patient = client.with_options(timeout=60)
        await patient.close()  # a derived client does not own the session
        assert (await client.health_check())["status"] == "healthy"
        await client.close()
        await client.close()
        assert (await client.health_check())["status"] == "healthy"
        await client.close()

    run(scenario())


def test_cancelling_a_wait_stops_polling_at_once(server: LocalAISpine) -> None:
    path = "/api/v1/executions/" + RUNNING["execution_id"]
    server.inject_fault("GET", path, status=200, body=RUNNING, times=None)

    async def cancel_while_waiting() -> int:
        async with AsyncAISpine(base_url=server.url) as client:
            task = asyncio.ensure_future(
                client.wait_for_execution(RUNNING["execution_id"], timeout=60, interval=0.05)
            )
            while len(server.requests_to("GET", path)) < 3:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            polls = len(server.requests_to("GET", path))
            await asyncio.sleep(0.3)  # six intervals: a live loop would have polled again
            assert len(server.requests_to("GET", path)) == polls
            return polls

    try:
        assert run(cancel_while_waiting()) >= 3
    finally:
        server.clear_faults()


def test_progress_callbacks_may_be_coroutines(server: LocalAISpine) -> None:
    seen: List[str] = []

    async def report(execution: Any) -> None:
        await asyncio.sleep(0)
        seen.append(execution["status"])

    async def scenario() -> Any:
        async with AsyncAISpine(base_url=server.url) as client:
            return await client.execute_and_wait(
                DEMO_FLOW_ID, APPLICANT, timeout=20, interval=0.05, on_progress=report
            )

    assert run(scenario())["status"] == "completed"
    assert seen[-1] == "completed" and len(seen) == len(set(seen))


def test_a_failed_execution_raises_execution_error(server: LocalAISpine) -> None:
    failed = dict(RUNNING, status="failed", error_message="agent exploded")
    server.inject_fault(
        "GET", "/api/v1/executions/" + RUNNING["execution_id"], status=200, body=failed
    )

    async def scenario() -> None:
        async with AsyncAISpine(base_url=server.url) as client:
            with pytest.raises(ExecutionError, match="agent exploded") as caught:
                await client.wait_for_execution(RUNNING["execution_id"], timeout=5)
            assert caught.value.status == "failed"

    run(scenario())


# --- A session of the user's own --------------------------------------------------------------


def test_a_users_aiohttp_session_is_used_and_never_closed(server: LocalAISpine) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            async with AsyncAISpine(base_url=server.url, session=session) as client:
                server.inject_fault("GET", "/health", status=503, headers={"Retry-After": "0"})
                assert (await client.health_check())["status"] == "healthy"  # our retries
            assert not session.closed
            async with session.get(server.url + "/health") as response:
                assert response.status == 200

    server.clear_requests()
    run(scenario())
    assert len(server.requests_to("GET", "/health")) == 3


def test_a_users_requests_session_is_used_and_never_closed(server: LocalAISpine) -> None:
    import requests

    with requests.Session() as session:
        session.headers["X-Trace"] = "mine"
        with AISpine(base_url=server.url, session=session) as client:
            assert client.health_check()["status"] == "healthy"
        assert server.requests[-1].headers["x-trace"] == "mine"
        assert session.get(server.url + "/health").status_code == 200


# --- Pure parts of the aiohttp transport ------------------------------------------------------


def test_classify_tells_where_an_aiohttp_failure_happened() -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
        OSError(111, "Connection refused"),
    )
    assert classify(refused) == Failure(Failure.CONNECT, "Connection refused")
    assert classify(aiohttp.ServerTimeoutError("Connection timeout to host http://h")).kind == (
        Failure.CONNECT_TIMEOUT
    )
    assert classify(aiohttp.ServerTimeoutError("Timeout on reading data")).kind == (
        Failure.READ_TIMEOUT
    )
    assert classify(asyncio.TimeoutError()).kind == Failure.READ_TIMEOUT
    assert classify(aiohttp.ClientPayloadError("truncated")).kind == Failure.UNREADABLE
    assert classify(aiohttp.ServerDisconnectedError()).kind == Failure.BROKEN
    assert classify(ValueError("anything else")).kind == Failure.BROKEN  # may have been sent
    assert classify(aiohttp.ServerFingerprintMismatch(b"a", b"b", "h", 1)).kind == Failure.TLS


def test_proxies_come_from_the_client_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert proxy_for("https://api.example.com", None) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    assert proxy_for("https://api.example.com", None) == "http://env-proxy:3128"
    assert proxy_for("https://api.example.com", None, environ=False) is None
    assert proxy_for("https://api.example.com", {"all": "http://mine:1"}, environ=False) == (
        "http://mine:1"
    )
    monkeypatch.setenv("NO_PROXY", "api.example.com")
    assert proxy_for("https://api.example.com", None) is None
    assert proxy_for("https://api.example.com", {"all": "http://mine:1"}) == "http://mine:1"
    client = AsyncAISpine(base_url="https://other.example.com")
    assert client._transport._options == {"proxy": "http://env-proxy:3128"}


@pytest.mark.parametrize(
    "environ, proxies, expected",
    [
        ({}, None, None),
        ({"HTTPS_PROXY": "http://env:1"}, None, "http://env:1"),
        # requests' order: the environment's scheme before the client's "all"...
        ({"HTTPS_PROXY": "http://env:1"}, {"all": "http://mine:2"}, "http://env:1"),
        # ... the client's scheme before the environment's, which fills only what is missing
        ({"HTTPS_PROXY": "http://env:1"}, {"https": "http://mine:2"}, "http://mine:2"),
        ({"HTTPS_PROXY": "http://env:1"}, {"http": "http://mine:2"}, "http://env:1"),
        ({"ALL_PROXY": "http://env-all:4"}, None, "http://env-all:4"),
        ({"HTTPS_PROXY": "http://env:1", "NO_PROXY": "example.com"}, None, None),
        (
            {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "example.com"},
            {"all": "http://m:2"},
            "http://m:2",
        ),
    ],
)
def test_both_clients_pick_the_same_proxy(
    environ: Dict[str, str],
    proxies: Any,
    expected: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from requests.utils import select_proxy

    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    url = "https://api.example.com"
    sync = AISpine(base_url=url, proxies=proxies)
    chosen_by_sync = select_proxy(url, sync._transport._options["proxies"])
    chosen_by_async = AsyncAISpine(base_url=url, proxies=proxies)._transport._options.get("proxy")
    assert chosen_by_sync == chosen_by_async == expected


def test_tls_context_trusts_what_the_sync_client_trusts(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    assert tls_context(False, None) is False
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    default = tls_context(True, None)
    assert isinstance(default, ssl.SSLContext) and default.verify_mode == ssl.CERT_REQUIRED
    assert default.cert_store_stats()["x509_ca"] > 0
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/no/such/file")
    with pytest.raises(OSError):
        tls_context(True, None)  # the environment's bundle is really the one loaded
    assert tls_context(certifi.where(), None).cert_store_stats()["x509_ca"] > 0


def test_a_client_certificate_is_presented_even_with_verification_off() -> None:
    # As requests does with verify=False and cert=...: no check of the server, but the
    # client's certificate is still loaded (a missing key file proves it is read).
    from tls_server import TLS

    pair = (os.path.join(TLS, "server.pem"), os.path.join(TLS, "server.key"))
    context = tls_context(False, pair)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False
    with pytest.raises(OSError):
        tls_context(False, (pair[0], os.path.join(TLS, "missing.key")))
    assert tls_context(False, None) is False


def test_clients_trusting_the_same_unchanged_bundle_share_one_context(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    from ai_spine import _async

    certificates = Path(certifi.where()).read_bytes()
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(certificates)
    first = tls_context(str(bundle), None)
    assert tls_context(str(bundle), None) is first  # loading a bundle takes ~30 ms
    monkeypatch.chdir(str(tmp_path))
    assert tls_context("bundle.pem", None) is first  # the same file by a relative path
    os.utime(str(bundle), ns=(0, 0))  # a touched file is loaded again
    again = tls_context(str(bundle), None)
    assert again is not first and again.cert_store_stats()["x509_ca"] > 1
    # Replaced by one certificate, its modification time kept (cp -p, rsync -t): reloaded.
    end = b"-----END CERTIFICATE-----\n"
    bundle.write_bytes(certificates[: certificates.index(end) + len(end)])
    os.utime(str(bundle), ns=(0, 0))
    replaced = tls_context(str(bundle), None)
    assert replaced.cert_store_stats()["x509_ca"] == 1
    # One context kept per bundle, however often it changed.
    assert [path for path in _async._TRUST if path == str(bundle)] == [str(bundle)]
    assert _async._TRUST[str(bundle)][1] is replaced


def test_a_client_of_a_plain_http_server_loads_no_ca_bundle(
    server: LocalAISpine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loading certifi's bundle took ~30 ms of each client's first call, for nothing.
    from ai_spine import _async

    built: List[Any] = []
    monkeypatch.setattr(_async, "tls_context", lambda *args: built.append(args))

    async def health() -> Any:
        async with AsyncAISpine(base_url=server.url) as client:
            return await client.health_check()

    async def tls_session(**options: Any) -> None:
        session = AsyncAISpine(**options)._transport._pool._create()
        await session.close()

    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    default = _async.trusted_bundle(True)
    assert run(health())["status"] == "healthy"
    assert built == []
    run(tls_session(base_url="HTTPS://api.example.com"))
    assert built == [(default, None)]
    # A plain-http server behind an https proxy: the TLS to the proxy is verified as asked.
    run(tls_session(base_url=server.url, proxies={"http": "https://proxy:3128"}, verify=False))
    assert built == [(default, None), (False, None)]
    monkeypatch.setenv("HTTP_PROXY", "https://env-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "")
    run(tls_session(base_url="http://api.example.com"))
    assert built == [(default, None), (False, None), (default, None)]


def test_the_environment_s_ca_bundle_and_proxy_are_read_when_the_client_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the sync client: what the environment says when the client is built holds for its
    # life, though the bundle itself is loaded only at the first TLS connection.
    from ai_spine import _async

    loaded: List[str] = []
    monkeypatch.setattr(
        _async, "_trusting", lambda path: loaded.append(path) or ssl.create_default_context()
    )
    asked: List[Any] = []
    real_tls_context = _async.tls_context
    monkeypatch.setattr(
        _async, "tls_context", lambda *args: asked.append(args) or real_tls_context(*args)
    )
    built_with, set_later = tmp_path / "built-with.pem", tmp_path / "set-later.pem"
    built_with.write_text("kept")
    set_later.write_text("ignored")
    for name in ("CURL_CA_BUNDLE", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(built_with))
    monkeypatch.setenv("HTTPS_PROXY", "http://built-with-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "")
    https_client = AsyncAISpine(base_url="https://api.example.com")
    http_client = AsyncAISpine(base_url="http://api.example.com")  # no proxy when built
    assert loaded == []  # a bundle is loaded at the first TLS connection, not before
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(set_later))
    monkeypatch.setenv("HTTPS_PROXY", "http://set-later:3128")
    monkeypatch.setenv("HTTP_PROXY", "https://set-later:3128")  # would need TLS to reach

    async def first_use(client: AsyncAISpine) -> None:
        client._transport._pool.get()
        await client.close()

    run(first_use(https_client))
    assert asked == [(str(built_with), None)] and loaded == [str(built_with)]
    assert https_client._transport._options["proxy"] == "http://built-with-proxy:3128"
    run(first_use(http_client))
    assert asked == [(str(built_with), None)]  # still plain http, directly: no TLS context
    assert "proxy" not in http_client._transport._options


def test_a_tls_failure_is_a_network_error_and_not_retried() -> None:
    # A plain-HTTP listener spoken to in TLS: the handshake fails before anything is sent.
    with LocalAISpine() as plain:
        url = plain.url.replace("http://", "https://")

        async def scenario() -> None:
            async with AsyncAISpine(base_url=url, max_retries=3) as client:
                with pytest.raises(NetworkError, match="Could not connect"):
                    await client.health_check()

        run(scenario())
        assert len(plain.requests) == 0


def test_every_execution_id_is_checked_before_sending(server: LocalAISpine) -> None:
    async def scenario() -> None:
        async with AsyncAISpine(base_url=server.url) as client:
            with pytest.raises(ValidationError, match="execution_id must be a UUID"):
                await client.wait_for_execution("not-a-uuid")
            with pytest.raises(ValidationError, match="timeout must be a positive"):
                await client.execute_and_wait(DEMO_FLOW_ID, APPLICANT, timeout=-1)

    server.clear_requests()
    run(scenario())
    assert server.requests == []


# --- Iterators and deprecation warnings, as only an asyncio client has them ---------------------


def test_iter_executions_is_an_async_iterator_checked_when_called(server: LocalAISpine) -> None:
    async def main() -> List[str]:
        async with AsyncAISpine(base_url=server.url) as client:
            with pytest.raises(
                ValidationError, match="page_size must be a positive integer, got 0"
            ):
                client.iter_executions(page_size=0)
            started = await client.execute_and_wait(DEMO_FLOW_ID, APPLICANT, interval=0.05)
            walk = client.iter_executions(page_size=1, status="completed")
            assert not inspect.iscoroutine(walk)
            return [e["execution_id"] async for e in walk if e is not None] + [
                started["execution_id"]
            ]

    ids = run(main())
    assert ids[-1] in ids[:-1]


def test_a_deprecated_key_method_warns_at_the_line_that_awaits_it(server: LocalAISpine) -> None:
    user_id = "async-deprecated-user"
    key = server.add_api_key(user_id)

    async def main() -> Any:
        async with AsyncAISpine(base_url=server.url) as client:
            return await client.check_user_api_key(user_id)

    with pytest.warns(DeprecationWarning, match="get_api_key_status") as caught:
        found = run(main())
    assert found["api_key"] == key
    assert caught.list[0].filename == __file__


_WIRE_CASES = [
    ("GET", "/api/v1/flows", {"params": {"limit": 3, "tags": ["a", "b"], "skip": None}}),
    ("GET", "/api/v1/flows", {"params": {"q": "caf\u00e9 & co/1+1"}}),
    ("POST", "/api/v1/agents", {"body": {"name": "caf\u00e9", "n": [1, 2.5, None]}}),
    ("POST", "/api/v1/executions/x/cancel", {}),
    ("PUT", "/api/v1/flows/f", {"body": {"a": 1}, "token": "user-token"}),
    ("DELETE", "/api/v1/agents/a", {"token": "user-token"}),
]


@pytest.mark.parametrize("method, path, parts", _WIRE_CASES)
def test_both_clients_put_the_same_request_on_the_wire(
    method: str, path: str, parts: Dict[str, Any]
) -> None:
    # The async client's own session sends the common headers as session defaults and a
    # parsed URL (issue 11); with a user's session it sends them per request; the sync client
    # goes straight to urllib3. What the server receives must not differ (requests adds
    # "Connection: keep-alive", HTTP/1.1's default, which aiohttp leaves implicit).
    from ai_spine._async import AsyncTransport
    from ai_spine._base import resolve_settings
    from ai_spine._operations import Operation
    from ai_spine._sync import SyncTransport
    from ai_spine.exceptions import AISpineError

    operation: Operation[Any] = Operation(method, path, lambda answer: answer, **parts)

    def settings(session: Any = None) -> Any:
        return resolve_settings(
            "sk-1", server.url, 5, 0, False, None, 10, True, None, None, session
        )

    async def send_async(session: Any = None) -> None:
        transport = AsyncTransport(settings(session))
        for _ in range(2):  # the second send reuses the parsed URL
            try:
                await transport.send(operation)
            except AISpineError:
                pass
        await transport.close()

    async def through_own_and_users() -> None:
        await send_async()
        async with aiohttp.ClientSession() as session:
            await send_async(session)

    with LocalAISpine() as server:
        sync = SyncTransport(settings())
        try:
            sync.send(operation)
        except AISpineError:
            pass
        sync.close()
        run(through_own_and_users())
        sent = server.requests[-5:]
    shapes = [
        (
            r.method,
            r.path,
            r.query,
            r.body,
            {k: v for k, v in r.headers.items() if k != "connection"},
        )
        for r in sent
    ]
    assert all(shape == shapes[0] for shape in shapes), shapes
    expected = "Bearer " + parts.get("token", "sk-1")
    assert all(r.headers["authorization"] == expected for r in sent)


def test_verify_takes_a_ca_bundle_like_the_sync_client_s() -> None:
    from tls_server import CA, TLSServer

    async def health(url: str, verify: Any) -> Any:
        async with AsyncAISpine(base_url=url, verify=verify, max_retries=0) as client:
            return await client.health_check()

    with TLSServer() as server:
        assert run(health(server.url, CA)) == {"status": "healthy"}
        with warnings.catch_warnings():
            if sys.version_info[:2] == (3, 8):
                # asyncio 3.8 can leave the client socket of a failed handshake (aiohttp
                # 3.10 creates it and hands it over with sock=) to the garbage collector.
                warnings.filterwarnings("ignore", "unclosed <socket", ResourceWarning)
            with pytest.raises(NetworkError) as caught:
                run(health(server.url, True))
            assert caught.value.kind == Failure.TLS
            del caught
            gc.collect()
        assert server.paths == ["/health"]
