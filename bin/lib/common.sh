# shellcheck shell=bash
# Shared helpers for bin/cirrostack and bin/lib/*.sh.  Source it; it only defines functions and
# constants, it runs nothing.  Targets Debian 12 / Ubuntu (apt + dpkg), as root or as a normal user.

# Debian packages, grouped by what needs them (bin/cirrostack unions them per subcommand).
# shellcheck disable=SC2034  # used by the scripts that source this file
CS_RUN_PACKAGES=(python3-venv gcc python3-dev pkg-config libvirt-dev libldap2-dev libsasl2-dev gettext
                 ca-certificates)   # HTTPS to PyPI; minimal Debian images come without it
# shellcheck disable=SC2034
CS_SERVICE_PACKAGES=(postgresql redis-server slapd ldap-utils chromium chromium-driver nginx-light)
# sasl2-bin: saslpasswd2, for the tests of hosts behind a SASL login (tests/support/sasl_libvirtd.py)
# shellcheck disable=SC2034
CS_LIBVIRT_PACKAGES=(libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils sasl2-bin)
# What bin/lib/tiny-image.sh builds the guest image with (no loop devices: mtools + syslinux on files).
# shellcheck disable=SC2034
CS_IMAGE_PACKAGES=(busybox-static syslinux syslinux-common isolinux xorriso mtools dosfstools fdisk kmod
                   qemu-utils)

CS_PROG=${CS_PROG:-cirrostack}

cs_log()  { printf '%s: %s\n' "$CS_PROG" "$*" >&2; }
cs_warn() { printf '%s: WARNING: %s\n' "$CS_PROG" "$*" >&2; }
cs_die()  { printf '%s: ERROR: %s\n' "$CS_PROG" "$*" >&2; exit 1; }
cs_is_root() { [ "$(id -u)" -eq 0 ]; }

# Seconds since an $EPOCHREALTIME taken earlier, with one decimal: cs_elapsed "$t0"
cs_elapsed() {  # (some locales write EPOCHREALTIME with a decimal comma)
  local a=${1/,/.} b=${EPOCHREALTIME/,/.}
  LC_ALL=C awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }'
}

# Print the last lines of a log file to stderr (used whenever a service fails to start).
cs_log_tail() {
  local file=$1 lines=${2:-30}
  if [ -s "$file" ]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '----- end of %s -----\n' "$file" >&2
  else
    printf '(no log at %s)\n' "$file" >&2
  fi
}

cs_pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'
}

# Print the packages among the arguments that are not installed, one per line.
cs_missing_packages() {
  local p installed
  # One dpkg-query for all of them (a call per package adds up to a second on every run).
  installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
                awk '$NF == "installed" { printf "%s ", $1 }')"
  for p in "$@"; do
    case "$installed" in *" $p "*) ;; *) printf '%s\n' "$p" ;; esac
  done
}

# Install packages with apt (root only).  `apt-get update` runs first, but only when something is
# missing, so an up-to-date machine never touches the network here.  DPkg::Lock::Timeout waits for
# another apt run (a colleague's, or unattended-upgrades) instead of failing at once.
cs_apt_install() {
  [ $# -gt 0 ] || return 0
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
  cs_log "installing with apt: $*"
  "${apt[@]}" update >/dev/null || cs_warn "apt-get update failed; trying the install anyway"
  "${apt[@]}" install -y --no-install-recommends "$@" >/dev/null ||
    cs_die "apt-get install failed for: $*"
}

# cs_ensure_packages MODE PKG...
#   MODE=required: root installs what is missing; a normal user gets the sudo line and exit 1.
#   MODE=optional: root installs; a normal user gets the sudo line as a warning and we go on
#                  (returns 1 so the caller knows something is missing).
cs_ensure_packages() {
  local mode=$1; shift
  local missing
  mapfile -t missing < <(cs_missing_packages "$@")
  [ ${#missing[@]} -gt 0 ] || return 0
  if cs_is_root; then
    cs_apt_install "${missing[@]}"
    return 0
  fi
  local line="sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$mode" = required ]; then
    cs_log "these system packages are missing and installing them needs root:"
    printf '\n    %s\n\n' "$line" >&2
    exit 1
  fi
  cs_warn "not root, so these packages are not installed: ${missing[*]}"
  cs_warn "to get them:  $line"
  return 1
}

# cs_tcp_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
cs_tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
