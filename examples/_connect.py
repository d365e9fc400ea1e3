"""How every example finds an AI Spine: ``AI_SPINE_BASE_URL`` if set, else a local one.

The local server (``ai_spine.testing.LocalAISpine``) runs in this process on 127.0.0.1 with
demo agents and the demo flow, so the examples run offline as they are.
"""

import contextlib
import os
from typing import Iterator, Optional

from ai_spine import AISpine
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

FLOW_ID = os.environ.get("AI_SPINE_FLOW_ID", DEMO_FLOW_ID)
"""The flow the examples run: the demo credit check unless AI_SPINE_FLOW_ID names another."""


@contextlib.contextmanager
def server_url() -> Iterator[Optional[str]]:
    """Yield None when AI_SPINE_BASE_URL is set (clients read it, and AI_SPINE_API_KEY, from
    the environment), else the URL of a local server started for the example."""
    if os.environ.get("AI_SPINE_BASE_URL"):
        yield None
        return
    with LocalAISpine(with_demo_agents=True) as server:
        print("(AI_SPINE_BASE_URL is not set: using a local AI Spine at {})".format(server.url))
        yield server.url


@contextlib.contextmanager
def connect() -> Iterator[AISpine]:
    """Yield a client of AI_SPINE_BASE_URL, or of a local server started for the example."""
    with server_url() as url, AISpine(base_url=url) as client:
        yield client
