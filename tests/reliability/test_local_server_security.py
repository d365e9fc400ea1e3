"""The local server (``LocalAISpine``, ``ai-spine serve``) against a hostile web page and
hostile bodies: issue 8, finding 5 and the ``LocalAISpine`` items of finding 6.

A page the developer visits can make the browser send ``text/plain`` POSTs (no CORS
preflight) with its own ``Origin``, and through DNS rebinding with its own host name in
``Host``. Each case below talks to the server with raw ``http.client`` or socket requests
shaped the way a browser would send them.
"""

import http.client
import json
import logging
import socket
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from ai_spine import AISpine, AsyncAISpine, NotFoundError
from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine

EVIL = "http://evil.example"
AGENT = {
    "agent_id": "attacker",
    "name": "Attacker",
    "description": "posts attacker-chosen JSON to another loopback port",
    "endpoint": "http://127.0.0.1:9/steal",
    "capabilities": [],
    "agent_type": "processor",
}
FLOW = {
    "flow_id": "attack",
    "name": "Attack",
    "description": "",
    "nodes": [{"id": "a", "agent_id": "attacker", "type": "input"}],
    "entry_point": "a",
    "exit_points": ["a"],
}


@pytest.fixture
def server() -> Iterator[LocalAISpine]:
    with LocalAISpine(agent_timeout=5.0) as srv:
        yield srv


def send(
    server: LocalAISpine,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
) -> Tuple[int, Any]:
    """Send one request on a fresh connection; return the status and the decoded body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        all_headers = {"Host": "127.0.0.1:%d" % server.port}
        all_headers.update(headers or {})
        if body is not None:
            all_headers["Content-Length"] = str(len(body))
        for name, value in all_headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        answer = conn.getresponse()
        data = answer.read()
        try:
            return answer.status, json.loads(data)
        except ValueError:
            return answer.status, data
    finally:
        conn.close()


def browser_post(server: LocalAISpine, path: str, payload: Any, **headers: str) -> int:
    """A cross-site ``fetch(url, {method: "POST", body: JSON.stringify(payload)})``."""
    sent = {"Origin": EVIL, "Content-Type": "text/plain;charset=UTF-8"}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return send(server, "POST", path, json.dumps(payload).encode(), sent)[0]


def nothing_registered(server: LocalAISpine) -> bool:
    with AISpine(base_url=server.url) as sdk:
        return not sdk.list_agents() and not sdk.list_flows() and not sdk.list_executions()


def test_a_web_page_cannot_register_create_and_run(server: LocalAISpine) -> None:
    # The attack of finding 5, step by step: each POST is refused.
    assert browser_post(server, "/api/v1/agents", AGENT) == 403
    assert browser_post(server, "/api/v1/flows", FLOW, Authorization="Bearer x") == 403
    execute = {"flow_id": "attack", "input_data": {"steal": True}}
    assert browser_post(server, "/api/v1/flows/execute", execute) == 403
    # The unprefixed create and agent routes the attack could fall back to.
    assert browser_post(server, "/flows", FLOW) == 403
    assert browser_post(server, "/agents", AGENT) == 403
    assert nothing_registered(server)
    assert server.requests_to("POST", "*") == []  # refused before the API saw them


def test_text_plain_bodies_are_refused_without_origin(server: LocalAISpine) -> None:
    # Without Origin (an old browser, a form post): the media type alone refuses it.
    status, body = send(
        server, "POST", "/api/v1/agents", json.dumps(AGENT).encode(), {"Content-Type": "text/plain"}
    )
    assert status == 415
    assert "application/json" in body["detail"]
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; b=x", ""):
        headers = {"Content-Type": content_type} if content_type else {}
        assert send(server, "POST", "/agents", b"{}", headers)[0] == 415
    assert nothing_registered(server)


def test_json_with_parameters_and_own_origin_are_accepted(server: LocalAISpine) -> None:
    for origin in ("http://127.0.0.1:%d" % server.port, "http://localhost:%d" % server.port):
        status, body = send(
            server,
            "POST",
            "/api/v1/agents",
            json.dumps(AGENT).encode(),
            {"Content-Type": "Application/JSON; charset=utf-8", "Origin": origin},
        )
        assert status == 200, body
    # Other JSON media types pass, as FastAPI reads them as JSON too.
    status, _ = send(
        server, "POST", "/api/v1/agents", json.dumps(AGENT).encode(),
        {"Content-Type": "application/vnd.api+json"},
    )  # fmt: skip
    assert status == 200
    # A POST without a body needs no Content-Type (cancel, account key routes).
    status, _ = send(server, "POST", "/api/v1/executions/%s/cancel" % ("0" * 32), b"")
    assert status == 404


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1",
        "127.0.0.1:1",
        "localhost.evil:{port}",
        "",
    ],
)
def test_a_rebinding_host_is_refused(server: LocalAISpine, host: str) -> None:
    # DNS rebinding: the page's host name now resolves to 127.0.0.1, so the browser
    # sends the page's own name in Host, and no Origin on a same-origin GET.
    status, body = send(
        server, "GET", "/api/v1/flows", None, {"Host": host.format(port=server.port)}
    )
    assert status == 403
    assert "DNS rebinding" in body["detail"]
    assert server.requests == []


def test_a_foreign_origin_is_refused_on_reads_too(server: LocalAISpine) -> None:
    for origin in (EVIL, "null", "http://127.0.0.1:%d" % (server.port + 1), "https://localhost"):
        status, body = send(server, "GET", "/api/v1/flows", None, {"Origin": origin})
        assert status == 403
        assert "web pages" in body["detail"]


def test_the_sdk_clients_pass_the_checks(server: LocalAISpine) -> None:
    localhost = server.url.replace("127.0.0.1", "localhost")
    for base_url in (server.url, localhost):
        with AISpine(base_url=base_url) as sdk:
            sdk.create_agent(dict(AGENT, endpoint="http://127.0.0.1:9/x"))  # type: ignore
            sdk.create_flow(FLOW, access_token="user")  # type: ignore
            with pytest.raises(NotFoundError):
                sdk.execute_flow("nope", {})
            assert sdk.execute_flow("attack", {"x": 1})["execution_id"]
            sdk.delete_flow("attack", access_token="user")


def test_the_async_client_passes_the_checks(server: LocalAISpine) -> None:
    import asyncio

    async def scenario() -> None:
        async with AsyncAISpine(base_url=server.url) as sdk:
            await sdk.create_agent(AGENT)  # type: ignore
            await sdk.create_flow(FLOW, access_token="user")  # type: ignore
            assert (await sdk.execute_flow("attack", {"x": 1}))["execution_id"]

    asyncio.run(scenario())


def test_the_demo_agents_server_is_guarded_too() -> None:
    with LocalAISpine(with_demo_agents=True) as srv:
        agents = srv.demo_agents
        assert agents is not None
        port = int(agents.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(
                "POST",
                "/echo/execute",
                b'{"input": {}}',
                {"Content-Type": "text/plain", "Origin": EVIL},
            )
            answer = conn.getresponse()
            assert answer.status == 403
            answer.read()
        finally:
            conn.close()
        # ... while the executions the server runs still reach them.
        with AISpine(base_url=srv.url) as sdk:
            execution = sdk.execute_and_wait(DEMO_FLOW_ID, {"income": 1000, "debt": 900})
            assert execution["status"] == "completed"


def test_request_log_is_a_bounded_ring_buffer(server: LocalAISpine) -> None:
    # Finding 6: 1,000 POSTs of 200 kB once kept 193 MB of bodies. The bound is checked
    # by what the log holds, not by the clock.
    pad = "x" * 200_000
    body = json.dumps({"flow_id": "none", "input_data": {"pad": pad}}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for _ in range(1000):
            conn.request(
                "POST", "/api/v1/flows/execute", body, {"Content-Type": "application/json"}
            )
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
        conn.request("GET", "/health")
        conn.getresponse().read()
    finally:
        conn.close()
    log = server.requests
    assert len(log) == 1000  # the default size: the oldest POST is gone
    assert log[-1].path == "/health"
    posts = log[:-1]
    assert all(entry.body_length == len(body) and entry.truncated for entry in posts)
    assert all(len(entry.body) == 64 * 1024 for entry in posts)
    assert sum(len(entry.body) for entry in log) <= 1000 * 64 * 1024  # 65.5 MB, not 200


def test_request_log_bounds_are_options() -> None:
    with LocalAISpine(request_log_size=2, request_log_body_bytes=4) as srv:
        for n in range(3):
            send(srv, "POST", "/api/v1/flows/execute", b'{"flow_id": "f%d"}' % n, JSON)
        log = srv.requests
        assert [entry.body for entry in log] == [b'{"fl', b'{"fl']
        assert [entry.body_length for entry in log] == [17, 17]
        assert log[0].json is None and log[0].truncated
    with pytest.raises(ValueError):
        LocalAISpine(request_log_size=-1)


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body, error",
    [
        (b'{"flow_id": "f", "input_data": {"n": %s}}' % (b"9" * 5000), "more than 1000 digits"),
        (b'{"flow_id": "f", "input_data": {"n": -%s}}' % (b"1" * 1001), "more than 1000 digits"),
        (b'{"flow_id": "f", "input_data": {"n": %s}}' % (b"[" * 900 + b"]" * 900), "nesting"),
        (b'{"flow_id": "f", "input_data": %s}' % (b'{"a":' * 900 + b"1" + b"}" * 900), "nesting"),
    ],
    ids=["5000-digit", "1001-digit-negative", "900-deep-array", "900-deep-object"],
)
def test_numbers_and_nesting_it_will_not_parse_are_422(
    server: LocalAISpine, caplog: pytest.LogCaptureFixture, body: bytes, error: str
) -> None:
    caplog.set_level(logging.ERROR, logger="ai_spine.testing")
    for path in ("/api/v1/flows/execute", "/api/v1/agents", "/api/v1/flows"):
        status, answer = send(server, "POST", path, body, dict(JSON, Authorization="Bearer u"))
        assert status == 422, answer
        (problem,) = answer["detail"]
        assert problem["type"] == "json_invalid"
        assert error in problem["ctx"]["error"]
    assert not caplog.records, "the server logged a crash (a traceback on stderr)"
    assert send(server, "GET", "/health")[0] == 200


def test_numbers_and_nesting_at_the_limits_are_accepted() -> None:
    big = int("7" * 1000)
    deep: Any = 1
    for _ in range(198):  # 198 lists inside input_data inside the body: 200 levels
        deep = [deep]
    with LocalAISpine(with_demo_agents=True) as srv, AISpine(base_url=srv.url) as sdk:
        execution = sdk.execute_and_wait(
            DEMO_FLOW_ID, {"income": 1000, "debt": 900, "big": big, "deep": deep}
        )
        assert execution["status"] == "completed"
        assert execution["input_data"]["big"] == big
        assert execution["input_data"]["deep"] == deep


def test_demo_agents_answer_400_for_json_they_will_not_parse() -> None:
    with LocalAISpine(with_demo_agents=True) as srv:
        agents = srv.demo_agents
        assert agents is not None
        port = int(agents.url.rsplit(":", 1)[1])
        for body in (b'{"input": %s}' % (b"[" * 900 + b"]" * 900), b'{"n": %s}' % (b"9" * 5000)):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("POST", "/echo/execute", body, JSON)
                answer = conn.getresponse()
                assert answer.status == 400
                answer.read()
            finally:
                conn.close()


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_100_continue_is_sent_before_the_body(server: LocalAISpine) -> None:
    body = b'{"flow_id": "nope", "input_data": {}}'
    head = (
        "POST /api/v1/flows/execute HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n"
        "Expect: 100-continue\r\n\r\n" % (server.port, len(body))
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        # Nothing of the body has been sent: the server must say "go on" first. Before the
        # fix this read timed out, the 100 waiting in the server's buffer behind the body.
        interim = _read_head(sock)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        sock.sendall(body)
        final = _read_head(sock)
        assert final.startswith(b"HTTP/1.1 200 "), final


def test_a_refused_expect_100_request_is_answered_without_the_body(server: LocalAISpine) -> None:
    head = (
        "POST /api/v1/agents HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
        "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n" % server.port
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        answer = _read_head(sock)
        assert answer.startswith(b"HTTP/1.1 415 "), answer
        assert b"Connection: close" in answer
