"""The Python SDK for AI Spine, the HTTP API that runs AI agents as flows.

Example:
    >>> from ai_spine import AISpine
    >>> client = AISpine()  # AI_SPINE_API_KEY and AI_SPINE_BASE_URL are read if set
    >>> execution = client.execute_and_wait("credit_analysis", {"income": 50000})
    >>> execution["output_data"]

For asyncio, :class:`AsyncAISpine` has the same methods as coroutines (install the
``async`` extra: ``pip install "ai-spine-sdk[async]"``).

Importing the package opens no socket, starts no thread, configures no logging and imports
neither aiohttp nor the async client until ``AsyncAISpine`` is first looked up. The local test
server lives in :mod:`ai_spine.testing` and is imported only on request.
"""

from typing import TYPE_CHECKING, Any

from .__version__ import __version__
from ._batch import BatchItem, BatchProgress, BatchResult
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

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time, see __getattr__
    from .async_client import AsyncAISpine

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


def __getattr__(name: str) -> Any:
    # The async client loads on first use, so that `import ai_spine` stays fast and never
    # touches aiohttp (PEP 562).
    if name == "AsyncAISpine":
        from .async_client import AsyncAISpine

        return AsyncAISpine
    raise AttributeError("module 'ai_spine' has no attribute {!r}".format(name))
