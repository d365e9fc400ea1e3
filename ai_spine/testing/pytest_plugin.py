"""A pytest plugin: a local AI Spine per test or per session, SDK clients bound to it, and a
switch that points the same tests at a real AI Spine.

It is installed with ``ai-spine-sdk`` and registered through the ``pytest11`` entry point,
and it is inert until a test asks for one of its fixtures: loading it starts no server,
opens no socket and adds no autouse fixture (``-p no:ai_spine.testing.pytest_plugin``
turns it off altogether).

Fixtures:

=========================== ========= =========================================================
name                        scope     what it gives
=========================== ========= =========================================================
``ai_spine_server``         function  a fresh :class:`~ai_spine.testing.LocalAISpine` for one
                                      test; ``@pytest.mark.ai_spine_server(**options)`` passes
                                      constructor options (``with_demo_agents=True``...)
``ai_spine_session_server`` session   one ``LocalAISpine`` shared by the whole session
``ai_spine_server_options`` session   the constructor options of both; override it in a
                                      ``conftest.py`` (e.g. ``{"with_demo_agents": True}``)
``ai_spine_url``            function  the base URL under test: ``--ai-spine-url`` when given,
                                      else the test's ``ai_spine_server`` when it uses one,
                                      else the session server
``ai_spine_access_token``   session   a user access token for flow writes: any token works
                                      locally; ``--ai-spine-access-token`` for a real server
                                      (None when not given)
``ai_spine_client``         function  an :class:`~ai_spine.AISpine` bound to ``ai_spine_url``
                                      (and the token above), closed after the test
``ai_spine_async_client``   function  an :class:`~ai_spine.AsyncAISpine` likewise (skips
                                      without aiohttp); use it on ``ai_spine_run``'s loop or
                                      an asyncio plugin's; inside ``asyncio.run()`` close it
                                      there (``async with ai_spine_async_client:``), since
                                      that loop is gone when the fixture ends
``ai_spine_run``            function  ``ai_spine_run(coroutine)`` runs it on the test's event
                                      loop and returns its result
=========================== ========= =========================================================

Pointing the tests at a real server: ``pytest --ai-spine-url https://host`` (with
``--ai-spine-api-key`` and ``--ai-spine-access-token`` when it needs them), or the ini
option ``ai_spine_url_env = NAME`` to read the URL from the environment variable ``NAME``
when it is set. The plugin never follows ``AI_SPINE_BASE_URL`` on its own: an application's
production setting must not silently send a test suite there. Against a real server,
``ai_spine_server``, ``ai_spine_session_server`` and every test marked
``@pytest.mark.ai_spine_local`` (it needs the local server's hooks: fault injection, the
request log...) are skipped with a reason.

Example:
    A test file of your own (no conftest needed)::

        import pytest
        from ai_spine.testing import DEMO_FLOW_ID

        @pytest.mark.ai_spine_server(with_demo_agents=True)
        def test_the_demo_flow_approves(ai_spine_server, ai_spine_client):
            execution = ai_spine_client.execute_and_wait(
                DEMO_FLOW_ID, {"text": "great references", "income": 85000, "debt": 9000}
            )
            assert execution["output_data"]["credit"]["decision"] == "approve"
            assert len(ai_spine_server.requests_to("POST", "/api/v1/flows/execute")) == 1
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Iterator, Optional, TypeVar

import pytest

if TYPE_CHECKING:  # imported when first used: loading the plugin stays free
    from ai_spine import AISpine, AsyncAISpine
    from ai_spine.testing import LocalAISpine

T = TypeVar("T")

URL_OPTION = "--ai-spine-url"
LOCAL_TOKEN = "pytest-ai-spine-user"
"""The user access token the fixtures use against a local server (any token names a user)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--ai-spine-*`` options and the ``ai_spine_url_env`` ini option."""
    group = parser.getgroup("ai-spine", "AI Spine SDK test fixtures")
    group.addoption(
        URL_OPTION,
        dest="ai_spine_url",
        default=None,
        metavar="URL",
        help="run the ai_spine_* fixtures against this AI Spine instead of a local server",
    )
    group.addoption(
        "--ai-spine-api-key",
        dest="ai_spine_api_key",
        default=None,
        metavar="KEY",
        help="API key of the server given with --ai-spine-url",
    )
    group.addoption(
        "--ai-spine-access-token",
        dest="ai_spine_access_token",
        default=None,
        metavar="TOKEN",
        help="user access token (flow writes) for the server given with --ai-spine-url",
    )
    parser.addini(
        "ai_spine_url_env",
        "name of an environment variable that, when set, gives the URL of the AI Spine to "
        "test instead of a local server (as --ai-spine-url does)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers."""
    config.addinivalue_line(
        "markers",
        "ai_spine_server(**options): LocalAISpine options of this test's ai_spine_server "
        "(e.g. with_demo_agents=True)",
    )
    config.addinivalue_line(
        "markers",
        "ai_spine_local: the test needs the local AI Spine server (its test hooks); skipped "
        "when the fixtures point at a real server",
    )


def remote_url(config: pytest.Config) -> Optional[str]:
    """Return the real server's URL the session tests, or None for the local server.

    Args:
        config: The pytest configuration.

    Returns:
        ``--ai-spine-url``, else the value of the environment variable named by the ini
        option ``ai_spine_url_env`` when it is set and not empty, else None.

    Example:
        >>> remote_url(pytestconfig)  # doctest: +SKIP
        'http://127.0.0.1:8000'
    """
    url = config.getoption("ai_spine_url", None)
    if not url:
        name = str(config.getini("ai_spine_url_env") or "").strip()
        url = os.environ.get(name) if name else None
    return url.rstrip("/") if url else None


def _skip_reason(url: str) -> str:
    return (
        "needs the local AI Spine server (LocalAISpine and its test hooks); the ai_spine "
        "fixtures point at %s" % url
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip the tests marked ``ai_spine_local`` when the session tests a real server."""
    url = remote_url(item.config)
    if url is not None and item.get_closest_marker("ai_spine_local") is not None:
        pytest.skip(_skip_reason(url))


@pytest.fixture(scope="session")
def ai_spine_server_options() -> Dict[str, Any]:
    """Constructor options of the plugin's ``LocalAISpine`` servers; override to change them.

    Returns:
        ``{}``: a server without demo agents, key checks off.

    Example:
        In a ``conftest.py``::

            @pytest.fixture(scope="session")
            def ai_spine_server_options():
                return {"with_demo_agents": True}
    """
    return {}


def _start(options: Dict[str, Any]) -> "LocalAISpine":
    from ai_spine.testing import LocalAISpine

    return LocalAISpine(**options).start()


@pytest.fixture(scope="session")
def ai_spine_session_server(
    pytestconfig: pytest.Config, ai_spine_server_options: Dict[str, Any]
) -> Iterator["LocalAISpine"]:
    """One running ``LocalAISpine`` for the whole session (skipped against a real server).

    Yields:
        The server; it keeps what the tests store in it (``reset()`` forgets it).
    """
    url = remote_url(pytestconfig)
    if url is not None:
        pytest.skip(_skip_reason(url))
    server = _start(dict(ai_spine_server_options))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ai_spine_server(
    request: pytest.FixtureRequest, ai_spine_server_options: Dict[str, Any]
) -> Iterator["LocalAISpine"]:
    """A fresh running ``LocalAISpine`` for one test (skipped against a real server).

    ``@pytest.mark.ai_spine_server(**options)`` adds constructor options to
    ``ai_spine_server_options``.

    Yields:
        The server, stopped after the test.
    """
    url = remote_url(request.config)
    if url is not None:
        pytest.skip(_skip_reason(url))
    options = dict(ai_spine_server_options)
    for marker in reversed(list(request.node.iter_markers("ai_spine_server"))):
        options.update(marker.kwargs)
    server = _start(options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ai_spine_url(request: pytest.FixtureRequest) -> str:
    """The base URL under test.

    Returns:
        ``--ai-spine-url`` (or the ``ai_spine_url_env`` variable) when given; else the URL of
        this test's ``ai_spine_server`` when the test uses it; else the session server's.
    """
    url = remote_url(request.config)
    if url is not None:
        return url
    name = "ai_spine_server" if "ai_spine_server" in request.fixturenames else None
    server = request.getfixturevalue(name or "ai_spine_session_server")
    return str(server.url)


@pytest.fixture(scope="session")
def ai_spine_access_token(pytestconfig: pytest.Config) -> Optional[str]:
    """A user access token for flow create, update and delete.

    Returns:
        ``--ai-spine-access-token`` against a real server (None when not given); a fixed
        token against the local server, which takes any token as a user's.
    """
    if remote_url(pytestconfig) is None:
        return LOCAL_TOKEN
    token = pytestconfig.getoption("ai_spine_access_token", None)
    return str(token) if token else None


def _client_options(request: pytest.FixtureRequest, url: str) -> Dict[str, Any]:
    options: Dict[str, Any] = {
        "base_url": url,
        "access_token": request.getfixturevalue("ai_spine_access_token"),
    }
    if remote_url(request.config) is not None:
        options["api_key"] = request.config.getoption("ai_spine_api_key", None)
    else:
        name = "ai_spine_server" if "ai_spine_server" in request.fixturenames else None
        server = request.getfixturevalue(name or "ai_spine_session_server")
        options["api_key"] = server.api_key
    return options


@pytest.fixture
def ai_spine_client(request: pytest.FixtureRequest, ai_spine_url: str) -> Iterator["AISpine"]:
    """An ``AISpine`` client bound to ``ai_spine_url``, closed after the test.

    It sends the local server's API key (if it has one) or ``--ai-spine-api-key``, and
    ``ai_spine_access_token`` as its user token.

    Yields:
        The client.
    """
    from ai_spine import AISpine

    with AISpine(**_client_options(request, ai_spine_url)) as client:
        yield client


class _Loop:
    """The event loop of one test, created when first needed."""

    def __init__(self) -> None:
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    def run(self, awaitable: Awaitable[T]) -> T:
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


@pytest.fixture
def _ai_spine_loop() -> Iterator[_Loop]:
    loop = _Loop()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def ai_spine_run(_ai_spine_loop: _Loop) -> Callable[[Awaitable[T]], T]:
    """Run a coroutine on this test's event loop (the one ``ai_spine_async_client`` is
    closed on); for tests without an asyncio plugin.

    Returns:
        ``run(awaitable) -> result``.

    Example:
        >>> def test_health(ai_spine_async_client, ai_spine_run):  # doctest: +SKIP
        ...     assert ai_spine_run(ai_spine_async_client.health_check())["status"] == "healthy"
    """
    return _ai_spine_loop.run


@pytest.fixture
def ai_spine_async_client(
    request: pytest.FixtureRequest, ai_spine_url: str, _ai_spine_loop: _Loop
) -> Iterator["AsyncAISpine"]:
    """An ``AsyncAISpine`` client bound to ``ai_spine_url``, closed after the test.

    Skipped when aiohttp is not installed. Use it on ``ai_spine_run``'s loop, or on the
    loop of an asyncio plugin: it is closed on the loop it was used on when that loop is
    still open; a client used inside ``asyncio.run()`` should be closed there
    (``async with`` or ``await client.close()``).

    Yields:
        The client.
    """
    pytest.importorskip("aiohttp", reason="AsyncAISpine needs aiohttp (ai-spine-sdk[async])")
    from ai_spine import AsyncAISpine

    client = AsyncAISpine(**_client_options(request, ai_spine_url))
    try:
        yield client
    finally:
        _close_async(client)


def _close_async(client: "AsyncAISpine") -> None:
    pool: Any = getattr(client._transport, "_pool", None)
    loop: Optional[asyncio.AbstractEventLoop] = getattr(pool, "loop", None)
    if pool is None or loop is None:
        return  # never used: nothing was opened
    if not loop.is_closed() and not loop.is_running():
        loop.run_until_complete(client.close())
    else:
        # Its loop has ended (asyncio.run) without closing it: release what can be released.
        pool._abandon()
