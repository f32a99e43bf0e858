"""The pure byte budget behind the body budget patch: what fits is counted, what does not is not."""

from __future__ import annotations

from proxy.byte_budget import Budget


def test_bytes_are_counted_until_the_capacity_and_given_back():
    budget = Budget(10)
    assert budget.take(6)
    assert budget.take(4)
    assert not budget.take(1)  # full: nothing counted
    assert budget.held == 10
    budget.give(6)
    assert budget.take(5)
    assert budget.held == 9


def test_a_body_larger_than_the_capacity_never_fits():
    budget = Budget(10)
    assert not budget.take(11)
    assert budget.held == 0
