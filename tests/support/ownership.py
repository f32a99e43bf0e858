"""Plan files whose write routes start in a given phase, for tests of who may write.

The shipped plans leave every write with legacy, so a service refuses writes (it owns no
record: extracted.core.write_guard). Tests of the services' writes run against a copy of the
shipped plans whose write routes start in `migrated`, exactly what an operator's advance gives
them; tests of the refusal use `legacy` or a canary. Only the phases change.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from migration_plans.ownership_state import forget

SHIPPED = Path(__file__).resolve().parents[2] / "migration_plans" / "plans"
READS = ("GET", "HEAD", "OPTIONS")


def plans_with_writes_in(directory: Path, phase: str) -> Path:
    """Copies of the shipped plans in `directory` with every write route starting in `phase`."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in SHIPPED.glob("*.yaml"):
        plan = yaml.safe_load(source.read_text())
        for route in plan["routes"]:
            if route["method"] not in READS:
                route["phase"] = phase
        (directory / source.name).write_text(yaml.safe_dump(plan, sort_keys=False))
    forget()  # ownership is read afresh from these plans
    return directory
