"""The deprecated /api/v1/user/keys routes: no auth, a user_id they trust, 500s without a key."""

from typing import Any, Dict

import pytest
import requests

from ai_spine.testing import LocalAISpine

from ._support import API_KEY_FORMAT

KEYS = "/api/v1/user/keys"
USER_ID = "5f0c2b7e-3d4a-4b8e-9c1d-2e3f4a5b6c7d"
MISSING_BODY = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}


def _my_key(http: requests.Session, server: LocalAISpine, user_id: str) -> requests.Response:
    return http.get(server.url + KEYS + "/my-key", params={"user_id": user_id})


def test_my_key_shows_the_full_key(server: LocalAISpine, http: requests.Session) -> None:
    key = server.add_api_key(USER_ID)
    answer = _my_key(http, server, USER_ID)
    assert answer.status_code == 200
    body = answer.json()
    assert body["created_at"].endswith("+00:00")
    assert body == {
        "has_api_key": True,
        "api_key": key,
        "credits": 1000,
        "rate_limit": 100,
        "created_at": body["created_at"],
        "last_used_at": None,
    }


@pytest.mark.parametrize("user_id", [USER_ID, ""])
def test_my_key_of_a_user_without_a_key_is_500(
    server: LocalAISpine, http: requests.Session, user_id: str
) -> None:
    answer = _my_key(http, server, user_id)
    assert answer.status_code == 500
    assert answer.json() == {"detail": "Failed to retrieve API key"}


def test_my_key_needs_a_user_id(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.get(server.url + KEYS + "/my-key")
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [{"type": "missing", "loc": ["query", "user_id"], "msg": "Field required",
                    "input": None}]
    }  # fmt: skip


def test_generate_replaces_an_existing_key(server: LocalAISpine, http: requests.Session) -> None:
    old_key = server.add_api_key(USER_ID)
    answer = http.post(server.url + KEYS + "/generate", json={"user_id": USER_ID})
    assert answer.status_code == 200
    body = answer.json()
    new_key = body.pop("api_key")
    assert API_KEY_FORMAT.match(new_key) and new_key != old_key
    assert body == {"message": "API key regenerated successfully", "action": "regenerated"}
    assert _my_key(http, server, USER_ID).json()["api_key"] == new_key


def test_generate_cannot_create_a_first_key(server: LocalAISpine, http: requests.Session) -> None:
    answer = http.post(server.url + KEYS + "/generate", json={"user_id": USER_ID})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "Failed to generate API key: no API key to regenerate"}
    assert _my_key(http, server, USER_ID).status_code == 500


def test_revoke_deletes_the_key(server: LocalAISpine, http: requests.Session) -> None:
    server.add_api_key(USER_ID)
    url = server.url + KEYS + "/revoke"
    answer = http.delete(url, json={"user_id": USER_ID})
    assert answer.status_code == 200
    assert answer.json() == {"message": "API key revoked successfully", "status": "revoked"}
    assert _my_key(http, server, USER_ID).status_code == 500
    again = http.delete(url, json={"user_id": USER_ID})
    assert again.status_code == 500
    assert again.json() == {"detail": "Failed to revoke API key"}


@pytest.mark.parametrize(
    "raw, detail",
    [
        (None, MISSING_BODY),
        (b"null", MISSING_BODY),
        (b"{}", {"type": "missing", "loc": ["body", "user_id"], "msg": "Field required",
                 "input": {}}),
        (b'{"user_id": 5}', {"type": "string_type", "loc": ["body", "user_id"],
                             "msg": "Input should be a valid string", "input": 5}),
        (b"[]", {"type": "model_attributes_type", "loc": ["body"],
                 "msg": "Input should be a valid dictionary or object to extract fields from",
                 "input": []}),
        (b'{"user_id": ', {"type": "json_invalid", "loc": ["body", 12],
                           "msg": "JSON decode error", "input": {},
                           "ctx": {"error": "Expecting value"}}),
    ],
)  # fmt: skip
@pytest.mark.parametrize("method, path", [("POST", "/generate"), ("DELETE", "/revoke")])
def test_generate_and_revoke_validate_their_body(
    server: LocalAISpine,
    http: requests.Session,
    method: str,
    path: str,
    raw: Any,
    detail: Dict[str, Any],
) -> None:
    server.add_api_key(USER_ID)
    headers = {"Content-Type": "application/json"}
    answer = http.request(method, server.url + KEYS + path, data=raw, headers=headers)
    assert answer.status_code == 422
    assert answer.json() == {"detail": [detail]}
    # Nothing changed.
    assert _my_key(http, server, USER_ID).status_code == 200


def test_anyone_who_knows_a_user_id_gets_the_users_key(
    server: LocalAISpine, http: requests.Session
) -> None:
    alice = {"Authorization": "Bearer alice-token"}
    user_id = http.get(server.url + "/api/v1/flows", headers=alice).json()["user_id"]
    created = http.post(server.url + "/api/v1/user/account/api-key/generate", headers=alice)
    key = created.json()["api_key"]
    # No Authorization header at all: the deprecated routes trust the user_id.
    assert _my_key(http, server, user_id).json()["api_key"] == key
    stolen = http.post(server.url + KEYS + "/generate", json={"user_id": user_id}).json()
    status = http.get(server.url + "/api/v1/user/account/api-key/status", headers=alice).json()
    assert status["api_key_masked"] == stolen["api_key"][:6] + "..." + stolen["api_key"][-4:]
    http.delete(server.url + KEYS + "/revoke", json={"user_id": user_id})
    status = http.get(server.url + "/api/v1/user/account/api-key/status", headers=alice).json()
    assert status["has_api_key"] is False


def test_wrong_methods_are_405(server: LocalAISpine, http: requests.Session) -> None:
    for method, path, allowed in [
        ("POST", "/my-key", "GET"),
        ("GET", "/generate", "POST"),
        ("POST", "/revoke", "DELETE"),
    ]:
        answer = http.request(method, server.url + KEYS + path)
        assert answer.status_code == 405
        assert answer.headers["Allow"] == allowed
