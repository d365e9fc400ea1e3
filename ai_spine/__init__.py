"""The Python SDK for AI Spine, the HTTP API that runs AI agents as flows.

Example:
    >>> from ai_spine import AISpine
    >>> client = AISpine()  # AI_SPINE_API_KEY and AI_SPINE_BASE_URL are read if set
    >>> execution = client.execute_and_wait("credit_analysis", {"income": 50000})
    >>> execution["output_data"]

Importing the package opens no socket, starts no thread and configures no logging.
The local test server lives in :mod:`ai_spine.testing` and is imported only on request.
"""

from .__version__ import __version__
from .client import AISpine
from .exceptions import (
    AISpineError,
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ExecutionError,
    InsufficientCreditsError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from .models import ExecutionStatus
from .retry import RetryPolicy

__all__ = [
    "__version__",
    "AISpine",
    "AISpineError",
    "AuthenticationError",
    "AuthorizationError",
    "ConflictError",
    "ExecutionError",
    "ExecutionStatus",
    "InsufficientCreditsError",
    "NetworkError",
    "NotFoundError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "TimeoutError",
    "ValidationError",
]
