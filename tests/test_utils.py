"""Pure helpers: validation, quoting, header and body parsing."""

from datetime import datetime, timedelta, timezone
from typing import Optional
from email.utils import format_datetime

import pytest

from ai_spine import ValidationError
from ai_spine.utils import (
    build_path,
    decode_body,
    ensure_json,
    mask_secret,
    format_timestamp,
    normalize_timeout,
    parse_epoch,
    parse_retry_after,
    parse_timestamp,
    quote_segment,
    require_string,
    validate_execution_id,
    validate_resource_id,
    validate_url,
)


@pytest.mark.parametrize(
    "value",
    ["a", "credit_analysis", "A" * 1000, "é" * 500, "flow id", "   ", "a?b#c%d", "...", "€"],
)
def test_resource_ids_the_server_can_route_pass(value: str) -> None:
    assert validate_resource_id(value, "flow_id") == value


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        (42, "non-empty string"),
        ("a" * 1001, "is 1001 bytes in UTF-8, more than the 1000"),
        ("é" * 501, "is 1002 bytes in UTF-8"),
        ("a/b", "cannot contain '/'"),
        ("../etc", "cannot contain '/'"),
        (".", "URL normalisation removes '.' and '..'"),
        ("..", "URL normalisation removes '.' and '..'"),
        ("a\tb", "control characters such as '\\t'"),
        ("a\x00", "control characters"),
        ("\udcff", "lone surrogate"),
    ],
)
def test_bad_resource_ids_are_refused_with_the_argument_named(value: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_resource_id(value, "agent_id")
    assert "agent_id" in str(caught.value)
    assert fragment in str(caught.value)


def test_a_long_refused_id_is_shortened_in_the_message() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_resource_id("x" * 5000, "flow_id")
    assert len(str(caught.value)) < 200


def test_reserved_ids_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="flow_id 'execute' cannot be addressed"):
        validate_resource_id("execute", "flow_id", {"execute"})


def test_execution_ids_are_canonicalised_uuids() -> None:
    assert (
        validate_execution_id("4EE0C6D2-3E51-4AF5-A19C-6117546F9CDC")
        == "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"
    )


@pytest.mark.parametrize("value", ["not-a-uuid", "", None, 7, "4ee0c6d2-3e51-4af5-a19c"])
def test_non_uuid_execution_ids_are_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="execution_id"):
        validate_execution_id(value)


def test_require_string_returns_the_value() -> None:
    assert require_string("x", "name") == "x"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://h.example", "https://h.example"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("  https://h.example/prefix//  ", "https://h.example/prefix"),
    ],
)
def test_urls_lose_their_trailing_slash(url: str, expected: str) -> None:
    assert validate_url(url, "base_url") == expected


@pytest.mark.parametrize("url", ["ftp://h", "h.example", "https://", "", "http:///x", None])
def test_non_http_urls_are_refused(url: object) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        validate_url(url, "base_url")


def test_ensure_json_refuses_what_json_cannot_carry() -> None:
    ensure_json({"a": [1, 2.5, None, "x", {"b": True}]}, "input_data")
    for bad in ({"s": {1, 2}}, {"b": b"x"}, {"n": float("nan")}, {"o": object()}):
        with pytest.raises(ValidationError, match="input_data must be JSON-serialisable"):
            ensure_json(bad, "input_data")


def test_path_segments_are_percent_encoded() -> None:
    assert quote_segment("a/b c?d#e%") == "a%2Fb%20c%3Fd%23e%25"
    assert build_path("/api/v1/flows/{flow_id}", flow_id="x/y") == "/api/v1/flows/x%2Fy"


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0


def test_retry_after_as_http_date() -> None:
    now = 1_800_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 30, tz=timezone.utc), usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30, abs=1)
    past = format_datetime(datetime.fromtimestamp(now - 30, tz=timezone.utc), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Mon, 99 Foo 2026", "nan"])
def test_unreadable_retry_after_is_ignored(value: object) -> None:
    assert parse_retry_after(value) is None  # type: ignore[arg-type]


def test_decode_body_parses_json_whatever_the_label() -> None:
    assert decode_body(b'{"a": 1}', "application/json") == {"a": 1}
    assert decode_body(b'[{"a": 1}]', "text/plain") == [{"a": 1}]
    assert decode_body(b"Internal Server Error", "text/plain; charset=utf-8") == (
        "Internal Server Error"
    )
    assert decode_body(b"", "application/json") is None
    assert decode_body("caf\xe9".encode("latin-1"), "text/plain; charset=latin-1") == "caf\xe9"
    assert decode_body(b"x", "text/plain; charset=no-such-codec") == "x"


def test_timestamps_without_timezone_are_utc() -> None:
    parsed = parse_timestamp("2026-11-26T12:08:21.222760")
    assert parsed == datetime(2026, 11, 26, 12, 8, 21, 222760, tzinfo=timezone.utc)
    assert parse_timestamp("2026-11-26T13:08:21+01:00").hour == 12
    with pytest.raises(ValidationError, match="timestamp"):
        parse_timestamp("yesterday")


def test_an_offset_that_overflows_utc_is_not_a_timestamp() -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        parse_timestamp("0001-01-01T00:00:00+01:00")


@pytest.mark.parametrize(
    "text", ["2026-11-26T12:08:21.222760", "2026-11-26T12:08:21", "0001-01-01T00:00:00"]
)
def test_timestamps_are_written_back_as_the_server_writes_them(text: str) -> None:
    assert format_timestamp(parse_timestamp(text)) == text


def test_aware_timestamps_are_written_in_utc_and_naive_ones_as_they_are() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2026, 1, 1, 2, 0, tzinfo=plus_two)) == "2026-01-01T00:00:00"
    assert format_timestamp(datetime(2026, 1, 1, 2, 0)) == "2026-01-01T02:00:00"


def test_epochs_are_utc_datetimes() -> None:
    assert parse_epoch(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert parse_epoch(1795696178.9893842).tzinfo is timezone.utc


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e20, "1795696178", None])
def test_what_is_not_an_epoch_is_a_validation_error(value: object) -> None:
    with pytest.raises(ValidationError, match="epoch"):
        parse_epoch(value)  # type: ignore[arg-type]


def test_timeouts_become_connect_read_pairs() -> None:
    assert normalize_timeout(10) == (10.0, 10.0)
    assert normalize_timeout(0.5) == (0.5, 0.5)
    assert normalize_timeout((3, 60)) == (3.0, 60.0)
    assert normalize_timeout([3, 60]) == (3.0, 60.0)


@pytest.mark.parametrize(
    "value", [0, -1, None, True, "30", (1,), (1, 2, 3), (0, 5), (5, None), float("inf")]
)
def test_timeouts_cannot_be_switched_off_or_malformed(value: object) -> None:
    with pytest.raises(ValidationError, match="timeout"):
        normalize_timeout(value)


def test_secrets_are_masked() -> None:
    assert mask_secret("sk-live-123") == "'***'"
    assert mask_secret(None) == "None"


def test_decode_body_survives_hostile_answers() -> None:
    assert decode_body(b"plain", "text/plain; charset=idna") == "plain"
    deep = b"[" * 100000
    assert decode_body(deep, "application/json") == deep.decode()


def test_infinite_retry_after_is_unreadable() -> None:
    assert parse_retry_after("inf") is None
    assert parse_retry_after("1e400") is None


@pytest.mark.parametrize("limit", [None, 0, 640, 100_000])
def test_json_integers_over_4300_digits_are_refused_whatever_the_interpreter_s_limit(
    monkeypatch: pytest.MonkeyPatch, limit: Optional[int]
) -> None:
    # Python 3.11+ refuses them itself by default (then the plain decoder runs); an older
    # Python, or a limit turned off or raised, gets the SDK's own check.
    import sys

    if limit is None:
        monkeypatch.delattr(sys, "get_int_max_str_digits", raising=False)
    else:
        monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: limit, raising=False)
    assert decode_body(b'{"n": ' + b"7" * 4300 + b"}", None) == {"n": int("7" * 4300)}
    assert decode_body(b'{"n": ' + b"7" * 4301 + b"}", None) == '{"n": ' + "7" * 4301 + "}"
