"""`python -m tasks`: the full `wirewatch` command, distributed commands included."""

from __future__ import annotations

from tasks.cli import main

main()
