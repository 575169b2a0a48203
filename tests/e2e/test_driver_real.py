"""The hypervisor driver's VM operations on real libvirtds with QEMU (TCG), without the portal around them.

One tiny guest (bin/lib/tiny-image.sh) boots on the system libvirtd (CIRROSTACK_E2E_LIBVIRT_URI, :16509) from
a qcow2 overlay, defined with maximums so it can be scaled live, an empty IDE CD drive and a serial log. The
tests run in file order on that one guest: CD media, I/O limits, disk hot-plug of an uploaded volume, internal
snapshots with memory (and the proof that QEMU refuses disk-only ones while running), live migration to host b
(:16510) and back while the guest keeps answering on its console, live scaling, and last a disk-only snapshot
of the stopped domain.

Needs (started by `bin/cirrostack test`): the libvirtds, CIRROSTACK_E2E_IMAGE, root.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infrastructure import hypervisor as hv
from tests.support.requirements import require

pytestmark = [pytest.mark.e2e]

NAME = "cs-e2e-driver"
WORK = Path("/var/tmp/cirrostack-e2e-driver")  # libvirt-qemu must read it; host b sees the same directory
POOL = "cs-e2e-driver"
HOST_B = "qemu+tcp://127.0.0.1:16510/system"
BOOTED = "CIRROSTACK-GUEST-BOOTED"
XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE (only the driver package imports libvirt)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - produced by libvirt


def media(root: ET.Element, target: str) -> str | None:
    """The file in a drive; a running QEMU's empty drive shows a <source> without a file."""
    source = disk(root, target).find("source")
    return source.get("file") if source is not None else None


def disk(root: ET.Element, target: str) -> ET.Element | None:
    for element in root.iterfind("devices/disk"):
        if element.find("target").get("dev") == target:
            return element
    return None


@dataclass
class Guest:
    uri: str
    image: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def say(self, uri: str, marker: str) -> None:
        """Type an echo on the guest's serial console (where it runs now) and wait for it in the serial log."""
        conn = hv.get_connection(uri)
        stream = conn.newStream(0)
        conn.lookupByName(NAME).openConsole(None, stream, 0)
        try:
            stream.send(f"\necho {marker}-$((6*7))\n".encode())
            # The shell computes the number: finding it proves the guest ran the command, not just echoed input.
            wait_until(lambda: f"{marker}-42" in self.log_text(), 30, f"{marker}-42 in {self.log}")
        finally:
            stream.abort()


def cleanup(uris: list[str]) -> None:
    """Leave no domain behind on any host, whatever state a failed test left it in."""
    for uri in uris:
        for step in (hv.destroy_domain, _delete_snapshots, hv.undefine_domain):
            try:
                step(uri, NAME)
            except hv.HypervisorError as exc:
                print(f"cleanup of {NAME} on {uri}: {step.__name__} failed: {exc}")


def _delete_snapshots(uri: str, name: str) -> None:
    if hv.domain_state(uri, name) != hv.DomainState.MISSING:
        for snapshot in hv.snapshot_list(uri, name):
            hv.snapshot_delete(uri, name, snapshot)


@pytest.fixture(scope="module")
def guest() -> Iterator[Guest]:
    uri = os.environ.get("CIRROSTACK_E2E_LIBVIRT_URI", "")
    image = os.environ.get("CIRROSTACK_E2E_IMAGE", "")
    require(os.geteuid() == 0, "end-to-end tests need root (libvirtd, QEMU)")
    require(bool(uri), "CIRROSTACK_E2E_LIBVIRT_URI is not set (bin/cirrostack test starts libvirtd)")
    require(bool(image) and Path(image).is_file(), f"tiny guest image missing: {image!r}")
    hv.allow_connections(True)
    require(hv.ping(uri), f"no libvirtd answers at {uri}")
    cleanup([uri, HOST_B])
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(mode=0o755, parents=True)
    log = WORK / "serial.log"
    hv.ensure_dir_pool(uri, POOL, str(WORK))
    hv.pool_refresh(uri, POOL)  # forget volumes of an earlier run whose files are gone
    root = hv.create_volume(uri, POOL, "root.qcow2", 64 * 2**20, backing_path=image)
    spec = hv.DomainSpec(
        name=NAME, uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, NAME)), domain_type="qemu", vcpus=1, memory_mib=192,
        max_vcpus=3, max_memory_mib=384, cpu_shares=1000, cpu_quota_us=90_000, cpu_period_us=100_000,
        disks=(hv.DiskSpec(path=root), hv.DiskSpec(path="", format="raw", target="hdc", device="cdrom")),
        serial_log_path=str(log),
    )
    hv.define_domain(uri, spec)
    hv.start_domain(uri, NAME)
    try:
        wait_until(lambda: BOOTED in (log.read_text(errors="replace") if log.exists() else ""), 120,
                   f"{BOOTED} in {log}")
        yield Guest(uri=uri, image=image, log=log)
    finally:
        hv.allow_connections(True)  # tests/conftest.py turns connections off after every test
        cleanup([uri, HOST_B])
        try:
            from infrastructure.hypervisor.pools import remove_pool

            remove_pool(uri, POOL)
        except hv.HypervisorError:
            pass
        shutil.rmtree(WORK, ignore_errors=True)
        hv.close_all()
        hv.allow_connections(False)


def test_booted_with_the_cap_and_the_balloon(guest):
    live = parse(hv.domain_xml(guest.uri, NAME))
    assert live.get("type") == "qemu"
    assert live.findtext("cputune/quota") == "90000"
    assert live.find("devices/memballoon").get("model") == "virtio"
    assert live.find("vcpu").text == "3" and live.find("vcpu").get("current") == "1"


def test_change_media_insert_and_eject(guest):
    iso = str(Path(guest.image).with_name("tiny.iso"))
    require(Path(iso).is_file(), f"{iso} missing")
    hv.change_media(guest.uri, NAME, "hdc", iso)
    persistent = parse(hv.get_connection(guest.uri).lookupByName(NAME).XMLDesc(XML_INACTIVE))
    assert media(parse(hv.domain_xml(guest.uri, NAME)), "hdc") == media(persistent, "hdc") == iso
    hv.change_media(guest.uri, NAME, "hdc", None)
    persistent = parse(hv.get_connection(guest.uri).lookupByName(NAME).XMLDesc(XML_INACTIVE))
    assert media(parse(hv.domain_xml(guest.uri, NAME)), "hdc") is media(persistent, "hdc") is None


def test_set_iotune_on_the_running_disk(guest):
    hv.set_iotune(guest.uri, NAME, "vda", hv.IoTune(read_iops_sec=400, write_bytes_sec=20_000_000))
    limits = hv.get_connection(guest.uri).lookupByName(NAME).blockIoTune("vda", 0)
    assert (limits["read_iops_sec"], limits["write_bytes_sec"], limits["write_iops_sec"]) == (400, 20_000_000, 0)
    iotune = disk(parse(hv.domain_xml(guest.uri, NAME)), "vda").find("iotune")
    assert iotune.findtext("read_iops_sec") == "400"


def test_upload_attach_and_detach_a_disk(guest):
    data = b"cirrostack" * 100_000  # 1 MB
    path = hv.upload_volume(guest.uri, POOL, "data.raw", data)
    assert Path(path).read_bytes() == data
    hv.attach_disk(guest.uri, NAME, hv.DiskSpec(path=path, format="raw", target="vdb"))
    wait_until(lambda: "CIRROSTACK-GUEST-DISK-ADDED vdb" in guest.log_text(), 30, "the guest to see vdb")
    hv.detach_disk(guest.uri, NAME, "vdb")
    assert disk(parse(hv.domain_xml(guest.uri, NAME)), "vdb") is None
    wait_until(lambda: "CIRROSTACK-GUEST-DISK-REMOVED vdb" in guest.log_text(), 30, "the guest to lose vdb")


def test_memory_snapshot_and_revert_while_running(guest):
    guest.say(guest.uri, "BEFORE-SNAPSHOT")
    hv.snapshot_create(guest.uri, NAME, "mem-1", memory=True, description="e2e")
    guest.say(guest.uri, "AFTER-SNAPSHOT")
    hv.snapshot_revert(guest.uri, NAME, "mem-1")
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.RUNNING
    guest.say(guest.uri, "AFTER-REVERT")  # the restored guest answers on its console
    assert hv.snapshot_list(guest.uri, NAME) == ["mem-1"]


def test_qemu_refuses_a_disk_only_internal_snapshot_of_a_running_domain(guest):
    # What the driver's SnapshotUnsupported stands for, asked of libvirt directly.
    domain = hv.get_connection(guest.uri).lookupByName(NAME)
    with pytest.raises(Exception, match=r"(?i)memory"):  # libvirt.libvirtError
        domain.snapshotCreateXML("<domainsnapshot><name>disk-live</name><memory snapshot='no'/>"
                                 "<disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>", 0)
    with pytest.raises(hv.SnapshotUnsupported):
        hv.snapshot_create(guest.uri, NAME, "disk-live", memory=False)
    assert hv.snapshot_list(guest.uri, NAME) == ["mem-1"]


def test_migration_is_refused_while_snapshots_exist_and_the_guest_stays(guest):
    with pytest.raises(hv.HypervisorError, match="snapshot"):
        hv.migrate_domain(guest.uri, HOST_B, NAME)
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.RUNNING
    hv.snapshot_delete(guest.uri, NAME, "mem-1")
    assert hv.snapshot_list(guest.uri, NAME) == []


def test_failed_migration_leaves_the_guest_running_on_the_source(guest):
    with pytest.raises(hv.HypervisorError):
        hv.migrate_domain(guest.uri, "qemu+tcp://127.0.0.1:1/system", NAME, timeout_s=60)
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.RUNNING


def test_live_migration_there_and_back_while_the_guest_keeps_running(guest):
    require(hv.ping(HOST_B), f"no libvirtd answers at {HOST_B}")
    size = guest.log.stat().st_size
    hv.migrate_domain(guest.uri, HOST_B, NAME, timeout_s=120)
    assert hv.domain_state(HOST_B, NAME) == hv.DomainState.RUNNING
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.MISSING
    guest.say(HOST_B, "ON-HOST-B")
    assert guest.log.stat().st_size > size  # the destination appends to the same log

    hv.migrate_domain(HOST_B, guest.uri, NAME, timeout_s=120)
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.RUNNING
    assert hv.domain_state(HOST_B, NAME) == hv.DomainState.MISSING
    guest.say(guest.uri, "BACK-ON-HOST-A")
    assert "ON-HOST-B-42" in guest.log_text()  # nothing was truncated on the way back


def test_scale_vcpus_and_memory_while_running(guest):
    # After the snapshot tests on purpose: QEMU 7.2 cannot revert a memory snapshot of a guest whose vCPUs were
    # hot-plugged (infrastructure/hypervisor/snapshots.py).
    hv.set_vcpus(guest.uri, NAME, 2)
    hv.set_memory(guest.uri, NAME, 320)
    stats = hv.domain_stats(guest.uri, NAME)
    assert stats["vcpus"] == 2
    assert stats["memory_max_kib"] == 384 * 1024
    persistent = parse(hv.get_connection(guest.uri).lookupByName(NAME).XMLDesc(XML_INACTIVE))
    assert persistent.find("vcpu").get("current") == "2"
    assert persistent.findtext("currentMemory") == str(320 * 1024)
    with pytest.raises(hv.HypervisorError):
        hv.set_memory(guest.uri, NAME, 512)  # above the maximum the guest was booted with
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.RUNNING


def test_disk_only_snapshot_of_the_stopped_domain_and_revert(guest):
    hv.destroy_domain(guest.uri, NAME)
    hv.snapshot_create(guest.uri, NAME, "disk-1", memory=False)
    snapshot = parse(hv.get_connection(guest.uri).lookupByName(NAME).snapshotLookupByName("disk-1", 0)
                     .getXMLDesc(0))
    assert snapshot.findtext("state") == "shutoff"
    assert {d.get("name"): d.get("snapshot") for d in snapshot.iterfind("disks/disk")} == {
        "vda": "internal", "hdc": "no"}
    hv.start_domain(guest.uri, NAME)
    wait_until(lambda: guest.log_text().count(BOOTED) >= 2, 120, "the second boot")
    hv.snapshot_revert(guest.uri, NAME, "disk-1")
    assert hv.domain_state(guest.uri, NAME) == hv.DomainState.SHUTOFF
    hv.snapshot_delete(guest.uri, NAME, "disk-1")
    assert hv.snapshot_list(guest.uri, NAME) == []
