#!/usr/bin/env bash
# Installs the Debian packages baldro needs to build and test, only those missing.
# Runs apt-get as root, or through sudo when not root.
#   ./scripts/install-deps.sh          what the build and the main job need
#   ./scripts/install-deps.sh --test   also what only the tests need: Debian's chromium
#                                      (renders report.html headless), libpng-dev (decodes
#                                      its screenshot) and a font for the page's text
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libglib2.0-dev libconfig-dev
      libjson-glib-dev libcriterion-dev libopenblas-openmp-dev)
case "${1:-}" in
  "") ;;
  --test) pkgs+=(chromium libpng-dev fonts-dejavu-core) ;;
  *) echo "install-deps: unknown option '$1' (--test or nothing)" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
