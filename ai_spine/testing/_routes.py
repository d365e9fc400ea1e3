"""Routing and endpoint handlers of the local AI Spine server, as CONTRACT.md describes them.

:class:`Api` maps a :class:`Request` to a :class:`Response` without touching a socket.
Routing follows Starlette's rules: the first route matching both path and method wins, a
path matched only with other methods answers ``405`` with an ``Allow`` header, a path
that matches only without its trailing slash answers ``307`` to the slash-less path, and
anything else is ``404 {"detail": "Not Found"}``.

Deliberate departures from the recorded server:

- ``GET /api/v1/agents`` answers ``{"agents", "count", "authenticated"}`` as production
  (with its database) does; the offline ``500 "SUPABASE_URL and SUPABASE_SERVICE_KEY must
  be set"`` of the recording is an artefact of running the backend without a database.
- The DEV_MODE bug that empties ``GET /api/v1/executions`` and zeroes ``/metrics`` once
  some executions were fetched one by one is not reproduced.
- ``/metrics`` reports real execution times (seconds from creation to the end of the
  execution) where the in-memory backend counts a fixed 10 s per finished execution.

``GET /api/v1/agents/my-agents`` is reproduced as the contract describes it, never
succeeding: ``401 "Authentication required"`` with key checks off or with no or an unknown
key, ``401 "Invalid API key"`` for the master key and ``500`` for a user's key.

Where the real server needs Supabase, the store stands in for it:

- The account routes (``/api/v1/user/account/api-key/status``, ``generate``, ``revoke``
  and ``profile``) take a user token the local server knows (see ``_auth``; the database-less
  recording server knew none, hence its ``401 "Authentication failed"``) and keep one API key
  record per user in the store: ``sk_`` keys with a first key's 1000 credits and rate limit
  100, timestamps with a ``+00:00`` offset as the database returns them. They answer the
  contract's success shapes, and ``profile`` answers ``500 "Failed to retrieve user
  profile"`` for a user without a key, as the real one does. ``usage.total_requests`` counts
  the requests the key authenticated here (only with API-key checks on, as no key is read
  otherwise); the real server counts its usage log.
- The deprecated key routes (``/api/v1/user/keys/my-key``, ``generate``, ``revoke``) need no
  auth and trust the ``user_id`` they are sent, as the real ones do, over the same records.
  A user with a key gets the contract's success shapes (``my-key`` shows the full key,
  ``generate`` replaces it, ``revoke`` deletes it); a user without one gets the real
  routes' ``500``s. The real ``generate`` 500 ends with the database client's error text
  (version-dependent wording); the local one says ``"no API key to regenerate"``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Pattern, Tuple, Union

from ._auth import MASTER_USER_ID, Auth
from ._http import Request, Response, json_response
from ._store import NIL_UUID, Store
from ._validation import (
    FieldError,
    Loc,
    ValidationFailed,
    body_not_dict,
    fastapi_detail,
    missing_body,
    parse_json_body,
    parse_query_int,
    parse_uuid,
    pydantic_text,
    require_query,
    validate_agent,
    validate_execution_request,
    validate_flow,
    validate_user_id_request,
)

Handler = Callable[[Request, Dict[str, str]], Response]
UserHandler = Callable[[str], Response]
UserOf = Callable[[Request], Union[str, Response]]
Submit = Callable[[str, Dict[str, Any], Dict[str, Any]], None]

_KEY_REVOKED = {"message": "API key revoked successfully", "status": "revoked"}


def _detail(status: int, detail: str) -> Response:
    return json_response(status, {"detail": detail})


def _unprocessable(errors: List[FieldError], prefix: Loc) -> Response:
    return json_response(422, {"detail": fastapi_detail(errors, prefix)})


def mask_api_key(api_key: str) -> str:
    """Mask an API key the way the real account routes show it.

    Args:
        api_key: The full key.

    Returns:
        Its first 6 and last 4 characters around ``...``; ``***`` for a key shorter than 12.

    Example:
        >>> mask_api_key("sk_abcdefghijklmnop"), mask_api_key("sk_short")
        ('sk_abc...mnop', '***')
    """
    if len(api_key) < 12:
        return "***"
    return "%s...%s" % (api_key[:6], api_key[-4:])


def _key_issued(api_key: str, action: str) -> Dict[str, Any]:
    return {"message": "API key %s successfully" % action, "api_key": api_key, "action": action}


def _key_summary(record: Dict[str, Any], key_field: str, key: str) -> Dict[str, Any]:
    """The answer about a user's existing key, the key shown as ``key_field``."""
    return {
        "has_api_key": True,
        key_field: key,
        "credits": record["credits"],
        "rate_limit": record["rate_limit"],
        "created_at": record["created_at"],
        "last_used_at": record["last_used_at"],
    }


def _as(user_of: UserOf, handler: UserHandler) -> Handler:
    """Make a route handler that calls ``handler`` with the user ``user_of`` finds.

    ``user_of`` answers the request itself (a 401, a 422) when it finds no user.
    """

    def handle(request: Request, params: Dict[str, str]) -> Response:
        user = user_of(request)
        return user if isinstance(user, Response) else handler(user)

    return handle


def _page(request: Request, limit: int) -> Tuple[Dict[str, int], List[FieldError]]:
    """Read the ``limit`` and ``offset`` query parameters (defaults ``limit`` and 0).

    Both problems are collected, as FastAPI reports every invalid parameter at once. Values
    are not range-checked: the real routes slice with them as they are.
    """
    page: Dict[str, int] = {}
    errors: List[FieldError] = []
    for name, default in (("limit", limit), ("offset", 0)):
        try:
            page[name] = parse_query_int(request.query, name, default)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    return page, errors


@dataclass
class _Route:
    pattern: Pattern[str]
    method: str
    handler: Handler
    public: bool


def _compile(template: str) -> Pattern[str]:
    # Starlette's default path convertor: one non-empty segment without "/".
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile("^" + regex + "$")


class Api:
    """The HTTP API of the local server.

    Args:
        store: The server's state.
        auth: Authentication rules.
        submit: Starts the worker of a newly stored execution
            (``submit(execution_id, flow, input_data)``).

    Example:
        >>> from ._store import Store
        >>> store = Store()
        >>> api = Api(store, Auth(None, None, store), lambda *args: None)
        >>> api(Request("GET", "/nope", "/nope", "", {}, {}, b"")).status
        404
    """

    def __init__(self, store: Store, auth: Auth, submit: Submit) -> None:
        self._store = store
        self._auth = auth
        self._submit = submit
        account, keys = "/api/v1/user/account", "/api/v1/user/keys"
        # The account routes know their user from a user token; the deprecated key routes
        # take the user_id they are sent on trust.
        signed_in = self._auth.require_user
        queried, named = self._user_id_in_query, self._user_id_in_body
        table: List[Tuple[str, str, Handler, bool]] = [
            ("GET", "/", self._root, True),
            ("GET", "/health", self._health, True),
            ("GET", "/metrics", self._metrics, False),
            ("GET", "/status", self._status, False),
            ("GET", "/agents", self._list_agents_unprefixed, False),
            ("POST", "/agents", self._create_agent, False),
            ("GET", "/flows", self._list_flows_unprefixed, False),
            ("POST", "/flows", self._create_flow_unprefixed, False),
            ("GET", "/api/v1/agents", self._list_agents, False),
            ("POST", "/api/v1/agents", self._create_agent, False),
            ("GET", "/api/v1/agents/active", self._list_active_agents, False),
            # It reads the key itself, with its own answers, so the key check must not.
            ("GET", "/api/v1/agents/my-agents", self._my_agents, True),
            ("GET", "/api/v1/agents/{agent_id}", self._get_agent, False),
            ("DELETE", "/api/v1/agents/{agent_id}", self._delete_agent, False),
            ("GET", "/api/v1/flows", self._list_flows, False),
            ("POST", "/api/v1/flows", self._create_flow, False),
            ("GET", "/api/v1/flows/my-flows", self._my_flows, False),
            ("POST", "/api/v1/flows/execute", self._execute, False),
            ("GET", "/api/v1/flows/{flow_id}", self._get_flow, False),
            ("PUT", "/api/v1/flows/{flow_id}", self._update_flow, False),
            ("DELETE", "/api/v1/flows/{flow_id}", self._delete_flow, False),
            ("GET", "/api/v1/executions", self._list_executions, False),
            ("GET", "/api/v1/executions/{execution_id}", self._get_execution, False),
            ("GET", "/api/v1/executions/{execution_id}/results", self._get_results, False),
            ("GET", "/api/v1/executions/{execution_id}/messages", self._get_messages, False),
            ("POST", "/api/v1/executions/{execution_id}/cancel", self._cancel, False),
            ("GET", "/api/v1/users/me", self._users_me, False),
            ("GET", account + "/api-key/status", _as(signed_in, self._key_status), False),
            ("POST", account + "/api-key/generate", _as(signed_in, self._key_generate), False),
            ("POST", account + "/api-key/revoke", _as(signed_in, self._key_revoke), False),
            ("GET", account + "/profile", _as(signed_in, self._profile), False),
            ("GET", keys + "/my-key", _as(queried, self._user_key), False),
            ("POST", keys + "/generate", _as(named, self._user_key_generate), False),
            ("DELETE", keys + "/revoke", _as(named, self._user_key_revoke), False),
        ]
        self._routes = [
            _Route(_compile(template), method, handler, public)
            for method, template, handler, public in table
        ]

    def __call__(self, request: Request) -> Response:
        """Answer one request.

        Args:
            request: The request.

        Returns:
            The response.
        """
        allowed: List[str] = []
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                if route.method not in allowed:
                    allowed.append(route.method)
                continue
            if not route.public:
                denied = self._auth.check_api_key(request)
                if denied is not None:
                    return denied
            return route.handler(request, match.groupdict())
        if allowed:
            return json_response(
                405, {"detail": "Method Not Allowed"}, [("Allow", ", ".join(allowed))]
            )
        if request.path != "/" and request.path.endswith("/"):
            stripped = request.path.rstrip("/") or "/"
            if any(route.pattern.match(stripped) for route in self._routes):
                return self._redirect_without_slash(request)
        return _detail(404, "Not Found")

    @staticmethod
    def _redirect_without_slash(request: Request) -> Response:
        location = request.raw_path.rstrip("/") or "/"
        if request.query_string:
            location += "?" + request.query_string
        host = request.header("host")
        if host:
            location = "http://" + host + location
        return Response(307, b"", None, [("Location", location)])

    # --- request bodies -------------------------------------------------------------

    @staticmethod
    def _json_body(request: Request) -> Union[Any, Response]:
        """Decode a required JSON body; a Response is the 422 to send instead."""
        try:
            value = parse_json_body(request.body)
        except ValidationFailed as exc:
            return _unprocessable(exc.errors, ("body",))
        if value is None:
            return _unprocessable([missing_body()], ("body",))
        return value

    def _dict_body(self, request: Request) -> Union[Dict[str, Any], Response]:
        """Decode a required ``Dict[str, Any]`` body; a Response is the 422 instead."""
        value = self._json_body(request)
        if isinstance(value, Response):
            return value
        if not isinstance(value, dict):
            return _unprocessable([body_not_dict(value)], ("body",))
        return value

    def _model_body(
        self, request: Request, validate: Callable[[Any], Dict[str, Any]]
    ) -> Union[Dict[str, Any], Response]:
        """Decode and validate a typed (pydantic model) body; a Response is the 422 instead."""
        value = self._json_body(request)
        if isinstance(value, Response):
            return value
        try:
            return validate(value)
        except ValidationFailed as exc:
            return _unprocessable(exc.errors, ("body",))

    def _flow_body(self, request: Request) -> Union[Dict[str, Any], Response]:
        """Decode and validate a ``FlowDefinition`` body; a Response is the 422 instead."""
        return self._model_body(request, validate_flow)

    # --- service --------------------------------------------------------------------

    def _root(self, request: Request, params: Dict[str, str]) -> Response:
        return json_response(
            200,
            {
                "message": "AI Spine API",
                "version": "1.0.0",
                "docs": "/docs",
                "marketplace": "/api/v1/marketplace",
                "authentication_required": self._auth.enforced,
            },
        )

    def _health(self, request: Request, params: Dict[str, str]) -> Response:
        return json_response(
            200,
            {
                "status": "healthy",
                "timestamp": time.time(),
                "message": "AI Spine API is running",
                "startup_complete": True,
            },
        )

    def _metrics(self, request: Request, params: Dict[str, str]) -> Response:
        return json_response(200, self._store.metrics())

    def _status(self, request: Request, params: Dict[str, str]) -> Response:
        counts = self._store.counts()
        return json_response(
            200,
            {
                "status": "operational",
                "components": {
                    "registry": "active",
                    "communication": "active",
                    "memory": "active",
                    "orchestrator": "active",
                },
                "agents": {"total": counts["agents"], "active": counts["active_agents"]},
                "flows": {"total": counts["flows"]},
            },
        )

    def _users_me(self, request: Request, params: Dict[str, str]) -> Response:
        return json_response(200, self._auth.user_info(request))

    # --- the signed-in user's account and API key ------------------------------------

    def _key_status(self, user: str) -> Response:
        record = self._store.api_key_record(user)
        if record is None:
            return json_response(
                200,
                {
                    "has_api_key": False,
                    "api_key_masked": None,
                    "message": "No API key generated yet",
                },
            )
        masked = mask_api_key(record["api_key"])
        return json_response(200, _key_summary(record, "api_key_masked", masked))

    def _key_generate(self, user: str) -> Response:
        body = _key_issued(*self._store.issue_api_key(user))
        body["warning"] = "Store this key securely. It won't be shown again in full."
        return json_response(200, body)

    def _key_revoke(self, user: str) -> Response:
        if not self._store.revoke_api_key(user):
            return _detail(404, "No API key found to revoke")
        return json_response(200, _KEY_REVOKED)

    def _profile(self, user: str) -> Response:
        record = self._store.api_key_record(user)
        if record is None:
            # The real handler asks the database for exactly one key row and fails without.
            return _detail(500, "Failed to retrieve user profile")
        return json_response(
            200,
            {
                "user_id": user,
                "api_status": {
                    "has_api_key": True,
                    "credits": record["credits"],
                    "rate_limit": record["rate_limit"],
                },
                "usage": {
                    "total_requests": record["total_requests"],
                    "last_used_at": record["last_used_at"],
                },
            },
        )

    # --- deprecated key routes: no auth, they trust the user_id they are sent ---------

    @staticmethod
    def _user_id_in_query(request: Request) -> Union[str, Response]:
        try:
            return require_query(request.query, "user_id")
        except ValidationFailed as exc:
            return _unprocessable(exc.errors, ("query",))

    def _user_id_in_body(self, request: Request) -> Union[str, Response]:
        body = self._model_body(request, validate_user_id_request)
        return body if isinstance(body, Response) else str(body["user_id"])

    def _user_key(self, user_id: str) -> Response:
        record = self._store.api_key_record(user_id)
        if record is None:
            # The real handler asks the database for exactly one key row and fails without,
            # so its has_api_key: false answer is never given.
            return _detail(500, "Failed to retrieve API key")
        return json_response(200, _key_summary(record, "api_key", record["api_key"]))

    def _user_key_generate(self, user_id: str) -> Response:
        api_key = self._store.regenerate_api_key(user_id)
        if api_key is None:
            # Likewise it cannot create a first key; the real text after the colon is the
            # database client's error, whose wording depends on Supabase's versions.
            return _detail(500, "Failed to generate API key: no API key to regenerate")
        return json_response(200, _key_issued(api_key, "regenerated"))

    def _user_key_revoke(self, user_id: str) -> Response:
        if not self._store.revoke_api_key(user_id):
            # Likewise: its 404 "No API key found to revoke" is never given.
            return _detail(500, "Failed to revoke API key")
        return json_response(200, _KEY_REVOKED)

    # --- agents ---------------------------------------------------------------------

    def _create_agent(self, request: Request, params: Dict[str, str]) -> Response:
        body = self._dict_body(request)
        if isinstance(body, Response):
            return body
        try:
            fields = validate_agent(body)
        except KeyError as exc:
            # The real handler reads keys with data["..."]; str(KeyError) is the quoted key.
            return _detail(500, str(exc))
        except ValidationFailed as exc:
            return _detail(500, pydantic_text("AgentInfo", exc.errors))
        return json_response(200, self._store.put_agent(fields))

    def _list_agents(self, request: Request, params: Dict[str, str]) -> Response:
        agents = self._store.list_agents()
        authenticated = self._auth.optional_user(request) is not None
        return json_response(
            200, {"agents": agents, "count": len(agents), "authenticated": authenticated}
        )

    def _list_agents_unprefixed(self, request: Request, params: Dict[str, str]) -> Response:
        agents = self._store.list_agents()
        return json_response(200, {"agents": agents, "count": len(agents)})

    def _list_active_agents(self, request: Request, params: Dict[str, str]) -> Response:
        agents = self._store.list_agents(active_only=True)
        return json_response(200, {"agents": agents, "count": len(agents)})

    def _my_agents(self, request: Request, params: Dict[str, str]) -> Response:
        # The real handler cannot succeed: with key checks off it sees every caller as
        # anonymous, it finds no user behind the master key, and it crashes on a user's key
        # (it calls str methods on the user object its dependency returns).
        user = self._auth.api_key_user(request)
        if user is None:
            return _detail(401, "Authentication required")
        if user == MASTER_USER_ID:
            return _detail(401, "Invalid API key")
        return _detail(500, "'UserInfo' object has no attribute 'startswith'")

    def _get_agent(self, request: Request, params: Dict[str, str]) -> Response:
        agent = self._store.get_agent(params["agent_id"])
        if agent is None:
            return _detail(404, "Agent '%s' not found" % params["agent_id"])
        return json_response(200, agent)

    def _delete_agent(self, request: Request, params: Dict[str, str]) -> Response:
        agent_id = params["agent_id"]
        if not self._store.delete_agent(agent_id):
            return _detail(404, "Agent '%s' not found" % agent_id)
        return json_response(200, {"message": "Agent '%s' unregistered successfully" % agent_id})

    # --- flows ----------------------------------------------------------------------

    def _list_flows(self, request: Request, params: Dict[str, str]) -> Response:
        flows = self._store.list_flows()
        user_id = self._auth.optional_user(request)
        return json_response(200, {"flows": flows, "count": len(flows), "user_id": user_id})

    def _list_flows_unprefixed(self, request: Request, params: Dict[str, str]) -> Response:
        flows = self._store.list_flows()
        return json_response(200, {"flows": flows, "count": len(flows)})

    def _my_flows(self, request: Request, params: Dict[str, str]) -> Response:
        user = self._auth.require_user(request)
        if isinstance(user, Response):
            return user
        flows = self._store.list_flows(owner=user)
        return json_response(200, {"flows": flows, "count": len(flows), "user_id": user})

    def _get_flow(self, request: Request, params: Dict[str, str]) -> Response:
        found = self._store.get_flow(params["flow_id"])
        if found is None:
            return _detail(404, "Flow '%s' not found" % params["flow_id"])
        return json_response(200, found[0])

    def _create_flow(self, request: Request, params: Dict[str, str]) -> Response:
        user = self._auth.require_user(request)
        if isinstance(user, Response):
            return user
        flow = self._flow_body(request)
        if isinstance(flow, Response):
            return flow
        exists = "Flow '%s' already exists" % flow["flow_id"]
        if self._store.get_flow(flow["flow_id"]) is not None:
            return _detail(409, exists)
        problem = self._store.flow_problem(flow)
        if problem is not None:
            return _detail(400, problem)
        if not self._store.insert_flow(flow, owner=user, replace=False):
            return _detail(409, exists)
        return json_response(201, flow)

    def _create_flow_unprefixed(self, request: Request, params: Dict[str, str]) -> Response:
        # This legacy route validates by hand inside a catch-all that turns every error,
        # its own 400 included, into a 500.
        body = self._dict_body(request)
        if isinstance(body, Response):
            return body
        try:
            flow = validate_flow(body, top_level=False)
        except ValidationFailed as exc:
            return _detail(500, pydantic_text("FlowDefinition", exc.errors))
        if self._store.flow_problem(flow) is not None:
            return _detail(500, "400: Failed to create flow")
        self._store.insert_flow(flow, owner=None, replace=True)
        return json_response(200, flow)

    def _update_flow(self, request: Request, params: Dict[str, str]) -> Response:
        flow_id = params["flow_id"]
        user = self._auth.require_user(request)
        if isinstance(user, Response):
            return user
        flow = self._flow_body(request)
        if isinstance(flow, Response):
            return flow
        if flow["flow_id"] != flow_id:
            return _detail(
                400,
                "Flow ID in the body ('%s') does not match the flow ID in the URL ('%s')"
                % (flow["flow_id"], flow_id),
            )
        refusal = self._refuse_unless_owner(flow_id, user, "modified", "update", system_ok=True)
        if refusal is not None:
            return refusal
        problem = self._store.flow_problem(flow)
        if problem is not None:
            return _detail(400, problem)
        updated = self._store.update_flow(flow)
        if updated is None:
            return _detail(404, "Flow '%s' not found" % flow_id)
        return json_response(200, updated)

    def _refuse_unless_owner(
        self, flow_id: str, user: str, participle: str, verb: str, system_ok: bool = False
    ) -> Optional[Response]:
        # The real server's order: unknown flow (404), system flow (403), someone else's (403).
        # Its update lets any signed-in user change a system flow (system_ok); delete does not.
        found = self._store.get_flow(flow_id)
        if found is None:
            return _detail(404, "Flow '%s' not found" % flow_id)
        owner = found[1]
        if owner is None and system_ok:
            return None
        if owner is None:
            return _detail(
                403, "Flow '%s' is a system flow and cannot be %s" % (flow_id, participle)
            )
        if owner != user:
            return _detail(403, "You do not have permission to %s flow '%s'" % (verb, flow_id))
        return None

    def _delete_flow(self, request: Request, params: Dict[str, str]) -> Response:
        flow_id = params["flow_id"]
        user = self._auth.require_user(request)
        if isinstance(user, Response):
            return user
        refusal = self._refuse_unless_owner(flow_id, user, "deleted", "delete")
        if refusal is not None:
            return refusal
        if not self._store.delete_flow(flow_id):
            return _detail(404, "Flow '%s' not found" % flow_id)
        return json_response(
            200, {"message": "Flow '%s' deleted successfully" % flow_id, "status": "deleted"}
        )

    # --- executions -----------------------------------------------------------------

    def _execute(self, request: Request, params: Dict[str, str]) -> Response:
        execution = self._model_body(request, validate_execution_request)
        if isinstance(execution, Response):
            return execution
        flow_id = execution["flow_id"]
        created = self._store.create_execution(flow_id, execution["input_data"])
        if created is None:
            return json_response(
                200,
                {
                    "execution_id": NIL_UUID,
                    "status": "failed",
                    "result": None,
                    "error": "Flow '%s' not found" % flow_id,
                    "execution_time": None,
                },
            )
        execution_id, flow = created
        self._submit(execution_id, flow, execution["input_data"])
        return json_response(
            200,
            {
                "execution_id": execution_id,
                "status": "pending",
                "result": None,
                "error": None,
                "execution_time": None,
            },
        )

    def _list_executions(self, request: Request, params: Dict[str, str]) -> Response:
        # ``status`` and ``flow_id`` are accepted and ignored, like the real route.
        page, errors = _page(request, limit=20)
        if errors:
            return _unprocessable(errors, ("query",))
        executions = self._store.list_executions(page["limit"], page["offset"])
        return json_response(
            200,
            {
                "executions": executions,
                "count": len(executions),
                "limit": page["limit"],
                "offset": page["offset"],
            },
        )

    @staticmethod
    def _execution_id(params: Dict[str, str]) -> Union[str, Response]:
        try:
            return parse_uuid(params["execution_id"])
        except ValidationFailed as exc:
            return _unprocessable(exc.errors, ("path",))

    def _get_execution(self, request: Request, params: Dict[str, str]) -> Response:
        execution_id = self._execution_id(params)
        if isinstance(execution_id, Response):
            return execution_id
        execution = self._store.get_execution(execution_id)
        if execution is None:
            return _detail(404, "Execution '%s' not found" % execution_id)
        return json_response(200, execution)

    def _get_results(self, request: Request, params: Dict[str, str]) -> Response:
        execution_id = self._execution_id(params)
        if isinstance(execution_id, Response):
            return execution_id
        found = self._store.get_results(execution_id)
        if found is None:
            return _detail(404, "Execution '%s' not found" % execution_id)
        return json_response(200, {"execution": found[0], "node_results": found[1]})

    def _get_messages(self, request: Request, params: Dict[str, str]) -> Response:
        # Nothing in the real server stores agent messages: every execution, known or not,
        # has an empty list. FastAPI reports a bad path and bad query parameters together.
        detail: List[Dict[str, Any]] = []
        execution_id = params["execution_id"]
        try:
            execution_id = parse_uuid(execution_id)
        except ValidationFailed as exc:
            detail.extend(fastapi_detail(exc.errors, ("path",)))
        errors = _page(request, limit=100)[1]
        detail.extend(fastapi_detail(errors, ("query",)))
        if detail:
            return json_response(422, {"detail": detail})
        return json_response(200, {"messages": [], "count": 0, "execution_id": execution_id})

    def _cancel(self, request: Request, params: Dict[str, str]) -> Response:
        execution_id = self._execution_id(params)
        if isinstance(execution_id, Response):
            return execution_id
        if not self._store.cancel(execution_id):
            return _detail(404, "Execution '%s' not found or not running" % execution_id)
        return json_response(200, {"message": "Execution cancelled successfully"})
