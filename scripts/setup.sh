#!/usr/bin/env bash
# Create .venv with Python 3.11+ and install wirewatch (with test extras) into it; install
# redis-server (the tests start a throwaway one) when it is missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.13 python3.12 python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$c; break
    fi
  done
fi
[ -n "$PY" ] || { echo "wirewatch needs Python 3.11 or newer" >&2; exit 2; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[test]'
  rm -f .venv/.installed-*; touch "$stamp"
fi
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (the store tests run a throwaway one)" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && SUDO=sudo; }
  if command -v apt-get >/dev/null; then
    $SUDO apt-get install -y -q redis-server >/dev/null ||
      { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q redis-server >/dev/null; } ||
      echo "could not install redis-server: install it, or set WIREWATCH_TEST_REDIS_URL" >&2
  else
    echo "no apt-get: install redis-server, or set WIREWATCH_TEST_REDIS_URL" >&2
  fi
fi
# -- the dashboard test (tests/api/test_dashboard_browser.py) drives Debian's chromium through
# chromium-driver; it skips without them. SKIP_BROWSER=1 leaves them out.
if [ "${SKIP_BROWSER:-0}" != 1 ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  SUDO=; [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && SUDO=sudo; }
  if command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver (the dashboard test; SKIP_BROWSER=1 to skip)" >&2
    $SUDO apt-get install -y -q chromium chromium-driver >/dev/null ||
      { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium chromium-driver >/dev/null; } ||
      echo "could not install chromium: the dashboard test will be skipped" >&2
  fi
fi
