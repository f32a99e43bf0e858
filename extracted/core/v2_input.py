"""What a /v2 request may name: unknown or empty query filters and unknown or read-only body
fields are refused with a 400 naming them, never ignored.

A misspelt filter (`famly=LUN`) or an empty one (`family=`) that is ignored widens a search
over patient data to everyone without anyone noticing; a body field that is ignored
(`patient_id` in a reschedule) looks accepted while nothing changed. Every /v2 query serializer
subclasses `QuerySerializer`, every write body serializer `BodySerializer`; FHIR searches have
the same rule in extracted.core.fhir.reject_unknown_params.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rest_framework import serializers

__all__ = ["PAGING_PARAMS", "BodySerializer", "QuerySerializer"]

# Read by V2Pagination, which validates them itself.
PAGING_PARAMS = frozenset({"page", "page_size"})


def _with(errors: dict[str, Any], run: Any) -> dict[str, Any]:
    """`run()`'s value, or its field errors and `errors` together (one 400 naming them all)."""
    try:
        value: dict[str, Any] = run()
    except serializers.ValidationError as e:
        detail = e.detail if isinstance(e.detail, dict) else {}
        raise serializers.ValidationError({**detail, **errors}) from e
    if errors:
        raise serializers.ValidationError(errors)
    return value


class QuerySerializer(serializers.Serializer[Any]):
    """A /v2 list's query string: every name must be a filter (or paging), every value given."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A plain dict: DRF reads a QueryDict as a form and skips empty optional fields.
        flat = {str(name): value for name, value in data.items()}
        errors: dict[str, Any] = {
            name: ["Unknown query parameter."]
            for name in sorted(set(flat) - set(self.fields) - PAGING_PARAMS)
        }
        for name, value in flat.items():
            if name not in errors and isinstance(value, str) and not value.strip():
                errors[name] = ["Must not be empty: give a value or leave the parameter out."]
        known = {name: value for name, value in flat.items() if name not in errors}
        return _with(errors, lambda: super(QuerySerializer, self).to_internal_value(known))


class BodySerializer(serializers.Serializer[Any]):
    """A /v2 write body: a field the request may not set (unknown, read-only) is refused, and
    a change (`at_least_one_field`) that names no field at all too. The OpenAPI schema says
    both (extracted.core.schema: `additionalProperties: false`, `minProperties: 1`)."""

    at_least_one_field: ClassVar[bool] = False

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.at_least_one_field and not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            return _with({}, lambda: super(BodySerializer, self).to_internal_value(data))
        writable = {name for name, field in self.fields.items() if not field.read_only}
        errors: dict[str, Any] = {
            str(name): ["Not a field this request may set."]
            for name in sorted(set(data) - writable, key=str)
        }
        for name, field in self.fields.items():
            # The schema's maxLength is of the value sent; DRF checks it after trimming.
            limit: int = getattr(field, "max_length", None) or 0
            value = data.get(name)
            too_long = isinstance(value, str) and limit > 0 and len(value) > limit
            if isinstance(field, serializers.CharField) and too_long:
                errors[name] = [f"Ensure this field has no more than {limit} characters."]
        return _with(errors, lambda: super(BodySerializer, self).to_internal_value(data))
