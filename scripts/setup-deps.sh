#!/usr/bin/env bash
# Installs the system packages Vigil builds against, if they are missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
pkg-config --exists libpcre2-8 2>/dev/null || need+=(libpcre2-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
