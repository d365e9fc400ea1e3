"""The signed-in user's account routes: API key status, generate, revoke, and the profile."""

from typing import Any, Dict, Iterator

import pytest
import requests

from ai_spine.testing import LocalAISpine

from ._support import API_KEY_FORMAT, NO_USER_TOKEN

ACCOUNT = "/api/v1/user/account"
ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}
BOB_ID = "b0b0b0b0-1111-4222-8333-444444444444"
ROUTES = [
    ("GET", ACCOUNT + "/api-key/status"),
    ("POST", ACCOUNT + "/api-key/generate"),
    ("POST", ACCOUNT + "/api-key/revoke"),
    ("GET", ACCOUNT + "/profile"),
]


@pytest.fixture
def team() -> Iterator[LocalAISpine]:
    """API-key checks on; alice and bob have user tokens that double as their API keys."""
    tokens = {"alice-token": "alice", "bob-token": BOB_ID}
    with LocalAISpine(api_key="secret-key", user_tokens=tokens) as server:
        yield server


def _call(
    http: requests.Session, server: LocalAISpine, method: str, path: str, headers: Dict[str, str]
) -> requests.Response:
    return http.request(method, server.url + path, headers=headers)


def _json(answer: requests.Response, status: int = 200) -> Dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: Dict[str, Any] = answer.json()
    return body


def _key_owner(user_id: str, email: str) -> Dict[str, Any]:
    """What users/me says of the owner of a user key that has a first key's balance."""
    return {
        "id": user_id,
        "email": email,
        "name": None,
        "organization": None,
        "credits": 1000,
        "rate_limit": 100,
    }


def _generate(http: requests.Session, server: LocalAISpine, headers: Dict[str, str]) -> str:
    body = _json(http.post(server.url + ACCOUNT + "/api-key/generate", headers=headers))
    return str(body["api_key"])


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("headers, detail", NO_USER_TOKEN)
def test_account_routes_need_a_user_token(
    server: LocalAISpine,
    http: requests.Session,
    method: str,
    path: str,
    headers: Dict[str, str],
    detail: str,
) -> None:
    answer = _call(http, server, method, path, headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": detail}
    assert "WWW-Authenticate" not in answer.headers


@pytest.mark.parametrize("method, path", ROUTES)
def test_a_token_naming_no_user_fails_authentication(
    http: requests.Session, method: str, path: str
) -> None:
    # user_tokens={} is a server whose identity provider knows nobody.
    with LocalAISpine(user_tokens={}) as server:
        for token in ("Bearer invalid.token.value", "invalid.token.value"):
            answer = _call(http, server, method, path, {"Authorization": token})
            assert answer.status_code == 401
            assert answer.json() == {"detail": "Authentication failed"}
            assert "WWW-Authenticate" not in answer.headers


def test_status_of_a_user_without_a_key(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.get(server.url + ACCOUNT + "/api-key/status", headers=ALICE)
    assert _json(answer) == {
        "has_api_key": False,
        "api_key_masked": None,
        "message": "No API key generated yet",
    }


def test_generate_creates_then_regenerates(server: LocalAISpine, http: requests.Session) -> None:
    url = server.url + ACCOUNT + "/api-key/generate"
    warning = "Store this key securely. It won't be shown again in full."
    first = _json(http.post(url, headers=ALICE))
    assert API_KEY_FORMAT.match(first.pop("api_key"))
    assert first == {
        "message": "API key created successfully",
        "action": "created",
        "warning": warning,
    }
    created = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=ALICE))

    second = _json(http.post(url, headers=ALICE))
    assert second["message"] == "API key regenerated successfully"
    assert second["action"] == "regenerated"
    assert second["warning"] == warning
    key = second["api_key"]
    assert API_KEY_FORMAT.match(key)

    status = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=ALICE))
    assert status["api_key_masked"] == key[:6] + "..." + key[-4:] != created["api_key_masked"]
    # A regenerated key keeps the record: its creation time and the first key's balance.
    assert status == dict(created, api_key_masked=status["api_key_masked"])
    assert (status["has_api_key"], status["credits"], status["rate_limit"]) == (True, 1000, 100)
    assert status["created_at"].endswith("+00:00")
    assert status["last_used_at"] is None


def test_each_user_has_their_own_key(server: LocalAISpine, http: requests.Session) -> None:
    _generate(http, server, ALICE)
    bob = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=BOB))
    assert bob["has_api_key"] is False
    assert _generate(http, server, BOB) != _generate(http, server, ALICE)


def test_revoke(server: LocalAISpine, http: requests.Session) -> None:
    url = server.url + ACCOUNT + "/api-key/revoke"
    assert _json(http.post(url, headers=ALICE), 404) == {"detail": "No API key found to revoke"}
    _generate(http, server, ALICE)
    revoked = _json(http.post(url, headers=ALICE))
    assert revoked == {"message": "API key revoked successfully", "status": "revoked"}
    status = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=ALICE))
    assert status["has_api_key"] is False
    # The record went with the key: the next key is a first key again.
    assert (
        _json(http.post(server.url + ACCOUNT + "/api-key/generate", headers=ALICE))["action"]
        == "created"
    )


def test_profile(server: LocalAISpine, http: requests.Session) -> None:
    url = server.url + ACCOUNT + "/profile"
    without_key = _json(http.get(url, headers=ALICE), 500)
    assert without_key == {"detail": "Failed to retrieve user profile"}
    _generate(http, server, ALICE)
    user_id = _json(http.get(server.url + "/api/v1/flows", headers=ALICE))["user_id"]
    assert _json(http.get(url, headers=ALICE)) == {
        "user_id": user_id,
        "api_status": {"has_api_key": True, "credits": 1000, "rate_limit": 100},
        "usage": {"total_requests": 0, "last_used_at": None},
    }


def test_a_bare_jwt_is_a_user_token(server: LocalAISpine, http: requests.Session) -> None:
    _generate(http, server, {"Authorization": "Bearer a.b.c"})
    status = http.get(server.url + ACCOUNT + "/api-key/status", headers={"Authorization": "a.b.c"})
    assert _json(status)["has_api_key"] is True


def test_issued_keys_are_api_keys(team: LocalAISpine, http: requests.Session) -> None:
    key = _generate(http, team, ALICE)
    with_key = {"Authorization": "Bearer " + key}
    me = _json(http.get(team.url + "/api/v1/users/me", headers=with_key))
    assert me == _key_owner("alice", "user_alice@api.com")
    assert http.get(team.url + "/metrics", headers=with_key).status_code == 200

    # Every request the key authenticated counts in the profile's usage.
    usage = _json(http.get(team.url + ACCOUNT + "/profile", headers=ALICE))["usage"]
    assert usage["total_requests"] == 2
    assert usage["last_used_at"].endswith("+00:00")
    status = _json(http.get(team.url + ACCOUNT + "/api-key/status", headers=ALICE))
    assert status["last_used_at"] == usage["last_used_at"]

    # A new key replaces the old one at once; a revoked key stops working.
    new_key = _generate(http, team, ALICE)
    refused = http.get(team.url + "/metrics", headers=with_key)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid API key"}
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    with_new_key = {"Authorization": "Bearer " + new_key}
    assert http.get(team.url + "/metrics", headers=with_new_key).status_code == 200
    http.post(team.url + ACCOUNT + "/api-key/revoke", headers=ALICE)
    assert http.get(team.url + "/metrics", headers=with_new_key).status_code == 401


def test_users_me_for_a_user_token_without_a_key(
    team: LocalAISpine, http: requests.Session
) -> None:
    me = _json(http.get(team.url + "/api/v1/users/me", headers=BOB))
    # The made-up email carries the first 8 characters of the user id.
    assert me == _key_owner(BOB_ID, "user_b0b0b0b0@api.com")


def test_an_api_key_is_not_a_user_token(team: LocalAISpine, http: requests.Session) -> None:
    # As on the real server, where an API key is not a Supabase access token.
    alice_key = _generate(http, team, {"Authorization": "Bearer alice-token"})
    for key in ("secret-key", alice_key):
        answer = http.get(
            team.url + ACCOUNT + "/profile", headers={"Authorization": "Bearer " + key}
        )
        assert answer.status_code == 401
        assert answer.json() == {"detail": "Authentication failed"}


def test_the_api_key_manages_the_master_users_key_when_allowed(http: requests.Session) -> None:
    with LocalAISpine(api_key="secret-key", api_key_as_user_token=True) as team:
        master = {"Authorization": "Bearer secret-key"}
        key = _generate(http, team, master)
        profile = _json(http.get(team.url + ACCOUNT + "/profile", headers=master))
        assert profile["user_id"] == "master"
        # The server's own key keeps naming the fixed master user on users/me.
        me = _json(http.get(team.url + "/api/v1/users/me", headers=master))
        assert me["credits"] == 999999
        issued = _json(
            http.get(team.url + "/api/v1/users/me", headers={"Authorization": "Bearer " + key})
        )
        assert issued["id"] == "master"


def test_add_api_key_seeds_a_key(http: requests.Session) -> None:
    with LocalAISpine(user_tokens={"carol-token": "carol"}) as server:
        key = server.add_api_key("carol")
        assert API_KEY_FORMAT.match(key)
        carol = {"Authorization": "Bearer carol-token"}
        status = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=carol))
        assert status["api_key_masked"] == key[:6] + "..." + key[-4:]
        replacement = server.add_api_key("carol")
        status = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=carol))
        assert status["api_key_masked"] == replacement[:6] + "..." + replacement[-4:]
        server.reset()
        status = _json(http.get(server.url + ACCOUNT + "/api-key/status", headers=carol))
        assert status["has_api_key"] is False
