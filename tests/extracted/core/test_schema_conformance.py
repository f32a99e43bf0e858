"""The services answer as their OpenAPI schemas say: schemathesis against real processes.

Both services run under `manage.py runservice` on loopback (tests.support.sync_stack), filled
by the real backfill, owning their writes (plans advanced to `migrated`). Schemathesis loads
each service's /v2/schema/ over HTTP and sends what the schema allows and what it forbids, each
request signed as the proxy signs it (tests.extracted.schema_fuzz). A failure is either a
service bug or a schema lie; both are fixed where they are, never filtered here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.extracted.schema_fuzz import SignedIdentity, stateful_refusal
from tests.support.openapi_fuzz import failures_of, load
from tests.support.ownership import plans_with_writes_in
from tests.support.sync_stack import SyncStack

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e]


def _persona(path: str) -> str:
    # The auditor reads the access audit; everything else is the administrator's (every
    # clinical read and write, the full SSN).
    return "auditor" if path.endswith("/access-audit") else "admin"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("schema-conformance")
    plans = plans_with_writes_in(directory / "plans", "migrated")
    stack = SyncStack(directory, features=("appointments", "patients"), plans_dir=plans)
    try:
        stack.prepare(patients=3, appointments=6)
        yield {name: stack.start_service(name) for name in ("appointments", "patients")}
    finally:
        stack.close()


@pytest.mark.parametrize("service", ["appointments", "patients"])
def test_the_service_answers_as_its_schema_says(services: dict[str, str], service: str) -> None:
    schema = load(f"{services[service]}/v2/schema/")

    failures = failures_of(schema, excused=stateful_refusal, auth=SignedIdentity(_persona))

    assert not failures, "\n\n".join(failures)
