"""The phase rules: forward one step, back to any earlier phase, weights only in canary."""

from __future__ import annotations

import pytest

from domain import transitions
from domain.phases import Phase
from domain.transitions import TransitionError, advance_step, rollback_step


def forward(current, target, weight=None, *, method="GET", canary_writes=False, now_weight=0):
    return advance_step(
        current, now_weight, target, weight, method=method, canary_writes=canary_writes
    )


def test_it_moves_forward_one_step_at_a_time():
    step = forward(Phase.LEGACY, Phase.SHADOW)
    assert (step.to_phase, step.to_weight, step.changes) == (Phase.SHADOW, 0, True)
    with pytest.raises(TransitionError, match=r"skips a phase.*next is shadow"):
        forward(Phase.LEGACY, Phase.CANARY, 10)
    with pytest.raises(TransitionError, match="use rollback"):
        forward(Phase.MIGRATED, Phase.SHADOW)
    assert not forward(Phase.RETIRED, Phase.RETIRED).changes


def test_it_needs_a_weight_to_enter_canary_and_keeps_it_in_range():
    with pytest.raises(TransitionError, match="needs --weight"):
        forward(Phase.SHADOW, Phase.CANARY)
    for bad in (0, 100, -5):
        with pytest.raises(TransitionError, match="out of range"):
            forward(Phase.SHADOW, Phase.CANARY, bad)
    assert forward(Phase.SHADOW, Phase.CANARY, 10).to_weight == 10


def test_it_raises_a_canary_weight_with_advance_and_lowers_it_with_rollback():
    assert forward(Phase.CANARY, Phase.CANARY, 50, now_weight=10).to_weight == 50
    with pytest.raises(TransitionError, match="only raises"):
        forward(Phase.CANARY, Phase.CANARY, 5, now_weight=10)
    assert rollback_step(Phase.CANARY, 50, Phase.CANARY, 20).to_weight == 20
    with pytest.raises(TransitionError, match="only lowers"):
        rollback_step(Phase.CANARY, 50, Phase.CANARY, 60)


def test_it_sets_weight_zero_outside_canary():
    assert forward(Phase.CANARY, Phase.MIGRATED, now_weight=50).to_weight == 0
    assert rollback_step(Phase.CANARY, 50, Phase.SHADOW, None).to_weight == 0
    with pytest.raises(TransitionError, match="canary only"):
        forward(Phase.CANARY, Phase.MIGRATED, 50, now_weight=40)


def test_it_rolls_back_to_any_earlier_phase():
    assert rollback_step(Phase.RETIRED, 0, Phase.LEGACY, None).to_phase is Phase.LEGACY
    back_into_canary = rollback_step(Phase.MIGRATED, 0, Phase.CANARY, None)
    assert (back_into_canary.to_phase, back_into_canary.to_weight) == (Phase.CANARY, 1)
    with pytest.raises(TransitionError, match="use advance"):
        rollback_step(Phase.SHADOW, 0, Phase.MIGRATED, None)


def test_it_keeps_write_routes_out_of_a_canary_unless_the_plan_allows_it():
    assert transitions.effective_target(Phase.CANARY, method="PUT", canary_writes=False) == "shadow"
    assert transitions.effective_target(Phase.CANARY, method="PUT", canary_writes=True) == "canary"
    assert transitions.effective_target(Phase.CANARY, method="GET", canary_writes=False) == "canary"
    # A write route without a canary goes from shadow straight to migrated: one step for it.
    assert forward(Phase.SHADOW, Phase.MIGRATED, method="PUT").to_phase is Phase.MIGRATED
    with pytest.raises(TransitionError, match="next is canary"):
        forward(Phase.SHADOW, Phase.MIGRATED, method="PUT", canary_writes=True)


def test_it_picks_default_targets_from_each_routes_own_next_step():
    def advance_to(*routes, canary_writes=False):
        return transitions.default_advance_target(list(routes), canary_writes=canary_writes)

    def rollback_to(*routes, canary_writes=False):
        return transitions.default_rollback_target(list(routes), canary_writes=canary_writes)

    # reads in canary, writes waiting in shadow: both go to migrated next
    assert advance_to((Phase.CANARY, "GET"), (Phase.SHADOW, "PUT")) is Phase.MIGRATED
    assert advance_to((Phase.SHADOW, "GET"), (Phase.SHADOW, "PUT")) is Phase.CANARY
    # one route ahead on its own does not drag the others past a phase
    assert advance_to((Phase.LEGACY, "GET"), (Phase.MIGRATED, "GET")) is Phase.SHADOW
    assert rollback_to((Phase.LEGACY, "GET"), (Phase.MIGRATED, "GET")) is Phase.CANARY
    assert rollback_to((Phase.MIGRATED, "PUT")) is Phase.SHADOW
    assert rollback_to((Phase.MIGRATED, "PUT"), canary_writes=True) is Phase.CANARY
    with pytest.raises(TransitionError, match="nothing to roll back"):
        rollback_to((Phase.LEGACY, "GET"))
    with pytest.raises(TransitionError, match="nothing to advance"):
        advance_to((Phase.RETIRED, "GET"))
    with pytest.raises(TransitionError, match="is not a phase"):
        transitions.parse_phase("live")
