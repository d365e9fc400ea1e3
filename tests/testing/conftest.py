"""Fixtures for the tests of ai_spine.testing: fresh servers on ephemeral loopback ports."""

from typing import Iterator

import pytest
import requests

from ai_spine.testing import LocalAISpine


@pytest.fixture
def server() -> Iterator[LocalAISpine]:
    """A fresh LocalAISpine without agents or flows."""
    with LocalAISpine(agent_timeout=5.0) as srv:
        yield srv


@pytest.fixture
def demo_server() -> Iterator[LocalAISpine]:
    """A fresh LocalAISpine with the demo agents and the demo flow registered."""
    with LocalAISpine(with_demo_agents=True, agent_timeout=5.0) as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A pooled HTTP client, closed after the test."""
    with requests.Session() as session:
        yield session
