"""Flow and agent ids, as properties: for any string, either the SDK refuses it before sending
anything, or the request reaches exactly its route, the id being the one path segment after the
route's prefix once the server has decoded the path."""

import re
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import unquote, urlsplit

import pytest
import responses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ai_spine import AISpine, ValidationError
from ai_spine import _operations as ops
from ai_spine.constants import RESERVED_AGENT_IDS, RESERVED_FLOW_IDS, RESOURCE_ID_MAX_BYTES

BASE = "https://ids.example.test"
FLOWS = "/api/v1/flows/"
AGENTS = "/api/v1/agents/"
AGENT = {"agent_id": "a", "name": "A", "description": "", "endpoint": "http://127.0.0.1:9/a",
         "capabilities": [], "agent_type": "processor"}  # fmt: skip

# Any text at all, surrogates and control characters included, plus the ids near the edges.
ANY_CHARACTER = st.one_of(
    st.characters(),
    st.integers(0, 0x10FFFF).map(chr),
    st.sampled_from("/.%?#;\\ \t\x00\x7f\x85\ud800é€"),
)
ANY_TEXT = st.text(ANY_CHARACTER, max_size=40)
IDS = st.one_of(
    ANY_TEXT,
    st.sampled_from(sorted(RESERVED_FLOW_IDS | RESERVED_AGENT_IDS) + [".", "..", "...", "%2F"]),
    st.builds(lambda n, c: c * n, st.integers(990, 1010), st.sampled_from(["a", "é", "%"])),
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def routable(value: str, reserved: Any) -> bool:
    """The rule, said independently of the SDK's code."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return (
        value != ""
        and "/" not in value
        and value not in (".", "..")
        and not re.search(r"[\x00-\x1f\x7f-\x9f]", value)
        and size <= RESOURCE_ID_MAX_BYTES
        and value not in reserved
    )


def paths_seen(call: Callable[[AISpine], Any]) -> Tuple[List[str], bool]:
    """Run ``call`` against a server that answers anything; return the decoded paths it saw
    and whether the SDK refused the call with a ValidationError."""
    seen: List[str] = []

    def answer(request: Any) -> Tuple[int, Dict[str, str], str]:
        seen.append(unquote(urlsplit(request.url).path, errors="strict"))
        return 200, {"Content-Type": "application/json"}, '{"agent_id": "a", "flow_id": "f"}'

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "PUT", "DELETE", "POST"):
            mock.add_callback(method, re.compile(re.escape(BASE) + "/.*"), callback=answer)
        try:
            with AISpine(base_url=BASE, max_retries=0, access_token="tok") as client:
                call(client)
        except ValidationError:
            return seen, True
    return seen, False


def assert_inside_route(value: str, prefix: str, reserved: Any, call: Any) -> None:
    seen, refused = paths_seen(call)
    if refused:
        assert seen == []  # nothing was sent
        assert not routable(value, reserved)
        return
    assert routable(value, reserved)
    assert len(seen) == 1
    path = seen[0]
    assert path.startswith(prefix)
    segment = path[len(prefix) :]
    assert "/" not in segment and segment == value


@pytest.mark.parametrize(
    "method, prefix, reserved",
    [
        ("get_flow", FLOWS, RESERVED_FLOW_IDS),
        ("delete_flow", FLOWS, RESERVED_FLOW_IDS),
        ("get_agent", AGENTS, RESERVED_AGENT_IDS),
        ("delete_agent", AGENTS, RESERVED_AGENT_IDS),
    ],
)
@PROPERTY
@given(value=IDS)
@example(value="a b?c#d%2Fe")
@example(value="my-flows")
@example(value="active")
@example(value="..")
def test_a_route_with_an_id_is_reached_or_nothing_is_sent(
    method: str, prefix: str, reserved: Any, value: str
) -> None:
    assert_inside_route(value, prefix, reserved, lambda c: getattr(c, method)(value))


@settings(max_examples=1000, deadline=None)
@given(IDS)
def test_every_operation_on_an_id_decodes_to_one_segment_or_is_refused(value: str) -> None:
    builders = [
        (FLOWS, RESERVED_FLOW_IDS, lambda: ops.get_flow(value)),
        (FLOWS, RESERVED_FLOW_IDS, lambda: ops.delete_flow(value, "t")),
        (AGENTS, RESERVED_AGENT_IDS, lambda: ops.delete_agent(value)),
    ]
    for prefix, reserved, build in builders:
        try:
            path = build().path
        except ValidationError:
            assert not routable(value, reserved)
            continue
        assert routable(value, reserved)
        assert path == prefix + path[len(prefix) :]
        assert unquote(path[len(prefix) :], errors="strict") == value
        assert re.fullmatch(r"[A-Za-z0-9_.~%-]+", path[len(prefix) :])  # all else encoded


@settings(max_examples=300, deadline=None)
@given(IDS)
def test_a_body_id_follows_the_same_rule(value: str) -> None:
    try:
        ops.create_agent(dict(AGENT, agent_id=value))
    except ValidationError:
        assert not routable(value, RESERVED_AGENT_IDS)
    else:
        assert routable(value, RESERVED_AGENT_IDS)
