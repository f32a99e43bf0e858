"""The demo's Prometheus: a scrape configuration for the stack, and the server's command line.

Debian's `prometheus` package provides the server (`/usr/bin/prometheus`; the Makefile installs
it). The demo and the e2e tests run their own instance on their own port, with the
configuration and the storage under the stack's var directory, never the system service's.
Pure standard library: the launcher writes the text and starts the command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

BINARY: Final = Path("/usr/bin/prometheus")


@dataclass(frozen=True)
class Target:
    job: str
    address: str  # host:port
    path: str = "/metrics"


def config_text(targets: Sequence[Target], *, interval: str = "5s") -> str:
    """prometheus.yml for these targets. YAML is a superset of JSON, so JSON it is."""
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(Path(__file__).resolve().parent.parent / "docs/prometheus/alerts.yml")],
        "scrape_configs": [
            {
                "job_name": target.job,
                "metrics_path": target.path,
                "static_configs": [{"targets": [target.address]}],
            }
            for target in targets
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def command(binary: Path, config: Path, storage: Path, listen: str) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={storage}",
        f"--web.listen-address={listen}",
        "--storage.tsdb.retention.time=1d",
    ]
