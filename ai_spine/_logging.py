"""The SDK's logging: one ``ai_spine`` logger, and ``debug=True`` for one client only.

Every client logs through a :class:`Log`. A client built with ``debug=True`` (or with
``AI_SPINE_LOG=debug`` in the environment) hands its records to the ``ai_spine`` logger's
handlers whatever the logger's level, so its requests show without turning on DEBUG for the
whole process; other clients log as the application configured. When no handler would show
such a record (the application configured no logging), one fallback handler prints it to
stderr; when the application has handlers, it stays silent, so no line is printed twice.
Headers, keys and bodies are never logged.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .constants import LOGGER_NAME

__all__ = ["Log", "logger"]

logger = logging.getLogger(LOGGER_NAME)


class _Fallback(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in typeshed
    """Prints a debug client's records when no other handler would; and, like
    ``logging.lastResort`` (which it stands in for), warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        wanted = getattr(record, "ai_spine_debug", False) or record.levelno >= logging.WARNING
        if not wanted or _others_handle(self):
            return False
        return bool(super().handle(record))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # the stderr of the moment (pytest and notebooks swap it)
        super().emit(record)


def _others_handle(fallback: logging.Handler) -> bool:
    current: Any = logger
    while current is not None:
        if any(handler is not fallback for handler in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return False


_fallback = _Fallback()


class Log:
    """Where one client's log lines go.

    Args:
        verbose: Whether this client logs everything (``debug=True``): its records are
            handled whatever the ``ai_spine`` logger's level.

    Example:
        >>> Log(verbose=False).debug("GET %s", "http://127.0.0.1:8000/health")
    """

    __slots__ = ("verbose",)

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        if verbose and _fallback not in logger.handlers:
            logger.addHandler(_fallback)

    def debug(self, message: str, *args: Any) -> None:
        """Log at DEBUG."""
        self._log(logging.DEBUG, message, args)

    def info(self, message: str, *args: Any) -> None:
        """Log at INFO."""
        self._log(logging.INFO, message, args)

    def warning(self, message: str, *args: Any) -> None:
        """Log at WARNING."""
        self._log(logging.WARNING, message, args)

    def _log(self, level: int, message: str, args: Any) -> None:
        if self.verbose:
            if logger.disabled:
                return
            record = logger.makeRecord(logger.name, level, "ai_spine", 0, message, args, None)
            record.ai_spine_debug = True
            logger.handle(record)
        elif logger.isEnabledFor(level):
            logger.log(level, message, *args)

    def __reduce__(self) -> Any:
        return (Log, (self.verbose,))
