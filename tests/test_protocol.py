"""The sans-IO protocol core: headers, the Exchange's retry decisions, error messages.

Everything here is driven with plain values: no socket, no HTTP mock, no sleeping.
"""

import builtins
import email.utils
import logging
import sys
import time
from typing import Any, Type

import pytest

from ai_spine import (
    AISpineError,
    AuthenticationError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TimeoutError,
    ValidationError,
)
from ai_spine.__version__ import __version__
from ai_spine._protocol import (
    USER_AGENT,
    Answer,
    Exchange,
    Failure,
    network_error,
    request_headers,
)

URL = "https://api.example.test/api/v1/flows/execute"
TIMEOUT = (3.0, 9.0)

ALL_KINDS = [
    Failure.CONNECT,
    Failure.CONNECT_TIMEOUT,
    Failure.TLS,
    Failure.READ_TIMEOUT,
    Failure.BROKEN,
    Failure.UNREADABLE,
]
SENT_KINDS = [Failure.READ_TIMEOUT, Failure.BROKEN, Failure.UNREADABLE]
UNSENT_KINDS = [Failure.CONNECT, Failure.CONNECT_TIMEOUT, Failure.TLS]


def exchange(method: str = "GET", max_retries: int = 3, **policy: Any) -> Exchange:
    return Exchange(RetryPolicy(max_retries=max_retries, **policy), method, URL, TIMEOUT)


# --- request_headers -------------------------------------------------------------------------


def test_headers_identify_the_sdk_and_speak_json_without_a_credential() -> None:
    headers = request_headers(None)
    assert headers == {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
        "Content-Type": "application/json",
    }
    assert USER_AGENT == "ai-spine-sdk-python/{} python/{}.{}.{}".format(
        __version__, *sys.version_info[:3]
    )


def test_the_key_is_a_bearer_token_and_a_user_token_replaces_it() -> None:
    assert request_headers("sk-1")["Authorization"] == "Bearer sk-1"
    assert request_headers("sk-1", bearer="user")["Authorization"] == "Bearer user"
    assert request_headers(None, bearer="user")["Authorization"] == "Bearer user"


def test_headers_are_a_fresh_dict_every_time() -> None:
    first = request_headers("sk-1")
    first["Authorization"] = "changed"
    assert request_headers("sk-1")["Authorization"] == "Bearer sk-1"


# --- Failure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_failure_was_sent_unless_it_is_known_to_precede_sending(kind: str) -> None:
    assert Failure(kind, "x").sent is (kind in SENT_KINDS)


def test_failures_are_values() -> None:
    refused = Failure(Failure.CONNECT, "Connection refused")
    assert refused == Failure("connect", "Connection refused")
    assert refused != Failure(Failure.CONNECT, "Connection reset")
    assert refused != Failure(Failure.BROKEN, "Connection refused")
    assert refused != ("connect", "Connection refused")
    assert repr(refused) == "Failure('connect', 'Connection refused')"
    assert (refused.kind, refused.reason) == ("connect", "Connection refused")
    with pytest.raises(AttributeError):
        refused.extra = 1  # type: ignore[attr-defined]


# --- Exchange.answered: statuses -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_methods_are_retried_through_transient_statuses_until_max_retries(
    method: str, status: int
) -> None:
    ex = exchange(method, max_retries=3)
    delays = [ex.answered(status, {}) for _ in range(3)]
    assert all(d is not None for d in delays)
    assert ex.retries == 3
    assert ex.answered(status, {}) is None  # the fourth answer is final
    assert ex.retries == 3


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_unsafe_methods_are_never_retried_after_a_server_error(method: str, status: int) -> None:
    ex = exchange(method)
    assert ex.answered(status, {}) is None
    assert ex.retries == 0


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_unsafe_methods_are_retried_after_429_because_nothing_ran(method: str) -> None:
    ex = exchange(method, max_retries=2)
    assert ex.answered(429, {"Retry-After": "1"}) == 1.0
    assert ex.answered(429, {"Retry-After": "1"}) == 1.0
    assert ex.answered(429, {"Retry-After": "1"}) is None


@pytest.mark.parametrize(
    "status", [200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 422, 500, 501]
)
def test_other_statuses_are_final_at_once(status: int) -> None:
    ex = exchange("GET")
    assert ex.answered(status, {"Retry-After": "1"}) is None
    assert ex.retries == 0


def test_max_retries_zero_makes_every_answer_final() -> None:
    assert exchange("GET", max_retries=0).answered(503, {}) is None


def test_without_retry_after_the_delay_is_the_policy_s_jittered_backoff() -> None:
    ex = exchange("GET", max_retries=4, backoff_factor=0.5, backoff_max=1.5)
    delays = [ex.answered(503, {}) for _ in range(4)]
    for delay, ceiling in zip(delays, [0.5, 1.0, 1.5, 1.5]):
        assert delay is not None and 0 <= delay <= ceiling


def test_a_zero_backoff_factor_retries_at_once() -> None:
    assert exchange("GET", backoff_factor=0).answered(502, {}) == 0


# --- Exchange.answered: Retry-After --------------------------------------------------------------


@pytest.mark.parametrize("name", ["Retry-After", "retry-after", "RETRY-AFTER"])
def test_retry_after_seconds_are_honoured_whatever_the_header_s_case(name: str) -> None:
    assert exchange("GET").answered(503, {name: "2.5"}) == 2.5


def test_retry_after_as_an_http_date_is_honoured() -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    delay = exchange("GET").answered(429, {"Retry-After": date})
    assert delay is not None and 25 <= delay <= 30


def test_an_unreadable_retry_after_falls_back_to_backoff() -> None:
    delay = exchange("GET", backoff_factor=0.5).answered(503, {"Retry-After": "soon"})
    assert delay is not None and 0 <= delay <= 0.5


def test_retry_after_at_the_limit_is_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ai_spine"):
        assert exchange("GET").answered(429, {"Retry-After": "60"}) == 60.0
    assert "Retrying GET {} (retry 1 of 3) in 60.00 s after HTTP 429".format(URL) in caplog.text


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_beyond_the_limit_makes_the_answer_final(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    ex = exchange("GET")
    with caplog.at_level(logging.INFO, logger="ai_spine"):
        assert ex.answered(status, {"Retry-After": "61"}) is None
    assert ex.retries == 0
    assert "Retry-After 61 s exceeds the 60 s limit" in caplog.text


def test_the_retry_after_limit_is_the_policy_s() -> None:
    assert exchange("GET", max_retry_after=5).answered(503, {"Retry-After": "6"}) is None
    assert exchange("GET", max_retry_after=600).answered(503, {"Retry-After": "300"}) == 300.0


def test_a_final_answer_without_a_long_retry_after_logs_no_refusal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="ai_spine"):
        assert exchange("POST").answered(503, {"Retry-After": "1"}) is None
        assert exchange("GET").answered(404, {}) is None
    assert caplog.records == []


# --- Exchange.failed -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("kind", [Failure.CONNECT, Failure.CONNECT_TIMEOUT])
def test_a_failure_before_sending_is_retried_for_every_method(method: str, kind: str) -> None:
    ex = exchange(method, max_retries=2, backoff_factor=0.5)
    error = OSError("refused")
    for ceiling in (0.5, 1.0):
        delay = ex.failed(Failure(kind, "refused"), error)
        assert 0 <= delay <= ceiling
    assert ex.retries == 2
    with pytest.raises(NetworkError) as caught:
        ex.failed(Failure(kind, "refused"), error)
    assert caught.value.__cause__ is error
    assert caught.value.method == method and caught.value.url == URL


@pytest.mark.parametrize("kind", SENT_KINDS)
def test_a_failure_after_sending_is_retried_for_idempotent_methods(kind: str) -> None:
    ex = exchange("GET", max_retries=1)
    assert ex.failed(Failure(kind, "x"), OSError()) >= 0
    with pytest.raises((NetworkError, TimeoutError)):
        ex.failed(Failure(kind, "x"), OSError())
    assert ex.retries == 1


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("kind", SENT_KINDS)
def test_a_failure_after_sending_is_final_for_unsafe_methods(method: str, kind: str) -> None:
    ex = exchange(method, max_retries=3)
    error = ConnectionResetError(104, "Connection reset by peer")
    with pytest.raises((NetworkError, TimeoutError)) as caught:
        ex.failed(Failure(kind, "reset"), error)
    assert caught.value.__cause__ is error
    assert "may have reached the server" in caught.value.message
    assert ex.retries == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_tls_failures_are_never_retried(method: str) -> None:
    ex = exchange(method, max_retries=5)
    with pytest.raises(NetworkError) as caught:
        ex.failed(Failure(Failure.TLS, "CERTIFICATE_VERIFY_FAILED"), OSError())
    assert "TLS failed (CERTIFICATE_VERIFY_FAILED)" in caught.value.message
    assert ex.retries == 0


def test_a_read_timeout_is_a_timeout_error_and_a_builtin_timeout_error() -> None:
    with pytest.raises(TimeoutError) as caught:
        exchange("GET", max_retries=0).failed(Failure(Failure.READ_TIMEOUT, "timed out"), OSError())
    assert isinstance(caught.value, builtins.TimeoutError)
    assert caught.value.timeout == 9.0


def test_statuses_and_failures_share_one_retry_budget() -> None:
    ex = exchange("GET", max_retries=2)
    assert ex.answered(503, {}) is not None
    assert ex.failed(Failure(Failure.CONNECT, "refused"), OSError()) >= 0
    assert ex.answered(503, {}) is None
    with pytest.raises(NetworkError):
        ex.failed(Failure(Failure.CONNECT, "refused"), OSError())


def test_retries_and_final_failures_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    ex = exchange("GET", max_retries=1)
    with caplog.at_level(logging.DEBUG, logger="ai_spine"):
        ex.failed(Failure(Failure.BROKEN, "Connection reset by peer"), OSError())
        with pytest.raises(NetworkError):
            ex.failed(Failure(Failure.BROKEN, "Connection reset by peer"), OSError())
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("Retrying GET {} (retry 1 of 1) in ".format(URL))
    assert messages[0].endswith(" s after Connection reset by peer")
    assert messages[1].startswith("GET {} failed after ".format(URL))
    assert "broke before an answer" in messages[1]


# --- Exchange.result -----------------------------------------------------------------------------


def test_a_2xx_answer_carries_the_decoded_body_and_its_context() -> None:
    answer = exchange("POST").result(
        201, b'{"flow_id": "f"}', {"Content-Type": "application/json", "X-Id": "1"}
    )
    assert answer == Answer(
        {"flow_id": "f"},
        201,
        {"Content-Type": "application/json", "X-Id": "1"},
        "POST",
        URL,
    )
    assert answer.error_context() == {
        "status_code": 201,
        "body": {"flow_id": "f"},
        "headers": {"Content-Type": "application/json", "X-Id": "1"},
        "method": "POST",
        "url": URL,
    }


def test_an_empty_answer_is_none_and_text_is_decoded_with_its_charset() -> None:
    assert exchange().result(204, b"", {}).body is None
    text = "café".encode("latin-1")
    answer = exchange().result(200, text, {"content-type": "text/plain; charset=latin-1"})
    assert answer.body == "café"


@pytest.mark.parametrize(
    "status, body, cls",
    [
        (400, b'{"detail": "bad"}', ValidationError),
        (401, b'{"detail": "Invalid API key"}', AuthenticationError),
        (404, b'{"detail": "Flow \'x\' not found"}', NotFoundError),
        (429, b"slow down", RateLimitError),
        (500, b"boom", ServerError),
        (503, b"<html><title>503</title></html>", ServerError),
    ],
)
def test_a_final_non_2xx_answer_raises_its_typed_error(
    status: int, body: bytes, cls: Type[AISpineError]
) -> None:
    with pytest.raises(cls) as caught:
        exchange("GET").result(status, body, {"Retry-After": "7"})
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert (error.method, error.url) == ("GET", URL)
    assert error.headers == {"retry-after": "7"}
    if isinstance(error, RateLimitError):
        assert error.retry_after == 7.0


def test_the_answer_is_logged_with_its_status_and_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ai_spine"):
        exchange("GET").result(200, b"{}", {})
    assert caplog.records[0].getMessage().startswith("GET {} -> 200 in ".format(URL))
    assert caplog.records[0].getMessage().endswith(" ms")


# --- network_error ---------------------------------------------------------------------------


def test_network_error_messages_say_what_broke_and_what_to_do() -> None:
    def message(kind: str, reason: str, method: str = "GET") -> str:
        return network_error(Failure(kind, reason), method, URL, TIMEOUT).message

    origin = "https://api.example.test"
    assert message(Failure.CONNECT, "Connection refused") == (
        "Could not connect to {} (GET {}): Connection refused. Check base_url and the "
        "network.".format(origin, URL)
    )
    assert message(Failure.CONNECT_TIMEOUT, "timed out") == (
        "Could not connect to {} (GET {}): no connection within 3 s. Check base_url and the "
        "network.".format(origin, URL)
    )
    assert message(Failure.TLS, "CERTIFICATE_VERIFY_FAILED") == (
        "Could not connect to {} (GET {}): TLS failed (CERTIFICATE_VERIFY_FAILED). Check "
        "base_url, and verify= if the server uses a private CA.".format(origin, URL)
    )
    assert message(Failure.READ_TIMEOUT, "timed out") == (
        "No answer from GET {} within 9 s. Raise timeout= if the server is slow.".format(URL)
    )
    assert message(Failure.BROKEN, "Connection reset by peer") == (
        "The connection to GET {} broke before an answer: Connection reset by peer.".format(URL)
    )
    assert message(Failure.UNREADABLE, "bad chunk") == (
        "The answer to GET {} could not be read: bad chunk.".format(URL)
    )


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_network_errors_are_typed_and_carry_the_request(kind: str) -> None:
    error = network_error(Failure(kind, "x"), "DELETE", URL, TIMEOUT)
    expected = TimeoutError if kind == Failure.READ_TIMEOUT else NetworkError
    assert type(error) is expected
    assert (error.method, error.url, error.status_code) == ("DELETE", URL, None)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_only_an_unsafe_request_that_was_sent_may_have_run(method: str, kind: str) -> None:
    text = network_error(Failure(kind, "x"), method, URL, TIMEOUT).message
    note = (
        "The request may have reached the server and been carried out; it was not retried "
        "so that it cannot run twice."
    )
    assert (note in text) is (kind in SENT_KINDS and method in ("POST", "PUT"))


def test_the_origin_in_a_connect_message_drops_the_path() -> None:
    error = network_error(
        Failure(Failure.CONNECT, "Connection refused"), "GET", "http://127.0.0.1:1", TIMEOUT
    )
    assert error.message.startswith("Could not connect to http://127.0.0.1:1 (GET ")


def test_the_note_on_timeouts_uses_the_read_timeout() -> None:
    error = network_error(Failure(Failure.READ_TIMEOUT, "x"), "POST", URL, (1.0, 0.25))
    assert isinstance(error, TimeoutError)
    assert error.timeout == 0.25
    assert error.message.startswith("No answer from POST {} within 0.25 s. The request".format(URL))
    assert error.message.endswith("Raise timeout= if the server is slow.")
