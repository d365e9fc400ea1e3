"""Every default, limit and path of the SDK, defined once.

Paths follow ``CONTRACT.md``: the ``/api/v1`` family for resources, and the unprefixed
``/health``, ``/metrics`` and ``/status`` that exist only there. Path templates use
``str.format`` placeholders; :func:`ai_spine.utils.build_path` fills them percent-encoded.
"""

from __future__ import annotations

# typing costs ~4 ms to import; this module is read when the `ai-spine` command starts, so the
# names below are for type checkers only (the annotations stay unevaluated strings).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import FrozenSet, Tuple

# --- Connection -------------------------------------------------------------------------------
DEFAULT_BASE_URL = "https://ai-spine-api-production.up.railway.app"
DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the server, for connecting and for each read."""
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_CONNECTIONS = 100
"""Connections kept open to the server at most, per client: threads of one ``AISpine`` (or
concurrent calls of one ``AsyncAISpine``) up to this many never wait for or discard one."""
ASYNC_EXTRA = "ai-spine-sdk[async]"
"""What to install for :class:`~ai_spine.AsyncAISpine` (it brings aiohttp)."""
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""The largest answer (decompressed) a client reads: 32 MiB. A longer one is cut off there
with :class:`~ai_spine.ResponseTooLargeError`, so a hostile answer costs at most this much."""
MAX_TIMEOUT = 86400.0
"""The longest timeout accepted anywhere (a day): a longer one could not be honoured."""
ACCEPT_ENCODING = "gzip, deflate"
"""The compressions both clients ask for and decode themselves, within the size cap."""
MAX_JSON_INT_DIGITS = 4300
"""Longer integers in an answer are refused: CPython converts them in quadratic time (and
3.11 and later refuse them at this length anyway)."""
CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Environment variables naming a CA bundle, honoured by both clients as requests does."""

ENV_API_KEY = "AI_SPINE_API_KEY"
ENV_BASE_URL = "AI_SPINE_BASE_URL"
ENV_LOG = "AI_SPINE_LOG"

LOGGER_NAME = "ai_spine"

# --- Retries ----------------------------------------------------------------------------------
BACKOFF_FACTOR = 0.5
"""First retry waits up to this many seconds; each later one up to twice the previous."""
BACKOFF_MAX = 8.0
MAX_RETRY_AFTER = 60.0
"""A ``Retry-After`` longer than this fails the call at once instead of sleeping through it."""
RETRYABLE_STATUSES: FrozenSet[int] = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS: FrozenSet[str] = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
"""Methods that may be sent again after the server may already have acted on them. POST and PUT
are not: a retried execute would run the flow twice, and a retried update bumps the version."""

# --- Waiting for executions -------------------------------------------------------------------
DEFAULT_WAIT_TIMEOUT = 300.0
DEFAULT_POLL_INTERVAL = 2.0
DEFAULT_MAX_WORKERS = 5
"""Executions of one ``execute_batch`` in flight at once, by default."""
EARLY_POLLS: Tuple[float, ...] = (0.35, 0.55)
"""Seconds after a wait starts at which it polls (after the poll at once): most executions
are short, and these notice a 0.3 s or a 0.5 s execution within about 50 ms."""
STEADY_POLL_PAUSE = 0.85
"""The pause between polls after the early ones: a finished execution is noticed about
0.43 s late on average, for about twice the polls of a fixed 2 s schedule."""
POLL_PAUSE_GROWTH = 0.03
"""Once ``STEADY_POLL_PAUSE`` is less than this share of the time waited (after about half a
minute), the pause is that share: long executions are polled less and less often, up to the
caller's ``interval``, which caps every pause."""

# --- Execution statuses -----------------------------------------------------------------------
STATUS_PENDING = "pending"
STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_CANCELLED = "cancelled"
TERMINAL_STATUSES: FrozenSet[str] = frozenset({STATUS_COMPLETED, STATUS_FAILED, STATUS_CANCELLED})
EXECUTION_STATUSES: FrozenSet[str] = TERMINAL_STATUSES | {STATUS_PENDING, STATUS_RUNNING}
"""Every status an execution can have: what ``list_executions(status=...)`` accepts."""
HEALTHY = "healthy"
"""``/health``'s ``status`` when the server is up."""
NIL_UUID = "00000000-0000-0000-0000-000000000000"
"""The execution id the server answers when it refused to start an execution."""

# --- Validation -------------------------------------------------------------------------------
RESOURCE_ID_MAX_BYTES = 1000
"""The longest flow or agent id sent, in UTF-8 bytes (1000 ASCII characters). The server
takes any string; percent-encoded, such an id is at most 3000 bytes of path, which leaves
room for the rest of the request line under the smallest common limit of proxies (8 KiB,
nginx's default), so a longer id would be refused by the network rather than the API."""
DOT_SEGMENTS: FrozenSet[str] = frozenset({".", ".."})
"""Ids that URL normalisation (RFC 3986, done by clients and proxies) removes from a path."""
RESERVED_FLOW_IDS: FrozenSet[str] = frozenset({"my-flows", "execute"})
"""Flow ids that ``/api/v1/flows/{flow_id}`` cannot reach: fixed routes answer instead."""
RESERVED_AGENT_IDS: FrozenSet[str] = frozenset({"active", "my-agents"})
"""Agent ids that ``/api/v1/agents/{agent_id}`` cannot reach: fixed routes answer instead."""
AGENT_TYPES: FrozenSet[str] = frozenset({"input", "processor", "output", "conditional"})
AGENT_REQUIRED_FIELDS = (
    "agent_id",
    "name",
    "description",
    "endpoint",
    "capabilities",
    "agent_type",
)
PRIORITY_MIN = 0
PRIORITY_MAX = 10

# --- Paths ------------------------------------------------------------------------------------
HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"
STATUS_PATH = "/status"

FLOWS_PATH = "/api/v1/flows"
MY_FLOWS_PATH = "/api/v1/flows/my-flows"
FLOW_PATH = "/api/v1/flows/{flow_id}"
EXECUTE_PATH = "/api/v1/flows/execute"

EXECUTIONS_PATH = "/api/v1/executions"
EXECUTION_PATH = "/api/v1/executions/{execution_id}"
EXECUTION_RESULTS_PATH = "/api/v1/executions/{execution_id}/results"
EXECUTION_CANCEL_PATH = "/api/v1/executions/{execution_id}/cancel"

AGENTS_PATH = "/api/v1/agents"
AGENT_PATH = "/api/v1/agents/{agent_id}"

EXECUTION_MESSAGES_PATH = "/api/v1/executions/{execution_id}/messages"
DEFAULT_MESSAGES_LIMIT = 100
"""The server's own default page size for execution messages."""

ACTIVE_AGENTS_PATH = "/api/v1/agents/active"

CURRENT_USER_PATH = "/api/v1/users/me"

ACCOUNT_PROFILE_PATH = "/api/v1/user/account/profile"
API_KEY_STATUS_PATH = "/api/v1/user/account/api-key/status"
API_KEY_GENERATE_PATH = "/api/v1/user/account/api-key/generate"
API_KEY_REVOKE_PATH = "/api/v1/user/account/api-key/revoke"

USER_KEY_PATH = "/api/v1/user/keys/my-key"
"""Deprecated key routes (2.x): no auth, they trust the ``user_id`` they are sent."""
USER_KEY_GENERATE_PATH = "/api/v1/user/keys/generate"
USER_KEY_REVOKE_PATH = "/api/v1/user/keys/revoke"
