"""A canned AI Spine server in its own process: the real server's answers, replayed at once.

``LocalAISpine`` is a whole server written in Python: each answer costs it about 300 us, as
much as any client here spends, so against it every client looks alike and a ratio of two
clients says more about the server than about them. To measure what a *client* costs, this
server answers from memory: it first asks a ``LocalAISpine`` for the answers the benchmarks
need (``GET /api/v1/executions/{id}`` of a completed execution, ``POST /api/v1/agents`` of
the per-call benchmark's agent, ``GET /health``), byte for byte, status line and headers
included, then serves them from an ``asyncio`` protocol that only finds where each request
ends. Anything else gets the real server's 404 body.

``python _canned.py`` prints ``URL EXECUTION_ID``, then answers each line ``accepted`` on
stdin with the number of TCP connections accepted so far, and stops at end of input (the
protocol of ``_server.py``). Loopback only; stdlib and this project only.
"""

import asyncio
import http.client
import json
import re
import sys
import threading
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from _percall_client import AGENT, KEY

from ai_spine import AISpine
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_NOT_FOUND = b'{"detail":"Not Found"}'


def record(url: str, execution_id: str) -> Dict[str, bytes]:
    """The raw answers of the real (local) server to the requests the benchmarks make."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    headers = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
    answers: Dict[str, bytes] = {}
    for key, method, path, body in (
        ("execution", "GET", "/api/v1/executions/" + execution_id, None),
        ("agent", "POST", "/api/v1/agents", json.dumps(AGENT).encode()),
        ("health", "GET", "/health", None),
        ("missing", "GET", "/api/v1/nothing-here", None),
    ):
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answers[key] = _raw(
            response.status, response.reason, response.getheaders(), response.read()
        )
    connection.close()
    return answers


def _raw(status: int, reason: str, headers: List[Tuple[str, str]], body: bytes) -> bytes:
    lines = ["HTTP/1.1 {} {}".format(status, reason)]
    lines += [
        "{}: {}".format(name, value)
        for name, value in headers
        if name.lower() not in ("connection", "content-length", "transfer-encoding")
    ]
    lines.append("Content-Length: {}".format(len(body)))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Canned:
    """The answers by request, and the count of accepted connections."""

    def __init__(self, answers: Dict[str, bytes]) -> None:
        self.answers = answers
        self.accepted = 0

    def answer(self, method: bytes, target: bytes) -> bytes:
        if method == b"GET" and target.startswith(b"/api/v1/executions/"):
            return self.answers["execution"]
        if method == b"POST" and target == b"/api/v1/agents":
            return self.answers["agent"]
        if method == b"GET" and target == b"/health":
            return self.answers["health"]
        return self.answers["missing"]


class _Connection(asyncio.Protocol):
    def __init__(self, canned: Canned) -> None:
        self.canned = canned
        self.buffer = b""
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.canned.accepted += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            match = _LENGTH.search(head)
            size = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < size:
                return  # the rest of the body is still on its way
            method, target = head.split(b"\r\n", 1)[0].split(b" ")[:2]
            self.buffer = self.buffer[size:]
            assert self.transport is not None
            self.transport.write(self.canned.answer(method, target))


def main() -> None:
    with LocalAISpine(with_demo_agents=True, request_log_size=100) as server:
        with AISpine(base_url=server.url) as client:
            execution = client.execute_and_wait(
                DEMO_FLOW_ID, {"text": "fine", "income": 50000, "debt": 1000}, interval=0.05
            )
        execution_id = execution["execution_id"]
        canned = Canned(record(server.url, execution_id))

    loop = asyncio.new_event_loop()
    listening = loop.run_until_complete(
        loop.create_server(lambda: _Connection(canned), "127.0.0.1", 0)
    )
    port = listening.sockets[0].getsockname()[1]
    print("http://127.0.0.1:{} {}".format(port, execution_id), flush=True)

    def control() -> None:
        for line in sys.stdin:
            if line.strip() == "accepted":
                print(canned.accepted, flush=True)
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=control, daemon=True).start()
    loop.run_forever()
    listening.close()
    loop.close()


if __name__ == "__main__":
    main()
