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
  ``user_tokens`` is given, in which case only those tokens name users.
- With ``api_key``, every route except ``/health`` and ``/`` needs a bearer token that is
  either the API key or one of ``user_tokens`` (each such token acts as that user's own
  API key). The API key itself is also accepted as the user token of the ``master`` user,
  so an SDK configured with just an API key can create, update and delete flows.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Mapping, Optional, Union

from ._http import Request, Response, json_response

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

    Example:
        >>> Auth(None, None).enforced
        False
    """

    def __init__(self, api_key: Optional[str], user_tokens: Optional[Mapping[str, str]]) -> None:
        self.api_key = api_key
        self.user_tokens = dict(user_tokens) if user_tokens is not None else None

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

    def check_api_key(self, request: Request) -> Optional[Response]:
        """Return the 401 answer when the request lacks a valid API key, else None."""
        if self.api_key is None:
            return None
        token = self.bearer(request)
        if token is None:
            return _unauthorized("Missing API key", challenge=True)
        if token != self.api_key and (self.user_tokens is None or token not in self.user_tokens):
            return _unauthorized("Invalid API key", challenge=True)
        return None

    def user_for(self, token: str) -> Optional[str]:
        """Return the user id a token stands for, or None when it names no user."""
        if self.api_key is not None and token == self.api_key:
            return MASTER_USER_ID
        if self.user_tokens is not None:
            return self.user_tokens.get(token)
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
        token = self.bearer(request)
        if self.api_key is None or token is None or token == self.api_key:
            return dict(MASTER_USER)
        user_id = self.user_for(token) or MASTER_USER_ID
        return {
            "id": user_id,
            "email": "%s@users.local" % user_id,
            "name": None,
            "organization": None,
            "credits": 1000,
            "rate_limit": 100,
        }
