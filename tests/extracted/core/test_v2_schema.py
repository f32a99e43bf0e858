"""The OpenAPI schema generates cleanly, documents the modern endpoints, and is served openly.

`manage.py spectacular --validate --fail-on-warn` is what CI would run: it fails on any warning
drf-spectacular raises (an undocumented parameter, an unresolvable serializer, ...) and on a
schema that does not validate against the OpenAPI 3 specification.
"""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

MODERN_PATHS = {
    "/v2/appointments",
    "/v2/appointments/{appointment_id}",
    "/v2/appointments/{appointment_id}/cancel",
    "/fhir/Appointment",
    "/fhir/Appointment/{appointment_id}",
}


def generate(tmp_path, *options):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", *options, "--file", str(out))
    return yaml.safe_load(out.read_text())


@pytest.fixture
def schema(tmp_path):
    return generate(tmp_path)


def test_it_generates_without_warnings_for_every_service(tmp_path):
    # Every service's views, not only appointments': one undocumented view fails it.
    generated = generate(tmp_path, "--fail-on-warn")

    assert MODERN_PATHS <= set(generated["paths"])


def test_it_documents_the_modern_endpoints(schema):
    assert MODERN_PATHS <= set(schema["paths"])


def test_it_documents_the_modern_faces_only(schema):
    # Not the legacy face, not /__ficus/, not the control plane's own API.
    assert schema["paths"]
    assert all(p.startswith(("/v2/", "/fhir/")) for p in schema["paths"])


def test_every_operation_requires_the_identity_header(schema):
    scheme = schema["components"]["securitySchemes"]["Ficus-Identity"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Ficus-Identity",
        "description": scheme["description"],
    }
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations
    assert all(op["security"][0] == {"Ficus-Identity": []} for op in operations)


def test_machine_clients_see_the_scope_each_operation_needs(schema):
    flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/oauth2/token"
    read = schema["paths"]["/v2/appointments"]["get"]["security"]
    assert read[1] == {"oauth2": ["system/Appointment.read"]}
    # The access-audit list is for auditors, never a token: only the identity is offered.
    audit = schema["paths"]["/v2/patients/access-audit"]["get"]["security"]
    assert audit == [{"Ficus-Identity": []}]


def test_the_list_documents_its_filters_paging_and_problems(schema):
    operation = schema["paths"]["/v2/appointments"]["get"]

    names = {p["name"] for p in operation["parameters"]}
    assert {"provider", "patient", "status", "date", "date_from", "date_to"} <= names
    assert {"page", "page_size"} <= names
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])


def test_the_writes_are_documented_with_their_bodies_and_conflicts(schema):
    paths = schema["paths"]

    assert set(paths["/v2/appointments"]) == {"get", "post"}
    assert set(paths["/v2/appointments/{appointment_id}"]) == {"get", "patch"}
    assert "409" in paths["/v2/appointments"]["post"]["responses"]
    assert "requestBody" in paths["/v2/appointments/{appointment_id}"]["patch"]


def test_the_fhir_endpoints_are_documented_as_fhir_json(schema):
    operation = schema["paths"]["/fhir/Appointment"]["get"]

    assert "application/fhir+json" in operation["responses"]["200"]["content"]
    assert {"patient", "practitioner", "date", "status", "_count"} <= {
        p["name"] for p in operation["parameters"]
    }


@pytest.mark.django_db(databases=["default"])
def test_the_schema_and_docs_are_served_without_an_identity(client):
    schema = client.get("/v2/schema/")
    docs = client.get("/v2/docs/")

    assert schema.status_code == 200
    assert "/v2/appointments" in yaml.safe_load(schema.content)["paths"]
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")
    # The split view: the page loads its start-up script, which names the schema.
    assert b'<script src="/v2/docs/?script="></script>' in docs.content
    assert b"/v2/schema/" in client.get("/v2/docs/?script=").content


def test_every_operation_documents_gunicorn_s_head_refusals_in_its_face(schema):
    # gunicorn refuses a request line over 4094 bytes (414), header fields over its limits
    # (431), before Django runs, in the face of the path (extracted/core/gunicorn_refusals.py).
    faces = {"/v2/": "application/problem+json", "/fhir/": "application/fhir+json"}
    for path, item in schema["paths"].items():
        media_type = next(t for prefix, t in faces.items() if path.startswith(prefix))
        for operation in item.values():
            for status in ("414", "431"):
                assert list(operation["responses"][status]["content"]) == [media_type], path
