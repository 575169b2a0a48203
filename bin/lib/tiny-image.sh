#!/usr/bin/env bash
# bin/lib/tiny-image.sh OUTDIR
#
# Builds Cirrostack's own tiny bootable guest for the end-to-end tests (real QEMU under libvirt):
#   OUTDIR/tiny.qcow2       64 MiB BIOS disk: MBR + one FAT16 partition + syslinux + kernel + initramfs
#   OUTDIR/tiny.iso         the same kernel + initramfs on a hybrid isolinux CD image
#   OUTDIR/tiny-kernel      the kernel alone, and
#   OUTDIR/tiny-initrd.gz   the initramfs alone (for <kernel>/<initrd> direct boot)
# Kernel: Debian's cloud kernel (the package linux-image-cloud-amd64 points at), fetched with
# `apt-get download` and cached in OUTDIR/.cache; nothing is installed from it.
# Userland: static busybox.  No loop devices and no mounts: mkfs.vfat -C, mtools and `syslinux --install`
# all work on plain files, so this also runs in containers.
#
# What the guest prints on ttyS0 (serial) and tty1 (VNC screen), in this order:
#   CIRROSTACK-GUEST-DISK <dev> bytes=<n>     one line per disk seen at boot (vda, sda, ...)
#   CIRROSTACK-GUEST-INFO kernel=<release> uptime=<seconds>
#   CIRROSTACK-GUEST-BOOTED                   always the last boot step; a shell follows on both consoles
# and later, while it runs:
#   CIRROSTACK-GUEST-DISK-ADDED <dev> bytes=<n> / CIRROSTACK-GUEST-DISK-REMOVED <dev>   (polled each second)
#   CIRROSTACK-GUEST-POWEROFF                 on the ACPI power button (libvirt shutdown()), then it powers off
# Only send shutdown() after CIRROSTACK-GUEST-BOOTED: an ACPI event before acpid runs is lost.
# Use <domain type='qemu'> (TCG) with <features><acpi/></features>.
#
# Idempotent: a stamp (kernel package + version, sha256 of this script, busybox version) skips the
# rebuild when nothing changed; CIRROSTACK_IMAGE_FORCE=1 rebuilds anyway.  Outputs are built in a
# temporary directory and moved into place, under a lock, so concurrent callers are safe.
# Needs root only to apt-get install missing build packages.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
CS_PROG=tiny-image.sh
# shellcheck source=bin/lib/common.sh
. "$HERE/common.sh"

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }

KERNEL_META=linux-image-cloud-amd64
CMDLINE="console=tty1 console=ttyS0,115200"
# Modules the guest loads, with their dependencies resolved at build time: the ACPI power button
# (button + evdev, so libvirt's shutdown() works) and the disk drivers for the disk markers.
GUEST_MODULES="evdev button virtio_pci virtio_blk virtio_scsi sd_mod ata_piix"
DISK_MB=64

# ---- kernel package (cached .deb) ------------------------------------------------------------------
kernel_package() {  # the versioned package the meta package depends on, e.g. linux-image-6.1.0-56-cloud-amd64
  apt-cache depends "$KERNEL_META" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Sets DEB to the cached kernel .deb, downloading the current candidate when it is not cached yet.
fetch_kernel_deb() {
  local pkg ver tmp
  pkg=$(kernel_package)
  if [ -z "$pkg" ] && cs_is_root; then        # apt lists missing (fresh container): refresh once
    apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null || true
    pkg=$(kernel_package)
  fi
  if [ -z "$pkg" ]; then
    # Offline or no apt lists: fall back to whatever kernel we cached before.
    DEB=$(find "$CACHE" -maxdepth 1 -name 'linux-image-*-cloud-amd64_*.deb' | sort -V | tail -n 1)
    [ -n "$DEB" ] || cs_die "cannot resolve $KERNEL_META with apt-cache (run apt-get update) and no kernel is cached in $CACHE"
    cs_warn "apt cannot resolve $KERNEL_META; using the cached $(basename "$DEB")"
    return 0
  fi
  ver=$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
  DEB=$(find "$CACHE" -maxdepth 1 -name "${pkg}_${ver/:/%3a}_*.deb" -print -quit)
  [ -z "$DEB" ] || return 0
  cs_log "downloading $pkg $ver"
  tmp=$(mktemp -d "$CACHE/.download.XXXXXX")
  # Sandbox::User=root: apt's _apt user could not write into our cache directory.
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null) ||
    { rm -rf "$tmp"; cs_die "apt-get download $pkg=$ver failed (apt sources / network?)"; }
  find "$CACHE" -maxdepth 1 -name "${pkg%%-[0-9]*}-*_*.deb" -delete   # drop older kernels
  mv "$tmp"/*.deb "$CACHE/"; rm -rf "$tmp"
  DEB=$(find "$CACHE" -maxdepth 1 -name "${pkg}_${ver/:/%3a}_*.deb" -print -quit)
  [ -n "$DEB" ] || cs_die "the downloaded kernel package is not where it was expected in $CACHE"
}

# ---- the guest's /init -------------------------------------------------------------------------------
write_init() {
  cat > "$1" <<'GUEST_INIT'
#!/bin/busybox sh
# Cirrostack tiny guest: PID 1 of the initramfs (see bin/lib/tiny-image.sh for the markers).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp && mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1

say() { for t in /dev/ttyS0 /dev/tty1; do echo "$*" >"$t" 2>/dev/null; done; }
disks() { for d in /sys/block/vd* /sys/block/sd* /sys/block/nvme*; do [ -e "$d" ] && echo "${d##*/}"; done; }
bytes() { echo $(( $(cat "/sys/block/$1/size") * 512 )); }

# Kernel modules, already in dependency order.
while read -r ko; do insmod "/lib/modules/$ko" || say "CIRROSTACK-GUEST-WARNING insmod $ko failed"; done </lib/modules/load-order

# ACPI power button -> poweroff.  busybox acpid only opens the input devices that exist when it
# starts, so wait for the button's event device first; it needs -l (its default log directory
# does not exist here, and without a log file it exits).
n=0
until grep -qs '^Power Button' /sys/class/input/input*/name || [ $n -ge 30 ]; do sleep 0.1; n=$((n + 1)); done
acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid

# Disk drivers probe asynchronously: wait until the disk list stays the same for 0.3 s (at most ~2 s).
prev=x; same=0; n=0
while [ $same -lt 3 ] && [ $n -lt 20 ]; do
  cur=$(disks | tr '\n' ' ')
  if [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0; prev=$cur; fi
  sleep 0.1; n=$((n + 1))
done
for d in $(disks); do say "CIRROSTACK-GUEST-DISK $d bytes=$(bytes "$d")"; done

# Hot-plugged disks (volume attach/detach), polled every second.
(known=" $(disks | tr '\n' ' ')"
 while sleep 1; do
   now=" $(disks | tr '\n' ' ')"
   for d in $now; do case "$known" in *" $d "*) ;; *) say "CIRROSTACK-GUEST-DISK-ADDED $d bytes=$(bytes "$d")" ;; esac; done
   for d in $known; do case "$now" in *" $d "*) ;; *) say "CIRROSTACK-GUEST-DISK-REMOVED $d" ;; esac; done
   known=$now
 done) &

say "CIRROSTACK-GUEST-INFO kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
say "CIRROSTACK-GUEST-BOOTED"

# Shells on the VNC screen and the serial console (virsh console), respawned when they exit.
# PID 1 must never return, so the serial loop runs in the foreground.
(while :; do setsid -c sh </dev/tty1 >/dev/tty1 2>&1; sleep 1; done) &
while :; do setsid -c sh </dev/ttyS0 >/dev/ttyS0 2>&1; sleep 1; done
GUEST_INIT
}

write_poweroff_action() {
  cat > "$1" <<'ACTION'
#!/bin/sh
# busybox acpid runs this on the power button (event PWRF, code 00000080).
for t in /dev/ttyS0 /dev/tty1; do echo "CIRROSTACK-GUEST-POWEROFF" >"$t" 2>/dev/null; done
poweroff -f
ACTION
}

# ---- build steps ---------------------------------------------------------------------------------------
build_initramfs() {  # kernel tree, kernel release, output file
  local kroot=$1 krel=$2 out=$3 root=$B/initramfs m
  mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,lib/modules,etc/acpi/PWRF}
  cp /bin/busybox "$root/bin/busybox"
  # `modprobe --show-depends` lists "insmod <path>" in load order (deps first); built-ins print
  # "builtin <name>" and need nothing.
  for m in $GUEST_MODULES; do
    modprobe -d "$kroot" -S "$krel" --show-depends "$m" ||
      cs_die "module $m is not in kernel $krel"
  done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' > "$B/modules.paths"
  : > "$root/lib/modules/load-order"
  while read -r m; do
    cp "$m" "$root/lib/modules/"
    basename "$m" >> "$root/lib/modules/load-order"
  done < "$B/modules.paths"
  write_init "$root/init"
  write_poweroff_action "$root/etc/acpi/PWRF/00000080"
  chmod 755 "$root/init" "$root/etc/acpi/PWRF/00000080"
  # Sorted file list and gzip -n: the same inputs give the same bytes.
  (cd "$root" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) | gzip -9n > "$out"
}

write_syslinux_cfg() {
  cat > "$1" <<EOF
SERIAL 0 115200
DEFAULT tiny
PROMPT 0
TIMEOUT 0
LABEL tiny
  LINUX /tiny-kernel
  INITRD /tiny-initrd.gz
  APPEND $CMDLINE
EOF
}

build_disk() {  # -> $B/tiny.qcow2
  local start=2048                                  # first partition at 1 MiB (sector 2048)
  local part_sectors=$(( DISK_MB * 2048 - start ))
  # FAT16 file system in a file; -h (hidden sectors) must equal the partition offset for syslinux's VBR.
  mkfs.vfat -C -F 16 -n CIRROSTACK -i C1A05AC0 -h "$start" "$B/part.img" $(( part_sectors / 2 )) >/dev/null
  syslinux --install "$B/part.img"                  # writes the VBR + ldlinux.sys via mtools, no mount
  mcopy -i "$B/part.img" "$B/tiny-kernel" "$B/tiny-initrd.gz" "$B/syslinux.cfg" ::/
  truncate -s "${DISK_MB}M" "$B/disk.raw"
  printf 'label: dos\nlabel-id: 0xc1a05ac0\nstart=%s, type=6, bootable\n' "$start" | sfdisk -q "$B/disk.raw"
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$B/disk.raw" bs=440 count=1 conv=notrunc status=none
  dd if="$B/part.img" of="$B/disk.raw" bs=512 seek="$start" conv=notrunc status=none
  qemu-img convert -q -f raw -O qcow2 "$B/disk.raw" "$B/tiny.qcow2"
}

build_iso() {  # -> $B/tiny.iso (isohybrid: boots as a CD-ROM or as a disk)
  local iso=$B/iso
  mkdir -p "$iso/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
  cp "$B/syslinux.cfg" "$iso/isolinux/isolinux.cfg"
  cp "$B/tiny-kernel" "$B/tiny-initrd.gz" "$iso/"
  xorrisofs -quiet -o "$B/tiny.iso" -V CIRROSTACK -J -r \
    -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -c isolinux/boot.cat -b isolinux/isolinux.bin \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$iso" 2>&1 |
    { grep -v -e '^xorriso' -e 'libburnia' -e '^$' || true; } >&2
}

# ---- main ------------------------------------------------------------------------------------------------
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
CACHE=$OUT/.cache
mkdir -p "$CACHE"
exec 9>>"$OUT/.lock"
flock 9                                  # one build at a time per OUTDIR

cs_ensure_packages required "${CS_IMAGE_PACKAGES[@]}"
# The guest has no libc: busybox must be the static build (busybox-static), not the dynamic one.
# grep reads all of readelf's output (no -q): an early exit would SIGPIPE readelf and, under pipefail,
# turn a match into a failure.
if readelf -l /bin/busybox 2>/dev/null | grep 'Requesting program interpreter' >/dev/null; then
  cs_die "/bin/busybox is dynamically linked; install busybox-static"
fi

fetch_kernel_deb
STAMP="$(dpkg-deb -f "$DEB" Package) $(dpkg-deb -f "$DEB" Version)"
STAMP="$STAMP script=$(sha256sum "$SELF" | cut -c1-16) busybox-static=$(dpkg-query -W -f='${Version}' busybox-static)"
OUTPUTS=(tiny.qcow2 tiny.iso tiny-kernel tiny-initrd.gz)
up_to_date=1
for f in "${OUTPUTS[@]}"; do [ -s "$OUT/$f" ] || up_to_date=0; done
if [ "$up_to_date" = 1 ] && [ -z "${CIRROSTACK_IMAGE_FORCE:-}" ] &&
   [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
  cs_log "up to date: $OUT/tiny.qcow2"
  exit 0
fi

t0=$EPOCHREALTIME
B=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$B"' EXIT
KROOT=$B/kernel
dpkg-deb -x "$DEB" "$KROOT"
KREL=$(basename "$(find "$KROOT/lib/modules" -mindepth 1 -maxdepth 1 -type d -print -quit)")
depmod -b "$KROOT" "$KREL"               # the .deb carries no modules.dep (depmod runs at install)
cp "$KROOT/boot/vmlinuz-$KREL" "$B/tiny-kernel"
build_initramfs "$KROOT" "$KREL" "$B/tiny-initrd.gz"
write_syslinux_cfg "$B/syslinux.cfg"
build_disk
build_iso

# Publish.  QEMU runs as libvirt-qemu: the directory must be traversable and the files readable.
chmod 755 "$OUT"
for f in "${OUTPUTS[@]}"; do chmod 644 "$B/$f"; mv -f "$B/$f" "$OUT/$f"; done
echo "$STAMP" > "$OUT/.stamp"
if getent passwd libvirt-qemu >/dev/null && cs_is_root &&
   ! runuser -u libvirt-qemu -- test -r "$OUT/tiny.qcow2"; then
  cs_warn "$OUT/tiny.qcow2 is not readable by libvirt-qemu (a parent directory is not traversable?)"
fi
cs_log "built $OUT/tiny.qcow2 (+ tiny.iso, tiny-kernel, tiny-initrd.gz) in $(cs_elapsed "$t0") s from $(basename "$DEB")"
