"""A local, in-memory AI Spine server for demos, examples and tests (standard library only).

``LocalAISpine`` is to the AI Spine API what stripe-mock or moto are to theirs: a real
HTTP server on loopback that answers like the production server (status codes, bodies
and documented quirks included) and runs executions for real by calling agents over
HTTP. ``DemoAgents`` provides such agents. Nothing here is imported by ``import ai_spine``.

Example:
    >>> from ai_spine.testing import LocalAISpine, DEMO_FLOW_ID
    >>> import json, urllib.request
    >>> with LocalAISpine(with_demo_agents=True) as server:
    ...     request = urllib.request.Request(
    ...         server.url + "/api/v1/flows/execute",
    ...         data=json.dumps({"flow_id": DEMO_FLOW_ID, "input_data": {
    ...             "text": "stable job, great references", "income": 85000, "debt": 9000}
    ...         }).encode(),
    ...         headers={"Content-Type": "application/json"},
    ...     )
    ...     execution_id = json.load(urllib.request.urlopen(request))["execution_id"]
    ...     server.wait_for_execution(execution_id)["output_data"]["credit"]["decision"]
    'approve'

Test hooks: ``server.requests`` / ``requests_to()`` (request log), ``inject_fault()``
(status, ``Retry-After``, HTML bodies, delays, dropped connections), ``add_agent()``,
``add_flow()``, ``add_api_key()``, ``reset()`` and ``wait_for_execution()``.

Where it knowingly differs from the recorded server (details in the private modules):

- ``GET /api/v1/agents`` answers ``200 {agents, count, authenticated}`` as production does,
  not the ``500`` the database-less recording server gave.
- The DEV_MODE bug that empties the execution list and zeroes ``/metrics`` is not
  reproduced, and ``/metrics`` reports real durations instead of a fixed 10 s each.
- With ``api_key`` set, the API key is also the ``master`` user's token on the flow
  and account routes; ``user_tokens`` maps further tokens to users (see ``_auth``).
- The account routes (``/api/v1/user/account/...``) and the deprecated key routes
  (``/api/v1/user/keys/...``) keep API keys in memory instead of Supabase: for a user with
  a key they answer the contract's success shapes, and the keys they issue pass the
  API-key check (see ``_routes``).
- Servers bind to IPv4 loopback only, and executions call only loopback agents unless
  ``allow_remote_agents=True``. A flow node without an ``agent_id`` passes its input on.
"""

from ._agents import (
    DEMO_FLOW_ID,
    DemoAgents,
    demo_agent_definitions,
    demo_flow_definition,
)
from ._faults import InjectedFault, RecordedRequest
from ._server import LocalAISpine

__all__ = [
    "DEMO_FLOW_ID",
    "DemoAgents",
    "InjectedFault",
    "LocalAISpine",
    "RecordedRequest",
    "demo_agent_definitions",
    "demo_flow_definition",
]
