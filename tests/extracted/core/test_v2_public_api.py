"""The surface other services build on: every name in `__all__` exists, and nothing is missing.

extracted/patients and extracted/appointments import from extracted.core.v2,
extracted.core.fhir and extracted.core.fhir_views only, so a rename in the private parts must
not break them.
"""

from __future__ import annotations

import pytest

from extracted.core import fhir, fhir_views, v2


@pytest.mark.parametrize("module", [v2, fhir, fhir_views], ids=["v2", "fhir", "fhir_views"])
def test_every_exported_name_exists(module):
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_what_the_services_use_is_exported():
    used_by_services = {"V2APIView", "V2ViewMixin", "V2Pagination", "identity_of"}

    assert used_by_services <= set(v2.__all__)
    assert {"searchset_bundle", "paging_of", "reject_unknown_params"} <= set(fhir.__all__)
    assert {"FHIRViewMixin", "PAGING_PARAMETERS"} <= set(fhir_views.__all__)
