"""A plan's `upstream:` section: its name, instances and health check, or a reference to the
upstream another plan declares; `FICUS_UPSTREAM_<NAME>` overrides the instances (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import urlsplit

from yaml.nodes import Node, ScalarNode, SequenceNode

from domain.plan_model import HealthCheck, Upstream
from domain.plan_sections import SectionReader

ENV_PREFIX: Final = "FICUS_UPSTREAM_"
UPSTREAM_FIELDS: Final = ("name", "instances", "health")
_UPSTREAM_REQUIRED: Final = frozenset({"name", "instances"})
# Upstream.instances_from of a plan that names another plan's upstream, until it is resolved.
UPSTREAM_REFERENCE: Final = "reference"


def upstream_env_var(upstream_name: str) -> str:
    return ENV_PREFIX + upstream_name.upper()


def read_upstream(
    reader: SectionReader,
    node: Node,
    environ: Mapping[str, str],
    check_name: Callable[[Node, str], str | None],
) -> Upstream | None:
    """The section read with `reader` (its errors located there); `check_name` checks the name as
    the plan's other names are checked."""
    if isinstance(node, ScalarNode):
        # `upstream: NAME` shares the upstream another plan declares (resolved across files).
        shared = check_name(node, "upstream")
        return None if shared is None else Upstream(shared, (), UPSTREAM_REFERENCE)
    fields = reader.mapping(node, "upstream", UPSTREAM_FIELDS, _UPSTREAM_REQUIRED)
    if fields is None:
        return None
    health: HealthCheck | None = HealthCheck()
    if "health" in fields:
        health = reader.health(fields["health"])
    if "name" not in fields or "instances" not in fields:
        return None
    name = check_name(fields["name"], "upstream.name")
    instances: list[str] = []
    for index, item in enumerate(reader.items(fields["instances"], "upstream.instances") or []):
        url = reader.string(item, f"upstream.instances[{index}]")
        if url is not None and (problem := instance_url_problem(url)):
            reader.fail(item, f"upstream.instances[{index}]", problem)
        elif url is not None:
            instances.append(url)
    if isinstance(fields["instances"], SequenceNode) and not fields["instances"].value:
        reader.fail(fields["instances"], "upstream.instances", "lists no instance")
    if name is None or health is None:
        return None
    var = upstream_env_var(name)
    override = environ.get(var, "").strip()
    if override:
        urls = [u.strip() for u in override.split(",") if u.strip()]
        problems = [p for u in urls if (p := instance_url_problem(u))]
        for problem in problems or ([] if urls else ["lists no instance"]):
            reader.fail(fields["instances"], "upstream.instances", f"{var}: {problem}")
        return Upstream(name, tuple(urls), var, health)
    return Upstream(name, tuple(instances), health=health)


def instance_url_problem(url: str) -> str | None:
    """Why url cannot be an upstream instance, or None if it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        return f"{url!r} is not a valid URL ({e})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} must look like http://host:port"
    if parts.username or parts.password:
        return f"{url!r} must not carry credentials"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{url!r} must not have a path, query or fragment (the proxy forwards the path)"
    return None
