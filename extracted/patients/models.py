"""The patients service's model: clean names, a sex enum, and PHI contact fields encrypted.

`id` is the legacy PAT_ID (not auto-generated), for the same reason as appointments: the legacy
URL `/api/patients/{id}` keeps working whichever side serves it, and sync compares key for key.

What is encrypted, and why the rest is not:
- `ssn`, `phone` and `address_line` are encrypted at rest (`EncryptedTextField`, Fernet). They
  identify a person outright and nothing ever searches by them.
- `mrn`, `family_name`, `given_name` stay plaintext: the legacy search is an exact MRN match or
  a *prefix* match on names, ordered by name. A blind index (keyed hash) supports only exact
  equality, not prefixes or ordering, so it could not serve the contract; these columns are
  protected by the database's own access control and the access audit instead.
- `birth_date`, `city`, `state`, `postal_code` stay plaintext: quasi-identifiers needed for
  filtering (/v2 `birth_date`) and for FHIR search, and useless to an attacker without a name.
`source_updated_at` is the legacy UPD_TS (whole seconds, as legacy shows it); `sync_version` is
the version every apply compares against, in microseconds (docs/sync.md, "Versions").
"""

from __future__ import annotations

from django.db import models

from extracted.core.access_audit import AccessAuditEntry
from extracted.core.outbox import OutboxEntry
from extracted.patients.fields import EncryptedTextField


class Patient(models.Model):
    class Sex(models.TextChoices):
        # Values are those of legacy_adapter.mapping.patients.Sex (FHIR administrative gender).
        MALE = "male", "Male"
        FEMALE = "female", "Female"
        UNKNOWN = "unknown", "Unknown"

    id = models.IntegerField(primary_key=True, help_text="The legacy PAT_ID.")
    mrn = models.CharField(max_length=10, unique=True)
    family_name = models.CharField(max_length=35)
    given_name = models.CharField(max_length=25)
    birth_date = models.DateField()
    sex = models.CharField(max_length=7, choices=Sex.choices)
    ssn = EncryptedTextField(null=True, blank=True, help_text="Encrypted; NULL when unknown.")
    phone = EncryptedTextField(blank=True, default="", help_text="Encrypted.")
    address_line = EncryptedTextField(blank=True, default="", help_text="Encrypted.")
    city = models.CharField(max_length=30, blank=True, default="")
    state = models.CharField(max_length=2, blank=True, default="")
    postal_code = models.CharField(max_length=5, blank=True, default="")
    source_updated_at = models.DateTimeField(help_text="The legacy UPD_TS of this state.")
    sync_version = models.BigIntegerField(
        default=0, help_text="The version sync compares, in microseconds (docs/sync.md)."
    )

    class Meta:
        indexes = [
            # The legacy search: name prefixes, in name order.
            models.Index(fields=["family_name", "given_name", "id"], name="patient_name_ix"),
            models.Index(fields=["birth_date"], name="patient_birth_date_ix"),
        ]

    def __str__(self) -> str:
        # No PHI: this string can reach logs and error reports.
        return f"Patient {self.pk}"


class Outbox(OutboxEntry):
    class Meta(OutboxEntry.Meta):
        db_table = "ficus_outbox"
        indexes = [models.Index(fields=["processed_at", "id"], name="patients_outbox_pending_ix")]


class AccessAudit(AccessAuditEntry):
    class Meta(AccessAuditEntry.Meta):
        db_table = "ficus_access_audit"
