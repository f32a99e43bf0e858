"""The paths that name a difference, the fields they are counted by, and the patterns a plan
writes to pick them."""

from __future__ import annotations

import pytest

from domain.compare_paths import PATTERN_RE, element, field_of, keyed, matches, member, steps


def test_paths_are_built_step_by_step_and_odd_members_are_quoted():
    assert member("body", "PAT_NM") == "body.PAT_NM"
    assert member("body", "a.b") == 'body["a.b"]'
    assert element(member("body", "APPTS"), 3) == "body.APPTS[3]"
    assert keyed("body.APPTS", "APPT_ID", 7) == "body.APPTS[APPT_ID=7]"
    assert keyed("body.APPTS", "APPT_ID", "7") == 'body.APPTS[APPT_ID="7"]'


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("body.APPTS[3].STATUS_CD", "body.APPTS[*].STATUS_CD"),
        ('body.APPTS[APPT_ID="A]7"].STATUS_CD', "body.APPTS[*].STATUS_CD"),
        ('body["a.b"][0]', 'body["a.b"][*]'),
        ("header.content-type", "header.content-type"),
        ("status", "status"),
    ],
)
def test_a_field_generalises_every_array_step(path, field):
    assert field_of(path) == field
    assert field_of(field) == field


def test_steps_leave_array_steps_out_and_keep_a_header_whole():
    assert steps('body.APPTS[id=1]["a.b"]') == ("body", "APPTS", "a.b")
    assert steps("header.x.trace-id") == ("header", "x.trace-id")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("body.**.UPD_TS", "body.UPD_TS", True),
        ("body.**.UPD_TS", "body.APPTS[4].UPD_TS", True),
        ("body.**.UPD_TS", "body.UPD_TS_OLD", False),
        ("body.APPTS[*].UPD_TS", "body.APPTS[APPT_ID=9].UPD_TS", True),
        ("body.APPTS.UPD_TS", "body.APPTS[2].UPD_TS", True),
        ("body.*.UPD_TS", "body.a.b.UPD_TS", False),
        ("body.UPD_*", "body.UPD_TS", True),
        ("body.**.**.x", "body.a.b.c.x", True),
        ("status", "body.status", False),
        ("header.etag", "header.etag", True),
    ],
)
def test_patterns_match_by_step(pattern, path, expected):
    assert matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [
        ("status", True),
        ("header.content-type", True),
        ("body", True),
        ("body[*].id", True),
        ("body.**.UPD_TS", True),
        ("body.items[*].code", True),
        ("body..x", False),
        ("body.items[3]", False),  # a plan names fields, not one element
        ("UPD_TS", False),
        ("headers.etag", False),
    ],
)
def test_a_plan_pattern_is_recognised(pattern, valid):
    assert bool(PATTERN_RE.fullmatch(pattern)) is valid
