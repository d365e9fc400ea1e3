"""FlowModel.to_mermaid: the flow's DAG as Mermaid flowchart text."""

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_spine import ValidationError
from ai_spine.models import FlowModel

RECORDED: Dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "responses.json").read_text("utf-8")
)
LEGEND_AND_CLASSES = [
    "classDef entry stroke-width:3px",
    "classDef exit stroke-width:3px",
    "classDef missing stroke-dasharray:4 4",
]


def chart(text: str) -> List[str]:
    """The chart's statements, without the header and the fixed legend and class lines."""
    lines = text.splitlines()
    assert lines[0].startswith("flowchart ") and text.endswith("\n")
    assert lines[1] == "    %% ([entry point]) [[exit point]]"
    assert all(line.startswith("    ") for line in lines[1:])
    return [line.strip() for line in lines[2:] if line.strip() not in LEGEND_AND_CLASSES]


def flow(nodes: List[Dict[str, Any]], entry: str = "", exits: Any = ()) -> FlowModel:
    return FlowModel.from_dict({"nodes": nodes, "entry_point": entry, "exit_points": list(exits)})


def test_the_recorded_flow() -> None:
    recorded = FlowModel.from_dict(RECORDED["flow_get"]["response"]["body"])
    assert recorded.to_mermaid() == (
        "flowchart TD\n"
        "    %% ([entry point]) [[exit point]]\n"
        '    n0(["a<br/>agent: echo_a"])\n'
        '    n1[["b<br/>agent: echo_b"]]\n'
        "    n0 --> n1\n"
        "    classDef entry stroke-width:3px\n"
        "    classDef exit stroke-width:3px\n"
        "    classDef missing stroke-dasharray:4 4\n"
        "    class n0 entry\n"
        "    class n1 exit\n"
    )


def test_a_diamond_draws_every_dependency_in_node_order() -> None:
    diamond = flow(
        [
            {"id": "start", "agent_id": "in"},
            {"id": "left", "agent_id": "p", "depends_on": ["start"]},
            {"id": "right", "agent_id": "p", "depends_on": ["start"]},
            {"id": "join", "agent_id": "out", "depends_on": ["left", "right"]},
        ],
        entry="start",
        exits=["join"],
    )
    assert chart(diamond.to_mermaid("LR")) == [
        'n0(["start<br/>agent: in"])',
        'n1["left<br/>agent: p"]',
        'n2["right<br/>agent: p"]',
        'n3[["join<br/>agent: out"]]',
        "n0 --> n1",
        "n0 --> n2",
        "n1 --> n3",
        "n2 --> n3",
        "class n0 entry",
        "class n3 exit",
    ]
    assert diamond.to_mermaid("LR").startswith("flowchart LR\n")


def test_node_ids_are_never_mermaid_ids() -> None:
    # "end" is a Mermaid keyword, "o"/"x" after an arrow change its head: ids stay labels.
    text = flow([{"id": "end"}, {"id": "o", "depends_on": ["end"]}]).to_mermaid()
    assert chart(text) == ['n0["end"]', 'n1["o"]', "n0 --> n1"]


def test_labels_are_escaped() -> None:
    text = flow([{"id": 'a"b<i>#1&`\n\tc', "agent_id": "x]y"}]).to_mermaid()
    assert chart(text) == ['n0["a#34;b#60;i#62;#35;1#38;#96;  c<br/>agent: x]y"]']


def test_nodes_named_but_missing_are_drawn_dashed() -> None:
    text = flow([{"id": "b", "depends_on": ["a"]}], entry="a", exits=["b", "z"]).to_mermaid()
    assert chart(text) == [
        'n0[["b"]]',
        'm0["a"]',
        'm1["z"]',
        "m0 --> n0",
        "class m0 entry",
        "class n0,m1 exit",
        "class m0,m1 missing",
    ]


def test_a_single_node_that_is_entry_and_exit() -> None:
    text = flow([{"id": "only"}], entry="only", exits=["only", "only"]).to_mermaid()
    assert chart(text) == ['n0(["only"])', "class n0 entry", "class n0 exit"]


def test_an_empty_flow_is_an_empty_chart() -> None:
    assert chart(FlowModel().to_mermaid()) == []


def test_a_repeated_node_id_is_drawn_twice_and_referenced_once() -> None:
    text = flow([{"id": "a"}, {"id": "a"}, {"id": "b", "depends_on": ["a"]}]).to_mermaid()
    assert chart(text) == ['n0["a"]', 'n1["a"]', 'n2["b"]', "n0 --> n2"]


@pytest.mark.parametrize("direction", ["td", "down", "", "TD\n"])
def test_an_unknown_direction_is_a_validation_error(direction: str) -> None:
    with pytest.raises(ValidationError, match="direction must be one of TD, TB, BT, LR, RL"):
        FlowModel().to_mermaid(direction)


NODE_IDS = st.text(max_size=6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": NODE_IDS, "depends_on": st.lists(NODE_IDS, max_size=3)},
            optional={"agent_id": st.none() | st.text(max_size=6)},
        ),
        max_size=6,
    ),
    NODE_IDS,
    st.lists(NODE_IDS, max_size=3),
)
def test_any_flow_draws_a_chart_of_safe_lines(
    nodes: List[Dict[str, Any]], entry: str, exits: List[str]
) -> None:
    drawn = flow(nodes, entry, exits)
    text = drawn.to_mermaid()
    assert text == flow(nodes, entry, exits).to_mermaid()  # deterministic
    statements = chart(text)
    node_line = re.compile(r'^[nm]\d+(\(\["[^"]*"\]\)|\[\["[^"]*"\]\]|\["[^"]*"\])$')
    edge_line = re.compile(r"^[nm]\d+ --> n\d+$")
    class_line = re.compile(r"^class [nm]\d+(,[nm]\d+)* (entry|exit|missing)$")
    for line in statements:
        assert node_line.match(line) or edge_line.match(line) or class_line.match(line), line
        assert "\n" not in line and "`" not in line and "<" not in line.replace("<br/>", "")
    edges = sum(len(node["depends_on"]) for node in nodes)
    assert len([line for line in statements if "-->" in line]) == edges
