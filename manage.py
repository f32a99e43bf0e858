#!/usr/bin/env python
"""Ficus's command line: Django's manage.py for the extracted services and the control plane.

`python manage.py --help` lists every command; the Ficus ones are `runservice`, `runproxy`,
`plan` and `sync`.
"""

from __future__ import annotations

import os
import sys

from django.core.management import execute_from_command_line


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extracted.settings")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
