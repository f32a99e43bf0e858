"""Read-your-writes pins: per session and feature, expiring, bounded, keyed by a digest."""

from __future__ import annotations

import hashlib

from proxy.pins import ReadPins, session_key
from tests.proxy.test_ttl_cache import Clock

CLINICIAN = "3f9c0e5d7a1b4c2e8f6a0b1c2d3e4f50"
OTHER = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def test_a_pin_holds_for_its_window_and_then_ends():
    clock = Clock()
    pins = ReadPins(clock=clock)
    pins.pin({CLINICIAN}, "appointments", 5)
    assert pins.pinned({CLINICIAN}) == {"appointments"}
    clock.now += 4.9
    assert pins.pinned({CLINICIAN}) == {"appointments"}
    clock.now += 0.2
    assert pins.pinned({CLINICIAN}) == frozenset()
    assert len(pins) == 0


def test_pins_belong_to_their_session_only():
    pins = ReadPins(clock=Clock())
    pins.pin({CLINICIAN}, "appointments", 5)
    assert pins.pinned({OTHER}) == frozenset()
    assert pins.pinned(set()) == frozenset()


def test_each_feature_keeps_its_own_window():
    clock = Clock()
    pins = ReadPins(clock=clock)
    pins.pin({CLINICIAN}, "appointments", 5)
    pins.pin({CLINICIAN}, "billing", 2)
    assert pins.pinned({CLINICIAN}) == {"appointments", "billing"}
    clock.now += 3
    assert pins.pinned({CLINICIAN}) == {"appointments"}


def test_a_new_write_extends_the_pin_and_a_shorter_one_does_not_shorten_it():
    clock = Clock()
    pins = ReadPins(clock=clock)
    pins.pin({CLINICIAN}, "appointments", 5)
    clock.now += 4
    pins.pin({CLINICIAN}, "appointments", 5)
    clock.now += 4
    assert pins.pinned({CLINICIAN}) == {"appointments"}
    pins.pin({CLINICIAN}, "appointments", 0.5)
    clock.now += 0.9
    assert pins.pinned({CLINICIAN}) == {"appointments"}


def test_zero_seconds_pins_nothing():
    pins = ReadPins(clock=Clock())
    pins.pin({CLINICIAN}, "appointments", 0)
    assert pins.pinned({CLINICIAN}) == frozenset()
    assert len(pins) == 0


def test_any_of_several_session_ids_counts():
    pins = ReadPins(clock=Clock())
    pins.pin({CLINICIAN, OTHER}, "appointments", 5)
    assert pins.pinned({OTHER}) == {"appointments"}
    assert pins.pinned({"unknown", CLINICIAN}) == {"appointments"}


def test_the_memory_is_bounded_and_drops_the_oldest_session_first():
    pins = ReadPins(max_sessions=2, clock=Clock())
    for session in ("s1", "s2", "s3"):
        pins.pin({session}, "appointments", 5)
    assert len(pins) == 2
    assert pins.pinned({"s1"}) == frozenset()
    assert pins.pinned({"s3"}) == {"appointments"}


def test_it_is_keyed_by_a_digest_and_never_holds_the_session_id():
    assert session_key(CLINICIAN) == hashlib.sha256(CLINICIAN.encode()).digest()
    pins = ReadPins(clock=Clock())
    pins.pin({CLINICIAN}, "appointments", 5)
    # The one place the pins live: the cache's entries (a private attribute, looked at on
    # purpose, because "no raw token kept" is the property under test).
    entries = pins._cache._entries
    assert list(entries) == [session_key(CLINICIAN)]
    assert CLINICIAN not in repr(entries)
    assert CLINICIAN.encode() not in repr(entries).encode()
