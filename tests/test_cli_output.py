"""ai_spine._cli_output: the command line's tables, JSON and status line, without a server."""

import json
from typing import TYPE_CHECKING, Any, Dict, List

from ai_spine._cli_output import (
    cell,
    one_line,
    render_json,
    render_record,
    render_table,
    status_text,
)

if TYPE_CHECKING:
    from ai_spine._cli_output import Column


def test_json_keeps_the_servers_order_and_unicode() -> None:
    text = render_json({"z": 1, "a": "café", "nested": {"b": [1, 2]}})
    assert text.splitlines()[1] == '  "z": 1,'
    assert '"café"' in text
    assert json.loads(text) == {"z": 1, "a": "café", "nested": {"b": [1, 2]}}


def test_cells_are_one_short_line() -> None:
    assert cell(None) == "-"
    assert (cell(True), cell(False)) == ("yes", "no")
    assert cell(["a", "b"]) == "a, b" and cell([]) == "-"
    assert cell({"x": [1]}) == '{"x": [1]}'
    assert cell("two\nlines") == "two lines"
    long = cell("x" * 200)
    assert len(long) == 80 and long.endswith("...")


def test_table_aligns_columns_and_marks_an_empty_list() -> None:
    rows: List[Dict[str, Any]] = [{"id": "a", "ok": True}, {"id": "longer", "ok": None}]
    columns: "List[Column]" = [("ID", "id"), ("OK", "ok"), ("LEN", lambda row: len(row["id"]))]
    assert render_table(rows, columns).splitlines() == [
        "ID      OK   LEN",
        "a       yes  1",
        "longer  -    6",
    ]
    assert render_table([], columns).splitlines() == ["ID  OK  LEN", "(none)"]


def test_record_flattens_small_objects_and_follows_the_given_keys() -> None:
    record = {"status": "ok", "agents": {"total": 3, "active": 2}, "extra": 1}
    assert render_record(record).splitlines() == [
        "status         ok",
        "agents.total   3",
        "agents.active  2",
        "extra          1",
    ]
    assert render_record(record, ["extra", "missing", "status"]).splitlines() == [
        "extra   1",
        "status  ok",
    ]


def test_one_line_collapses_whitespace() -> None:
    assert one_line(" a\n\tb  c \n") == "a b c"


def test_status_text_shows_status_elapsed_and_nodes_when_known() -> None:
    execution_id = "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"
    assert status_text(execution_id, None, 0.0) == (
        "Waiting for 4ee0c6d2: starting, 0.0 s (Ctrl-C stops waiting)"
    )
    assert status_text(execution_id, "running", 61.26, 1) == (
        "Waiting for 4ee0c6d2: running, 61.3 s, 1 nodes done (Ctrl-C stops waiting)"
    )
    assert status_text(execution_id, "running", 2, 1, 3) == (
        "Waiting for 4ee0c6d2: running, 2.0 s, 1/3 nodes done (Ctrl-C stops waiting)"
    )
