"""Mapping responses to exceptions, over the real server's recorded error bodies."""

import builtins
import pickle
from typing import Any, Callable, Dict, Type

import pytest
from requests.structures import CaseInsensitiveDict

import ai_spine
from ai_spine.exceptions import (
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
    error_from_response,
)

Recorded = Callable[[str], Dict[str, Any]]

URL = "https://api.example.test/api/v1/x"


def from_recorded(recorded: Recorded, name: str) -> AISpineError:
    exchange = recorded(name)
    return error_from_response(
        exchange["response"]["status"],
        exchange["response"]["body"],
        exchange["response"]["headers"],
        exchange["request"]["method"],
        URL,
    )


@pytest.mark.parametrize(
    "name, cls, message",
    [
        ("flow_get_not_found", NotFoundError, "Flow 'no_such_flow' not found"),
        ("agent_get_not_found", NotFoundError, "Agent 'no_such_agent' not found"),
        ("agent_delete_not_found", NotFoundError, "Agent 'temp_agent' not found"),
        ("execution_get_not_found", NotFoundError, "not found"),
        ("execution_cancel_again", NotFoundError, "not found or not running"),
        ("unknown_path", NotFoundError, "Not Found"),
        ("flow_create_v1_no_auth", AuthenticationError, "Authorization header missing"),
        ("method_not_allowed", ServerError, "Method Not Allowed"),
        ("agents_list_v1_offline_500", ServerError, "SUPABASE_URL"),
        ("flow_create_unknown_agent", ValidationError, "Failed to create flow"),
        ("agent_create_missing_description", ValidationError, "'description'"),
        ("agent_create_bad_agent_type", ValidationError, "Input should be 'input'"),
        ("execute_missing_input_data", ValidationError, "input_data: Field required"),
        ("execute_input_data_not_dict", ValidationError, "valid dictionary"),
        ("execute_priority_out_of_range", ValidationError, "priority: Input should be less"),
        ("execute_malformed_json", ValidationError, "JSON decode error"),
        ("execution_get_invalid_uuid", ValidationError, "execution_id: Input should be a valid"),
    ],
)
def test_recorded_errors_map_to_their_class_with_the_servers_words(
    recorded: Recorded, name: str, cls: Type[AISpineError], message: str
) -> None:
    error = from_recorded(recorded, name)
    assert type(error) is cls
    assert message in error.message
    assert error.status_code == recorded(name)["response"]["status"]
    assert error.body == recorded(name)["response"]["body"]
    assert error.method == recorded(name)["request"]["method"]
    assert error.url == URL
    assert error.headers == {"content-type": "application/json"}


def test_422_items_are_kept_as_field_errors(recorded: Recorded) -> None:
    error = from_recorded(recorded, "execute_priority_out_of_range")
    assert isinstance(error, ValidationError)
    assert error.errors == recorded("execute_priority_out_of_range")["response"]["body"]["detail"]
    assert error.message == "Invalid request: priority: Input should be less than or equal to 10"


def test_several_422_items_are_joined() -> None:
    body = {
        "detail": [
            {"loc": ["body", "flow_id"], "msg": "Field required", "type": "missing"},
            {"loc": ["query", "limit"], "msg": "Input should be a valid integer"},
            "odd item",
        ]
    }
    error = error_from_response(422, body)
    assert error.message == (
        "Invalid request: flow_id: Field required; limit: Input should be a valid integer; "
        "odd item"
    )


def test_a_list_shaped_body_is_read_as_field_errors() -> None:
    error = error_from_response(400, [{"loc": ["name"], "msg": "too long"}])
    assert isinstance(error, ValidationError)
    assert error.errors == [{"loc": ["name"], "msg": "too long"}]
    assert "name: too long" in error.message


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, ValidationError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, AuthorizationError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (418, ServerError),
    ],
)
def test_each_status_has_its_class(status: int, cls: Type[AISpineError]) -> None:
    error = error_from_response(status, {"detail": "words"}, {}, "GET", URL)
    assert type(error) is cls
    assert error.status_code == status
    assert str(error).startswith("words")
    assert "HTTP {} from GET {}".format(status, URL) in str(error)


def test_403_about_credits_is_insufficient_credits() -> None:
    error = error_from_response(403, {"detail": "Insufficient credits for this execution"})
    assert isinstance(error, InsufficientCreditsError)
    assert isinstance(error, AuthorizationError)


def test_wrapped_statuses_in_500s_are_unwrapped() -> None:
    assert isinstance(error_from_response(500, {"detail": "404: Flow 'x' gone"}), NotFoundError)
    assert isinstance(error_from_response(500, {"detail": "403: not yours"}), AuthorizationError)
    assert isinstance(error_from_response(500, {"detail": "418: teapot"}), ValidationError)
    real_500 = error_from_response(500, {"detail": "503: upstream down"})
    assert isinstance(real_500, ServerError)


def test_rate_limit_carries_retry_after_in_seconds_or_http_date() -> None:
    error = error_from_response(429, "Too Many Requests", {"Retry-After": "12"}, "POST", URL)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.0
    dated = error_from_response(429, "", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert isinstance(dated, RateLimitError)
    assert dated.retry_after == 0.0
    assert isinstance(error_from_response(429, None), RateLimitError)
    assert error_from_response(429, None).retry_after is None  # type: ignore[attr-defined]


def test_plain_text_crash_is_a_server_error_with_the_text() -> None:
    error = error_from_response(500, "Internal Server Error", {"content-type": "text/plain"})
    assert isinstance(error, ServerError)
    assert error.message.startswith("Internal Server Error")
    assert error.body == "Internal Server Error"


def test_proxy_html_pages_are_summarised_not_dumped() -> None:
    html = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
        + ("x" * 5000)
        + "</body></html>"
    )
    error = error_from_response(502, html, {"content-type": "text/html"}, "GET", URL)
    assert isinstance(error, ServerError)
    assert "HTML page (502 Bad Gateway)" in error.message
    assert len(error.message) < 200
    assert error.body == html


def test_long_text_is_truncated_and_empty_bodies_still_explain() -> None:
    assert len(error_from_response(500, "y" * 2000).message) < 400
    assert "HTTP 503 with no explanation" in error_from_response(503, None).message
    assert "HTTP 500 with no explanation" in error_from_response(500, {"detail": ""}).message
    assert error_from_response(500, {"detail": {"code": 7}}).message.startswith("{'code': 7}")


def test_messages_say_what_to_do() -> None:
    assert "api_key" in error_from_response(401, {"detail": "Invalid API key"}).message
    assert "try again later" in error_from_response(503, {"detail": "busy"}).message
    unexpected = error_from_response(418, {"detail": "teapot"}).message
    assert "did not expect" in unexpected


def test_the_hierarchy() -> None:
    for cls in (
        AuthenticationError,
        AuthorizationError,
        ValidationError,
        NotFoundError,
        ConflictError,
        RateLimitError,
        ServerError,
        NetworkError,
        TimeoutError,
        ExecutionError,
    ):
        assert issubclass(cls, AISpineError)
        assert getattr(ai_spine, cls.__name__) is cls
    assert issubclass(InsufficientCreditsError, AuthorizationError)
    assert issubclass(TimeoutError, builtins.TimeoutError)
    assert ai_spine.TimeoutError is not builtins.TimeoutError


def test_errors_without_a_response_print_just_the_message() -> None:
    error = NetworkError("no route")
    assert str(error) == "no route"
    assert repr(error) == "NetworkError('no route', status_code=None)"
    assert error.headers == {}
    timeout = TimeoutError("late", timeout=3.0)
    assert timeout.timeout == 3.0 and timeout.execution is None
    failed = ExecutionError("boom", execution_id="e", status="failed", execution={"a": 1})
    assert (failed.execution_id, failed.status, failed.execution) == ("e", "failed", {"a": 1})


def test_reprs_show_the_status_code_and_the_execution() -> None:
    assert repr(NotFoundError("gone", status_code=404)) == "NotFoundError('gone', status_code=404)"
    failed = ExecutionError("Execution e failed: boom", execution_id="e", status="failed")
    assert repr(failed) == (
        "ExecutionError('Execution e failed: boom', status_code=None, execution_id='e', "
        "status='failed')"
    )
    refused = ExecutionError("refused", status_code=200, execution_id="e", status="failed")
    assert "status_code=200, execution_id='e', status='failed'" in repr(refused)
    late = TimeoutError("late", execution_id="e", execution={"status": "running"})
    assert repr(late) == (
        "TimeoutError('late', status_code=None, execution_id='e', status='running')"
    )
    assert repr(TimeoutError("read timed out")) == (
        "TimeoutError('read timed out', status_code=None)"
    )
    assert repr(TimeoutError("late", execution_id="e")).endswith("execution_id='e', status=None)")


def test_redirects_are_errors_that_name_the_target() -> None:
    error = error_from_response(
        307, None, {"Location": "https://h.example/api/v1/flows/execute"}, "POST", URL
    )
    assert isinstance(error, ServerError) and error.status_code == 307
    assert "redirected POST {} to https://h.example/api/v1/flows/execute".format(URL) in (
        error.message
    )
    assert "Check base_url" in error.message


# --- headers -----------------------------------------------------------------------------------


def test_headers_are_case_insensitive_like_requests_own() -> None:
    error = error_from_response(
        429, {"detail": "slow down"}, {"retry-after": "7", "X-Request-Id": "r-1"}, "GET", URL
    )
    assert isinstance(error.headers, CaseInsensitiveDict)
    assert error.headers["Retry-After"] == error.headers["RETRY-AFTER"] == "7"
    assert error.headers.get("x-request-id") == "r-1"
    assert error.headers.get("X-Missing") is None
    assert "Retry-After" in error.headers
    # It still compares, copies and pickles as the plain mapping of what the server sent.
    assert error.headers == {"Retry-After": "7", "x-request-id": "r-1"}
    assert dict(error.headers) == {"retry-after": "7", "X-Request-Id": "r-1"}
    assert pickle.loads(pickle.dumps(error)).headers["RETRY-after"] == "7"


def test_an_error_without_a_response_has_empty_headers() -> None:
    error = AISpineError("no answer")
    assert len(error.headers) == 0 and error.headers.get("Retry-After") is None


def test_each_error_gets_its_own_headers() -> None:
    sent = {"Retry-After": "1"}
    error = AISpineError("x", headers=sent)
    sent["Retry-After"] = "2"
    assert error.headers["retry-after"] == "1"
