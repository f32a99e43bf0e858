"""A plan's `legacy_session:` section: how the one legacy app keeps its sessions (pure).

There is one legacy app and a plan per feature, so the section belongs to the legacy app, not
to a feature: any plan may declare it, every plan that does must declare the same (checked
across files, located at the second one, as a shared upstream is), and without any the default
is the demo's (`SESSID` cookie, the legacy session table). Keeping it in the plans, rather than
in a file beside them, keeps one grammar, one loader and one reviewer for everything the proxy
reads. domain.legacy_session says what each kind means.

Pure: PyYAML nodes and the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from yaml.nodes import Node

from domain.legacy_session import (
    DEFAULT_COOKIE,
    DEFAULT_WHOAMI_IN_FLIGHT,
    DEFAULT_WHOAMI_TIMEOUT,
    MAX_WHOAMI_IN_FLIGHT,
    MAX_WHOAMI_TIMEOUT,
    NAMED_KINDS,
    TABLE_KINDS,
    CredentialKind,
    LegacySessionSettings,
    ResolveKind,
    WhoAmI,
)
from domain.plan_model import Plan
from domain.plan_yaml import NodeReader, PlanError

PREFIX: Final = "legacy_session"
LEGACY_SESSION_FIELDS: Final = ("credential", "name", "resolve", "whoami")
WHOAMI_FIELDS: Final = (
    "path",
    "method",
    "body",
    "user_id",
    "login",
    "role",
    "timeout_seconds",
    "max_in_flight",
)
WHOAMI_METHODS: Final = ("GET", "POST")
# An HTTP field name (RFC 9110 token) for a cookie or header; a path in origin form.
_TOKEN_RE: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_PATH_RE: Final = re.compile(r"/[!-~]{0,1023}")
_FIELD_PATH_RE: Final = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}"
)


def read_legacy_session(reader: NodeReader, node: Node) -> LegacySessionSettings | None:
    """The section, or None after reporting every problem found in it."""
    fields = reader.mapping(node, PREFIX, LEGACY_SESSION_FIELDS, frozenset({"credential"}))
    if fields is None or "credential" not in fields:
        return None
    kinds = tuple(k.value for k in CredentialKind)
    choice = reader.choice(fields["credential"], f"{PREFIX}.credential", kinds)
    credential = CredentialKind(choice) if choice else None
    name: str | None = DEFAULT_COOKIE
    if "name" in fields:
        name = _name(reader, fields["name"], credential)
    elif credential is CredentialKind.HEADER:
        reader.fail(node, f"{PREFIX}.name", "is required for credential: header")
        name = None
    resolve = ResolveKind.WHOAMI if credential not in TABLE_KINDS else ResolveKind.SESSION_TABLE
    if "resolve" in fields:
        picked = reader.choice(
            fields["resolve"], f"{PREFIX}.resolve", tuple(k.value for k in ResolveKind)
        )
        resolve = ResolveKind(picked) if picked else resolve
        if resolve is ResolveKind.SESSION_TABLE and credential not in (None, *TABLE_KINDS):
            reader.fail(
                fields["resolve"],
                f"{PREFIX}.resolve",
                f"the session table holds session ids; credential {credential} needs whoami",
            )
            return None
    whoami = read_whoami(reader, fields["whoami"]) if "whoami" in fields else None
    if resolve is ResolveKind.WHOAMI and "whoami" not in fields:
        reader.fail(node, f"{PREFIX}.whoami", "is required to resolve sessions by whoami")
        return None
    if credential is None or name is None or ("whoami" in fields and whoami is None):
        return None
    return LegacySessionSettings(credential, name, resolve, whoami)


def _name(reader: NodeReader, node: Node, credential: CredentialKind | None) -> str | None:
    field = f"{PREFIX}.name"
    name = reader.string(node, field)
    if name is None:
        return None
    if credential is not None and credential not in NAMED_KINDS:
        reader.fail(node, field, f"credential {credential} reads the Authorization header")
        return None
    if not _TOKEN_RE.fullmatch(name):
        reader.fail(node, field, f"{name!r} is not a cookie or header name")
        return None
    return name


def read_whoami(reader: NodeReader, node: Node) -> WhoAmI | None:
    prefix = f"{PREFIX}.whoami"
    fields = reader.mapping(node, prefix, WHOAMI_FIELDS, frozenset({"path"}))
    if fields is None or "path" not in fields:
        return None
    values: dict[str, object] = {}
    path = reader.string(fields["path"], f"{prefix}.path")
    if path is not None and not _PATH_RE.fullmatch(path):
        reader.fail(fields["path"], f"{prefix}.path", "must be a path on the legacy app (/...)")
        path = None
    values["path"] = path
    if "method" in fields:
        values["method"] = reader.choice(fields["method"], f"{prefix}.method", WHOAMI_METHODS)
    if "body" in fields:
        values["body"] = reader.string(fields["body"], f"{prefix}.body")
    for key in ("user_id", "login", "role"):
        if key in fields:
            text = reader.string(fields[key], f"{prefix}.{key}")
            if text is not None and not _FIELD_PATH_RE.fullmatch(text):
                reader.fail(fields[key], f"{prefix}.{key}", f"{text!r} is not a dotted field path")
                text = None
            values[key] = text
    values["timeout_seconds"] = DEFAULT_WHOAMI_TIMEOUT
    if "timeout_seconds" in fields:
        values["timeout_seconds"] = reader.number(
            fields["timeout_seconds"],
            f"{prefix}.timeout_seconds",
            minimum=0,
            above_minimum=True,
            maximum=MAX_WHOAMI_TIMEOUT,
            unit="seconds",
        )
    values["max_in_flight"] = DEFAULT_WHOAMI_IN_FLIGHT
    if "max_in_flight" in fields:
        values["max_in_flight"] = reader.whole(
            fields["max_in_flight"],
            f"{prefix}.max_in_flight",
            minimum=1,
            maximum=MAX_WHOAMI_IN_FLIGHT,
        )
    if any(value is None for value in values.values()):
        return None
    return WhoAmI(**values)  # type: ignore[arg-type]  # each value checked by its reader


def legacy_session_settings(plans: Iterable[Plan]) -> LegacySessionSettings:
    """The legacy app's session settings: the first plan's that declares them, else the default
    (check_legacy_sessions has made sure the others agree)."""
    declared = (plan.legacy_session for plan in plans if plan.legacy_session is not None)
    return next(declared, LegacySessionSettings())


def check_legacy_sessions(plans: Iterable[Plan]) -> list[PlanError]:
    """Every plan that declares the section declares the same one."""
    first: Plan | None = None
    errors: list[PlanError] = []
    for plan in plans:
        if plan.legacy_session is None:
            continue
        if first is None:
            first = plan
        elif plan.legacy_session != first.legacy_session:
            errors.append(
                PlanError(
                    plan.file,
                    plan.line_of(PREFIX),
                    PREFIX,
                    f"differs from the one feature {first.feature!r} declares "
                    f"({first.where(first.line_of(PREFIX))}): there is one legacy app",
                )
            )
    return errors
