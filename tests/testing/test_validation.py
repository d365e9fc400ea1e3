"""The pydantic/FastAPI look-alike validation, without a server."""

from typing import Any, List

import pytest

from ai_spine.testing._engine import status_error_message
from ai_spine.testing._store import bump_version
from ai_spine.testing._validation import (
    INVALID,
    FieldError,
    ValidationFailed,
    parse_uuid,
    pydantic_text,
    v_bool,
)


@pytest.mark.parametrize(
    "text",
    [
        "11111111-2222-4333-8444-555555555555",
        "11111111222243338444555555555555",
        "{11111111-2222-4333-8444-555555555555}",
        "urn:uuid:11111111-2222-4333-8444-555555555555",
        "11111111-2222-4333-8444-555555555555".upper(),
    ],
)
def test_valid_uuid_forms(text: str) -> None:
    assert parse_uuid(text) == "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "not-a-uuid",
            "invalid character: expected an optional prefix of `urn:uuid:` followed by "
            "[0-9a-fA-F-], found `n` at 1",
        ),
        ("abc", "invalid length: expected length 32 for simple format, found 3"),
        ("1111-2222", "invalid group count: expected 5, found 2"),
        (
            "111111111-2222-4333-8444-555555555555",
            "invalid group length in group 0: expected 8, found 9",
        ),
        (
            "11111111-2222-4333-8444-5555555555556",
            "invalid group length in group 4: expected 12, found 13",
        ),
        (
            "{11111111-2222-4333-8444-55555555555z}",
            "invalid character: expected an optional prefix of `urn:uuid:` followed by "
            "[0-9a-fA-F-], found `z` at 37",
        ),
    ],
)
def test_invalid_uuid_wording(text: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_uuid(text)
    (error,) = caught.value.errors
    assert error.type == "uuid_parsing"
    assert error.msg == "Input should be a valid UUID, " + problem
    assert error.ctx == {"error": problem}
    assert error.input == text


def test_pydantic_text_shortens_long_inputs_and_pluralises() -> None:
    long_input = {"key": "x" * 80}
    text = pydantic_text(
        "Model",
        [
            FieldError("missing", ("a",), "Field required", long_input),
            FieldError("string_type", ("b", 0), "Input should be a valid string", 5),
        ],
    )
    lines = text.split("\n")
    assert lines[0] == "2 validation errors for Model"
    assert lines[1] == "a"
    assert lines[2] == (
        "  Field required [type=missing, input_value={'key': 'xxxxxxxxxxxxxxxx"
        "...xxxxxxxxxxxxxxxxxxxxxx'}, input_type=dict]"
    )
    assert lines[4] == "b.0"
    assert lines[5].endswith("[type=string_type, input_value=5, input_type=int]")


@pytest.mark.parametrize(
    "value, expected", [(True, True), (0, False), (1, True), ("YES", True), ("off", False)]
)
def test_lax_booleans(value: Any, expected: bool) -> None:
    errors: List[FieldError] = []
    assert v_bool(value, ("x",), errors) is expected
    assert errors == []


@pytest.mark.parametrize("value, kind", [(2, "bool_type"), ("perhaps", "bool_parsing")])
def test_bad_booleans(value: Any, kind: str) -> None:
    errors: List[FieldError] = []
    assert v_bool(value, ("x",), errors) is INVALID
    assert errors[0].type == kind


@pytest.mark.parametrize(
    "version, bumped", [("1.0.0", "1.0.1"), ("2", "3"), ("1.0.beta", "1.0.beta.1")]
)
def test_bump_version(version: str, bumped: str) -> None:
    assert bump_version(version) == bumped


@pytest.mark.parametrize(
    "status, start",
    [
        (101, "Informational response '101 Switching'"),
        (302, "Redirect response '302 Found'"),
        (404, "Client error '404 Not Found'"),
        (503, "Server error '503 Service Unavailable'"),
        (600, "Invalid status code '600 Odd'"),
    ],
)
def test_httpx_style_status_messages(status: int, start: str) -> None:
    reason = start.split("'")[1].split(" ", 1)[1]
    message = status_error_message(status, reason, "http://h/execute", "http://h/next")
    first, *rest = message.split("\n")
    assert first == start + " for url 'http://h/execute'"
    if status == 302:
        assert rest[0] == "Redirect location: 'http://h/next'"
    assert rest[-1].endswith("/Status/%d" % status)
