"""The client side of ``percall.py``: one kind of client, timed in its own process.

Run by ``percall.py`` (never imported by it), with the interpreter that has the client: the
project's for ``ours`` and the standard library or ``requests``-based peers, the benchmark's
own virtual environment for ``sdk231`` (the 2.3.1 SDK from PyPI) and ``httpx``. Stdlib-only
apart from the client measured; Python 3.7+. Prints one JSON line: the per-call times in
microseconds of ``--calls`` GETs and POSTs, after ``--warmup`` untimed calls of each.

Usage::

    python _percall_client.py KIND URL EXECUTION_ID [--calls 300] [--warmup 30]

The GET is ``get_execution``; the POST registers the same agent again (``create_agent``: the
server replaces it, so every call does the same small amount of server work; an
``execute_flow`` would start background work that would swamp what the clients differ in).
"""

import argparse
import json
import sys
import time
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import urlsplit

API = "/api/v1"
KEY = "sk_benchmark"
AGENT = {
    "agent_id": "bench_agent",
    "name": "Benchmark agent",
    "description": "Registered again and again by the per-call benchmark",
    "endpoint": "http://127.0.0.1:9",
    "capabilities": ["echo"],
    "agent_type": "processor",
}
KINDS = ("http_client", "urllib3", "requests", "httpx", "sdk231", "ours")


def build(kind: str, url: str, execution_id: str) -> Tuple[Callable[[], Any], ...]:
    """Return (get, post, close) for ``kind``: each get/post makes one whole call."""
    get_path = "{}/executions/{}".format(API, execution_id)
    post_path = API + "/agents"
    body = AGENT
    payload = json.dumps(body).encode()
    headers = {
        "Authorization": "Bearer " + KEY,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    if kind == "http_client":
        import http.client

        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port)

        def one(method: str, path: str, data: Any = None) -> Any:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return json.loads(response.read())

        return (
            lambda: one("GET", get_path),
            lambda: one("POST", post_path, payload),
            conn.close,
        )
    if kind == "urllib3":
        import urllib3

        pool = urllib3.PoolManager()
        return (
            lambda: json.loads(pool.request("GET", url + get_path, headers=headers).data),
            lambda: json.loads(
                pool.request("POST", url + post_path, body=payload, headers=headers).data
            ),
            pool.clear,
        )
    if kind == "requests":
        import requests

        session = requests.Session()
        session.headers.update(headers)
        return (
            lambda: session.get(url + get_path).json(),
            lambda: session.post(url + post_path, json=body).json(),
            session.close,
        )
    if kind == "httpx":
        import httpx

        client = httpx.Client(headers=headers)
        return (
            lambda: client.get(url + get_path).json(),
            lambda: client.post(url + post_path, json=body).json(),
            client.close,
        )
    if kind == "sdk231":
        import warnings

        from ai_spine import AISpine  # the 2.3.1 SDK of this interpreter's environment

        warnings.simplefilter("ignore")
        old = AISpine(api_key=KEY, base_url=url + API)
        return (
            lambda: old.get_execution(execution_id),
            lambda: old.create_agent(dict(AGENT)),
            old.close,
        )
    if kind == "ours":
        from ai_spine import AISpine  # this project's SDK (PYTHONPATH names the source)

        ours = AISpine(api_key=KEY, base_url=url)
        return (
            lambda: ours.get_execution(execution_id),
            lambda: ours.create_agent(dict(AGENT)),  # type: ignore[arg-type]
            ours.close,
        )
    raise SystemExit("unknown kind {!r}; one of {}".format(kind, ", ".join(KINDS)))


def timed(call: Callable[[], Any], calls: int, warmup: int) -> List[float]:
    for _ in range(warmup):
        call()
    times: List[float] = []
    clock = time.perf_counter
    for _ in range(calls):
        began = clock()
        call()
        times.append((clock() - began) * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("url")
    parser.add_argument("execution_id")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    get, post, close = build(args.kind, args.url, args.execution_id)
    result: Dict[str, Any] = {"kind": args.kind, "python": sys.version.split()[0]}
    result["get_us"] = timed(get, args.calls, args.warmup)
    result["post_us"] = timed(post, args.calls, args.warmup)
    close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
