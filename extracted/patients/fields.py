"""`EncryptedTextField`: a text column that holds a Fernet token, a `str | None` in Python.

A small custom field rather than a third-party package: the whole mechanism is two method
overrides around `crypto.encrypt`/`decrypt`, and it keeps the key handling (FICUS_PHI_KEY,
rotation, loud failures) in one module we can read. NULL stays NULL (so "no SSN on file" is
visible without a key); every string, even "", is encrypted. Tokens are randomized, so these
columns cannot be filtered or indexed by value: search uses the plaintext MRN and name columns.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from extracted.patients import crypto


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    description = "Text encrypted at rest with Fernet (key from FICUS_PHI_KEY)"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value, what=f"{self.model._meta.label}.{self.name}")
