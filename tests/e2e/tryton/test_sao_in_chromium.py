"""A clinician uses sao, Tryton's own web client, in headless Chromium: direct, then through Ficus.

sao's page and scripts are served by trytond (`[web] root`); every call it makes is JSON-RPC
`POST /DBNAME/`. The same steps run straight against trytond, which proves the test, and
through the proxy, where they must work just the same.

Through Ficus this used to fail (issue 15): the proxy rewrote Host to trytond's address while
the browser's Origin named the proxy, and trytond refuses a POST whose Origin host is not its
Host; its first call, `common.server.version`, got a 500 and sao said "Connection error / Could
not connect to the server". Ficus now keeps the client's Host toward legacy
(`--legacy-host-header preserve`, the default), and these steps pass through it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.proxy.processes import RunningProxy
from tests.support.chromium import chromium
from tests.support.tryton import Template, Trytond, run_proteus_clinician

pytestmark = pytest.mark.e2e

# The same steps straight to trytond and through the proxy.
WAYS = [
    pytest.param("direct", id="direct"),
    pytest.param("ficus", id="through-ficus"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def base_url(request: pytest.FixtureRequest, trytond: Trytond, ficus: RunningProxy) -> str:
    return trytond.url if request.param == "direct" else ficus.url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def database(trytond: Trytond, tryton_template: Template) -> str:
    """One database for the module, holding one synthetic patient (Ada Synthetic, PUID
    SYN-0001); sao only reads it."""
    name = trytond.new_database("sao", tryton_template)
    run_proteus_clinician(trytond.url, name, trytond.admin_password)
    return name


def _open_login_form(page: Page, base_url: str, database: str) -> None:
    # sao's first call, common.server.version, is a POST: refused through Ficus today.
    page.goto(f"{base_url}/#{database}")
    expect(page.locator("form.modal-content")).to_contain_text("Login")
    expect(page.get_by_text("Connection error")).to_have_count(0)
    expect(page.locator("#login")).to_be_editable()


def _log_in(page: Page, base_url: str, database: str, password: str) -> None:
    _open_login_form(page, base_url, database)
    page.fill("#login", "admin")
    page.click("form.modal-content button[type=submit]")
    page.fill("#ask-dialog-entry", password)
    page.get_by_role("button", name="OK").click()
    expect(page.locator("#user-preferences")).to_contain_text("Administrator")


def test_sao_page_and_scripts_load_through_ficus(page: Page, ficus: RunningProxy) -> None:
    """Only GETs: the page, sao's script and its libraries, which trytond serves to anyone."""
    answer = page.goto(f"{ficus.url}/")
    assert answer is not None
    assert answer.status == 200
    assert page.evaluate("() => typeof Sao === 'object' && Sao.__version__") == "7.0.56"


@pytest.mark.parametrize("base_url", WAYS, indirect=True)
def test_sao_shows_its_login_form(page: Page, base_url: str, database: str) -> None:
    _open_login_form(page, base_url, database)


@pytest.mark.parametrize("base_url", WAYS, indirect=True)
def test_a_clinician_logs_in_and_opens_a_patients_party(
    page: Page, base_url: str, database: str, trytond: Trytond
) -> None:
    _log_in(page, base_url, database, trytond.admin_password)

    page.goto(f"{base_url}/#{database}/model/party.party")
    row = page.locator("#tabcontent tr", has_text="Synthetic").first
    expect(row).to_contain_text("Ada")
    row.dblclick()
    # The form shows the party's own fields: its PUID is in one of the form's inputs.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#tabcontent input')]"
        ".some(input => input.value === 'SYN-0001')"
    )
    expect(page.locator(".modal-dialog")).to_have_count(0)
