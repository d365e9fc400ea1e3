"""Demo agents: small real HTTP agents for demos, examples and tests.

One loopback server hosts every agent under its own path prefix; each answers
``POST /<agent>/execute`` with ``{"status": "success", "output": {...}}``, the protocol
the AI Spine server speaks to agents. Agents:

- ``echo`` (also any unknown name, e.g. ``/agent-a/execute``): returns its input plus
  ``node_id`` and ``handled_by`` (the request path), like the recorded echo agents.
- ``sentiment``: scores the input's ``text`` against a small word list.
- ``credit_score``: computes a score and an approve/decline decision from ``income``,
  ``debt`` and, when present, ``sentiment_score`` (config ``approve_threshold``, default
  650). A missing or non-numeric ``income`` answers 422.

Every agent honours two input keys, so a test can script the failure modes of a real
agent: ``sleep`` (seconds to wait before answering; otherwise the constructor's
``delay``) and ``fail`` (when true, answer HTTP 500 instead of a result).
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Any, Dict, List, Optional, Tuple, Type

from ._http import LoopbackHTTPServer, Request, Response, json_response
from ._validation import ValidationFailed, parse_json_body

DEMO_FLOW_ID = "demo_credit_check"
"""Id of the ready-made demo flow: sentiment analysis, then credit scoring."""

_POSITIVE = frozenset(
    "good great excellent happy love loved stable reliable growing growth profit profitable "
    "success successful strong positive promotion promoted secure confident excited "
    "wonderful best steady raise bonus".split()
)
_NEGATIVE = frozenset(
    "bad poor terrible sad hate late missed debt default defaulted bankrupt bankruptcy "
    "unemployed loss lost weak negative risky worried fired overdue struggling".split()
)

_Outcome = Tuple[int, Dict[str, Any]]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def score_sentiment(text: str) -> Dict[str, Any]:
    """Score a text as positive, negative or neutral with the demo word list.

    Args:
        text: Free text.

    Returns:
        ``sentiment`` (label), ``sentiment_score`` (-1..1) and the matched words.

    Example:
        >>> score_sentiment("Great job, stable income")["sentiment"]
        'positive'
    """
    words = re.findall(r"[a-z']+", text.lower())
    positive = [word for word in words if word in _POSITIVE]
    negative = [word for word in words if word in _NEGATIVE]
    matched = len(positive) + len(negative)
    score = (len(positive) - len(negative)) / matched if matched else 0.0
    if score > 0.2:
        label = "positive"
    elif score < -0.2:
        label = "negative"
    else:
        label = "neutral"
    return {
        "sentiment": label,
        "sentiment_score": round(score, 3),
        "positive_words": positive,
        "negative_words": negative,
    }


def score_credit(data: Dict[str, Any], config: Dict[str, Any]) -> _Outcome:
    """Compute the demo credit score and decision.

    The score falls linearly from 850 (no debt) to 350 (debt equal to income or more),
    moves by up to 50 points with ``sentiment_score``, and is clamped to 300..850.

    Args:
        data: Needs a non-negative number ``income``; ``debt`` defaults to 0.
        config: Optional ``approve_threshold`` (default 650).

    Returns:
        ``(200, output)``, or ``(422, {"detail": ...})`` for unusable input.

    Example:
        >>> score_credit({"income": 90000, "debt": 9000}, {})[1]["decision"]
        'approve'
    """
    income: Any = data.get("income")
    debt: Any = data.get("debt", 0)
    if not _is_number(income) or income < 0:
        return 422, {"detail": "credit_score needs a non-negative number 'income'"}
    if not _is_number(debt) or debt < 0:
        return 422, {"detail": "credit_score needs a non-negative number 'debt'"}
    ratio = debt / income if income > 0 else 1.0
    score = 850.0 - 500.0 * min(ratio, 1.0)
    reasons = ["debt-to-income ratio %.2f" % ratio]
    sentiment: Any = data.get("sentiment_score")
    if _is_number(sentiment):
        score += 50.0 * max(-1.0, min(1.0, float(sentiment)))
        reasons.append("sentiment score %+.2f" % sentiment)
    final = int(round(max(300.0, min(850.0, score))))
    threshold = config.get("approve_threshold", 650)
    if not _is_number(threshold):
        threshold = 650
    return 200, {
        "credit_score": final,
        "decision": "approve" if final >= threshold else "decline",
        "debt_to_income": round(ratio, 3),
        "approve_threshold": threshold,
        "reasons": reasons,
    }


def run_agent(name: str, path: str, payload: Dict[str, Any]) -> _Outcome:
    """Run one demo agent on an ``/execute`` payload (no I/O, no delay, no ``fail``).

    Args:
        name: Agent name, the path prefix (``echo``, ``sentiment``, ``credit_score``;
            anything else echoes).
        path: The request path, reported by the echo agent as ``handled_by``.
        payload: ``{"execution_id", "node_id", "input", "config"}``.

    Returns:
        ``(HTTP status, body)``.

    Example:
        >>> run_agent("echo", "/echo/execute", {"node_id": "a", "input": {"x": 1}})[1]
        {'status': 'success', 'output': {'x': 1, 'node_id': 'a', 'handled_by': '/echo/execute'}}
    """
    data = payload.get("input") or {}
    config = payload.get("config") or {}
    if not isinstance(data, dict) or not isinstance(config, dict):
        return 422, {"detail": "'input' and 'config' must be JSON objects"}
    if name == "sentiment":
        text = data.get("text", "")
        if not isinstance(text, str):
            return 422, {"detail": "sentiment needs a string 'text'"}
        return 200, {"status": "success", "output": score_sentiment(text)}
    if name == "credit_score":
        status, output = score_credit(data, config)
        if status != 200:
            return status, output
        return 200, {"status": "success", "output": output}
    output = dict(data, node_id=payload.get("node_id"), handled_by=path)
    return 200, {"status": "success", "output": output}


def demo_agent_definitions(base_url: str) -> List[Dict[str, Any]]:
    """Return the registrations of the demo agents served at ``base_url``.

    Args:
        base_url: URL of a running :class:`DemoAgents` server.

    Returns:
        Agent dicts for ``demo_sentiment``, ``demo_credit_score`` and ``demo_echo``,
        ready for ``POST /api/v1/agents`` or :meth:`LocalAISpine.add_agent`.

    Example:
        >>> demo_agent_definitions("http://127.0.0.1:9")[0]["endpoint"]
        'http://127.0.0.1:9/sentiment'
    """
    base = base_url.rstrip("/")
    return [
        {
            "agent_id": "demo_sentiment",
            "name": "Demo sentiment",
            "description": "Scores the sentiment of the input's 'text' with a small word list.",
            "endpoint": base + "/sentiment",
            "capabilities": ["sentiment-analysis"],
            "agent_type": "input",
            "is_active": True,
        },
        {
            "agent_id": "demo_credit_score",
            "name": "Demo credit score",
            "description": "Scores 'income' and 'debt' (and sentiment) into approve/decline.",
            "endpoint": base + "/credit_score",
            "capabilities": ["credit-scoring"],
            "agent_type": "processor",
            "is_active": True,
        },
        {
            "agent_id": "demo_echo",
            "name": "Demo echo",
            "description": "Returns its input plus the node id and the path that handled it.",
            "endpoint": base + "/echo",
            "capabilities": ["echo"],
            "agent_type": "processor",
            "is_active": True,
        },
    ]


def demo_flow_definition() -> Dict[str, Any]:
    """Return the demo flow ``DEMO_FLOW_ID``: sentiment, then credit scoring.

    Execute it with input such as ``{"text": "...", "income": 85000, "debt": 12000}``;
    its output is ``{"credit": {"credit_score", "decision", ...}}``.

    Returns:
        A flow definition dict (needs the demo agents registered).

    Example:
        >>> demo_flow_definition()["exit_points"]
        ['credit']
    """
    return {
        "flow_id": DEMO_FLOW_ID,
        "name": "Demo credit check",
        "description": "Scores the sentiment of an applicant's note, then decides on credit.",
        "version": "1.0.0",
        "nodes": [
            {
                "id": "sentiment",
                "agent_id": "demo_sentiment",
                "type": "input",
                "depends_on": [],
                "config": {},
                "conditions": None,
            },
            {
                "id": "credit",
                "agent_id": "demo_credit_score",
                "type": "output",
                "depends_on": ["sentiment"],
                "config": {"approve_threshold": 650},
                "conditions": None,
            },
        ],
        "entry_point": "sentiment",
        "exit_points": ["credit"],
        "metadata": {"demo": True},
    }


class DemoAgents:
    """A loopback HTTP server hosting the demo agents (see the module docstring).

    Args:
        host: Loopback address to bind.
        port: Port to bind; 0 picks a free one.
        delay: Default seconds every agent waits before answering.
        sleep_scale: Factor applied to every wait, so a recorded ``sleep: 2`` can run in
            a fraction of the time in a test.

    Example:
        >>> with DemoAgents() as agents:
        ...     agents.agent_url("sentiment").endswith("/sentiment")
        True
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        sleep_scale: float = 1.0,
    ) -> None:
        self._host = host
        self._port = port
        self.delay = delay
        self.sleep_scale = sleep_scale
        self._server: Optional[LoopbackHTTPServer] = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: When the server is not running.
        """
        if self._server is None:
            raise RuntimeError("DemoAgents is not running: call start() or use 'with'")
        return self._server.url

    def agent_url(self, name: str) -> str:
        """Return the endpoint to register for an agent (the server appends ``/execute``).

        Args:
            name: ``echo``, ``sentiment``, ``credit_score``, or any name (echoes).

        Returns:
            e.g. ``http://127.0.0.1:54321/sentiment``.

        Raises:
            RuntimeError: When the server is not running.

        Example:
            >>> with DemoAgents() as agents:
            ...     agents.agent_url("credit_score") == agents.url + "/credit_score"
            True
        """
        return "%s/%s" % (self.url, name.strip("/"))

    def agent_definitions(self) -> List[Dict[str, Any]]:
        """Return the demo agents' registrations pointing at this server.

        Returns:
            See :func:`demo_agent_definitions`.

        Raises:
            RuntimeError: When the server is not running.

        Example:
            >>> with DemoAgents() as agents:
            ...     [a["agent_id"] for a in agents.agent_definitions()]
            ['demo_sentiment', 'demo_credit_score', 'demo_echo']
        """
        return demo_agent_definitions(self.url)

    def start(self) -> "DemoAgents":
        """Bind and serve in a background thread.

        Returns:
            This object, for chaining.

        Raises:
            RuntimeError: When already running.
            ValueError: When ``host`` is not a loopback address.
            OSError: When the port cannot be bound.

        Example:
            >>> agents = DemoAgents(delay=0.1).start()
            >>> agents.stop()
        """
        if self._server is not None:
            raise RuntimeError("DemoAgents is already running")
        server = LoopbackHTTPServer(self._host, self._port, self._handle, "ai-spine-demo-agents")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; calling it again does nothing.

        Example:
            >>> agents = DemoAgents().start()
            >>> agents.stop(); agents.stop()
        """
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> "DemoAgents":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._server.url if self._server is not None else "stopped"
        return "<DemoAgents %s>" % where

    def _handle(self, request: Request) -> Response:
        if request.path == "/health":
            return json_response(200, {"status": "healthy"})
        if not request.path.endswith("/execute") or request.path == "/execute":
            return json_response(404, {"detail": "Not Found"})
        if request.method != "POST":
            return json_response(405, {"detail": "Method Not Allowed"}, [("Allow", "POST")])
        name = request.path[1 : -len("/execute")]
        try:
            payload = parse_json_body(request.body)
        except ValidationFailed:
            payload = None
        if not isinstance(payload, dict):
            return json_response(400, {"detail": "the body must be a JSON object"})
        data = payload.get("input")
        data = data if isinstance(data, dict) else {}
        wait = data.get("sleep", self.delay)
        if not _is_number(wait):
            wait = self.delay
        server = self._server
        if wait > 0 and server is not None:
            # Waiting on the stop event lets stop() cut a long sleep short.
            server.stopping.wait(float(wait) * self.sleep_scale)
        if data.get("fail"):
            return json_response(
                500, {"detail": "agent '%s' failed because the input asked it to" % name}
            )
        status, body = run_agent(name, request.path, payload)
        return json_response(status, body)
