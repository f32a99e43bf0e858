"""The shadow evidence the proxy appends: comparison tallies and de-identified samples."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migration_plans", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="EvidenceTally",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("worker", models.CharField(max_length=64)),
                ("feature", models.CharField(max_length=40)),
                ("method", models.CharField(max_length=10)),
                ("template", models.CharField(max_length=200)),
                ("window_start", models.DateTimeField()),
                ("tally", models.TextField()),
            ],
            options={
                "db_table": "ficus_evidence_tally",
                "indexes": [
                    models.Index(
                        fields=["feature", "window_start"], name="ficus_evidence_tally_feature"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EvidenceSample",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("feature", models.CharField(max_length=40)),
                ("method", models.CharField(max_length=10)),
                ("template", models.CharField(max_length=200)),
                ("field", models.CharField(max_length=200)),
                ("kind", models.CharField(max_length=8)),
                ("legacy_value", models.TextField()),
                ("other_value", models.TextField()),
                ("recorded_at", models.DateTimeField()),
            ],
            options={
                "db_table": "ficus_evidence_sample",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        fields=["feature", "template", "field"], name="ficus_evidence_sample_key"
                    ),
                    models.Index(fields=["recorded_at"], name="ficus_evidence_sample_age"),
                ],
            },
        ),
    ]
