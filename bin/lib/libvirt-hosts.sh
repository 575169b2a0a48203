#!/usr/bin/env bash
# bin/lib/libvirt-hosts.sh start|stop|status NAME PORT
#
# Extra libvirt "hosts" on this one machine, for the multi-host end-to-end tests (placement across hosts,
# later migration).  Each NAME gets its own virtlogd + libvirtd, in a private mount namespace in which
#     /etc/libvirt  /run/libvirt  /var/lib/libvirt  /var/cache/libvirt  /var/log/libvirt
# are bind mounts of $STATE/NAME/{etc,run,lib,cache,log}: its own configuration, sockets, domains, pools,
# capability cache and logs.  Everything else (the guest images, /var/lib/cirrostack, ...) is shared.
# The host answers only over TCP:   qemu+tcp://127.0.0.1:PORT/system   (127.0.0.1, auth none, no TLS)
# qemu:///system always stays the system libvirtd (bin/lib/libvirtd.sh, port 16509).
# Guests must use <domain type='qemu'> (TCG): KVM hangs guests on these machines.
#
#   start   reuse the host when its libvirtd already answers, otherwise start it; wait up to 30 s.
#   stop    destroy and undefine the host's guests (these hosts are throwaway), then stop its daemons
#           by the pids recorded in its state dir (never by name), and any QEMU it left behind.
#   status  exit 0 when the host answers, 3 otherwise.
# Env: CIRROSTACK_LIBVIRT_HOSTS_STATE (/var/tmp/cirrostack-libvirt-hosts).  Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CS_PROG=libvirt-hosts.sh
# shellcheck source=bin/lib/common.sh
. "$HERE/common.sh"

usage() { echo "usage: $0 start|stop|status NAME PORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
ACTION=$1 NAME=$2 PORT=$3
[[ $NAME =~ ^[a-z0-9][a-z0-9_-]*$ ]] || cs_die "invalid host name '$NAME' (lower-case letters, digits, - and _)"
if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -le 1024 ] || [ "$PORT" -ge 65536 ]; then
  cs_die "invalid TCP port '$PORT'"
fi
[ "$PORT" != 16509 ] || cs_die "port 16509 belongs to the system libvirtd (bin/lib/libvirtd.sh)"
# shellcheck disable=SC2034  # read by the cs_log helpers of common.sh
CS_PROG="libvirt-hosts.sh[$NAME]"

STATE=${CIRROSTACK_LIBVIRT_HOSTS_STATE:-/var/tmp/cirrostack-libvirt-hosts}
DIR=$STATE/$NAME
URI=qemu+tcp://127.0.0.1:$PORT/system
WAIT_SECONDS=30
# what the namespace replaces, and the state sub-directory that replaces it
MOUNTS=("etc:/etc/libvirt" "run:/run/libvirt" "lib:/var/lib/libvirt" "cache:/var/cache/libvirt"
        "log:/var/log/libvirt")

# ---- process helpers --------------------------------------------------------------------------------
pid_of() {  # the pid recorded in a pid file, or nothing
  local p
  p=$(cat "$1" 2>/dev/null || true)
  if [[ $p =~ ^[0-9]+$ ]]; then echo "$p"; fi
}

# running PID COMM: PID is alive, not a zombie, and is COMM (pid files go stale and pids get reused).
running() {
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
    ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}

answers() { timeout 10 virsh -c "$URI" version >/dev/null 2>&1; }

# terminate PID COMM: SIGTERM (after SIGCONT, in case a test froze it), 15 s grace, then SIGKILL.
terminate() {
  local pid=$1 comm=$2 _
  running "$pid" "$comm" || return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 75); do running "$pid" "$comm" || return 0; sleep 0.2; done
  cs_warn "$comm (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 25); do running "$pid" "$comm" || return 0; sleep 0.2; done
  cs_die "$comm (pid $pid) is still running"
}

# QEMUs of this host that are still alive, as "pid" lines (libvirt keeps a pid file per guest).
host_qemus() {
  local f pid
  for f in "$DIR"/run/qemu/*.pid; do
    [ -e "$f" ] || continue
    pid=$(pid_of "$f")
    [ -n "$pid" ] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == qemu* ]] && echo "$pid"
  done
  return 0
}

# Serialise start/stop of one host (parallel test runs).  Daemons are started with fd 9 closed, or they
# would hold this lock for as long as they run.
lock_host() {
  mkdir -p "$DIR"
  exec 9>>"$DIR/.lock"
  flock 9
}

# ---- preparation ------------------------------------------------------------------------------------
# Same reason as in libvirtd.sh: without udev /dev/kvm is root-only, and libvirt then re-probes QEMU.
fix_kvm() {
  [ -c /dev/kvm ] && getent group kvm >/dev/null || return 0
  [ "$(stat -c %G /dev/kvm)" = kvm ] || chgrp kvm /dev/kvm
  [ "$(( 0$(stat -c %a /dev/kvm) & 060 ))" -eq $(( 060 )) ] || chmod g+rw /dev/kvm
}

# The host's own /etc/libvirt: a copy of the system one made once, without the system host's guests and
# without autostarting its networks and pools (they belong to the system host), plus our settings block,
# rewritten on every start.  The UUID is derived from NAME, so a restarted host is the same host.
prepare_etc() {
  local etc=$DIR/etc uuid
  if [ ! -f "$etc/libvirtd.conf" ]; then
    mkdir -p "$etc"
    cp -a /etc/libvirt/. "$etc/"
    rm -f "$etc"/qemu/*.xml
    rm -rf "$etc"/qemu/autostart "$etc"/qemu/networks/autostart "$etc"/storage/autostart
    mkdir -p "$etc"/qemu/networks/autostart "$etc"/storage/autostart
  fi
  uuid=$(printf 'cirrostack-libvirt-host-%s' "$NAME" | md5sum |
         sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
  sed -i '/^# ---- cirrostack libvirt-hosts.sh begin/,/^# ---- cirrostack libvirt-hosts.sh end/d' \
    "$etc/libvirtd.conf"
  cat >> "$etc/libvirtd.conf" <<EOF
# ---- cirrostack libvirt-hosts.sh begin (regenerated on every start)
host_uuid = "$uuid"
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$PORT"
auth_tcp = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
# ---- cirrostack libvirt-hosts.sh end
EOF
}

# skeleton SRC DST: DST gets SRC's first-level directories (empty, same owner and mode).  libvirtd and virtlogd
# expect them (e.g. /var/log/libvirt/qemu for the guests' logs) and do not all create them.
skeleton() {
  local d
  while IFS= read -r -d '' d; do
    [ -d "$2/${d##*/}" ] && continue
    mkdir "$2/${d##*/}"
    chown --reference="$d" "$2/${d##*/}"
    chmod --reference="$d" "$2/${d##*/}"
  done < <(find "$1" -mindepth 1 -maxdepth 1 -type d -print0)
}

prepare() {
  local entry
  for entry in "${MOUNTS[@]}"; do mkdir -p "$DIR/${entry%%:*}" "${entry#*:}"; done
  skeleton /var/lib/libvirt "$DIR/lib"
  skeleton /var/log/libvirt "$DIR/log"
  prepare_etc
  # Seed the QEMU capability cache from the system host's: libvirt validates it, and a valid copy saves
  # the 4-8 s probe on a first start.
  if [ ! -d "$DIR/cache/qemu" ] && [ -d /var/cache/libvirt/qemu ]; then
    cp -a /var/cache/libvirt/qemu "$DIR/cache/"
  fi
  # A fresh boot of the host: stale sockets and pid files confuse libvirtd, unless guests of an earlier
  # run still live (libvirtd re-attaches to them through those files).
  [ -n "$(host_qemus)" ] || find "$DIR/run" -mindepth 1 -delete
  : > "$DIR/log/libvirtd.log"
  echo "$PORT" > "$DIR/port"
}

# ---- subcommands ------------------------------------------------------------------------------------
do_start() {
  cs_is_root || cs_die "extra libvirt hosts need root (mount namespaces, QEMU)"
  cs_ensure_packages required "${CS_LIBVIRT_PACKAGES[@]}"
  lock_host
  fix_kvm
  local pid t0=$EPOCHREALTIME
  pid=$(pid_of "$DIR/libvirtd.pid")
  if running "$pid" libvirtd; then
    if [ "$(cat "$DIR/port" 2>/dev/null)" != "$PORT" ]; then
      cs_die "host $NAME already runs (pid $pid) on port $(cat "$DIR/port" 2>/dev/null || echo '?'); stop it first"
    fi
    local deadline=$((SECONDS + WAIT_SECONDS))
    until answers; do
      [ $SECONDS -lt $deadline ] || cs_die "libvirtd (pid $pid) runs but $URI does not answer"
      sleep 0.2
    done
    cs_log "reusing libvirtd (pid $pid): $URI"
    return 0
  fi
  cs_tcp_open "$PORT" && cs_die "TCP port $PORT is taken by something that is not host $NAME"

  prepare
  rm -f "$DIR/libvirtd.pid" "$DIR/virtlogd.pid"
  # The mounts live as long as a process of the namespace does: both daemons (and QEMU, their child)
  # inherit it.  libvirtd starts on CPU 0 (see libvirtd.sh: its capability cache checks the CPU it runs
  # on) and gets every CPU back once it answers.
  local binds="" entry
  for entry in "${MOUNTS[@]}"; do binds+="mount --bind '$DIR/${entry%%:*}' '${entry#*:}'; "; done
  unshare --mount --propagation private /bin/sh -ec "
    $binds
    virtlogd -d -p '$DIR/virtlogd.pid'
    exec taskset -c 0 libvirtd -d -l -p '$DIR/libvirtd.pid'
  " 9>&- || { cs_log_tail "$DIR/log/libvirtd.log"; cs_die "the daemons of host $NAME failed to start"; }

  pid=$(pid_of "$DIR/libvirtd.pid")
  local deadline=$((SECONDS + WAIT_SECONDS))
  until answers; do
    if ! running "$pid" libvirtd; then
      cs_log_tail "$DIR/log/libvirtd.log"; cs_die "libvirtd of host $NAME exited before $URI answered"
    fi
    if [ $SECONDS -ge $deadline ]; then
      cs_log_tail "$DIR/log/libvirtd.log"; cs_die "$URI did not answer within ${WAIT_SECONDS}s"
    fi
    sleep 0.2
  done
  taskset -a -p -c "$(cat /sys/devices/system/cpu/online)" "$pid" >/dev/null
  cs_log "started libvirtd (pid $pid) in $(cs_elapsed "$t0") s: $URI"
}

do_stop() {
  cs_is_root || cs_die "stopping an extra libvirt host needs root"
  [ -d "$DIR" ] || { cs_log "no state in $DIR: nothing to stop"; return 0; }
  lock_host
  local pid vpid dom q
  pid=$(pid_of "$DIR/libvirtd.pid"); vpid=$(pid_of "$DIR/virtlogd.pid")
  if running "$pid" libvirtd && answers; then
    while read -r dom; do
      [ -n "$dom" ] || continue
      virsh -c "$URI" destroy "$dom" >/dev/null 2>&1 || true
      virsh -c "$URI" undefine "$dom" --managed-save --snapshots-metadata --nvram >/dev/null 2>&1 ||
        cs_warn "could not undefine guest $dom"
    done < <(virsh -c "$URI" list --all --name 2>/dev/null)
  else
    # libvirtd is gone: its guests' definitions would come back on the next start; drop them.
    rm -f "$DIR"/etc/qemu/*.xml
  fi
  for q in $(host_qemus); do terminate "$q" "$(cat "/proc/$q/comm" 2>/dev/null || echo qemu)"; done
  terminate "$pid" libvirtd
  terminate "$vpid" virtlogd
  rm -f "$DIR/libvirtd.pid" "$DIR/virtlogd.pid"
  cs_log "stopped"
}

do_status() {
  local pid
  pid=$(pid_of "$DIR/libvirtd.pid")
  if running "$pid" libvirtd; then echo "libvirtd: running, pid $pid"; else echo "libvirtd: not running"; fi
  if answers; then echo "$URI: answers"; return 0; fi
  echo "$URI: no answer"
  return 3
}

case "$ACTION" in
  start)  do_start ;;
  stop)   do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
