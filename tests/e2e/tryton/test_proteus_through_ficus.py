"""A clinician's proteus script gets the same records from GNU Health direct and through Ficus.

proteus is Tryton's own client library (XML-RPC). The script runs twice, each time on its own
fresh copy of the same template database: once straight to trytond, once through the proxy.
"""

from __future__ import annotations

import pytest

from tests.proxy.processes import RunningProxy
from tests.support.tryton import Trytond, run_proteus_clinician

pytestmark = pytest.mark.e2e


def test_a_clinicians_proteus_script_gets_the_same_records_through_ficus(
    trytond: Trytond, ficus: RunningProxy, new_database
) -> None:
    direct = run_proteus_clinician(
        trytond.url, new_database("proteus_direct"), trytond.admin_password
    )
    before = len(ficus.log_lines())
    proxied = run_proteus_clinician(
        ficus.url, new_database("proteus_ficus"), trytond.admin_password
    )

    assert proxied == direct
    assert direct["search_read"][0]["lastname"] == "Synthetic"
    assert direct["patient_party_name"] == "Ada"
    # ...and the second run really went through the proxy, every call to trytond.
    calls = ficus.log_lines()[before:]
    assert calls
    assert {(c["upstream"], c["status"]) for c in calls} == {("legacy", 200)}
