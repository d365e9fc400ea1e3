"""Finding 6, logging: ``debug=True`` is one client's business and never doubles a line; a
key sent in clear to another machine is warned about once, at construction."""

import logging
from typing import Any, Callable, Iterator, List

import pytest

from ai_spine import AISpine

from .hostile import Hostile, answer, raw


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The ``ai_spine`` logger, restored afterwards (level, handlers, propagation)."""
    logger = logging.getLogger("ai_spine")
    saved = (logger.level, list(logger.handlers), logger.propagate)
    yield logger
    logger.setLevel(saved[0])
    logger.handlers[:] = saved[1]
    logger.propagate = saved[2]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def server() -> Iterator[Hostile]:
    with Hostile(raw(answer(200, b'{"status": "healthy"}')), hostile=0) as running:
        running.good = {"status": "healthy"}
        yield running


@pytest.fixture
def unconfigured(sdk_logger: logging.Logger) -> None:
    """Logging as in a script that configured none: no handler above the SDK's logger
    (pytest adds its own to the root logger during each test, so cut propagation)."""
    sdk_logger.propagate = False


def test_debug_logs_only_that_client_and_leaves_the_logger_level_alone(
    server: Hostile,
    sdk_logger: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    unconfigured: None,
) -> None:
    level = sdk_logger.level
    loud = AISpine(base_url=server.url, debug=True)
    quiet = AISpine(base_url=server.url)
    loud.health_check()
    loud_lines = capsys.readouterr().err.splitlines()
    quiet.health_check()
    quiet_lines = capsys.readouterr().err.splitlines()
    assert sdk_logger.level == level  # the process's logging configuration is untouched
    assert [line for line in loud_lines if "GET " + server.url + "/health -> 200" in line]
    assert quiet_lines == []
    loud.close()
    quiet.close()


def test_debug_lines_go_to_the_application_s_handlers_once_and_not_to_stderr(
    server: Hostile,
    sdk_logger: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As after logging.basicConfig(): a handler on the root logger, level WARNING.
    root = logging.getLogger()
    collect = Collect()
    monkeypatch.setattr(root, "handlers", [collect])
    monkeypatch.setattr(root, "level", logging.WARNING)
    client = AISpine(base_url=server.url, debug=True)
    client.health_check()
    client.health_check()
    lines = [line for line in collect.lines if "/health -> 200" in line]
    assert len(lines) == 2  # once per call: never printed twice
    assert "/health -> 200" not in capsys.readouterr().err
    client.close()


def test_environment_debug_turns_on_every_client(
    server: Hostile,
    sdk_logger: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    unconfigured: None,
) -> None:
    monkeypatch.setenv("AI_SPINE_LOG", "debug")
    client = AISpine(base_url=server.url)
    client.health_check()
    assert "/health -> 200" in capsys.readouterr().err
    client.close()


@pytest.mark.parametrize(
    "base_url, credentials, warned",
    [
        ("http://api.example.com", {"api_key": "sk-1"}, True),
        ("http://10.0.0.5:8000", {"access_token": "tok-secret-9"}, True),
        ("https://api.example.com", {"api_key": "sk-1"}, False),
        ("http://127.0.0.1:8000", {"api_key": "sk-1"}, False),
        ("http://[::1]:8000", {"api_key": "sk-1"}, False),
        ("http://localhost:8000", {"api_key": "sk-1"}, False),
        ("http://api.example.com", {}, False),
    ],
)
def test_a_key_in_clear_to_another_machine_is_warned_about_once(
    base_url: str,
    credentials: Any,
    warned: bool,
    new_client: Callable[..., Any],
    client_kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="ai_spine"):
        client = new_client(client_kind, base_url=base_url, **credentials)
        client.with_options(timeout=5)  # a derived client does not warn again
    found = [r for r in caplog.records if "travels unencrypted" in r.getMessage()]
    assert len(found) == (1 if warned else 0)
    for record in found:  # the secret itself is never logged
        assert "sk-1" not in record.getMessage() and "tok-secret-9" not in record.getMessage()
    client.__exit__(None, None, None)


def test_resource_warnings_are_errors_in_this_suite() -> None:
    import warnings

    with pytest.raises(ResourceWarning):
        warnings.warn("an unclosed socket", ResourceWarning)
