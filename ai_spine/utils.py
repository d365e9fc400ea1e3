"""Small pure helpers: argument validation, path quoting, header parsing, body decoding.

Nothing here does I/O, so the sync transport, a future async one and the tests share it.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import sys
import time
import unicodedata
from datetime import datetime, timezone
from typing import Any, Collection, Dict, Optional, Tuple
from urllib.parse import quote, urlsplit

from .constants import DOT_SEGMENTS, MAX_JSON_INT_DIGITS, MAX_TIMEOUT, RESOURCE_ID_MAX_BYTES

_SECRET = r"[\x21-\x7e]+"


def _invalid(message: str) -> Exception:
    # Imported here: exceptions imports this module for parse_retry_after.
    from .exceptions import ValidationError

    return ValidationError(message)


def _describe(value: Any) -> str:
    return "{!r} ({})".format(value, type(value).__name__)


def require_string(value: Any, name: str) -> str:
    """Return ``value`` if it is a non-empty, non-blank string.

    Args:
        value: What the caller passed.
        name: The argument's name, for the error message.

    Returns:
        The string, unchanged.

    Raises:
        ValidationError: If it is not a string, or is empty or blank.
    """
    if not isinstance(value, str) or not value.strip():
        raise _invalid("{} must be a non-empty string, got {}".format(name, _describe(value)))
    return value


def validate_resource_id(value: Any, name: str, reserved: Collection[str] = ()) -> str:
    """Check that a flow or agent id can travel as one path segment of its route.

    The server takes any string as an id, and the SDK percent-encodes it (spaces, ``?``,
    ``%`` and non-ASCII letters included), so only ids that no encoding can route are
    refused: ``/`` (the server decodes ``%2F`` before routing), ``.`` and ``..`` (removed
    from paths by URL normalisation), control characters, text that UTF-8 cannot encode,
    more than :data:`~ai_spine.constants.RESOURCE_ID_MAX_BYTES` bytes, and the ids in
    ``reserved``.

    Args:
        value: The id to check.
        name: The argument's name (``flow_id``, ``agent_id``), for the message.
        reserved: Ids that the API's fixed routes shadow (``/api/v1/flows/my-flows``), so
            that a request for them would reach another endpoint.

    Returns:
        The id, unchanged.

    Raises:
        ValidationError: If it is not a non-empty string or cannot be routed; the message
            says why.

    Example:
        >>> validate_resource_id("credit check v2", "flow_id")
        'credit check v2'
    """
    if not isinstance(value, str) or not value:
        raise _invalid("{} must be a non-empty string, got {}".format(name, _describe(value)))
    problem = _unroutable(value, reserved)
    if problem:
        shown = value if len(value) <= 60 else value[:40] + "..."
        raise _invalid("{} {!r} {}".format(name, shown, problem))
    return value


def _unroutable(value: str, reserved: Collection[str]) -> str:
    if "/" in value:
        return "cannot contain '/': the server reads it as a path separator, even encoded"
    if value in DOT_SEGMENTS:
        return "cannot be an id: URL normalisation removes '.' and '..' from a path"
    control = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        return "cannot contain control characters such as {!r}".format(control)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be text that UTF-8 can encode (it holds a lone surrogate)"
    if size > RESOURCE_ID_MAX_BYTES:
        return "is {} bytes in UTF-8, more than the {} a URL carries safely through proxies".format(
            size, RESOURCE_ID_MAX_BYTES
        )
    if value in reserved:
        return "cannot be addressed: the API routes that path to another endpoint"
    return ""


def validate_secret(value: Any, name: str) -> str:
    """Check an API key or access token without ever echoing it.

    Surrounding whitespace (a newline left by reading a key from a file) is removed; what
    remains must be printable ASCII without spaces, as an HTTP header value needs.

    Args:
        value: The secret.
        name: The argument's name, for the message.

    Returns:
        The secret, stripped.

    Raises:
        ValidationError: If it is not such a string. The message never contains it.

    Example:
        >>> validate_secret("sk-123\\n", "api_key")
        'sk-123'
    """
    secret = value.strip() if isinstance(value, str) else None
    if not secret or not re.fullmatch(_SECRET, secret):
        raise _invalid(
            "{} must be a non-empty string of printable ASCII characters without spaces "
            "(got {} of length {})".format(name, type(value).__name__, _length(value))
        )
    return secret


def _length(value: Any) -> str:
    try:
        return str(len(value))
    except TypeError:
        return "n/a"


_HEX_AND_HYPHEN = frozenset("0123456789abcdef-")


def validate_execution_id(value: Any) -> str:
    """Check that an execution id is a UUID and return it in canonical form.

    Args:
        value: The id to check.

    Returns:
        The UUID as lowercase hyphenated text.

    Raises:
        ValidationError: If it is not a string or not a UUID.
    """
    require_string(value, "execution_id")
    if _is_canonical_uuid(value):  # what the server returns and most callers pass back
        return str(value)
    import uuid  # on first use: it costs ~1.5 ms to import (it loads platform)

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _invalid("execution_id must be a UUID, got {!r}".format(value)) from None


_SPACE_OR_CONTROL = r"[\s\x00-\x1f]"  # \s: what str.isspace() is true of


def _is_canonical_uuid(value: str) -> bool:
    return (
        len(value) == 36
        and value[8] == value[13] == value[18] == value[23] == "-"
        and value.count("-") == 4
        and _HEX_AND_HYPHEN.issuperset(value)
    )


def validate_url(value: Any, name: str, base: bool = False) -> str:
    """Check that ``value`` is an absolute http(s) URL with a host and a valid port.

    Args:
        value: The URL to check.
        name: The argument's name, for the message.
        base: Whether paths will be appended to it (a base URL): then a query, a fragment
            or credentials in it are refused too.

    Returns:
        The URL, stripped of surrounding whitespace and trailing slashes.

    Raises:
        ValidationError: If it is not such a URL.

    Example:
        >>> validate_url("http://127.0.0.1:8000/", "base_url", base=True)
        'http://127.0.0.1:8000'
    """
    require_string(value, name)
    url = str(value).strip()
    problem = _url_problem(url, base)
    if problem:
        raise _invalid(
            "{} must be an http:// or https:// URL{}, got {!r}".format(name, problem, url)
        )
    return url.rstrip("/")


def _url_problem(url: str, base: bool) -> str:
    if re.search(_SPACE_OR_CONTROL, url):
        return " without spaces"
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": an unclosed IPv6 bracket
        return " with a valid host"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return " with a host"
    try:
        parts.port
    except ValueError:
        return " with a valid port"
    if base and (parts.query or parts.fragment or "#" in url or "?" in url):
        return " without query or fragment"
    if base and (parts.username is not None or parts.password is not None):
        return " without credentials (pass the key as api_key)"
    return ""


def ensure_json(value: Any, name: str) -> None:
    """Check that ``value`` can be sent as JSON (no sets, bytes, objects, NaN).

    Args:
        value: The value to check.
        name: The argument's name, for the message.

    Raises:
        ValidationError: If ``json.dumps`` cannot encode it strictly.
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise _invalid("{} must be JSON-serialisable: {}".format(name, error)) from None


def quote_segment(value: str) -> str:
    """Percent-encode one path segment; ``/``, ``?``, ``#`` and ``%`` included.

    Example:
        >>> quote_segment("a/b c")
        'a%2Fb%20c'
    """
    if _UNRESERVED.issuperset(value):  # ids and UUIDs mostly: nothing to encode
        return value
    return quote(value, safe="")


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def build_path(template: str, **segments: str) -> str:
    """Fill a path template from :mod:`ai_spine.constants` with percent-encoded segments.

    Example:
        >>> build_path("/api/v1/flows/{flow_id}", flow_id="a b")
        '/api/v1/flows/a%20b'
    """
    return template.format(**{k: quote_segment(v) for k, v in segments.items()})


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Read a ``Retry-After`` header given in seconds or as an HTTP-date.

    Args:
        value: The header's value, or None.
        now: The current Unix time, for HTTP-dates (defaults to ``time.time()``).

    Returns:
        Seconds to wait (never negative), or None when absent or unreadable.

    Example:
        >>> parse_retry_after("2")
        2.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            date = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if date is None:  # pragma: no cover - Python < 3.10 returned None for bad dates
            return None
        if date.tzinfo is None:
            date = date.replace(tzinfo=timezone.utc)
        seconds = date.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def decode_body(content: bytes, content_type: Optional[str]) -> Any:
    """Decode a response body: JSON when it parses as JSON, else text, else None if empty.

    The server labels JSON correctly, but proxies answer HTML or text: rather than trust the
    label, anything that parses as JSON is JSON.

    Args:
        content: The raw body.
        content_type: The ``Content-Type`` header, used for the text's charset.

    Returns:
        The parsed JSON value, the body as text, or None for an empty body.
    """
    if not content:
        return None
    charset = "utf-8"
    if content_type and "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or charset
    try:
        text = content.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):  # unknown, idna-like, or a NUL in the name
        text = content.decode("utf-8", errors="replace")
    try:
        return _json_decoder().decode(text)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to be a real answer
        return text


def _json_decoder() -> json.JSONDecoder:
    # Python 3.11 and later refuse integers over sys.get_int_max_str_digits() digits
    # themselves (4300 unless changed): then the plain decoder, without a Python call per
    # integer. One decoder each, made once: json.loads(parse_int=...) makes one per call.
    limit = getattr(sys, "get_int_max_str_digits", _no_limit)()
    kind = "plain" if 0 < limit <= MAX_JSON_INT_DIGITS else "checked"
    decoder = _DECODERS.get(kind)
    if decoder is None:
        if kind == "plain":
            decoder = json.JSONDecoder()
        else:
            decoder = json.JSONDecoder(parse_int=_parse_int)
        _DECODERS[kind] = decoder
    return decoder


def _no_limit() -> int:
    return 0


_DECODERS: Dict[str, json.JSONDecoder] = {}


def _parse_int(digits: str) -> int:
    # The same limit on every Python: CPython before 3.11 would spend quadratic time on a
    # hostile 10-million-digit number; 3.11 and later refuse those above 4300 digits.
    if len(digits) > MAX_JSON_INT_DIGITS:
        raise ValueError("an integer of {} digits".format(len(digits)))
    return int(digits)


def parse_timestamp(value: str) -> datetime:
    """Parse the server's ISO-8601 timestamps, which carry no timezone but are UTC.

    Args:
        value: e.g. ``"2026-11-26T12:08:21.222760"``.

    Returns:
        A timezone-aware ``datetime`` in UTC.

    Raises:
        ValidationError: If the text is not a timestamp.

    Example:
        >>> parse_timestamp("2026-11-26T12:08:21.222760").tzinfo
        datetime.timezone.utc
    """
    from dateutil import parser  # imported on first use: it costs import time

    try:
        parsed = parser.isoparse(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)  # overflows for an offset at year 1 or 9999
    except (TypeError, ValueError, OverflowError):
        raise _invalid("not an ISO-8601 timestamp: {!r}".format(value)) from None


def format_timestamp(value: datetime) -> str:
    """Write a ``datetime`` the way the server writes timestamps: ISO-8601 UTC, no timezone.

    The inverse of :func:`parse_timestamp`. A naive ``datetime`` is taken to be UTC already.

    Args:
        value: The moment to write.

    Returns:
        e.g. ``"2026-11-26T12:08:21.222760"`` (``isoformat``: no fraction when it is zero).

    Example:
        >>> format_timestamp(parse_timestamp("2026-11-26T13:08:21.5+01:00"))
        '2026-11-26T12:08:21.500000'
    """
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


def parse_epoch(value: float) -> datetime:
    """Turn a Unix epoch (``/health``'s ``timestamp``) into an aware ``datetime`` in UTC.

    Args:
        value: Seconds since 1970-01-01 UTC.

    Returns:
        A timezone-aware ``datetime`` in UTC.

    Raises:
        ValidationError: If it is not a finite number within ``datetime``'s range.

    Example:
        >>> parse_epoch(1795696178.5).isoformat()
        '2026-11-26T12:29:38.500000+00:00'
    """
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise _invalid("not a Unix epoch timestamp: {!r}".format(value)) from None


def mask_secret(secret: Optional[str]) -> str:
    """Show whether a secret is set without showing it: ``'***'`` or ``'None'``."""
    return "None" if secret is None else "'***'"


def normalize_timeout(value: Any) -> Tuple[float, float]:
    """Turn a ``timeout`` argument into a ``(connect, read)`` pair of seconds.

    Args:
        value: A positive number, or a pair of positive numbers ``(connect, read)``.

    Returns:
        The pair, as floats.

    Raises:
        ValidationError: If it is not a positive number or such a pair. There is no way to
            turn timeouts off: a call that can hang forever is a bug waiting to happen.

    Example:
        >>> normalize_timeout(10)
        (10.0, 10.0)
        >>> normalize_timeout((3, 60))
        (3.0, 60.0)
    """
    parts = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(parts) != 2 or not all(_is_positive_number(p) for p in parts):
        raise _invalid(
            "timeout must be a positive number of seconds (at most {:g}, a day) or a "
            "(connect, read) pair of them, got {}".format(MAX_TIMEOUT, _describe(value))
        )
    return float(parts[0]), float(parts[1])


def _is_positive_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT
    )
