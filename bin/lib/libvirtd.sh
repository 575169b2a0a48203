#!/usr/bin/env bash
# bin/lib/libvirtd.sh start|stop|status
#
# Runs the *system* virtlogd + libvirtd ourselves (machines without systemd, e.g. CI containers), so that
# both of these answer:
#     qemu:///system                          (unix socket /run/libvirt/libvirt-sock)
#     qemu+tcp://127.0.0.1:16509/system       (TCP on 127.0.0.1 only, auth none, no TLS)
# libvirtd reads our own copy of /etc/libvirt/libvirtd.conf, kept in /var/tmp/cirrostack-libvirt/ with
# the TCP settings appended; its log goes there too.  Guests must use <domain type='qemu'> (TCG): KVM
# hangs guests on these machines.
#
#   start   reuse a libvirtd that already answers (ours or not), otherwise start one; wait up to 30 s.
#   stop    stop the daemons *this script* started (pids recorded in the state dir); never others.
#           Running guests are left alone (QEMU outlives libvirtd; a new libvirtd re-attaches), and
#           virtlogd keeps running while any QEMU does, because it carries their serial logs.
#   status  print what runs; exit 0 when both URIs answer, 3 otherwise.
# Env: CIRROSTACK_LIBVIRT_PORT (16509), CIRROSTACK_LIBVIRT_STATE (/var/tmp/cirrostack-libvirt).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CS_PROG=libvirtd.sh
# shellcheck source=bin/lib/common.sh
. "$HERE/common.sh"

PORT=${CIRROSTACK_LIBVIRT_PORT:-16509}
STATE=${CIRROSTACK_LIBVIRT_STATE:-/var/tmp/cirrostack-libvirt}
LOCAL_URI=qemu:///system
TCP_URI=qemu+tcp://127.0.0.1:$PORT/system
CONF=$STATE/libvirtd.conf
LOG=$STATE/libvirtd.log
LIBVIRTD_PIDFILE=/run/libvirtd.pid      # where the system daemons keep their pid files
VIRTLOGD_PIDFILE=/run/virtlogd.pid
WAIT_SECONDS=30

# ---- small process helpers ------------------------------------------------------------------------
read_pid() {  # the pid in a pid file, or nothing
  local p
  p=$(cat "$1" 2>/dev/null || true)
  if [[ $p =~ ^[0-9]+$ ]]; then echo "$p"; fi
}

# alive PID NAME: PID exists, is not a zombie, and its command name is NAME (pid files can be stale
# and pids get reused, so a bare `kill -0` is not enough).
alive() {
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
    ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}

answers() { timeout 10 virsh -c "$1" version >/dev/null 2>&1; }

# wait_answer URI PID: poll until URI answers; give up when PID died or after WAIT_SECONDS.
wait_answer() {
  local uri=$1 pid=$2 deadline=$((SECONDS + WAIT_SECONDS))
  until answers "$uri"; do
    if [ -n "$pid" ] && ! alive "$pid" libvirtd; then
      cs_log "libvirtd (pid $pid) exited before $uri answered"; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      cs_log "$uri did not answer within ${WAIT_SECONDS}s"; return 1
    fi
    sleep 0.2
  done
}

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 _
  alive "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 75); do alive "$pid" "$name" || return 0; sleep 0.2; done
  cs_warn "$name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 25); do alive "$pid" "$name" || return 0; sleep 0.2; done
  cs_die "$name (pid $pid) is still running"
}

# Any QEMU started by the system libvirtd still alive?  (libvirt keeps one pid file per guest.)
qemu_running() {
  local f pid
  for f in /run/libvirt/qemu/*.pid; do
    [ -e "$f" ] || continue
    pid=$(read_pid "$f")
    [ -n "$pid" ] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == qemu* ]] && return 0
  done
  return 1
}

# ---- host preparation --------------------------------------------------------------------------------
# Without udev, /dev/kvm stays root:root 0600.  We never use KVM, but libvirt's capability probe looks at
# /dev/kvm access and a mismatch with the cached probe makes every start re-probe QEMU (+4-8 s).
fix_kvm() {
  [ -c /dev/kvm ] || return 0
  getent group kvm >/dev/null || return 0
  [ "$(stat -c %G /dev/kvm)" = kvm ] || chgrp kvm /dev/kvm
  [ "$(( 0$(stat -c %a /dev/kvm) & 060 ))" -eq $(( 060 )) ] || chmod g+rw /dev/kvm
}

# Our libvirtd.conf: the distribution's file plus a block of our settings (rewritten on every start,
# so a package upgrade of /etc/libvirt/libvirtd.conf is picked up).
write_conf() {
  local tmp uuid
  tmp=$(mktemp "$STATE/libvirtd.conf.XXXXXX")
  # A stable host UUID: without DMI data libvirt would make up a new one on each start.
  uuid=$(printf 'cirrostack-libvirtd' | md5sum |
         sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
  {
    cat /etc/libvirt/libvirtd.conf
    cat <<EOF

# ---- added by cirrostack bin/lib/libvirtd.sh (regenerated on every start) ----
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$PORT"
auth_tcp = "none"
host_uuid = "$uuid"
log_outputs = "3:file:$LOG"
EOF
  } > "$tmp"
  mv -f "$tmp" "$CONF"
}

start_virtlogd() {
  local pid
  pid=$(read_pid "$VIRTLOGD_PIDFILE")
  if alive "$pid" virtlogd; then return 0; fi
  virtlogd -d -p "$VIRTLOGD_PIDFILE" 9>&- || cs_die "virtlogd failed to start"
  pid=$(read_pid "$VIRTLOGD_PIDFILE")
  alive "$pid" virtlogd || cs_die "virtlogd did not stay up"
  echo "$pid" > "$STATE/virtlogd.pid"
  cs_log "started virtlogd (pid $pid)"
}

# Serialise start/stop: parallel test runs must not race to start two daemons.  The daemons are started
# with fd 9 closed (`9>&-`): they keep inherited fds, and would otherwise hold this lock forever.
lock_state() {
  mkdir -p "$STATE"
  exec 9>>"$STATE/.lock"
  flock 9
}

# ---- subcommands ----------------------------------------------------------------------------------
do_start() {
  cs_is_root || cs_die "starting the system libvirtd needs root"
  cs_ensure_packages required "${CS_LIBVIRT_PACKAGES[@]}"
  lock_state
  fix_kvm
  local t0=$EPOCHREALTIME pid
  pid=$(read_pid "$LIBVIRTD_PIDFILE")
  alive "$pid" libvirtd || pid=""

  if [ -n "$pid" ] || answers "$LOCAL_URI"; then
    # Someone (us earlier, a colleague, or a distribution service) runs it: reuse, never restart.
    wait_answer "$LOCAL_URI" "$pid" || { cs_log_tail "$LOG"; exit 1; }
    start_virtlogd     # serial <log file=...> of guests goes through virtlogd
    if ! answers "$TCP_URI"; then
      cs_die "a libvirtd (pid ${pid:-?}) is running but does not answer on $TCP_URI; stop it (or start it with -l and tcp_port=$PORT, listen_tcp=1, auth_tcp=\"none\") and retry"
    fi
    cs_log "reusing the running libvirtd (pid ${pid:-?}): $LOCAL_URI and $TCP_URI answer"
    return 0
  fi

  cs_tcp_open "$PORT" && cs_die "TCP port $PORT is taken by something that is not libvirtd"
  write_conf
  start_virtlogd
  : > "$LOG"
  # libvirt validates its QEMU capability cache against the host CPUID, which includes the x2APIC id of
  # the CPU the daemon runs on.  Unpinned, it re-probes QEMU (4-8 s) about half of the time; so start
  # it on CPU 0, and give all its threads every CPU back once it answers (QEMUs inherit the mask).
  taskset -c 0 libvirtd -d -l -f "$CONF" -p "$LIBVIRTD_PIDFILE" 9>&- ||
    { cs_log_tail "$LOG"; cs_die "libvirtd failed to start"; }
  pid=$(read_pid "$LIBVIRTD_PIDFILE")
  alive "$pid" libvirtd || { cs_log_tail "$LOG"; cs_die "libvirtd exited right after start"; }
  echo "$pid" > "$STATE/libvirtd.pid"
  if ! wait_answer "$LOCAL_URI" "$pid" || ! wait_answer "$TCP_URI" "$pid"; then
    cs_log_tail "$LOG"; exit 1
  fi
  taskset -a -p -c "$(cat /sys/devices/system/cpu/online)" "$pid" >/dev/null
  cs_log "started libvirtd (pid $pid) in $(cs_elapsed "$t0") s: $LOCAL_URI and $TCP_URI"
}

do_stop() {
  cs_is_root || cs_die "stopping the system libvirtd needs root"
  lock_state
  local pid mine vpid vmine
  pid=$(read_pid "$LIBVIRTD_PIDFILE"); mine=$(read_pid "$STATE/libvirtd.pid")
  if alive "$pid" libvirtd; then
    if [ "$pid" = "$mine" ]; then
      stop_pid "$pid" libvirtd
      cs_log "stopped libvirtd (pid $pid)"
    else
      cs_log "libvirtd (pid $pid) was not started by this script: left running"
    fi
  fi
  rm -f "$STATE/libvirtd.pid"

  vpid=$(read_pid "$VIRTLOGD_PIDFILE"); vmine=$(read_pid "$STATE/virtlogd.pid")
  if alive "$vpid" virtlogd && [ "$vpid" = "$vmine" ]; then
    if qemu_running; then
      cs_log "guests are still running: virtlogd (pid $vpid) left running for their serial logs"
      return 0
    fi
    stop_pid "$vpid" virtlogd
    cs_log "stopped virtlogd (pid $vpid)"
  fi
  rm -f "$STATE/virtlogd.pid"
}

do_status() {
  local pid vpid rc=0 who
  pid=$(read_pid "$LIBVIRTD_PIDFILE"); vpid=$(read_pid "$VIRTLOGD_PIDFILE")
  if alive "$pid" libvirtd; then
    who="not ours"; [ "$pid" = "$(read_pid "$STATE/libvirtd.pid")" ] && who="started by libvirtd.sh"
    echo "libvirtd: running, pid $pid ($who)"
  else
    echo "libvirtd: not running"
  fi
  if alive "$vpid" virtlogd; then echo "virtlogd: running, pid $vpid"; else echo "virtlogd: not running"; fi
  for uri in "$LOCAL_URI" "$TCP_URI"; do
    if answers "$uri"; then echo "$uri: answers"; else echo "$uri: no answer"; rc=3; fi
  done
  return $rc
}

case "${1:-}" in
  start)  do_start ;;
  stop)   do_stop ;;
  status) do_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
