"""The loop pieces forward and reverse apply share (legacy_adapter.apply_loop), on plain data."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.records import MappingError
from legacy_adapter import apply_loop


@dataclass(slots=True)
class Counts:
    claimed: int = 0
    written: int = 0

    def add(self, other: Counts) -> None:
        apply_loop.add_counts(self, other, self.__slots__)


def batches(*reports: Counts | None):
    pending = list(reports)
    return lambda: pending.pop(0)


def test_it_sums_batches_until_one_finds_nothing_pending():
    total = apply_loop.drain(batches(Counts(3, 2), Counts(1, 1), None, Counts(9, 9)), Counts())
    assert (total.claimed, total.written) == (4, 3)


def test_it_stops_after_max_batches_even_with_more_pending():
    total = apply_loop.drain(batches(Counts(3, 2), Counts(1, 1), Counts(5, 5)), Counts(), 2)
    assert (total.claimed, total.written) == (4, 3)


def to_upper(row: str) -> str:
    if row == "poison":
        raise MappingError("not a name", column="PAT_NM")
    return row.upper()


def test_it_converts_current_rows_in_key_order_and_marks_gone_keys_as_deletes():
    current = {3: "cy", 1: "ann"}
    converted, refused = apply_loop.convert_current([1, 2, 3], current, to_upper)
    assert list(converted.items()) == [(1, "ANN"), (2, None), (3, "CY")]
    assert refused == {}


def test_it_sets_a_row_the_mapping_refuses_apart_with_the_reason():
    converted, refused = apply_loop.convert_current([1, 2], {1: "poison", 2: "bo"}, to_upper)
    assert converted == {2: "BO"}
    assert list(refused) == [1]
    assert "not a name" in refused[1]


def test_an_error_that_is_not_the_rows_fault_fails_the_batch():
    def broken(row: str) -> str:
        raise RuntimeError("the mapping is misconfigured")

    with pytest.raises(RuntimeError, match="misconfigured"):
        apply_loop.convert_current([1], {1: "ann"}, broken)
