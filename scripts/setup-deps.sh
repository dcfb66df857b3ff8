#!/usr/bin/env bash
# Installs the system packages Vigil builds against, if they are missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
pkg-config --exists libpcre2-8 2>/dev/null || need+=(libpcre2-dev)
pkg-config --exists libzstd 2>/dev/null || need+=(libzstd-dev)
pkg-config --exists snappy 2>/dev/null || [ -f /usr/include/snappy-c.h ] || need+=(libsnappy-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Python readers the tests check Vigil's Parquet and Delta tables with (real readers,
# from PyPI), in a venv beside the checkout: .venv-test (kept out of git).
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-test"
if ! "$venv/bin/python" -c "import pyarrow, deltalake, polars" 2>/dev/null; then
  echo "setup: creating $venv with pyarrow, deltalake, polars" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check pyarrow deltalake polars
fi
