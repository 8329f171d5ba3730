#!/usr/bin/env bash
# Installs Debian's Chromium and Thai fonts for the browser tests (Playwright cannot download its own here).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list :lang=th 2>/dev/null | grep -q . || need+=(fonts-thai-tlwg)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
