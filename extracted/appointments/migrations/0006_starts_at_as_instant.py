"""`starts_at` from a datetime column to BIGINT microseconds since 1970 (core.instant_field).

A datetime column cannot hold 9999-12-31 23:30 in Chicago (year 10000 in UTC) or 0001-01-01
00:00 in Tokyo (year 0 in UTC), both legacy-valid starts. The values are copied, not cast:
no backend casts a timestamp to microseconds the same way.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

import extracted.core.instant_field

_BATCH = 1000


def _copy(apps: Any, schema_editor: Any, source: str, target: str) -> None:
    appointment = apps.get_model("appointments", "Appointment")
    rows = appointment.objects.using(schema_editor.connection.alias)
    batch = []
    for row in rows.only("id", source).iterator(chunk_size=_BATCH):
        setattr(row, target, getattr(row, source))
        batch.append(row)
        if len(batch) == _BATCH:
            rows.bulk_update(batch, [target])
            batch = []
    rows.bulk_update(batch, [target])


def forward(apps: Any, schema_editor: Any) -> None:
    _copy(apps, schema_editor, "starts_at", "starts_at_us")


def backward(apps: Any, schema_editor: Any) -> None:
    # A start past year 9999 (or before year 1) in UTC has no datetime: that raises, on purpose.
    _copy(apps, schema_editor, "starts_at_us", "starts_at")


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0005_outbox_restore_operation"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="appointment", name="appt_provider_start_ix"),
        migrations.AddField(
            model_name="appointment",
            name="starts_at_us",
            field=extracted.core.instant_field.InstantField(null=True),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="starts_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(model_name="appointment", name="starts_at"),
        migrations.RenameField(
            model_name="appointment", old_name="starts_at_us", new_name="starts_at"
        ),
        migrations.AlterField(
            model_name="appointment",
            name="starts_at",
            field=extracted.core.instant_field.InstantField(),
        ),
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(fields=["provider_id", "starts_at"], name="appt_provider_start_ix"),
        ),
    ]
