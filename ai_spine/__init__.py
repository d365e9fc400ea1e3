"""The Python SDK for AI Spine, the HTTP API that runs AI agents as flows.

Example:
    >>> from ai_spine import AISpine
    >>> client = AISpine()  # AI_SPINE_API_KEY and AI_SPINE_BASE_URL are read if set
    >>> execution = client.execute_and_wait("demo_credit_check", {"income": 50000})
    >>> execution["output_data"]

For asyncio, :class:`AsyncAISpine` has the same methods as coroutines (install the
``async`` extra: ``pip install "ai-spine-sdk[async]"``).

Importing the package opens no socket, starts no thread, configures no logging and imports
nothing but its version: each public name (and with it ``requests``, or aiohttp for
``AsyncAISpine``) loads from its module when first looked up (PEP 562). So the ``ai-spine``
command line starts fast when the command it runs does not call the API. The local test
server lives in :mod:`ai_spine.testing` and is imported only on request.
"""

from __future__ import annotations

import importlib

from .__version__ import __version__

# Not typing.TYPE_CHECKING: importing typing would cost the command line ~4 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time, see __getattr__
    from typing import Any, Dict, List

    from ._batch import BatchItem, BatchProgress, BatchResult
    from .async_client import AsyncAISpine
    from .client import AISpine
    from .exceptions import (
        AISpineError,
        AuthenticationError,
        AuthorizationError,
        BatchError,
        ConflictError,
        ExecutionError,
        InsufficientCreditsError,
        NetworkError,
        NotFoundError,
        RateLimitError,
        ResponseTooLargeError,
        ServerError,
        TimeoutError,
        ValidationError,
    )
    from .models import AgentType, ExecutionStatus
    from .retry import RetryPolicy

__all__ = [
    "__version__",
    "AISpine",
    "AsyncAISpine",
    "AISpineError",
    "AgentType",
    "AuthenticationError",
    "AuthorizationError",
    "BatchError",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "ConflictError",
    "ExecutionError",
    "ExecutionStatus",
    "InsufficientCreditsError",
    "NetworkError",
    "NotFoundError",
    "RateLimitError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "TimeoutError",
    "ValidationError",
]

# Where each public name lives: looked up there on first use.
_HOMES: Dict[str, str] = {
    "AISpine": "client",
    "AsyncAISpine": "async_client",
    "BatchItem": "_batch",
    "BatchProgress": "_batch",
    "BatchResult": "_batch",
    "AgentType": "models",
    "ExecutionStatus": "models",
    "RetryPolicy": "retry",
}
_HOMES.update(
    (name, "exceptions")
    for name in (
        "AISpineError",
        "AuthenticationError",
        "AuthorizationError",
        "BatchError",
        "ConflictError",
        "ExecutionError",
        "InsufficientCreditsError",
        "NetworkError",
        "NotFoundError",
        "RateLimitError",
        "ResponseTooLargeError",
        "ServerError",
        "TimeoutError",
        "ValidationError",
    )
)


def __getattr__(name: str) -> Any:
    # PEP 562: `import ai_spine` stays cheap; `ai_spine.AISpine` (or `from ai_spine import
    # AISpine`) imports its module then, and caches the name so this runs once per name.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError("module 'ai_spine' has no attribute {!r}".format(name))
    value = getattr(importlib.import_module("." + home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
