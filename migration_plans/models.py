"""The control plane's tables, on the `default` alias.

Three tables are shared with the proxy, which reads and writes them with SQLAlchemy Core, so
their names and columns are fixed by contract C2 (docs/internal/contracts-3-4-5.md):
`ficus_route_state`, `ficus_control_generation` and `ficus_route_stats`, and the shadow evidence
the proxy appends (`ficus_evidence_tally`, `ficus_evidence_sample`). The others belong to
the control plane alone: the transition history, the hash-chained audit log and its signed
digests. Rows here are written only by `migration_plans.services` (the proxy writes stats).
"""

from __future__ import annotations

from django.db import models


class RouteState(models.Model):
    """The current phase and canary weight of one route. No row: the plan file's phase."""

    feature = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    template = models.CharField(max_length=200)
    phase = models.CharField(max_length=10)
    weight = models.SmallIntegerField(default=0)
    since = models.DateTimeField()
    actor = models.CharField(max_length=150)

    class Meta:
        db_table = "ficus_route_state"
        constraints = [
            models.UniqueConstraint(fields=["method", "template"], name="ficus_route_state_route"),
            models.CheckConstraint(
                condition=models.Q(weight__gte=0, weight__lte=100),
                name="ficus_route_state_weight_0_100",
            ),
        ]
        ordering = ["feature", "template", "method"]

    def __str__(self) -> str:
        return f"{self.method} {self.template}: {self.phase}"


class ControlGeneration(models.Model):
    """One row (id 1) whose generation grows with every change; the proxy polls it."""

    id = models.IntegerField(primary_key=True)
    generation = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "ficus_control_generation"


class RouteStats(models.Model):
    """Per-worker request counts and latency buckets per 10 s window (written by the proxy)."""

    id = models.BigAutoField(primary_key=True)
    worker = models.CharField(max_length=64)
    feature = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    template = models.CharField(max_length=200)
    side = models.CharField(max_length=8)  # legacy, service, shadow
    window_start = models.DateTimeField()
    requests = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    latency_buckets = models.TextField(default="[]")  # JSON counts, bounds domain.latency

    class Meta:
        db_table = "ficus_route_stats"
        indexes = [
            models.Index(fields=["feature", "window_start"], name="ficus_route_stats_feature"),
        ]


class EvidenceTally(models.Model):
    """Per-worker shadow comparison counts per 10 s window (written by the proxy): a JSON
    `domain.noise.RouteTally`, summed by the control plane (`migration_plans.evidence`)."""

    id = models.BigAutoField(primary_key=True)
    worker = models.CharField(max_length=64)
    feature = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    template = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    tally = models.TextField()

    class Meta:
        db_table = "ficus_evidence_tally"
        indexes = [
            models.Index(fields=["feature", "window_start"], name="ficus_evidence_tally_feature"),
            # The gates' read: one route's windows in its shadow interval (a range scan).
            models.Index(
                fields=["feature", "method", "template", "window_start"],
                name="ficus_evidence_tally_route",
            ),
        ]


class EvidenceSample(models.Model):
    """One de-identified example of a differing field (written by the proxy, bounded per
    route and field, deleted after the plan's retention). Never a raw answer."""

    id = models.BigAutoField(primary_key=True)
    feature = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    template = models.CharField(max_length=200)
    field = models.CharField(max_length=200)  # the differing field's path
    kind = models.CharField(max_length=8)  # real (legacy vs service) or noise (legacy twice)
    legacy_value = models.TextField()  # JSON, de-identified
    other_value = models.TextField()  # JSON, de-identified
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "ficus_evidence_sample"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["feature", "template", "field"], name="ficus_evidence_sample_key"),
            models.Index(fields=["recorded_at"], name="ficus_evidence_sample_age"),
        ]


class Transition(models.Model):
    """One route's change of phase or weight, with the evidence and gates at that moment."""

    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    reason = models.TextField()
    feature = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    template = models.CharField(max_length=200)
    # "feature" when the whole feature moved, "route" when one route was asked for.
    scope = models.CharField(max_length=8)
    action = models.CharField(max_length=10)  # register, advance, rollback
    from_phase = models.CharField(max_length=10, blank=True)  # blank: first registration
    to_phase = models.CharField(max_length=10)
    from_weight = models.SmallIntegerField(default=0)
    to_weight = models.SmallIntegerField(default=0)
    forced = models.BooleanField(default=False)
    evidence = models.JSONField(default=dict)
    gate_results = models.JSONField(default=list)
    audit_seq = models.BigIntegerField(null=True)  # the audit record of the same change

    class Meta:
        db_table = "ficus_transition"
        ordering = ["id"]
        indexes = [models.Index(fields=["feature", "id"], name="ficus_transition_feature")]


class AuditRecord(models.Model):
    """One link of the append-only, hash-chained audit log (see migration_plans.audit_chain)."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    # Canonical JSON text, stored as hashed: no database may re-encode it. No PHI, no bodies.
    details = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "ficus_audit_record"
        ordering = ["seq"]


class AuditDigest(models.Model):
    """An HMAC-SHA256 signature over the chain's head at one moment (FICUS_AUDIT_KEY)."""

    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    signature = models.CharField(max_length=64)
    key_id = models.CharField(max_length=12)

    class Meta:
        db_table = "ficus_audit_digest"
        ordering = ["id"]


class AutopilotState(models.Model):
    """The autopilot's memory for one feature: kill switch, lock, failures, last decision.

    Written only by `migration_plans.autopilot`; every change of `stopped` or `locked` has an
    audit record in the same transaction."""

    feature = models.CharField(max_length=40, unique=True)
    stopped = models.BooleanField(default=False)  # the kill switch: nothing is done while on
    locked = models.BooleanField(default=False)  # after a rollback, until a person clears it
    lock_reason = models.TextField(blank=True)
    failures = models.IntegerField(default=0)  # consecutive failed checks
    rollback_pending = models.BooleanField(default=False)  # decided, waiting for reverse sync
    last_decision = models.CharField(max_length=10, blank=True)
    last_reason = models.TextField(blank=True)
    last_at = models.DateTimeField(null=True)
    changed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        db_table = "ficus_autopilot_state"
        ordering = ["feature"]


class OAuthClientScopes(models.Model):
    """The SMART scopes one OAuth2 client (a django-oauth-toolkit Application) may be granted.

    Read by `migration_plans.oauth_scopes`: a client asking for more gets `invalid_scope`."""

    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.CASCADE,
        related_name="ficus_scopes",
    )
    scopes = models.TextField()  # space-separated, as OAuth2 writes them

    class Meta:
        db_table = "ficus_oauth_client_scopes"
