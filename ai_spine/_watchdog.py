"""Deadlines that hold while a thread is blocked in a socket read.

A socket timeout bounds each ``recv``, not an answer: a server that sends one byte every
0.9 s keeps a ``timeout=1`` call alive forever. So the sync transport arms a
:class:`Deadline` for each attempt, and one daemon thread per process (the watchdog) shuts
down the sockets of every deadline that passes. The blocked read then returns at once, and
the transport reports a :class:`~ai_spine.TimeoutError` because :attr:`Deadline.expired`
says why the read failed.

Arming and disarming cost a heap push and a flag: the watchdog is woken only when a new
deadline is earlier than every pending one. After ``os.fork()`` the child starts with a new
watchdog (threads do not survive a fork, and a lock held at that moment would never be
released), and :func:`forks` tells the transports to stop using the parent's connections.
"""

from __future__ import annotations

import heapq
import os
import socket
import threading
import time
from typing import Any, List, Optional, Tuple

__all__ = ["Deadline", "arm", "fork_lock", "forks"]


class Deadline:
    """One attempt's deadline: the sockets to shut down when it passes.

    Attributes:
        at: The ``time.monotonic()`` reading at which it passes.
        expired: Whether the watchdog cut the attempt's sockets.
    """

    __slots__ = ("at", "expired", "done", "_connections", "__weakref__")

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self.done = False
        self._connections: List[Any] = []

    def watch(self, connection: Any) -> None:
        """Cut ``connection``'s socket (its ``sock`` attribute, read when the deadline
        passes) if the deadline passes before :meth:`disarm`."""
        self._connections.append(connection)
        if self.expired:
            _shut(connection)

    def passed(self) -> bool:
        """Whether the deadline has passed (or the watchdog cut the sockets)."""
        return self.expired or time.monotonic() > self.at

    def disarm(self) -> None:
        """The attempt is over: nothing to cut any more."""
        self.done = True
        self._connections = []

    def _expire(self) -> None:
        if self.done:
            return
        self.expired = True
        for connection in list(self._connections):
            _shut(connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # The plain socket's shutdown, also for an SSLSocket: it wakes the thread blocked in a
        # read without touching the TLS object that thread is using.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):  # already closed, or not a real socket (a test double)
        pass


class _Watchdog:
    """The thread that expires deadlines, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Condition(threading.Lock())
        self._heap: List[Tuple[float, int, Deadline]] = []
        self._count = 0
        self._thread: Optional[threading.Thread] = None

    def arm(self, seconds: float) -> Deadline:
        deadline = Deadline(time.monotonic() + seconds)
        with self._lock:
            self._count += 1
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (deadline.at, self._count, deadline))
            if len(self._heap) > 256:
                self._compact()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ai-spine-deadlines", daemon=True
                )
                self._thread.start()
            elif earliest is None or deadline.at < earliest:
                self._lock.notify()
        return deadline

    def _compact(self) -> None:
        # Disarmed deadlines stay in the heap until they would pass; with many calls in flight
        # within one timeout, drop them early so the heap holds about what is pending.
        pending = [entry for entry in self._heap if not entry[2].done]
        if len(pending) * 2 < len(self._heap):
            heapq.heapify(pending)
            self._heap = pending

    def _run(self) -> None:
        while True:
            with self._lock:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._lock.wait(self._heap[0][0] - now if self._heap else None)
            due._expire()


_watchdog = _Watchdog()
_forks = 0
_fork_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _watchdog, _forks, _fork_lock
    _watchdog = _Watchdog()
    _forks += 1
    _fork_lock = threading.Lock()  # a thread of the parent may have held the old one


def fork_lock() -> Any:
    """The lock under which a transport replaces its parent's connections after a fork."""
    return _fork_lock


def forks() -> int:
    """How many times this process is a fork's child: connections opened under another
    count belong to the parent (or a grandparent) and must not be used here.

    Example:
        >>> forks() >= 0
        True
    """
    return _forks


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def arm(seconds: float) -> Deadline:
    """Start a deadline ``seconds`` from now.

    Example:
        >>> deadline = arm(30.0)
        >>> deadline.expired
        False
        >>> deadline.disarm()
    """
    return _watchdog.arm(seconds)
