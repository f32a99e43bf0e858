"""`python -m demo.legacy`: see cli.py."""

from __future__ import annotations

from demo.legacy.cli import main

raise SystemExit(main())
