"""Fault injection and the request log."""

import time
from typing import Any, Dict

import pytest
import requests

from ai_spine.testing import DEMO_FLOW_ID, LocalAISpine, RecordedRequest

EXECUTION = "/api/v1/executions/11111111-2222-4333-8444-555555555555"
HTML = "<html><body><h1>503 Service Unavailable</h1></body></html>"


def test_status_with_retry_after_and_html_body(
    server: LocalAISpine, http: requests.Session
) -> None:
    fault = server.inject_fault(
        "GET", "/api/v1/executions/*", status=503, times=2, headers={"Retry-After": "1"}, body=HTML
    )
    for _ in range(2):
        answer = http.get(server.url + EXECUTION)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["Content-Type"].startswith("text/html")
        assert answer.text == HTML
    assert http.get(server.url + EXECUTION).status_code == 404
    assert (fault.hits, fault.times) == (2, 0)
    assert len(server.requests_to("GET", EXECUTION)) == 3


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        (None, "application/json", {"detail": "Bad Gateway"}),
        ({"error": "x"}, "application/json", {"error": "x"}),
        ("upstream hiccup", "text/plain", "upstream hiccup"),
        (b"\x00\x01", "application/octet-stream", b"\x00\x01"),
    ],
)
def test_fault_body_kinds(
    server: LocalAISpine, http: requests.Session, body: Any, content_type: str, expected: Any
) -> None:
    server.inject_fault("*", "/health", status=502, body=body)
    answer = http.get(server.url + "/health")
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith(content_type)
    if isinstance(expected, dict):
        assert answer.json() == expected
    elif isinstance(expected, bytes):
        assert answer.content == expected
    else:
        assert answer.text == expected


def test_method_and_path_must_both_match(server: LocalAISpine, http: requests.Session) -> None:
    server.inject_fault("POST", "/health", status=500)
    assert http.get(server.url + "/health").status_code == 200
    server.inject_fault("get", "/api/*", status=429)
    assert http.get(server.url + "/health").status_code == 200
    assert http.get(server.url + "/api/v1/flows").status_code == 429


def test_unlimited_fault_and_clear(server: LocalAISpine, http: requests.Session) -> None:
    fault = server.inject_fault("GET", "/status", status=504, times=None)
    for _ in range(3):
        assert http.get(server.url + "/status").status_code == 504
    assert fault.hits == 3 and fault.times is None
    server.clear_faults()
    assert http.get(server.url + "/status").status_code == 200


def test_faults_apply_in_injection_order(server: LocalAISpine, http: requests.Session) -> None:
    server.inject_fault("GET", "/health", status=503)
    server.inject_fault("GET", "/health", status=429)
    statuses = [http.get(server.url + "/health").status_code for _ in range(3)]
    assert statuses == [503, 429, 200]


def test_delay_then_normal_answer(server: LocalAISpine, http: requests.Session) -> None:
    server.inject_fault("GET", "/health", delay=0.3)
    started = time.monotonic()
    answer = http.get(server.url + "/health")
    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 200
    started = time.monotonic()
    http.get(server.url + "/health")
    assert time.monotonic() - started < 0.3


def test_delay_can_trigger_a_client_timeout(server: LocalAISpine, http: requests.Session) -> None:
    server.inject_fault("GET", "/health", delay=0.5, status=200, body={"late": True})
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(server.url + "/health", timeout=0.1)


def test_drop_closes_the_connection_without_answer(
    demo_server: LocalAISpine, http: requests.Session
) -> None:
    demo_server.inject_fault("POST", "/api/v1/flows/execute", drop=True)
    body = {"flow_id": DEMO_FLOW_ID, "input_data": {"income": 1}}
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(demo_server.url + "/api/v1/flows/execute", json=body)
    sent = demo_server.requests_to("POST", "/api/v1/flows/execute")
    assert len(sent) == 1, "the dropped request is recorded, and was sent exactly once"
    assert sent[0].json == body
    # Nothing was executed, and the server keeps answering on new connections.
    assert http.get(demo_server.url + "/api/v1/executions").json()["count"] == 0
    assert http.post(demo_server.url + "/api/v1/flows/execute", json=body).status_code == 200


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "a fault needs a status, a delay or drop=True"),
        ({"drop": True, "status": 500}, "cannot also answer a status"),
        ({"status": 99}, "status must be between 100 and 599"),
        ({"delay": -1.0}, "delay must not be negative"),
        ({"status": 500, "times": 0}, "times must be at least 1"),
    ],
)
def test_invalid_fault_options(server: LocalAISpine, options: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        server.inject_fault("GET", "/health", **options)


def test_request_log_records_everything(server: LocalAISpine, http: requests.Session) -> None:
    http.get(server.url + "/health?verbose=1&verbose=2")
    http.post(
        server.url + "/api/v1/flows/execute",
        json={"flow_id": "x", "input_data": {}},
        headers={"X-Trace": "t1"},
    )
    http.post(
        server.url + "/api/v1/agents",
        data=b"\xff not json",
        headers={"Content-Type": "application/json"},
    )
    log = server.requests
    assert [(r.method, r.path) for r in log] == [
        ("GET", "/health"),
        ("POST", "/api/v1/flows/execute"),
        ("POST", "/api/v1/agents"),
    ]
    assert isinstance(log[0], RecordedRequest)
    assert log[0].query == {"verbose": "2"}
    assert log[0].body == b"" and log[0].json is None
    assert log[1].headers["x-trace"] == "t1"
    assert log[1].json == {"flow_id": "x", "input_data": {}}
    assert log[2].json is None
    assert log[2].text.endswith(" not json")
    assert server.requests_to("post", "/api/v1/*") == log[1:]
    assert server.requests_to("*", "*") == log
    server.clear_requests()
    assert server.requests == []


def test_reset_forgets_everything(server: LocalAISpine, http: requests.Session) -> None:
    server.add_agent(
        {
            "agent_id": "a",
            "name": "A",
            "description": "",
            "endpoint": "http://127.0.0.1:9/a",
            "capabilities": [],
            "agent_type": "processor",
        }
    )
    server.inject_fault("GET", "/status", status=500)
    server.reset()
    assert server.requests == []
    assert http.get(server.url + "/status").json()["agents"] == {"total": 0, "active": 0}


def test_reset_keeps_the_demo_entries(demo_server: LocalAISpine, http: requests.Session) -> None:
    http.delete(demo_server.url + "/api/v1/agents/demo_echo")
    demo_server.reset()
    status = http.get(demo_server.url + "/status").json()
    assert status["agents"]["total"] == 3 and status["flows"]["total"] == 1
