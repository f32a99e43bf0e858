"""A clinician uses the unchanged legacy appointment book in real headless Chromium, through Ficus.

The page, its script and its JSON calls are the legacy app's own. Clicking an appointment loads
`GET /api/appointments/{id}`, which the proxy sends to the extracted service; booking and the
day list still go to the legacy app. The clinician sees one working page either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, select

from demo.launcher import Stack
from legacy_adapter.schema import ApptSched, PatientMaster
from tests.e2e.conftest import ANCHOR
from tests.support.chromium import chromium

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def clinician_page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(base_url=stack.config.proxy_url)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=login]", "clinician")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{stack.config.proxy_url}/")
    yield page
    context.close()


def _a_booked_appointment(stack: Stack) -> tuple[int, int, str]:
    engine = create_engine(stack.config.legacy_database_url)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                ApptSched.APPT_ID, ApptSched.PROV_ID, PatientMaster.LAST_NM, PatientMaster.FIRST_NM
            )
            .join(PatientMaster, PatientMaster.PAT_ID == ApptSched.PAT_ID)
            .where(ApptSched.APPT_DT == ANCHOR, ApptSched.STATUS_CD == "B")
            .order_by(ApptSched.APPT_ID.desc())
            .limit(1)
        ).one()
    engine.dispose()
    return row.APPT_ID, row.PROV_ID, f"{row.LAST_NM}, {row.FIRST_NM}"


def _log_length(stack: Stack) -> int:
    return len(stack.config.access_log.read_text().splitlines())


def _served_since(stack: Stack, start: int, template: str) -> set[tuple[str, str]]:
    """(upstream, reason) of every request on `template` logged after line `start`."""
    lines = stack.config.access_log.read_text().splitlines()[start:]
    entries = [json.loads(line) for line in lines]
    return {(e["upstream"], e["reason"]) for e in entries if e["route"] == template}


def test_a_clinician_opens_an_appointment_served_by_the_new_service(
    clinician_page: Page, stack: Stack
) -> None:
    appointment, provider, patient_name = _a_booked_appointment(stack)
    page = clinician_page
    page.goto(f"/schedule?prov={provider}&date={ANCHOR}")
    start = _log_length(stack)

    row = page.locator(f"#day-rows tr[data-appt='{appointment}']")
    expect(row).to_contain_text(patient_name)
    row.click()

    detail = page.locator("#detail")
    expect(detail.locator("h3")).to_have_text(f"Appointment #{appointment}")
    expect(detail).to_contain_text(patient_name)
    expect(page.locator("#msg")).not_to_have_class("msg error")
    assert _served_since(stack, start, "/api/appointments/{id:int}") == {("appointments", "route")}


def test_a_clinician_books_reschedules_and_is_refused_a_double_booking_as_before(
    clinician_page: Page, stack: Stack
) -> None:
    _, provider, _ = _a_booked_appointment(stack)
    page = clinician_page
    page.goto(f"/schedule?prov={provider}&date={ANCHOR}")
    expect(page.locator("#day-rows tr.appt").first).to_be_visible()
    message, detail = page.locator("#msg"), page.locator("#detail")

    def fill_and_click(button: str, time_hhmm: str) -> None:
        page.fill("#f-pat", "1")
        page.fill("#f-date", ANCHOR)
        page.fill("#f-time", time_hhmm)
        page.select_option("#f-dur", "15")
        page.fill("#f-reason", "BROWSER TEST")
        page.click(button)

    # Before clinic hours, so the seed never holds these slots.
    start = _log_length(stack)
    fill_and_click("#do-book", "0630")
    expect(message).to_contain_text("Booked (appointment #")
    booked = message.inner_text().split("#")[1].rstrip(").")
    # The page shows the new appointment at once: its detail is a read of the migrated route,
    # made before any sync could copy it, so the proxy must not let the service answer 404.
    expect(detail.locator("h3")).to_have_text(f"Appointment #{booked}")
    expect(message).to_have_class("msg ok")
    expect(page.locator("#day-rows")).to_contain_text("BROWSER TEST")
    # The clinician's own write pinned their reads of the feature to legacy, the data owner.
    assert _served_since(stack, start, "/api/appointments/{id:int}") == {("legacy", "pinned")}

    fill_and_click("#do-move", "0645")
    expect(message).to_contain_text(f"Rescheduled (appointment #{booked})")
    # ...and the detail shows the new time, not the copy the service held a moment ago.
    expect(detail).to_contain_text("06:45")
    expect(message).to_have_class("msg ok")

    fill_and_click("#do-book", "0645")
    expect(message).to_have_text("SLOT NOT AVAILABLE")
    expect(message).to_have_class("msg error")
