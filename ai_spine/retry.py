"""The retry policy: which failures to retry and how long to wait. Pure, no I/O.

One immutable :class:`RetryPolicy` decides for every transport: the sync and async transports
both run the same loop (:class:`ai_spine._protocol.Exchange`), which asks it after every
response and every failure. The rules, chosen so that a flow never runs twice:

- a connection that failed before the request was sent is retried for every method;
- 429 is retried for every method: the request was refused, not processed;
- 502, 503, 504 and read errors (timeouts, resets after sending) are retried only for
  idempotent methods (GET, DELETE), since a POST may already have started an execution;
- waits grow exponentially with full jitter; a ``Retry-After`` is honoured up to
  ``max_retry_after`` seconds, above which the call fails at once with the error.
"""

from __future__ import annotations

import random
from typing import Any, FrozenSet, Optional, Tuple

from .constants import (
    BACKOFF_FACTOR,
    BACKOFF_MAX,
    DEFAULT_MAX_RETRIES,
    IDEMPOTENT_METHODS,
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
)

__all__ = ["RetryPolicy"]

_RETRY_ANY_METHOD: FrozenSet[int] = frozenset({429})


class RetryPolicy:
    """An immutable set of retry rules.

    A plain value class rather than a dataclass: ``dataclasses`` alone took longer to import
    than the rest of the client (issue 11). :meth:`replace` is ``dataclasses.replace``.

    Args:
        max_retries: Retries after the first attempt (0 disables retrying).
        backoff_factor: The first retry waits up to this many seconds, doubling after.
        backoff_max: The longest backoff between two attempts, in seconds.
        max_retry_after: The longest ``Retry-After`` honoured; longer ones fail at once.

    Example:
        >>> policy = RetryPolicy(max_retries=2)
        >>> policy.should_retry_status("POST", 503, attempt=1)
        False
        >>> policy.should_retry_status("GET", 503, attempt=1)
        True
        >>> policy.replace(max_retries=0).should_retry_status("GET", 503, 1)
        False
        >>> policy
        RetryPolicy(max_retries=2, backoff_factor=0.5, backoff_max=8.0, max_retry_after=60.0)
    """

    __slots__ = ("max_retries", "backoff_factor", "backoff_max", "max_retry_after")

    max_retries: int
    backoff_factor: float
    backoff_max: float
    max_retry_after: float

    def __init__(
        self,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = BACKOFF_FACTOR,
        backoff_max: float = BACKOFF_MAX,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        values = (max_retries, backoff_factor, backoff_max, max_retry_after)
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> "RetryPolicy":
        """A copy with ``changes`` (field names and values) applied.

        Raises:
            TypeError: A name that is not a field.
        """
        unknown = sorted(set(changes) - set(self.__slots__))
        if unknown:
            raise TypeError("RetryPolicy has no field(s) {}".format(", ".join(unknown)))
        return RetryPolicy(**dict(self._items(), **changes))

    def _items(self) -> Tuple[Tuple[str, Any], ...]:
        return tuple((name, getattr(self, name)) for name in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            "RetryPolicy is immutable: use policy.replace({}=...) for a changed copy".format(name)
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError("RetryPolicy is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not RetryPolicy:
            return NotImplemented
        return self._items() == other._items()  # type: ignore[attr-defined, no-any-return]

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return "RetryPolicy({})".format(
            ", ".join("{}={!r}".format(name, value) for name, value in self._items())
        )

    def __reduce__(self) -> Tuple[Any, ...]:
        return (RetryPolicy, tuple(value for _, value in self._items()))

    @staticmethod
    def is_idempotent(method: str) -> bool:
        """Whether sending ``method`` twice is as safe as sending it once."""
        return method.upper() in IDEMPOTENT_METHODS

    def should_retry_status(
        self, method: str, status_code: int, attempt: int, retry_after: Optional[float] = None
    ) -> bool:
        """Whether a response with ``status_code`` deserves another attempt.

        Args:
            method: The request's HTTP method.
            status_code: The status received.
            attempt: The retry this would be (1 for the first retry).
            retry_after: The ``Retry-After`` in seconds, if the response had one.

        Returns:
            True to retry; False to give the response to the caller as an error.
        """
        if attempt > self.max_retries:
            return False
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        if status_code in _RETRY_ANY_METHOD:
            return True
        return status_code in RETRYABLE_STATUSES and self.is_idempotent(method)

    def should_retry_connect_error(self, attempt: int) -> bool:
        """Whether to retry a connection that failed before the request was sent."""
        return attempt <= self.max_retries

    def should_retry_read_error(self, method: str, attempt: int) -> bool:
        """Whether to retry after the request was sent but no answer came back."""
        return attempt <= self.max_retries and self.is_idempotent(method)

    def backoff(self, attempt: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to wait before retry number ``attempt`` when the server gave no hint.

        Exponential with full jitter: uniform in ``[0, min(backoff_max, factor * 2**(n-1))]``,
        so that many clients failing together do not retry together.

        Args:
            attempt: The retry about to be made, from 1.
            rng: A random source, for reproducible tests.

        Returns:
            The delay in seconds.
        """
        ceiling = min(self.backoff_max, self.backoff_factor * (2 ** max(0, attempt - 1)))
        return (rng or random).uniform(0, ceiling)

    def delay(
        self, attempt: int, retry_after: Optional[float] = None, rng: Optional[random.Random] = None
    ) -> float:
        """Seconds to wait before retry number ``attempt``: the server's ``Retry-After`` when it
        sent one (capped at ``max_retry_after``), else :meth:`backoff`."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt, rng)
