"""What the ``ai-spine`` command line prints: JSON, tables, error lines and the status line.

Pure functions over plain data (no I/O, no clock, no HTTP stack), so the command line can
import this module without slowing its start-up, and tests check every layout without a
server. :mod:`ai_spine.cli` decides where the text goes.

Example:
    >>> print(render_table([{"agent_id": "echo", "is_active": True}],
    ...                    [("AGENT_ID", "agent_id"), ("ACTIVE", "is_active")]))
    AGENT_ID  ACTIVE
    echo      yes
"""

from __future__ import annotations

from collections.abc import Mapping

# Not typing.TYPE_CHECKING: typing costs the command line ~4 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

    Column = Tuple[str, Union[str, Callable[[Mapping[str, Any]], Any]]]
    """A table column: its header, and the key (or a function) that gives a row's value."""

__all__ = [
    "cell",
    "one_line",
    "render_json",
    "render_record",
    "render_table",
    "status_text",
]

_MAX_CELL = 80
"""Longest cell of a table, in characters; longer values end in "..."."""


def render_json(value: Any) -> str:
    """Format an API answer as indented JSON, keys in the server's order.

    Args:
        value: Any JSON-serialisable value; anything else (a datetime) becomes its text.

    Returns:
        The JSON text, without a trailing newline.

    Example:
        >>> print(render_json({"status": "healthy"}))
        {
          "status": "healthy"
        }
    """
    import json  # here: `ai-spine --version` never needs it

    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def cell(value: Any) -> str:
    """Format one value for a table: text as is, None as ``-``, booleans as yes/no.

    Args:
        value: The value.

    Returns:
        One line of at most 80 characters; lists of strings are joined with commas and
        anything else is compact JSON.

    Example:
        >>> cell(None), cell(True), cell(["a", "b"]), cell({"x": 1})
        ('-', 'yes', 'a, b', '{"x": 1}')
    """
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        text = ", ".join(value) if value else "-"
    else:
        import json

        text = json.dumps(value, ensure_ascii=False, default=str)
    text = one_line(text)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Lay rows out as aligned columns under a header line.

    Args:
        rows: The records.
        columns: ``(header, key or function)`` pairs, in order.

    Returns:
        The table, without a trailing newline; ``(none)`` under the header when empty.

    Example:
        >>> print(render_table([{"id": "a", "n": 1}, {"id": "bb"}], [("ID", "id"), ("N", "n")]))
        ID  N
        a   1
        bb  -
    """
    header = [title for title, _ in columns]
    body = [[cell(_value(row, getter)) for _, getter in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(columns))]
    lines = [
        "  ".join(t.ljust(w) for t, w in zip(line, widths)).rstrip() for line in [header] + body
    ]
    if not body:
        lines.append("(none)")
    return "\n".join(lines)


def _value(row: Mapping[str, Any], getter: Union[str, Callable[[Mapping[str, Any]], Any]]) -> Any:
    return getter(row) if callable(getter) else row.get(getter)


def render_record(record: Mapping[str, Any], keys: Optional[Sequence[str]] = None) -> str:
    """Lay one record out as ``key  value`` lines; nested objects become ``parent.key``.

    Args:
        record: The record.
        keys: The keys to show, in order (missing ones are skipped); None shows them all.

    Returns:
        The lines, without a trailing newline.

    Example:
        >>> print(render_record({"status": "ok", "output": {"credit": {"score": 829}}}))
        status               ok
        output.credit.score  829
    """
    pairs: List[Tuple[str, Any]] = []
    for key in record if keys is None else keys:
        if key in record:
            _flatten(key, record[key], pairs)
    width = max((len(key) for key, _ in pairs), default=0)
    return "\n".join("{}  {}".format(key.ljust(width), cell(value)) for key, value in pairs)


def _flatten(key: str, value: Any, pairs: List[Tuple[str, Any]]) -> None:
    # A flow's result is usually a few levels of objects: one line per leaf reads best.
    if isinstance(value, Mapping) and value:
        for sub, item in value.items():
            _flatten("{}.{}".format(key, sub), item, pairs)
    else:
        pairs.append((key, value))


def one_line(text: str) -> str:
    """Collapse a message onto one line (an error line must not spill onto the next).

    Example:
        >>> one_line("Client error\\nFor more  information")
        'Client error For more information'
    """
    return " ".join(text.split())


def status_text(
    execution_id: str,
    status: Optional[str],
    elapsed: float,
    nodes_done: Optional[int] = None,
    nodes_total: Optional[int] = None,
) -> str:
    """The live status line of a wait: status, elapsed time, node progress when known.

    Args:
        execution_id: The execution waited for (its first 8 characters are shown).
        status: Its last status seen, or None before the first answer.
        elapsed: Seconds since the wait began.
        nodes_done: Nodes finished so far, when known.
        nodes_total: Nodes in the flow, when known.

    Returns:
        One line without a line end.

    Example:
        >>> status_text("4ee0c6d2-3e51-4af5-a19c-6117546f9cdc", "running", 2.345, 1, 2)
        'Waiting for 4ee0c6d2: running, 2.3 s, 1/2 nodes done (Ctrl-C stops waiting)'
    """
    parts = [status or "starting", "{:.1f} s".format(elapsed)]
    if nodes_done is not None:
        total = "/{}".format(nodes_total) if nodes_total else ""
        parts.append("{}{} nodes done".format(nodes_done, total))
    return "Waiting for {}: {} (Ctrl-C stops waiting)".format(execution_id[:8], ", ".join(parts))
