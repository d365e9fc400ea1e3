"""The retry policy's decisions, without any I/O."""

import copy
import pickle
import random

import pytest

from ai_spine import RetryPolicy


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_requests_retry_transient_statuses(status: int) -> None:
    policy = RetryPolicy(max_retries=3)
    assert policy.should_retry_status("GET", status, attempt=1)
    assert policy.should_retry_status("DELETE", status, attempt=3)


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_unsafe_requests_do_not_retry_statuses_that_may_mean_it_ran(
    method: str, status: int
) -> None:
    assert not RetryPolicy().should_retry_status(method, status, attempt=1)


def test_429_is_retried_for_every_method_because_nothing_ran() -> None:
    assert RetryPolicy().should_retry_status("POST", 429, attempt=1)


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409, 422, 500, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not RetryPolicy().should_retry_status("GET", status, attempt=1)


def test_retries_stop_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry_status("GET", 503, attempt=2)
    assert not policy.should_retry_status("GET", 503, attempt=3)
    assert not RetryPolicy(max_retries=0).should_retry_status("GET", 503, attempt=1)
    assert policy.should_retry_connect_error(attempt=2)
    assert not policy.should_retry_connect_error(attempt=3)


def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.should_retry_status("GET", 429, 1, retry_after=60)
    assert not policy.should_retry_status("GET", 429, 1, retry_after=61)


def test_read_errors_are_retried_only_when_idempotent() -> None:
    policy = RetryPolicy(max_retries=1)
    assert policy.should_retry_read_error("GET", attempt=1)
    assert not policy.should_retry_read_error("POST", attempt=1)
    assert not policy.should_retry_read_error("GET", attempt=2)


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(backoff_factor=0.5, backoff_max=3)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # the whole range is used: jitter is full


def test_delay_prefers_retry_after_and_caps_it() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay(1, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=600) == 60
    assert 0 <= policy.delay(1) <= policy.backoff_factor


def test_policy_is_an_immutable_value() -> None:
    policy = RetryPolicy(max_retries=2)
    with pytest.raises(AttributeError, match=r"immutable: use policy.replace\(max_retries="):
        policy.max_retries = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del policy.backoff_max
    assert policy.replace(max_retries=0) == RetryPolicy(max_retries=0)
    assert policy.max_retries == 2
    assert hash(policy) == hash(RetryPolicy(max_retries=2))
    assert policy != RetryPolicy(max_retries=3) and policy != (2, 0.5, 8.0, 60.0)
    assert copy.copy(policy) == policy == pickle.loads(pickle.dumps(policy))
    assert eval(repr(policy), {"RetryPolicy": RetryPolicy}) == policy
    with pytest.raises(TypeError, match="no field"):
        policy.replace(retries=1)


@pytest.mark.parametrize(
    "method, idempotent",
    [
        ("GET", True),
        ("get", True),
        ("HEAD", True),
        ("OPTIONS", True),
        ("DELETE", True),
        ("POST", False),
        ("put", False),
        ("PATCH", False),
    ],
)
def test_idempotence_ignores_the_method_s_case(method: str, idempotent: bool) -> None:
    assert RetryPolicy.is_idempotent(method) is idempotent
    assert RetryPolicy().should_retry_read_error(method, attempt=1) is idempotent
    assert RetryPolicy().should_retry_status(method, 503, attempt=1) is idempotent


def test_a_seeded_random_source_makes_delays_reproducible() -> None:
    policy = RetryPolicy()
    first = [policy.delay(n, rng=random.Random(3)) for n in (1, 2, 3)]
    again = [policy.delay(n, rng=random.Random(3)) for n in (1, 2, 3)]
    assert first == again
    assert policy.delay(2, retry_after=0.0, rng=random.Random(3)) == 0.0
