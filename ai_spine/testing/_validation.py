"""Request validation that answers the way the real server's FastAPI/pydantic stack does.

The real server validates typed bodies with pydantic 2 and reports problems as FastAPI
``422`` lists (``{"detail": [{"type", "loc", "msg", "input", "ctx"?}]}``); where a handler
builds a model by hand inside a ``try`` (agent registration, the unprefixed flow create),
the same errors come back as pydantic's plain-text rendering inside a ``500``. Both
renderings are produced here from one list of :class:`FieldError`.

Pure functions only: nothing here touches a socket or the store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

Loc = Tuple[Union[str, int], ...]
Validator = Callable[[Any, Loc, List["FieldError"]], Any]

_PYDANTIC_DOCS = "https://errors.pydantic.dev/2.11/v/"
AGENT_TYPES = ("input", "processor", "output", "conditional")


class _Invalid:
    """Marker for a value that failed validation (its error is already recorded)."""


INVALID = _Invalid()


@dataclass
class FieldError:
    """One validation problem, in pydantic's terms.

    Attributes:
        type: Pydantic error type, e.g. ``missing`` or ``dict_type``.
        loc: Location inside the validated value (without FastAPI's ``body`` prefix).
        msg: Human-readable message.
        input: The offending input value.
        ctx: Extra context some error types carry, e.g. ``{"le": 10}``.
    """

    type: str
    loc: Loc
    msg: str
    input: Any
    ctx: Optional[Dict[str, Any]] = None

    def as_fastapi(self, prefix: Loc) -> Dict[str, Any]:
        """Render as one entry of a FastAPI 422 ``detail`` list.

        Args:
            prefix: Location prefix such as ``("body",)`` or ``("query",)``.

        Returns:
            ``{"type", "loc", "msg", "input"}`` plus ``ctx`` when the error has one.

        Example:
            >>> FieldError("missing", ("x",), "Field required", {}).as_fastapi(("body",))["loc"]
            ['body', 'x']
        """
        entry: Dict[str, Any] = {
            "type": self.type,
            "loc": list(prefix) + list(self.loc),
            "msg": self.msg,
            "input": self.input,
        }
        if self.ctx is not None:
            entry["ctx"] = self.ctx
        return entry


class ValidationFailed(Exception):
    """Raised by the ``validate_*`` functions with every problem found.

    Args:
        errors: The problems, in the order pydantic reports them.
    """

    def __init__(self, errors: List[FieldError]) -> None:
        super().__init__("%d validation error(s)" % len(errors))
        self.errors = errors


def fastapi_detail(errors: Sequence[FieldError], prefix: Loc = ("body",)) -> List[Dict[str, Any]]:
    """Render errors as FastAPI's 422 ``detail`` list.

    Args:
        errors: The problems.
        prefix: Location prefix (``body``, ``query`` or ``path``).

    Returns:
        A JSON-ready list.

    Example:
        >>> fastapi_detail([FieldError("missing", ("a",), "Field required", None)])[0]["type"]
        'missing'
    """
    return [error.as_fastapi(prefix) for error in errors]


def _short_repr(value: Any) -> str:
    text = repr(value)
    # pydantic-core shortens long input reprs the same way.
    if len(text) > 50:
        text = text[:25] + "..." + text[-24:]
    return text


def pydantic_text(title: str, errors: Sequence[FieldError]) -> str:
    """Render errors the way ``str(pydantic.ValidationError)`` does.

    Args:
        title: Model name, e.g. ``AgentInfo``.
        errors: The problems.

    Returns:
        The multi-line text the real server puts in a 500's ``detail``.

    Example:
        >>> print(pydantic_text("M", [FieldError("missing", ("a",), "Field required", {})]))
        1 validation error for M
        a
          Field required [type=missing, input_value={}, input_type=dict]
            For further information visit https://errors.pydantic.dev/2.11/v/missing
    """
    count = len(errors)
    lines = ["%d validation error%s for %s" % (count, "" if count == 1 else "s", title)]
    for error in errors:
        lines.append(".".join(str(part) for part in error.loc))
        lines.append(
            "  %s [type=%s, input_value=%s, input_type=%s]"
            % (error.msg, error.type, _short_repr(error.input), type(error.input).__name__)
        )
        lines.append("    For further information visit %s%s" % (_PYDANTIC_DOCS, error.type))
    return "\n".join(lines)


# --- field validators -------------------------------------------------------------------
# Each takes (value, loc, errors), appends to errors on failure and returns INVALID, or
# returns the value coerced the way pydantic's lax mode would.


def v_str(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
    """Validate a ``str`` field."""
    if isinstance(value, str):
        return value
    errors.append(FieldError("string_type", loc, "Input should be a valid string", value))
    return INVALID


def v_dict(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
    """Validate a ``Dict[str, Any]`` field."""
    if isinstance(value, dict):
        return value
    errors.append(FieldError("dict_type", loc, "Input should be a valid dictionary", value))
    return INVALID


_TRUE_WORDS = {"1", "on", "t", "true", "y", "yes"}
_FALSE_WORDS = {"0", "off", "f", "false", "n", "no"}


def v_bool(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
    """Validate a ``bool`` field (lax: 0/1 and yes/no style strings are accepted)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        errors.append(
            FieldError(
                "bool_parsing",
                loc,
                "Input should be a valid boolean, unable to interpret input",
                value,
            )
        )
        return INVALID
    errors.append(FieldError("bool_type", loc, "Input should be a valid boolean", value))
    return INVALID


def _coerce_int(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        errors.append(
            FieldError(
                "int_from_float",
                loc,
                "Input should be a valid integer, got a number with a fractional part",
                value,
            )
        )
        return INVALID
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            errors.append(
                FieldError(
                    "int_parsing",
                    loc,
                    "Input should be a valid integer, unable to parse string as an integer",
                    value,
                )
            )
            return INVALID
    errors.append(FieldError("int_type", loc, "Input should be a valid integer", value))
    return INVALID


def v_int(ge: Optional[int] = None, le: Optional[int] = None) -> Validator:
    """Build an ``int`` validator with optional inclusive bounds.

    Args:
        ge: Smallest accepted value.
        le: Largest accepted value.

    Returns:
        The validator.

    Example:
        >>> errors = []
        >>> v_int(le=10)(11, ("priority",), errors) is INVALID, errors[0].type
        (True, 'less_than_equal')
    """

    def validate(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
        number = _coerce_int(value, loc, errors)
        if number is INVALID:
            return INVALID
        if ge is not None and number < ge:
            errors.append(
                FieldError(
                    "greater_than_equal",
                    loc,
                    "Input should be greater than or equal to %d" % ge,
                    value,
                    {"ge": ge},
                )
            )
            return INVALID
        if le is not None and number > le:
            errors.append(
                FieldError(
                    "less_than_equal",
                    loc,
                    "Input should be less than or equal to %d" % le,
                    value,
                    {"le": le},
                )
            )
            return INVALID
        return number

    return validate


def v_optional(inner: Validator) -> Validator:
    """Wrap a validator so that ``None`` is accepted as is."""

    def validate(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
        return None if value is None else inner(value, loc, errors)

    return validate


def v_list_of(inner: Validator) -> Validator:
    """Build a ``List[...]`` validator whose items go through ``inner``."""

    def validate(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
        if not isinstance(value, list):
            errors.append(FieldError("list_type", loc, "Input should be a valid list", value))
            return INVALID
        items = [inner(item, loc + (index,), errors) for index, item in enumerate(value)]
        return INVALID if any(item is INVALID for item in items) else items

    return validate


def v_enum(choices: Sequence[str]) -> Validator:
    """Build a validator for a string enum such as ``AgentType``."""
    quoted = ["'%s'" % choice for choice in choices]
    expected = ", ".join(quoted[:-1]) + " or " + quoted[-1]

    def validate(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
        if isinstance(value, str) and value in choices:
            return value
        errors.append(
            FieldError("enum", loc, "Input should be %s" % expected, value, {"expected": expected})
        )
        return INVALID

    return validate


_REQUIRED = object()


@dataclass
class _Field:
    name: str
    validator: Validator
    default: Any = _REQUIRED

    def default_value(self) -> Any:
        # Mutable defaults are copied so that stored records never share them.
        if isinstance(self.default, (dict, list)):
            return type(self.default)()
        return self.default


def v_model(name: str, fields: Sequence[_Field], top_level: bool = False) -> Validator:
    """Build a validator for a pydantic model made of ``fields`` (extra keys are dropped).

    Args:
        name: Model class name (appears in pydantic's ``model_type`` message).
        fields: The model's fields in declaration order.
        top_level: True for a FastAPI body, whose non-dict error type differs.

    Returns:
        The validator; it returns a new dict with the fields in declaration order.
    """

    def validate(value: Any, loc: Loc, errors: List[FieldError]) -> Any:
        if not isinstance(value, dict):
            if top_level:
                errors.append(
                    FieldError(
                        "model_attributes_type",
                        loc,
                        "Input should be a valid dictionary or object to extract fields from",
                        value,
                    )
                )
            else:
                errors.append(
                    FieldError(
                        "model_type",
                        loc,
                        "Input should be a valid dictionary or instance of %s" % name,
                        value,
                        {"class_name": name},
                    )
                )
            return INVALID
        result: Dict[str, Any] = {}
        failed = False
        for spec in fields:
            if spec.name not in value:
                if spec.default is _REQUIRED:
                    errors.append(
                        FieldError("missing", loc + (spec.name,), "Field required", value)
                    )
                    failed = True
                else:
                    result[spec.name] = spec.default_value()
                continue
            checked = spec.validator(value[spec.name], loc + (spec.name,), errors)
            failed = failed or checked is INVALID
            result[spec.name] = checked
        return INVALID if failed else result

    return validate


_FLOW_NODE = v_model(
    "FlowNode",
    [
        _Field("id", v_str),
        _Field("agent_id", v_optional(v_str), None),
        _Field("type", v_enum(AGENT_TYPES)),
        _Field("depends_on", v_list_of(v_str), []),
        _Field("config", v_dict, {}),
        _Field("conditions", v_optional(v_dict), None),
    ],
)

_FLOW_FIELDS = [
    _Field("flow_id", v_str),
    _Field("name", v_str),
    _Field("description", v_str),
    _Field("version", v_str, "1.0.0"),
    _Field("nodes", v_list_of(_FLOW_NODE)),
    _Field("entry_point", v_str),
    _Field("exit_points", v_list_of(v_str), []),
    _Field("metadata", v_dict, {}),
]

_EXECUTION_REQUEST = v_model(
    "ExecutionRequest",
    [
        _Field("flow_id", v_str),
        _Field("input_data", v_dict),
        _Field("user_id", v_optional(v_str), None),
        _Field("priority", v_int(ge=0, le=10), 0),
        _Field("timeout", v_optional(v_int()), None),
        _Field("metadata", v_dict, {}),
    ],
    top_level=True,
)

_AGENT_INFO = v_model(
    "AgentInfo",
    [
        _Field("agent_id", v_str),
        _Field("name", v_str),
        _Field("description", v_str),
        _Field("endpoint", v_str),
        _Field("capabilities", v_list_of(v_str)),
        _Field("agent_type", v_enum(AGENT_TYPES)),
        _Field("is_active", v_bool, True),
    ],
)

# GenerateKeyRequest and RevokeKeyRequest of the deprecated key routes: the same one field.
_USER_ID_REQUEST = v_model("GenerateKeyRequest", [_Field("user_id", v_str)], top_level=True)

# The order in which the real agent-registration handler reads keys: the first one missing
# surfaces as a KeyError whose repr becomes the 500's detail.
AGENT_REQUIRED_KEYS = ("agent_id", "name", "description", "endpoint", "capabilities", "agent_type")


def _run(validator: Validator, value: Any) -> Dict[str, Any]:
    errors: List[FieldError] = []
    result = validator(value, (), errors)
    if errors or result is INVALID:
        raise ValidationFailed(errors)
    assert isinstance(result, dict)
    return result


def validate_flow(value: Any, top_level: bool = True) -> Dict[str, Any]:
    """Validate and normalise a flow definition (``FlowDefinition``).

    Args:
        value: The decoded JSON body.
        top_level: True when the value is a whole FastAPI body.

    Returns:
        The flow with every field present, in the server's key order.

    Raises:
        ValidationFailed: With every problem found.

    Example:
        >>> validate_flow({"flow_id": "f", "name": "n", "description": "d",
        ...                "nodes": [], "entry_point": "a"})["version"]
        '1.0.0'
    """
    return _run(v_model("FlowDefinition", _FLOW_FIELDS, top_level=top_level), value)


def validate_execution_request(value: Any) -> Dict[str, Any]:
    """Validate an execute body (``ExecutionRequest``).

    Args:
        value: The decoded JSON body.

    Returns:
        The request with defaults filled in.

    Raises:
        ValidationFailed: With every problem found.

    Example:
        >>> validate_execution_request({"flow_id": "f", "input_data": {}})["priority"]
        0
    """
    return _run(_EXECUTION_REQUEST, value)


def validate_user_id_request(value: Any) -> Dict[str, Any]:
    """Validate the body of the deprecated key routes (``{"user_id": str}``).

    Args:
        value: The decoded JSON body.

    Returns:
        ``{"user_id": ...}`` (extra keys dropped).

    Raises:
        ValidationFailed: With every problem found.

    Example:
        >>> validate_user_id_request({"user_id": "u1", "extra": 1})
        {'user_id': 'u1'}
    """
    return _run(_USER_ID_REQUEST, value)


def validate_agent(value: Dict[str, Any]) -> Dict[str, Any]:
    """Validate an agent registration the way the real handler does.

    Args:
        value: The decoded JSON object.

    Returns:
        The agent fields (without timestamps), in the server's key order.

    Raises:
        KeyError: For the first required key that is missing (the real server's 500).
        ValidationFailed: For mistyped fields (pydantic text in the real server's 500).

    Example:
        >>> validate_agent({"agent_id": "a", "name": "n", "description": "d",
        ...                 "endpoint": "http://127.0.0.1:1", "capabilities": [],
        ...                 "agent_type": "processor"})["is_active"]
        True
    """
    for key in AGENT_REQUIRED_KEYS:
        if key not in value:
            raise KeyError(key)
    return _run(_AGENT_INFO, value)


JSON_NESTING_LIMIT = 200
"""Deepest nesting of arrays and objects a request body may have (pydantic-core's limit)."""
JSON_DIGIT_LIMIT = 1000
"""Most digits an integer in a request body may have (Python 3.11+ refuses 4300 and more)."""

# Only the string literals and the brackets matter to the nesting depth.
_JSON_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_LONG_INTEGER = re.compile(r"\d{%d}" % (JSON_DIGIT_LIMIT + 1))


class _JSONLimit(Exception):
    """A JSON body exceeded one of the limits (its message says which)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _check_nesting(text: str) -> None:
    if text.count("[") + text.count("{") <= JSON_NESTING_LIMIT:
        return  # it cannot be deeper than its number of brackets
    depth = 0
    for match in _JSON_STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > JSON_NESTING_LIMIT:
                raise _JSONLimit(
                    "nesting deeper than %d levels" % JSON_NESTING_LIMIT, match.start()
                )
        elif token in "]}":
            depth -= 1


def _bounded_int(text: str, digits: str) -> int:
    if len(digits.lstrip("-")) > JSON_DIGIT_LIMIT:
        found = _LONG_INTEGER.search(text)
        raise _JSONLimit(
            "integer with more than %d digits" % JSON_DIGIT_LIMIT,
            found.start() if found is not None else 0,
        )
    try:
        return int(digits)
    except ValueError as exc:  # sys.set_int_max_str_digits() set below the limit
        raise _JSONLimit(str(exc), 0) from None


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON request body as FastAPI does before validating it.

    Two limits hold on every Python version, so that no body can make the server crash
    (Python 3.11+ refuses to parse an integer of 4300 digits or more, and deep nesting
    exhausts the interpreter's recursion limit): arrays and objects nest at most
    :data:`JSON_NESTING_LIMIT` deep, and integers have at most :data:`JSON_DIGIT_LIMIT`
    digits. A body beyond either is reported like malformed JSON.

    Args:
        body: The raw body.

    Returns:
        The decoded value (``None`` for an empty body).

    Raises:
        ValidationFailed: ``json_invalid`` with the byte offset, as FastAPI reports it.

    Example:
        >>> parse_json_body(b'{"a": 1}')
        {'a': 1}
        >>> try:
        ...     parse_json_body(b"[" * 201 + b"]" * 201)
        ... except ValidationFailed as exc:
        ...     print(exc.errors[0].ctx)
        {'error': 'nesting deeper than 200 levels'}
    """
    if not body:
        return None
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        _check_nesting(text)
        return json.loads(text, parse_int=lambda digits: _bounded_int(text, digits))
    except json.JSONDecodeError as exc:
        position: Union[str, int] = exc.pos
        message = exc.msg
    except UnicodeDecodeError as exc:
        position, message = exc.start, str(exc)
    except _JSONLimit as exc:
        position, message = exc.position, str(exc)
    except RecursionError:  # a last resort: the limits above keep well below it
        position, message = 0, "nesting too deep"
    raise ValidationFailed(
        [FieldError("json_invalid", (position,), "JSON decode error", {}, {"error": message})]
    )


def missing_body() -> FieldError:
    """Return the error FastAPI reports for a required body that is absent or null.

    Returns:
        ``missing`` at the body's root.

    Example:
        >>> missing_body().as_fastapi(("body",))["loc"]
        ['body']
    """
    return FieldError("missing", (), "Field required", None)


def body_not_dict(value: Any) -> FieldError:
    """Return the error FastAPI reports when a ``Dict[str, Any]`` body is not an object.

    Args:
        value: The decoded body.

    Returns:
        ``dict_type`` at the body's root.

    Example:
        >>> body_not_dict([]).type
        'dict_type'
    """
    return FieldError("dict_type", (), "Input should be a valid dictionary", value)


def require_query(query: Dict[str, str], name: str) -> str:
    """Read a required string query parameter.

    Args:
        query: The request's query parameters.
        name: Parameter name.

    Returns:
        Its value (possibly empty: ``?user_id=`` is a valid empty string).

    Raises:
        ValidationFailed: ``missing`` at ``(name,)`` when the parameter is absent.

    Example:
        >>> require_query({"user_id": "u1"}, "user_id")
        'u1'
    """
    if name not in query:
        raise ValidationFailed([FieldError("missing", (name,), "Field required", None)])
    return query[name]


def parse_query_int(query: Dict[str, str], name: str, default: int) -> int:
    """Read an integer query parameter.

    Args:
        query: The request's query parameters.
        name: Parameter name.
        default: Value when the parameter is absent.

    Returns:
        The integer.

    Raises:
        ValidationFailed: ``int_parsing`` at ``(name,)`` when the value is not an integer.

    Example:
        >>> parse_query_int({"limit": "5"}, "limit", 20)
        5
    """
    if name not in query:
        return default
    errors: List[FieldError] = []
    value = _coerce_int(query[name], (name,), errors)
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(value, int)
    return value


_HEX = set("0123456789abcdefABCDEF")
_UUID_FORMS = re.compile(
    r"\A(?:[0-9a-fA-F]{32}"
    r"|(?P<h>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|\{(?P<b>[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})\}"
    r"|urn:uuid:(?P<u>[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}))\Z"
)
_GROUP_STARTS = (0, 9, 14, 19, 24)
_GROUP_LENGTHS = (8, 4, 4, 4, 12)


def _uuid_problem(text: str) -> str:
    # Mirrors the Rust ``uuid`` crate's diagnosis, whose wording pydantic-core passes on.
    offset, simple = 0, True
    if len(text) >= 2 and text.startswith("{") and text.endswith("}"):
        text, offset, simple = text[1:-1], 1, False
    elif text.startswith("urn:uuid:"):
        text, offset, simple = text[len("urn:uuid:") :], len("urn:uuid:"), False
    hyphens: List[int] = []
    for index, character in enumerate(text):
        if character == "-":
            hyphens.append(index)
        elif character not in _HEX:
            return (
                "invalid character: expected an optional prefix of `urn:uuid:` followed by "
                "[0-9a-fA-F-], found `%s` at %d" % (character, index + offset + 1)
            )
    if not hyphens and simple:
        return "invalid length: expected length 32 for simple format, found %d" % len(text)
    if len(hyphens) != 4:
        return "invalid group count: expected 5, found %d" % (len(hyphens) + 1)
    for group in range(4):
        if hyphens[group] != _GROUP_STARTS[group + 1] - 1:
            return "invalid group length in group %d: expected %d, found %d" % (
                group,
                _GROUP_LENGTHS[group],
                hyphens[group] - _GROUP_STARTS[group],
            )
    return "invalid group length in group 4: expected 12, found %d" % (len(text) - 24)


def parse_uuid(text: str, name: str = "execution_id") -> str:
    """Validate a UUID path parameter and return its canonical form.

    Args:
        text: The decoded path segment.
        name: Parameter name for the error's ``loc``.

    Returns:
        The lower-case hyphenated UUID (what ``str(uuid.UUID(...))`` gives).

    Raises:
        ValidationFailed: ``uuid_parsing`` with the same wording as pydantic.

    Example:
        >>> parse_uuid("11111111222243338444555555555555")
        '11111111-2222-4333-8444-555555555555'
    """
    if _UUID_FORMS.match(text):
        digits = text.replace("urn:uuid:", "").strip("{}").replace("-", "").lower()
        return "%s-%s-%s-%s-%s" % (
            digits[:8],
            digits[8:12],
            digits[12:16],
            digits[16:20],
            digits[20:],
        )
    problem = _uuid_problem(text)
    raise ValidationFailed(
        [
            FieldError(
                "uuid_parsing",
                (name,),
                "Input should be a valid UUID, %s" % problem,
                text,
                {"error": problem},
            )
        ]
    )
