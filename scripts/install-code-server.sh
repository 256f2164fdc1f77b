#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, using only the npm registry and Debian apt:
#   - Debian chromium (the browser playwright-core drives) and the headers code-server's native modules build with;
#   - the npm package code-server, whose lib/vscode is a real VS Code server (web workbench + Node extension host),
#     into .vscode-test/code-server (git-ignored, so a fresh clone gets it by running this script).
# Desktop VS Code / Electron cannot be downloaded here, which is why the tests run on the server build instead.
#
# usage: bash scripts/install-code-server.sh [DEST_DIR]
# env:   CS_VERSION  code-server version (default 4.100.3 = VS Code 1.100.3, the newest that runs on Node 20;
#                    keep it >= the "engines.vscode" of package.json, or the extension is silently not loaded)
#
# Idempotent and non-interactive: safe to call from .ci/run (root, CI=true, no stdin) on every run.
set -euo pipefail

CS_VERSION=${CS_VERSION:-4.100.3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=$(realpath -m "${1:-$ROOT/.vscode-test/code-server}")
SERVER_MAIN="$DEST/node_modules/code-server/lib/vscode/out/server-main.js"
APT_PACKAGES=(chromium libkrb5-dev pkg-config) # libkrb5-dev: gssapi headers for the `kerberos` addon

log() { echo "[install-code-server] $*"; }
installed_version() {
  node -p "require('$DEST/node_modules/code-server/package.json').version" 2>/dev/null || true
}

# --- system packages: only touch apt when something is missing (apt-get update is slow and needs the network) ----
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
  log "apt: installing ${missing[*]}"
  # Lock timeout: another process (or engineer) may be running apt at the same moment.
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    "${missing[@]}" </dev/null
fi

# --- code-server ---------------------------------------------------------------------------------------------------
if [ -f "$SERVER_MAIN" ] && [ "$(installed_version)" = "$CS_VERSION" ]; then
  log "code-server $CS_VERSION already in $DEST"
  exit 0
fi

mkdir -p "$DEST"
# Two runs at once (CI + a developer, two terminals) would corrupt one node_modules: serialise them.
exec 9>"$DEST/.install.lock"
flock 9
if [ -f "$SERVER_MAIN" ] && [ "$(installed_version)" = "$CS_VERSION" ]; then
  log "code-server $CS_VERSION was installed meanwhile"
  exit 0
fi

t0=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/install-code-server.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$DEST"
# Its own package.json makes npm treat DEST as the project, so the repo's package.json/lockfile are never touched.
[ -f package.json ] || echo '{ "name": "vscode-test-code-server", "private": true }' >package.json

# @vscode/ripgrep < 1.17 (pinned by VS Code's npm-shrinkwrap.json) downloads rg from GitHub in its postinstall, which
# cannot be reached here. It first looks for the asset in $TMPDIR/vscode-ripgrep-cache-<version>/, so seed that cache
# with the rg binary that the npm package @vscode/ripgrep-<os>-<arch> ships. The pinned version, the rg release it
# wants and the target triple are read from the packages themselves rather than hard-coded.
case "$(uname -m)" in
  x86_64) rg_arch=x64 triple=x86_64-unknown-linux-musl ;;
  aarch64) rg_arch=arm64 triple=aarch64-unknown-linux-musl ;;
  *) rg_arch='' triple='' ;;
esac
(cd "$work" && npm pack --silent "code-server@$CS_VERSION" >/dev/null &&
  tar xzf "code-server-$CS_VERSION.tgz" package/lib/vscode/npm-shrinkwrap.json)
rg_version=$(node -p "(require('$work/package/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep'] || {}).version || ''")
if [ -n "$rg_version" ] && [ -n "$rg_arch" ] && [ "$(printf '%s\n1.17.0\n' "$rg_version" | sort -V | head -1)" != 1.17.0 ]; then
  (cd "$work" && mkdir rg rgbin &&
    npm pack --silent "@vscode/ripgrep@$rg_version" >/dev/null && tar xzf vscode-ripgrep-"$rg_version".tgz -C rg &&
    npm pack --silent "@vscode/ripgrep-linux-$rg_arch" >/dev/null && tar xzf vscode-ripgrep-linux-"$rg_arch"-*.tgz -C rgbin)
  rg_release=$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" "$work/rg/package/lib/postinstall.js")
  cache="$work/tmp/vscode-ripgrep-cache-$rg_version"
  mkdir -p "$cache"
  tar czf "$cache/ripgrep-$rg_release-$triple.tar.gz" -C "$work/rgbin/package/bin" rg
  log "seeded ripgrep cache: $(basename "$cache")/ripgrep-$rg_release-$triple.tar.gz"
fi
mkdir -p "$work/tmp"

# TMPDIR: the private dir holding the seeded cache (and npm's build scratch), removed afterwards.
# npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which a `yes=false` in ~/.npmrc would cancel.
# npm_config_unsafe_perm: code-server's postinstall.sh refuses to run as root unless this is set.
log "npm install code-server@$CS_VERSION into $DEST"
# A wrong version or a half-finished install (interrupted postinstall) may still look "up to date" to npm's
# lockfile: remove the package so that npm installs it, and runs its postinstall, afresh.
rm -rf "$DEST/node_modules/code-server"
TMPDIR="$work/tmp" npm_config_yes=true npm_config_unsafe_perm=true \
  npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" </dev/null

[ -f "$SERVER_MAIN" ] || { log "ERROR: $SERVER_MAIN missing after install"; exit 1; }
[ "$(installed_version)" = "$CS_VERSION" ] || { log "ERROR: installed $(installed_version), wanted $CS_VERSION"; exit 1; }
vscode_version=$(node -p "require('$DEST/node_modules/code-server/lib/vscode/package.json').version")
log "code-server $CS_VERSION (VS Code $vscode_version) installed in $(($(date +%s) - t0)) s"
