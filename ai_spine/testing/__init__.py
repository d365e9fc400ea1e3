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

Test hooks: ``server.requests`` / ``requests_to()`` (request log: the latest 1000 requests,
bodies cut to 64 KiB), ``inject_fault()`` (status, ``Retry-After``, HTML bodies, delays,
dropped connections), ``add_agent()``, ``add_flow()``, ``add_api_key()``, ``reset()`` and
``wait_for_execution()``. For pytest, :mod:`ai_spine.testing.pytest_plugin` (installed with
the SDK) provides servers and clients as fixtures.

Every remaining departure from the real server (CONTRACT.md, ``shared/api/transcripts.json``;
``tests/testing/test_differential.py`` checks a scenario of SDK calls against the recorded
answers, ``tests/testing/test_transcripts.py`` every recorded exchange):

=================================  ===================================  ===================
what                               the real server                      LocalAISpine
=================================  ===================================  ===================
user access tokens (flow writes,   only tokens its identity provider    ``user_tokens=None``
``my-flows``, account routes)      (Supabase) issued; ``403`` for an    (default): any other
                                   unconfirmed or suspended user        non-empty bearer
                                                                        token names a user
                                                                        (id derived from
                                                                        it); pass a dict to
                                                                        name the only valid
                                                                        ones, ``{}`` for
                                                                        none. Never ``403``
the API key as a user token        refused: ``401 "Authentication       the same by default;
                                   failed"``                            ``api_key_as_user_
                                                                        token=True`` makes
                                                                        it the ``master``
                                                                        user's token
API keys of the account and        stored in Supabase; usage counted    kept in memory;
deprecated key routes              in its usage log                     ``total_requests``
                                                                        counts requests the
                                                                        key authenticated
                                                                        here (checks on)
``POST /api/v1/user/keys/          ``500 "Failed to generate API key:   ``...: no API key to
generate`` for a user without a    <database client's error>"``         regenerate"``
key
``GET /api/v1/agents``             ``200 {agents, count,                the same (the
                                   authenticated}`` (the database-less  recording's 500 is
                                   recording answered 500)              not reproduced)
DEV_MODE bug: list and             empties ``GET /api/v1/executions``   not reproduced
``/metrics`` after some            and zeroes ``/metrics``
executions were fetched singly
``/metrics`` durations             a fixed 10 s per finished execution  real durations
``Host`` and ``Origin``            any                                  ``403`` unless the
                                                                        address served
                                                                        (``127.0.0.1:port``
                                                                        or ``localhost:
                                                                        port``) and no or
                                                                        the same origin
request bodies' ``Content-Type``   JSON also without a Content-Type;    ``415`` unless
                                   other types fail validation (422)    ``application/json``
                                                                        or ``+json``
JSON nesting deeper than 200,      Python's own limits (a 500 on        ``422 json_invalid``
integers over 1000 digits          3.11+ for 4300+ digits)
``Expect: 100-continue``           uvicorn's handling                   ``100`` before the
                                                                        body; a refused
                                                                        request is answered
                                                                        at once and closed
unprefixed routes                  also ``/flows/{id}`` (GET, PUT,      only ``GET``/``POST
                                   DELETE), ``/flows/execute``,         /flows`` and ``/
                                   ``/executions...``, ``/agents/       agents``; the rest
                                   {id}``, ``/messages/{id}``,          is ``404``/``405``
                                   ``/auth/...``, ``/health/detailed``  (the SDK uses none)
where it listens, what it calls    any interface; any agent URL         IPv4 loopback only;
                                                                        loopback agents
                                                                        unless ``allow_
                                                                        remote_agents=
                                                                        True``
a flow node without ``agent_id``   (not recorded)                       passes its input on
texts of the flow-write ``400``,   not recorded in CONTRACT.md or the   ``Flow 'x' already
``403`` and ``409`` answers        transcripts                          exists``, ``You do
                                                                        not have permission
                                                                        to <verb> flow
                                                                        'x'``, the graph
                                                                        check's own texts:
                                                                        unverified
=================================  ===================================  ===================
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
