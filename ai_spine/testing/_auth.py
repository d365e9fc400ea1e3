"""Who is calling: the API-key check and the user behind a bearer token.

The real server reads one header, ``Authorization: Bearer <token>``, for two purposes: an
API key (checked on every route when ``API_KEY_REQUIRED=true``) and a user access token
(a Supabase JWT, required by flow create/update/delete and ``my-flows``). A user token is
read the way the real server's ``verify_supabase_token`` reads it: ``Bearer <token>``
(scheme case-insensitive) or a bare three-part JWT; no header answers ``401 "Authorization
header missing"``, any other form ``401 "Invalid Authorization format"`` and a token that
names no user ``401 "Authentication failed"``, all without ``WWW-Authenticate``. The local
server settles how the two share that single header this way:

- Without ``api_key``, no route checks a key. Any non-empty bearer token is a user token
  whose user id is derived from it (``"user-" + sha256(token)[:12]``), unless
  ``user_tokens`` is given, in which case only those tokens name users (``{}``: none does,
  like a server without an identity provider).
- With ``api_key``, every route except ``/health`` and ``/`` needs a bearer token that is
  either the API key, one of ``user_tokens`` (each such token acts as that user's own
  API key) or a key issued by the account routes (``sk_...``, stored with its user; each
  request it authenticates counts in that key's usage).
- An API key is not a user token, as on the real server (where it is not a Supabase JWT):
  sent to a user-token route, the server's ``api_key`` or an issued ``sk_`` key gets
  ``401 "Authentication failed"``. ``api_key_as_user_token=True`` departs from that: the
  API key then also serves as the user token of the ``master`` user, so an SDK configured
  with just an API key can create, update and delete flows and manage the master user's
  account key (code relying on that gets 401 in production).

``GET /api/v1/users/me`` answers the fixed master user unless checks are on and the key
names another user; that user is then described as the real server describes a user key's
owner: ``email`` ``user_<first 8 characters of the id>@api.com``, ``name`` and
``organization`` null, and the credits and rate limit stored with the user's issued key
(a first key's 1000 and 100 when the user has none).
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Mapping, Optional, Union

from ._http import Request, Response, json_response
from ._store import FIRST_KEY_CREDITS, FIRST_KEY_RATE_LIMIT, Store

MASTER_USER_ID = "master"
MASTER_USER: Dict[str, Any] = {
    "id": MASTER_USER_ID,
    "email": "master@ai-spine.com",
    "name": "Master User",
    "organization": "AI Spine",
    "credits": 999999,
    "rate_limit": 10000,
}


def _unauthorized(detail: str, challenge: bool) -> Response:
    headers = [("WWW-Authenticate", "Bearer")] if challenge else []
    return json_response(401, {"detail": detail}, headers)


def derived_user_id(token: str) -> str:
    """Return the stable user id the local server gives an arbitrary user token.

    Args:
        token: The bearer token.

    Returns:
        ``"user-"`` followed by 12 hex digits of the token's SHA-256.

    Example:
        >>> derived_user_id("alice-token").startswith("user-")
        True
    """
    return "user-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def user_token(header: str) -> Optional[str]:
    """Extract a user access token from an ``Authorization`` value, as the real server does.

    Args:
        header: The header's value.

    Returns:
        The token of ``Bearer <token>`` (scheme case-insensitive), a bare value with exactly
        two dots (the shape of a JWT), or None for anything else.

    Example:
        >>> user_token("bearer abc"), user_token("a.b.c"), user_token("Basic dXNlcjpwYXNz")
        ('abc', 'a.b.c', None)
    """
    value = header.strip()
    if value.lower().startswith("bearer "):
        return value[len("bearer ") :].strip() or None
    return value if value.count(".") == 2 else None


class Auth:
    """Authentication rules of one local server (see the module docstring).

    Args:
        api_key: The key every route but ``/health`` and ``/`` requires, or None.
        user_tokens: Token to user id map; None accepts any token as a user token.
        store: Where the API keys issued by the account routes are kept.
        api_key_as_user_token: Accept ``api_key`` as the ``master`` user's user token
            (a departure from the real server, which refuses it).

    Example:
        >>> Auth(None, None, Store()).enforced
        False
    """

    def __init__(
        self,
        api_key: Optional[str],
        user_tokens: Optional[Mapping[str, str]],
        store: Store,
        api_key_as_user_token: bool = False,
    ) -> None:
        self.api_key = api_key
        self.api_key_as_user_token = api_key_as_user_token
        self.user_tokens = dict(user_tokens) if user_tokens is not None else None
        self._store = store

    @property
    def enforced(self) -> bool:
        """True when an API key is required."""
        return self.api_key is not None

    @staticmethod
    def bearer(request: Request) -> Optional[str]:
        """Return the bearer token of a request (scheme case-insensitive), or None."""
        header = request.header("authorization")
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return token

    def _key_owner(self, token: str, count_use: bool = False) -> Optional[str]:
        """Return the user an API key names (``master`` for the server's key), or None."""
        if token == self.api_key:
            return MASTER_USER_ID
        if self.user_tokens is not None and token in self.user_tokens:
            return self.user_tokens[token]
        return self._store.api_key_owner(token, count_use=count_use)

    def check_api_key(self, request: Request) -> Optional[Response]:
        """Return the 401 answer when the request lacks a valid API key, else None."""
        if self.api_key is None:
            return None
        token = self.bearer(request)
        if token is None:
            return _unauthorized("Missing API key", challenge=True)
        if self._key_owner(token, count_use=True) is None:
            return _unauthorized("Invalid API key", challenge=True)
        return None

    def api_key_user(self, request: Request) -> Optional[str]:
        """Return the user a request's API key names, or None (the real ``optional_api_key``).

        None when key checks are off (the real dependency then answers ``"anonymous"``
        whatever is sent), when no bearer token is sent, and for an unknown key.
        """
        token = self.bearer(request)
        if self.api_key is None or token is None:
            return None
        return self._key_owner(token)

    def user_for(self, token: str) -> Optional[str]:
        """Return the user id a token stands for, or None when it names no user."""
        if self.api_key is not None and token == self.api_key:
            return MASTER_USER_ID if self.api_key_as_user_token else None
        if self.user_tokens is not None:
            return self.user_tokens.get(token)
        if self._store.api_key_owner(token, count_use=False) is not None:
            return None  # an issued API key is not a user token either
        return derived_user_id(token)

    def optional_user(self, request: Request) -> Optional[str]:
        """Return the calling user's id, or None for an anonymous (or unknown) caller."""
        token = self.bearer(request)
        return self.user_for(token) if token is not None else None

    def require_user(self, request: Request) -> Union[str, Response]:
        """Return the calling user's id, or the 401 answer of a user-token route."""
        # The real server sends no WWW-Authenticate header with any of these.
        header = request.header("authorization")
        if not header:
            return _unauthorized("Authorization header missing", challenge=False)
        token = user_token(header)
        if token is None:
            return _unauthorized("Invalid Authorization format", challenge=False)
        user_id = self.user_for(token)
        if user_id is None:
            # What the real server answers when Supabase rejects the token.
            return _unauthorized("Authentication failed", challenge=False)
        return user_id

    def user_info(self, request: Request) -> Dict[str, Any]:
        """Return the ``/api/v1/users/me`` document for a request that passed the key check."""
        user_id = self.api_key_user(request)
        if user_id is None or user_id == MASTER_USER_ID:
            return dict(MASTER_USER)
        record = self._store.api_key_record(user_id) or {}
        return {
            "id": user_id,
            "email": "user_%s@api.com" % user_id[:8],
            "name": None,
            "organization": None,
            "credits": record.get("credits", FIRST_KEY_CREDITS),
            "rate_limit": record.get("rate_limit", FIRST_KEY_RATE_LIMIT),
        }
