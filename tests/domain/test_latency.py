"""Latency buckets: where a latency is counted, and a percentile read back from counts."""

from __future__ import annotations

import pytest

from domain.latency import (
    BOUNDS_MS,
    BUCKET_COUNT,
    add_buckets,
    bucket_index,
    empty_buckets,
    p99_ms,
    percentile_ms,
)


def counts_of(latencies):
    counts = empty_buckets()
    for latency in latencies:
        counts[bucket_index(latency)] += 1
    return counts


def test_it_counts_a_latency_in_the_first_bucket_whose_bound_holds_it():
    assert bucket_index(0.0) == 0
    assert bucket_index(1.0) == 0  # bounds are inclusive
    assert bucket_index(1.01) == 1
    assert bucket_index(BOUNDS_MS[-1] + 1) == BUCKET_COUNT - 1  # the overflow bucket


def test_it_has_no_percentile_for_no_requests():
    assert p99_ms(empty_buckets()) is None


def test_its_p99_lies_in_the_bucket_of_the_true_p99():
    latencies = [4.0] * 980 + [120.0] * 20  # the 990th sample is 120 ms
    estimate = p99_ms(counts_of(latencies))
    assert estimate is not None
    index = bucket_index(120.0)
    assert BOUNDS_MS[index - 1] < estimate <= BOUNDS_MS[index]


def test_a_slower_service_has_a_higher_p99():
    legacy = p99_ms(counts_of([3.0] * 1000))
    service = p99_ms(counts_of([3.0] * 950 + [50.0] * 50))
    assert legacy is not None
    assert service is not None
    assert service > legacy


def test_the_overflow_bucket_reports_its_lower_bound():
    assert p99_ms(counts_of([60_000.0] * 10)) == BOUNDS_MS[-1]


def test_counts_from_several_workers_add_up():
    total = counts_of([2.0, 2.0])
    add_buckets(total, counts_of([2.0, 500.0]))
    assert sum(total) == 4
    assert total[bucket_index(500.0)] == 1


def test_it_refuses_counts_of_the_wrong_length_and_a_bad_quantile():
    with pytest.raises(ValueError, match="expected 20 latency buckets"):
        percentile_ms([1, 2, 3])
    with pytest.raises(ValueError, match="quantile"):
        percentile_ms(empty_buckets(), 1.5)
    with pytest.raises(ValueError, match="latency buckets"):
        add_buckets(empty_buckets(), [1])
