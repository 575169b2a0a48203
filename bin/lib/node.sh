# shellcheck shell=bash
# The browser-side packages (package.json: noVNC for the VM console), installed into node_modules/ in the repo
# root, from where Django serves them as static files.  Source it after common.sh.
#
# cs_ensure_node_modules ROOT
# Runs `npm ci` (exactly what package-lock.json says, nothing else) when node_modules/@novnc/novnc is missing
# or package.json / package-lock.json changed since the last successful install (a stamp in node_modules
# remembers their hash), so an up-to-date checkout never touches the network here.  npm itself comes from
# Debian's nodejs + npm packages, installed with apt when npm is missing and we are root; a normal user gets
# the sudo line.  Any nodejs that ships npm (e.g. NodeSource's) is used as it is.

CS_NODE_PACKAGES=(nodejs npm)

cs_ensure_npm() {
  command -v npm >/dev/null && return 0
  if cs_is_root; then
    cs_apt_install "${CS_NODE_PACKAGES[@]}"
    command -v npm >/dev/null || cs_die "npm is still missing after installing ${CS_NODE_PACKAGES[*]}"
    return 0
  fi
  cs_log "npm is needed to install the browser packages (package.json) and installing it needs root:"
  printf '\n    %s\n\n' "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${CS_NODE_PACKAGES[*]}" >&2
  exit 1
}

cs_ensure_node_modules() {
  local root=$1 modules=$1/node_modules
  local stamp=$modules/.cirrostack-install want have
  [ -f "$root/package-lock.json" ] || cs_die "$root/package-lock.json is missing"
  want="lock=$(cat "$root/package.json" "$root/package-lock.json" | sha256sum | cut -c1-32)"

  # One installer at a time per checkout (parallel `test` + `serve`); the lock lives outside the repo.
  local lock
  lock="${TMPDIR:-/tmp}/cirrostack-node-$(id -u)-$(printf '%s' "$root" | md5sum | cut -c1-12).lock"
  exec 7>>"$lock"
  flock 7

  have=$(cat "$stamp" 2>/dev/null || true)
  if [ -f "$modules/@novnc/novnc/core/rfb.js" ] && [ "$have" = "$want" ]; then
    exec 7>&-
    return 0
  fi
  if [ -e "$modules" ] && [ ! -w "$modules" ]; then
    cs_die "$modules belongs to $(stat -c %U "$modules") and is out of date for $(id -un); run this as $(stat -c %U "$modules"), or remove $modules"
  fi
  cs_ensure_npm
  local t0=$EPOCHREALTIME
  cs_log "installing the browser packages into node_modules: npm ci"
  # --ignore-scripts: the packages are static files to serve; nothing of theirs needs to run here.
  (cd "$root" && npm ci --no-audit --no-fund --omit=dev --ignore-scripts --loglevel=error >&2) 7>&- ||
    cs_die "npm ci failed (package-lock.json in $root)"
  [ -f "$modules/@novnc/novnc/core/rfb.js" ] || cs_die "npm ci did not install @novnc/novnc"
  echo "$want" > "$stamp"
  cs_log "installed in $(cs_elapsed "$t0") s"
  exec 7>&-
}
