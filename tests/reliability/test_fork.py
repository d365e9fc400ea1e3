"""Finding 4: a client used before ``os.fork()`` must not share its sockets with the child.

A server echoes each request's flow id after a short pause; parent and child call at the
same time through the client the parent had already used (its pooled connections open).
Sharing a socket, each process would read answers meant for the other.
"""

import asyncio
import json
import os
import re
import socket
import threading
import time
import warnings
from typing import Any, Iterator, List, Tuple

import pytest

from ai_spine import AISpine, AsyncAISpine

from .hostile import Hostile, read_request

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")

CALLS = 40


def echo(conn: socket.socket, request: bytes) -> None:
    """Answer ``{"flow_id": <the id in the path>}`` after 5 ms, on a keep-alive connection."""
    while request:
        flow_id = re.search(rb"/api/v1/flows/([^ ?]+)", request)
        body = json.dumps({"flow_id": flow_id.group(1).decode() if flow_id else None})
        time.sleep(0.005)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body.encode())
        )
        request = read_request(conn)


@pytest.fixture
def server() -> Iterator[Hostile]:
    with Hostile(echo) as running:
        yield running


def fork() -> int:
    with warnings.catch_warnings():  # 3.12 warns about forking a threaded process: we mean it
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def mismatches(call: Any, tag: str) -> int:
    wrong = 0
    for i in range(CALLS):
        flow_id = "{}-{}".format(tag, i)
        try:
            if call(flow_id)["flow_id"] != flow_id:
                wrong += 1
        except Exception:  # a broken exchange counts as wrong too
            wrong += 1
    return wrong


def in_child(work: Any) -> Tuple[int, int]:
    """Start ``work()`` in a forked child; return its pid and the pipe its result comes on."""
    read, write = os.pipe()
    pid = fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read)
            os.write(write, str(int(work())).encode())
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def child_result(pid: int, read: int) -> int:
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return int(text) if text else -1


def test_a_sync_client_opens_its_own_connections_in_a_forked_child(server: Hostile) -> None:
    client = AISpine(base_url=server.url, timeout=5, max_retries=0)
    assert client.get_flow("warm-up")["flow_id"] == "warm-up"  # a pooled connection is open
    pid, read = in_child(lambda: mismatches(client.get_flow, "child"))
    wrong_here = mismatches(client.get_flow, "parent")
    assert child_result(pid, read) == 0
    assert wrong_here == 0
    client.close()


def test_an_async_client_opens_its_own_connections_in_a_forked_child(server: Hostile) -> None:
    client = AsyncAISpine(base_url=server.url, timeout=5, max_retries=0)
    loop = asyncio.new_event_loop()
    results: List[int] = []

    async def calls(tag: str) -> int:
        wrong = 0
        for i in range(CALLS):
            flow_id = "{}-{}".format(tag, i)
            if (await client.get_flow(flow_id))["flow_id"] != flow_id:
                wrong += 1
        return wrong

    assert loop.run_until_complete(client.get_flow("warm-up"))["flow_id"] == "warm-up"
    # The child runs a loop of its own: the parent's loop, session and sockets stay behind.
    pid, read = in_child(lambda: asyncio.run(calls("child")))
    thread = threading.Thread(target=lambda: results.append(loop.run_until_complete(calls("p"))))
    thread.start()
    thread.join(60)
    assert child_result(pid, read) == 0
    assert results == [0]
    loop.run_until_complete(client.close())
    loop.close()
