"""Child process of the sync benchmarks: `python -m bench.sync_child CASE WORKDIR ARGS...`.

The parent (bench/sync_apply.py) passes the environment: the databases, the settings module.
"""

from __future__ import annotations

import sys

import django

django.setup()
# The standard Django-script idiom: the cases import Django models, so only after setup().
from bench import sync_cases  # noqa: E402

if __name__ == "__main__":
    sys.exit(sync_cases.main(sys.argv[1:]))
