"""The issue 7 surface on AISpine, against a mocked HTTP layer: execution pages and messages,
active agents, the account routes and the deprecated 2.x key methods. Each test checks the
request sent (method, path, query, body, Authorization), the value returned and the errors.
AsyncAISpine sends the same operations; tests/integration runs both clients end to end."""

import json
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional

import pytest
import responses
from responses import matchers

from ai_spine import (
    AISpine,
    AuthenticationError,
    NotFoundError,
    ServerError,
    ValidationError,
)

BASE = "https://api.example.test"
EID = "4ee0c6d2-3e51-4af5-a19c-6117546f9cdc"
USER_ID = "5f0c2b7e-3d4a-4b8e-9c1d-2e3f4a5b6c7d"
Recorded = Callable[[str], Any]


def query(call: Any) -> Dict[str, List[str]]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(call.request.url).query)


def authorization(call: Any) -> Optional[str]:
    return call.request.headers.get("Authorization")  # type: ignore[no-any-return]


def executions(*statuses: str, start: int = 0) -> List[Dict[str, Any]]:
    return [
        {"execution_id": "e{}".format(start + i), "status": status}
        for i, status in enumerate(statuses)
    ]


def page_answer(items: List[Dict[str, Any]], limit: int, offset: int) -> Dict[str, Any]:
    return {"executions": items, "count": len(items), "limit": limit, "offset": offset}


# --- list_executions(status=) ------------------------------------------------------------------


def test_list_executions_sends_status_and_filters_the_page_the_server_did_not(
    client: AISpine, mock: responses.RequestsMock, recorded: Recorded
) -> None:
    exchange = recorded("executions_list_status_filter")
    assert exchange["request"]["query"] == {"status": "failed"}
    mock.get(
        BASE + "/api/v1/executions",
        json=exchange["response"]["body"],
        match=[matchers.query_param_matcher({"limit": "20", "offset": "0", "status": "failed"})],
    )
    failed = client.list_executions(status="failed")
    assert [e["status"] for e in failed] == ["failed"]
    everything = exchange["response"]["body"]["executions"]
    assert failed == [e for e in everything if e["status"] == "failed"]


def test_list_executions_without_status_sends_none_and_keeps_every_execution(
    client: AISpine, mock: responses.RequestsMock, recorded_body: Recorded
) -> None:
    body = recorded_body("executions_list_status_filter")
    mock.get(
        BASE + "/api/v1/executions",
        json=body,
        match=[matchers.query_param_matcher({"limit": "5", "offset": "3"})],
    )
    assert client.list_executions(5, 3) == body["executions"]


@pytest.mark.parametrize("status", ["FAILED", "done", "", 1, True])
def test_list_executions_refuses_an_unknown_status_before_sending(
    client: AISpine, mock: responses.RequestsMock, status: Any
) -> None:
    with pytest.raises(ValidationError, match="status must be one of cancelled, completed, "):
        client.list_executions(status=status)
    assert len(mock.calls) == 0


# --- iter_executions ---------------------------------------------------------------------------


def register_pages(mock: responses.RequestsMock, size: int, *pages: Any, **extra: str) -> None:
    offset = 0
    for items in pages:
        params = dict({"limit": str(size), "offset": str(offset)}, **extra)
        mock.get(
            BASE + "/api/v1/executions",
            json=page_answer(items, size, offset),
            match=[matchers.query_param_matcher(params)],
        )
        offset += len(items)


def test_iter_executions_walks_pages_until_a_short_one(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    first, second, last = (
        executions("completed", "failed"),
        executions("running", "completed", start=2),
        executions("failed", start=4),
    )
    register_pages(mock, 2, first, second, last)
    walk = client.iter_executions(page_size=2)
    assert len(mock.calls) == 0  # nothing is fetched before it is needed
    assert next(walk) == first[0]
    assert len(mock.calls) == 1
    assert [e["execution_id"] for e in walk] == ["e1", "e2", "e3", "e4"]
    assert len(mock.calls) == 3


def test_iter_executions_ends_on_an_empty_page_after_full_ones(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    register_pages(mock, 2, executions("completed", "failed"), [])
    assert len(list(client.iter_executions(page_size=2))) == 2


def test_iter_executions_with_a_status_walks_past_pages_without_a_match(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    # Today's server ignores status: full pages of other statuses must not end the walk.
    register_pages(
        mock,
        2,
        executions("completed", "completed"),
        executions("running", "completed", start=2),
        executions("failed", start=4),
        status="failed",
    )
    assert [e["execution_id"] for e in client.iter_executions(2, status="failed")] == ["e4"]
    assert len(mock.calls) == 3


def test_iter_executions_yields_an_execution_once_when_new_ones_shift_the_pages(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    # A new execution arrived between the first two requests: e1 moved into the second page.
    register_pages(mock, 2, executions("completed", "failed"), executions("failed", "x", start=1))
    mock.get(
        BASE + "/api/v1/executions",
        json=page_answer([], 2, 4),
        match=[matchers.query_param_matcher({"limit": "2", "offset": "4"})],
    )
    assert [e["execution_id"] for e in client.iter_executions(page_size=2)] == ["e0", "e1", "e2"]


@pytest.mark.parametrize(
    "kwargs", [{"page_size": 0}, {"page_size": "5"}, {"status": "done"}, {"page_size": False}]
)
def test_iter_executions_checks_its_arguments_when_called(
    client: AISpine, mock: responses.RequestsMock, kwargs: Any
) -> None:
    with pytest.raises(ValidationError):
        client.iter_executions(**kwargs)
    assert len(mock.calls) == 0


def test_iter_executions_raises_a_failed_page_from_the_iteration(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    register_pages(mock, 1, executions("completed"))
    mock.get(BASE + "/api/v1/executions", status=500, json={"detail": "boom"})
    walk = client.iter_executions(page_size=1)
    assert next(walk)["execution_id"] == "e0"
    with pytest.raises(ServerError, match="boom"):
        next(walk)


# --- get_execution_messages --------------------------------------------------------------------


def test_get_execution_messages_returns_the_list_with_the_server_defaults(
    client: AISpine, mock: responses.RequestsMock, recorded: Recorded
) -> None:
    exchange = recorded("execution_messages")
    mock.get(
        BASE + exchange["request"]["path"],
        json=exchange["response"]["body"],
        match=[matchers.query_param_matcher({"limit": "100", "offset": "0"})],
    )
    assert client.get_execution_messages(EID.upper()) == []
    assert mock.calls[0].request.method == "GET"


def test_get_execution_messages_pages(
    client: AISpine, mock: responses.RequestsMock, recorded: Recorded
) -> None:
    exchange = recorded("execution_messages_paged")
    mock.get(
        BASE + exchange["request"]["path"],
        json=exchange["response"]["body"],
        match=[matchers.query_param_matcher(exchange["request"]["query"])],
    )
    execution_id = exchange["request"]["path"].split("/")[-2]
    assert client.get_execution_messages(execution_id, limit=10, offset=5) == []


def test_get_execution_messages_keeps_every_field_of_a_message(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    message = {"id": "m1", "execution_id": EID, "from_agent": "a", "content": {"x": 1}, "new": 2}
    mock.get(
        BASE + "/api/v1/executions/{}/messages".format(EID),
        json={"messages": [message], "count": 1, "execution_id": EID},
    )
    assert client.get_execution_messages(EID) == [message]


@pytest.mark.parametrize("args", [("not-a-uuid",), (EID, 0), (EID, 10, -1), (EID, 1.5), (None,)])
def test_get_execution_messages_checks_before_sending(
    client: AISpine, mock: responses.RequestsMock, args: Any
) -> None:
    with pytest.raises(ValidationError):
        client.get_execution_messages(*args)
    assert len(mock.calls) == 0


def test_get_execution_messages_refuses_an_answer_without_a_list(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "/api/v1/executions/{}/messages".format(EID), json={"count": 0})
    with pytest.raises(ServerError, match="'messages' list"):
        client.get_execution_messages(EID)


# --- list_active_agents ------------------------------------------------------------------------


def test_list_active_agents(
    client: AISpine, mock: responses.RequestsMock, recorded: Recorded
) -> None:
    exchange = recorded("agents_list_active_excludes_inactive")
    mock.get(BASE + exchange["request"]["path"], json=exchange["response"]["body"])
    agents = client.list_active_agents()
    assert [a["agent_id"] for a in agents] == ["echo_a", "echo_b"]
    assert all(a["is_active"] for a in agents)
    assert authorization(mock.calls[0]) is None


# --- Account routes (user token) ---------------------------------------------------------------

ACCOUNT = BASE + "/api/v1/user/account"
KEY_STATUS = {
    "has_api_key": True,
    "api_key_masked": "sk_abc...wxyz",
    "credits": 1000,
    "rate_limit": 100,
    "created_at": "2026-11-29T18:50:23.534190+00:00",
    "last_used_at": None,
}
PROFILE = {
    "user_id": USER_ID,
    "api_status": {"has_api_key": True, "credits": 1000, "rate_limit": 100},
    "usage": {"total_requests": 3, "last_used_at": None},
}
ISSUED = {
    "message": "API key created successfully",
    "api_key": "sk_" + "a" * 43,
    "action": "created",
    "warning": "Store this key securely. It won't be shown again in full.",
}
REVOKED = {"message": "API key revoked successfully", "status": "revoked"}


class Route(NamedTuple):
    """A client method, the route it calls and its success answer; ``other`` is the
    recording's name for an account route, the replacement's name for a deprecated one."""

    name: str
    method: str
    path: str
    body: Any
    other: str


account_calls = pytest.mark.parametrize(
    "route",
    [
        Route("get_user_profile", "GET", "/profile", PROFILE, "user_account_profile"),
        Route(
            "get_api_key_status", "GET", "/api-key/status", KEY_STATUS, "user_account_key_status"
        ),
        Route("generate_api_key", "POST", "/api-key/generate", ISSUED, "user_account_key_generate"),
        Route("revoke_api_key", "POST", "/api-key/revoke", REVOKED, "user_account_key_revoke"),
    ],
    ids=lambda r: r.name,
)


@account_calls
def test_account_methods_send_the_user_token_and_return_the_answer(
    client: AISpine,
    mock: responses.RequestsMock,
    route: Route,
) -> None:
    name, method, path, body, _ = route
    mock.add(method, ACCOUNT + path, json=body)
    assert getattr(client, name)(access_token="user-tok") == body
    call = mock.calls[0]
    assert (call.request.method, authorization(call)) == (method, "Bearer user-tok")
    assert call.request.body is None and query(call) == {}


@account_calls
def test_account_methods_default_to_the_clients_token_then_its_key(
    mock: responses.RequestsMock,
    route: Route,
) -> None:
    name, method, path, body, _ = route
    mock.add(method, ACCOUNT + path, json=body)
    mock.add(method, ACCOUNT + path, json=body)
    with AISpine(base_url=BASE, api_key="sk-key", access_token="client-tok") as sdk:
        getattr(sdk, name)()
    with AISpine(base_url=BASE, api_key="sk-key") as sdk:
        getattr(sdk, name)()
    assert [authorization(c) for c in mock.calls] == ["Bearer client-tok", "Bearer sk-key"]


@account_calls
def test_account_methods_without_any_token_send_nothing(
    mock: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    route: Route,
) -> None:
    name = route.name
    monkeypatch.delenv("AI_SPINE_API_KEY", raising=False)
    with AISpine(base_url=BASE) as sdk:
        with pytest.raises(AuthenticationError, match=name + " needs a user access token"):
            getattr(sdk, name)()
        with pytest.raises(ValidationError, match="access_token"):
            getattr(sdk, name)(access_token="two words")
    assert len(mock.calls) == 0


@account_calls
@pytest.mark.parametrize("case", ["no_auth", "bad_token"])
def test_account_methods_raise_the_recorded_401s(
    client: AISpine,
    mock: responses.RequestsMock,
    recorded: Recorded,
    route: Route,
    case: str,
) -> None:
    name, method, path, _, recording = route
    exchange = recorded("{}_{}".format(recording, case))
    assert (exchange["request"]["method"], exchange["request"]["path"]) == (
        method,
        "/api/v1/user/account" + path,
    )
    response = exchange["response"]
    mock.add(method, ACCOUNT + path, json=response["body"], status=response["status"])
    with pytest.raises(AuthenticationError, match=response["body"]["detail"]) as caught:
        getattr(client, name)(access_token="invalid.token.value")
    assert caught.value.status_code == 401
    assert "www-authenticate" not in caught.value.headers


def test_key_status_without_a_key(client: AISpine, mock: responses.RequestsMock) -> None:
    none = {"has_api_key": False, "api_key_masked": None, "message": "No API key generated yet"}
    mock.get(ACCOUNT + "/api-key/status", json=none)
    assert client.get_api_key_status(access_token="t") == none


def test_profile_of_a_user_without_a_key_is_the_servers_500(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.get(ACCOUNT + "/profile", status=500, json={"detail": "Failed to retrieve user profile"})
    with pytest.raises(ServerError, match="Failed to retrieve user profile"):
        client.get_user_profile(access_token="t")
    assert len(mock.calls) == 1  # a 500 is not retried


def test_revoking_without_a_key_is_not_found(client: AISpine, mock: responses.RequestsMock) -> None:
    mock.post(
        ACCOUNT + "/api-key/revoke", status=404, json={"detail": "No API key found to revoke"}
    )
    with pytest.raises(NotFoundError, match="No API key found to revoke"):
        client.revoke_api_key(access_token="t")


def test_generating_a_key_is_never_sent_twice(
    client: AISpine, mock: responses.RequestsMock
) -> None:
    mock.post(ACCOUNT + "/api-key/generate", status=503, json={"detail": "busy"})
    with pytest.raises(ServerError):
        client.generate_api_key(access_token="t")
    assert len(mock.calls) == 1


# --- Deprecated 2.x key methods ----------------------------------------------------------------

KEYS = BASE + "/api/v1/user/keys"
USER_KEY = {
    "has_api_key": True,
    "api_key": "sk_" + "b" * 43,
    "credits": 1000,
    "rate_limit": 100,
    "created_at": "2026-11-29T18:50:23.534190+00:00",
    "last_used_at": None,
}
REGENERATED = {
    "message": "API key regenerated successfully",
    "api_key": "sk_" + "c" * 43,
    "action": "regenerated",
}
deprecated = pytest.mark.parametrize(
    "route",
    [
        Route("check_user_api_key", "GET", "/my-key", USER_KEY, "get_api_key_status"),
        Route("generate_user_api_key", "POST", "/generate", REGENERATED, "generate_api_key"),
        Route("revoke_user_api_key", "DELETE", "/revoke", REVOKED, "revoke_api_key"),
    ],
    ids=lambda r: r.name,
)


@deprecated
def test_deprecated_key_methods_return_the_2x_shapes_and_warn_at_the_caller(
    client: AISpine,
    mock: responses.RequestsMock,
    route: Route,
) -> None:
    name, method, path, body, replacement = route
    mock.add(method, KEYS + path, json=body)
    with pytest.warns(DeprecationWarning) as caught:
        result = getattr(client, name)(USER_ID)
    assert result == body
    (warning,) = caught.list
    assert warning.filename == __file__  # stacklevel points at the caller, not the SDK
    assert str(warning.message).startswith(name + "() is deprecated")
    assert replacement + "(access_token=...)" in str(warning.message)
    call = mock.calls[0]
    assert call.request.method == method
    if method == "GET":
        assert query(call) == {"user_id": [USER_ID]} and call.request.body is None
    else:
        assert json.loads(call.request.body) == {"user_id": USER_ID} and query(call) == {}


@deprecated
@pytest.mark.parametrize("user_id", ["", "  ", None, 5])
def test_deprecated_key_methods_check_the_user_id_before_sending(
    client: AISpine,
    mock: responses.RequestsMock,
    route: Route,
    user_id: Any,
) -> None:
    name = route.name
    with pytest.warns(DeprecationWarning), pytest.raises(ValidationError, match="user_id"):
        getattr(client, name)(user_id)
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    "name, recording",
    [
        ("check_user_api_key", "user_keys_my_key_offline_500"),
        ("generate_user_api_key", "user_keys_generate_offline_500"),
        ("revoke_user_api_key", "user_keys_revoke_offline_500"),
    ],
)
def test_deprecated_key_methods_raise_the_servers_500(
    client: AISpine, mock: responses.RequestsMock, recorded: Recorded, name: str, recording: str
) -> None:
    exchange = recorded(recording)
    request, response = exchange["request"], exchange["response"]
    mock.add(
        request["method"], BASE + request["path"], json=response["body"], status=response["status"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ServerError, match=response["body"]["detail"]):
            getattr(client, name)(USER_ID)
    call = mock.calls[0]
    if request["body"] is not None:
        assert json.loads(call.request.body) == request["body"]
    else:
        assert query(call) == {k: [v] for k, v in request["query"].items()}
