"""The detectors: a field's name says which identifier it holds, the legacy monolith's column
names included, and a string's shape says it whatever the field is called."""

from __future__ import annotations

import pytest

from domain.safe_harbor import Category, Detector, field_category, path_category, path_fields


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("LAST_NM", Category.NAME), ("FIRST_NM", Category.NAME), ("PAT_NM", Category.NAME),
        ("PROV_NM", Category.NAME), ("FULL_NM", Category.NAME), ("LOGIN_NM", Category.NAME),
        ("family_name", Category.NAME), ("given", Category.NAME), ("firstname", Category.NAME),
        ("DOB", Category.DATE), ("PAT_DOB", Category.DATE), ("birthDate", Category.DATE),
        ("APPT_DT", Category.DATE), ("UPD_TS", Category.DATE), ("lastUpdated", Category.DATE),
        ("starts_at", Category.DATE),
        ("MRN", Category.ID), ("PAT_ID", Category.ID), ("patient_id", Category.ID),
        ("id", Category.ID), ("SESS_ID", Category.ID), ("set-cookie", Category.ID),
        ("patient", Category.ID), ("PAT", Category.ID),
        ("SSN", Category.SSN),
        ("PHONE", Category.PHONE), ("telecom", Category.PHONE),
        ("email", Category.EMAIL), ("e-mail", Category.EMAIL),
        ("ADDR1", Category.ADDRESS), ("address_line", Category.ADDRESS), ("CITY", Category.ADDRESS),
        ("ZIP", Category.ADDRESS), ("postalCode", Category.ADDRESS), ("line", Category.ADDRESS),
        ("ip_address", Category.IP), ("x-forwarded-for", Category.IP),
        ("location", Category.URL), ("fullUrl", Category.URL), ("reference", Category.URL),
        ("age", Category.AGE), ("REASON_TXT", Category.TEXT), ("div", Category.TEXT),
        ("ST", None), ("SEX_CD", None), ("STATUS_CD", None), ("DUR_MIN", None), ("COUNT", None),
        ("resourceType", None), ("gender", None), ("system", None), ("use", None),
        ("content-type", None), ("RESULT", None),
    ],
)  # fmt: skip
def test_a_field_name_says_what_it_holds(name, category):
    assert field_category(name) is category


def test_a_generic_leaf_takes_its_parents_meaning():
    assert path_fields("body.items[id=7].telecom[0].value") == ["body", "items", "telecom", "value"]
    assert path_category("body.telecom[0].value") is Category.PHONE
    assert path_category("body.identifier[0].value") is Category.ID
    assert path_category("body.identifier[0].use") is None
    assert path_category("body.type.text") is None
    assert path_category("body") is None
    assert path_category("") is None


@pytest.mark.parametrize(
    ("text", "found", "category"),
    [
        ("mail jane.q@example.org now", "jane.q@example.org", Category.EMAIL),
        ("see https://x.example/a?b=1 now", "https://x.example/a?b=1", Category.URL),
        ("from 192.0.2.1 now", "192.0.2.1", Category.IP),
        ("from fe80::1%eth0 now", "fe80::1%eth0", Category.IP),
        ("from ::ffff:192.0.2.1 now", "::ffff:192.0.2.1", Category.IP),
        ("on 1961/07/14 now", "1961/07/14", Category.DATE),
        ("ssn 123-45-6789 now", "123-45-6789", Category.SSN),
        ("call (555) 555-0101 now", "(555) 555-0101", Category.PHONE),
        ("call 555.555.0101 x12 now", "555.555.0101 x12", Category.PHONE),
        ("on 2024-01-02T10:30:00+01:00 now", "2024-01-02T10:30:00+01:00", Category.DATE),
        ("on 1.2.2024 now", "1.2.2024", Category.DATE),
        ("on Mar. 5th, 1984 now", "Mar. 5th, 1984", Category.DATE),
        ("chart M0000123 now", "M0000123", Category.ID),
    ],
)
def test_a_string_is_found_by_its_shape(text, found, category):
    [(start, end, kind)] = list(Detector().find(text))
    assert (text[start:end], kind) == (found, category)


def test_what_only_looks_close_is_left_alone():
    detector = Detector()
    for text in ("12:30:00", "version 1.2", "m0000123", "XM00001234", "code 4217", "HTTP/1.1"):
        assert list(detector.find(text)) == [], text
    assert detector.whole("M0000123") is Category.ID
    assert detector.whole("chart M0000123") is None


def test_what_a_false_ipv6_swallowed_is_still_seen():
    text = "at 12:30:00:192.0.2.1 and 1:2:3:4:5:6:7:8:9"
    found = [text[start:end] for start, end, _ in Detector().find(text)]
    assert "192.0.2.1" in found
    assert "1:2:3:4:5:6:7:8" in found  # a valid address: the `:9` after it is not
