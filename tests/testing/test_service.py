"""Service endpoints, routing rules and HTTP behaviour of LocalAISpine."""

import http.client
import socket
from typing import Any

import pytest
import requests

from ai_spine.testing import LocalAISpine


def test_health(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.get(server.url + "/health")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert isinstance(body.pop("timestamp"), float)
    assert body == {
        "status": "healthy",
        "message": "AI Spine API is running",
        "startup_complete": True,
    }


def test_root(server: LocalAISpine, http: requests.Session) -> None:
    assert http.get(server.url + "/").json() == {
        "message": "AI Spine API",
        "version": "1.0.0",
        "docs": "/docs",
        "marketplace": "/api/v1/marketplace",
        "authentication_required": False,
    }


def test_fresh_metrics_and_status(server: LocalAISpine, http: requests.Session) -> None:
    assert http.get(server.url + "/metrics").json() == {
        "total_executions": 0,
        "successful_executions": 0,
        "failed_executions": 0,
        "cancelled_executions": 0,
        "running_executions": 0,
        "average_execution_time": 0.0,
        "total_execution_time": 0.0,
        "last_execution": None,
    }
    assert http.get(server.url + "/status").json() == {
        "status": "operational",
        "components": {
            "registry": "active",
            "communication": "active",
            "memory": "active",
            "orchestrator": "active",
        },
        "agents": {"total": 0, "active": 0},
        "flows": {"total": 0},
    }


def test_status_counts_demo_entries(demo_server: LocalAISpine, http: requests.Session) -> None:
    body = http.get(demo_server.url + "/status").json()
    assert body["agents"] == {"total": 3, "active": 3}
    assert body["flows"] == {"total": 1}


def test_users_me_is_the_master_user_without_api_key(
    server: LocalAISpine, http: requests.Session
) -> None:
    expected = {
        "id": "master",
        "email": "master@ai-spine.com",
        "name": "Master User",
        "organization": "AI Spine",
        "credits": 999999,
        "rate_limit": 10000,
    }
    assert http.get(server.url + "/api/v1/users/me").json() == expected
    with_token = http.get(server.url + "/api/v1/users/me", headers={"Authorization": "Bearer t"})
    assert with_token.json() == expected


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-endpoint", "/nope", "/api/v1/executions/x/y/z", "/executions"]
)
def test_unknown_path_is_404(server: LocalAISpine, http: requests.Session, path: str) -> None:
    answer = http.get(server.url + path)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("POST", "/health", "GET"),
        ("PUT", "/api/v1/agents", "GET, POST"),
        ("PATCH", "/api/v1/flows/f1", "GET, PUT, DELETE"),
        ("DELETE", "/api/v1/executions/11111111-2222-4333-8444-555555555555", "GET"),
        ("GET", "/api/v1/executions/11111111-2222-4333-8444-555555555555/cancel", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow(
    server: LocalAISpine, http: requests.Session, method: str, path: str, allow: str
) -> None:
    answer = http.request(method, server.url + path)
    assert answer.status_code == 405
    assert answer.json() == {"detail": "Method Not Allowed"}
    assert answer.headers["Allow"] == allow


def test_get_on_execute_path_is_a_flow_lookup(server: LocalAISpine, http: requests.Session) -> None:
    # Starlette picks the first route matching path and method: GET /flows/{flow_id}.
    answer = http.get(server.url + "/api/v1/flows/execute")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Flow 'execute' not found"}


def test_trailing_slash_redirects_to_the_slashless_path(
    server: LocalAISpine, http: requests.Session
) -> None:
    answer = http.get(server.url + "/api/v1/executions/?limit=1", allow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["Location"] == server.url + "/api/v1/executions?limit=1"
    assert answer.content == b""
    followed = http.get(server.url + "/api/v1/executions/")
    assert followed.status_code == 200
    assert [r.status_code for r in followed.history] == [307]
    assert http.get(server.url + "/no-such/", allow_redirects=False).status_code == 404


def test_unexpected_crash_answers_plain_500_and_server_survives(
    server: LocalAISpine, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(server._store, "metrics", boom)
    answer = http.get(server.url + "/metrics")
    assert answer.status_code == 500
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == "Internal Server Error"
    assert http.get(server.url + "/health").status_code == 200


def test_keep_alive_reuses_one_connection(server: LocalAISpine) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/health")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        conn.request(
            "POST", "/api/v1/agents", body=b"{", headers={"Content-Type": "application/json"}
        )
        second = conn.getresponse()
        assert second.status == 422
        second.read()
        assert conn.sock is sock, "the server closed a keep-alive connection"
        assert first.getheader("Content-Length") is not None
    finally:
        conn.close()


def test_connection_close_is_honoured(server: LocalAISpine) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n\r\n" % server.port
        )
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" in head
    assert b'"healthy"' in body


def test_chunked_request_body_is_read(server: LocalAISpine) -> None:
    payload = b'{"flow_id": "nope", "input_data": {}}'
    request = (
        b"POST /api/v1/flows/execute HTTP/1.1\r\nHost: localhost:%d\r\n" % server.port
        + b"Transfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n"
        + b"%x\r\n" % len(payload)
        + payload
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    assert b"Flow 'nope' not found" in data


def test_head_gets_headers_without_body(server: LocalAISpine) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("HEAD", "/health")
        answer = conn.getresponse()
        assert answer.status == 405
        assert answer.read() == b""
    finally:
        conn.close()


def test_percent_encoded_path_segments_are_decoded(
    server: LocalAISpine, http: requests.Session
) -> None:
    answer = http.get(server.url + "/api/v1/agents/a%20b")
    assert answer.json() == {"detail": "Agent 'a b' not found"}
