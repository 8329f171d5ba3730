#!/usr/bin/env bash
# Installs from Debian, where missing: for the tests, Chromium and Thai fonts (Playwright cannot download its own
# browser here), PostgreSQL's server programs for the throwaway clusters (khlang/localpg.py) and HAProxy (make
# cluster and its test); with --cluster, only PostgreSQL and HAProxy.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ "${1:-}" != "--cluster" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  fc-list :lang=th 2>/dev/null | grep -q . || need+=(fonts-thai-tlwg)
fi
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
