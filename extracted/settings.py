"""Settings for Ficus's Django project: the extracted services and the control plane.

Everything a deployment changes comes from the environment (see `extracted/env.py` and
docs/configuration.md). Each extracted service owns one database alias, named after its app
label, and `extracted.routers.ServiceRouter` keeps every app on its own alias.

`FICUS_SERVICE` narrows a process to one service: `manage.py runservice appointments` sets it so
that the process installs, routes and connects to that service only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from extracted.env import env_bool, env_database, env_list, env_str
from migration_plans.feature_registry import feature_names, features

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FICUS_VAR_DIR", str(BASE_DIR / "var")))

# Services that exist: one per feature of the registry (the checked-in plans), in name order.
# Each is an app `extracted.<name>` with a database alias of the same name.
ALL_SERVICES = feature_names()
# `control` narrows a process to the control plane (its API under /control/v1/), no service.
CONTROL_PLANE = "control"
_selected = env_str("FICUS_SERVICE", "")
if _selected and _selected not in (*ALL_SERVICES, CONTROL_PLANE):
    raise ImproperlyConfigured(
        f"FICUS_SERVICE={_selected!r} is not one of: {', '.join((*ALL_SERVICES, CONTROL_PLANE))}"
    )
SERVICES: tuple[str, ...] = (
    () if _selected == CONTROL_PLANE else (_selected,) if _selected else ALL_SERVICES
)
SERVES_CONTROL = _selected in ("", CONTROL_PLANE)

DEBUG = env_bool("FICUS_DEBUG", False)
# Only used for Django's own signing (admin sessions are not used); identity comes from the proxy.
SECRET_KEY = env_str("FICUS_SECRET_KEY", "ficus-development-only-not-a-secret")
ALLOWED_HOSTS = env_list("FICUS_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

# HMAC key shared with the proxy for the identity bridge (domain/identity.py). Empty means the
# services refuse every request: they trust nothing but a header signed with this key.
FICUS_IDENTITY_KEY = env_str("FICUS_IDENTITY_KEY", "")
FICUS_HOSPITAL_TZ = env_str("FICUS_HOSPITAL_TZ", "America/Chicago")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework.authtoken",
    # OAuth2 for machine clients (bearer tokens with SMART scopes): tables on `default`, the
    # control plane's database; the token endpoint is the control plane's (/oauth2/token).
    "oauth2_provider",
    "drf_spectacular",  # the OpenAPI schema and docs of the /v2 faces (extracted/core/schema.py)
    "drf_spectacular_sidecar",  # Swagger UI's files, pinned, served locally (core/static_assets)
    "extracted.core",
    "legacy_adapter",
    "migration_plans",
    *(feature.app_label for feature in features() if feature.name in SERVICES),
]

MIDDLEWARE = [
    # First, so it times everything and logs route templates (never paths with ids).
    "extracted.core.access_log.AccessLogMiddleware",
    # Prometheus counts by URL route (extracted/core/metrics.py), timing what the log times.
    "extracted.core.metrics.MetricsMiddleware",
    # Next, so every answer, refusals included, goes out after the body was read.
    "extracted.core.bodies.DrainBodyMiddleware",
    # Before anything reads the host: the proxy's X-Forwarded-Host, when the identity proves
    # the request came through it (absolute FHIR links name the proxy, not the service).
    "extracted.core.forwarded.ForwardedAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # HTML pages (Swagger UI) load only from the service itself.
    "extracted.core.security_headers.ContentSecurityPolicyMiddleware",
    # A signed X-Ficus-Dry-Run runs the request in rolled-back transactions (shadowed writes).
    "extracted.core.dry_run.DryRunMiddleware",
]

ROOT_URLCONF = "extracted.urls"
# Swagger UI's files (drf-spectacular-sidecar), served by extracted/core/static_assets.py.
STATIC_URL = "/__ficus/static/"
WSGI_APPLICATION = "extracted.wsgi.application"

DATABASES = {
    # The control plane's own database (route states, history, audit chain).
    "default": env_database("FICUS_DB_DEFAULT_URL", VAR_DIR / "control.sqlite3"),
    **{
        feature.database_alias: env_database(
            feature.database_url_env, VAR_DIR / f"{feature.database_alias}.sqlite3"
        )
        for feature in features()
        if feature.name in SERVICES
    },
}
DATABASE_ROUTERS = ["extracted.routers.ServiceRouter"]
# Every service has its own `ficus_outbox` and `ficus_access_audit`, each in its own database
# (the router keeps them apart), so Django's "db_table used by several models" warning is
# expected here; tests/extracted/test_routers.py proves each lands in its own alias.
SILENCED_SYSTEM_CHECKS = ["models.W035"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The legacy database, reached through SQLAlchemy in legacy_adapter/, never through Django.
LEGACY_DATABASE_URL = env_str("LEGACY_DATABASE_URL", f"sqlite:///{VAR_DIR / 'legacy.sqlite3'}")
FICUS_PLANS_DIR = Path(env_str("FICUS_PLANS_DIR", str(BASE_DIR / "migration_plans" / "plans")))
# Contract C3: dotted paths of `(feature) -> {key: number}` callables read by the gates.
FICUS_EVIDENCE_PROVIDERS = env_list(
    "FICUS_EVIDENCE_PROVIDERS", ["legacy_adapter.evidence.sync_evidence"]
)

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    # Only the schema generator is global; /v2 auth, errors and paging are per view
    # (extracted/core/v2.py), so the legacy faces keep their byte-exact behaviour.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# django-oauth-toolkit: which scopes exist and which a client may get is
# migration_plans.oauth_scopes (SMART v1, per client); tokens live an hour.
OAUTH2_PROVIDER: dict[str, Any] = {
    "SCOPES_BACKEND_CLASS": "migration_plans.oauth_scopes.SmartScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "PKCE_REQUIRED": True,
}
# Named, not defaulted, because a control-plane model points at it (migration_plans.models).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# The modern faces' OpenAPI document, served at /v2/schema/ (docs/modern-api.md).
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Ficus extracted services: modern API",
    "DESCRIPTION": (
        "The /v2 and FHIR R4 faces of the extracted services. Every call needs the identity "
        "header the Ficus proxy adds; errors are application/problem+json (RFC 9457) on /v2 "
        "and OperationOutcome on /fhir."
    ),
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes endpoints and carries no data, so it needs no identity.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/(v2|fhir)",
    "PREPROCESSING_HOOKS": ["extracted.core.schema.only_modern_faces"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "extracted.core.schema.bodies_that_must_name_a_field_are_required",
        "extracted.core.gunicorn_refusals.documented_in_every_operation",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the pinned local copy, never a CDN (extracted/core/static_assets.py).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# The public base URL of the FHIR face (Bundle links and fullUrl); empty: from the request.
FICUS_FHIR_BASE_URL = env_str("FICUS_FHIR_BASE_URL", "")

# Structured logs on stderr; request ids and route templates only, never bodies or query strings.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": env_str("FICUS_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Alembic narrates every plugin it loads at INFO; `sync -v 2` turns it back on.
        "alembic": {"level": "WARNING"},
    },
}
