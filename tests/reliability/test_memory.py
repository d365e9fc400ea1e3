"""Finding 3: an answer costs at most ``max_response_bytes``, however it is made.

Measured with ``tracemalloc`` (the peak of Python allocations while one call runs) at the
default cap, 32 MiB: before the cap, a 1 MB gzip body that expands to 1 GB cost 2 GB.
"""

import tracemalloc
from typing import Any, Callable

import pytest

from ai_spine import ResponseTooLargeError
from ai_spine.constants import DEFAULT_MAX_RESPONSE_BYTES

from .hostile import EXECUTION_ID, Hostile, endless_chunks, gzip_bomb

BOMB = gzip_bomb(512 << 20)  # 512 MiB of zeros in about 500 KiB
ALLOWED = DEFAULT_MAX_RESPONSE_BYTES + (8 << 20)  # the cap, and a few chunks in flight


@pytest.mark.parametrize("script", [BOMB, endless_chunks()], ids=["gzip bomb", "endless"])
def test_a_hostile_answer_costs_at_most_the_cap(
    script: Any, make_client: Callable[..., Any]
) -> None:
    with Hostile(script, hostile=0) as server:
        client = make_client(base_url=server.url, timeout=5, max_retries=0)
        client.health_check()  # the pool and the event loop exist before measuring
        server.hostile = 2  # the health check was request 1: the next one is hostile
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as caught:
                client.get_execution(EXECUTION_ID)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert caught.value.limit == DEFAULT_MAX_RESPONSE_BYTES
        assert peak < ALLOWED, "peak {:.0f} MiB".format(peak / (1 << 20))
