#!/usr/bin/env bash
# Quick start, part 1: ingest the five seed articles into a fresh embedded store and show the
# stories and events. The store is ./demo.db (SQLite); nothing else to install.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export WIREWATCH_DB=${WIREWATCH_DB:-demo.db}
rm -f "$WIREWATCH_DB" "$WIREWATCH_DB"-wal "$WIREWATCH_DB"-shm
.venv/bin/wirewatch ingest seeds/
.venv/bin/wirewatch stories
.venv/bin/wirewatch events
