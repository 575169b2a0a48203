"""Device, size and upload operations on libvirt's test driver.

The test driver implements setVcpusFlags and setMemoryFlags, so those run exactly as in production. Its
setBlockIoTune refuses every limit (libvirt 9.0), and it has no device hot-plug (attach, detach and
updateDeviceFlags answer "not supported") and no volume upload: for those the driver edits the persistent
definition and restarts the simulated domain, and an upload creates the volume without contents
(infrastructure/hypervisor/devices.py). The real hot-plug, media change, I/O limit and upload paths run on a
real libvirtd in tests/e2e/test_driver_real.py.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from infrastructure import hypervisor as hv

URI = "test:///default"
XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE; only the driver package imports libvirt


@pytest.fixture(autouse=True)
def _hypervisor_connections():
    hv.allow_connections(True)
    yield
    hv.close_all()
    hv.allow_connections(False)


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - produced by libvirt


def define(name: str = "dev-1", *, running: bool = True, **overrides) -> str:
    values = {
        "name": name,
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "domain_type": "test",
        "vcpus": 1,
        "memory_mib": 128,
        "max_vcpus": 4,
        "max_memory_mib": 512,
        "disks": (hv.DiskSpec(path=f"/images/{name}.qcow2"),
                  hv.DiskSpec(path="", format="raw", target="hdc", device="cdrom")),
    }
    values.update(overrides)
    hv.define_domain(URI, hv.DomainSpec(**values))
    if running:
        hv.start_domain(URI, name)
    return name


def disk(root: ET.Element, target: str) -> ET.Element | None:
    for element in root.iterfind("devices/disk"):
        if element.find("target").get("dev") == target:
            return element
    return None


def inactive_xml(name: str) -> ET.Element:
    """The persistent definition, read directly (hv.domain_xml returns the live one)."""
    conn = hv.get_connection(URI)
    return parse(conn.lookupByName(name).XMLDesc(XML_INACTIVE))


@pytest.mark.parametrize("running", [True, False])
def test_change_media_inserts_and_ejects(running):
    name = define(running=running)
    hv.change_media(URI, name, "hdc", "/isos/install.iso")
    for root in (parse(hv.domain_xml(URI, name)), inactive_xml(name)):
        assert disk(root, "hdc").find("source").get("file") == "/isos/install.iso"
    hv.change_media(URI, name, "hdc", "/isos/install.iso")  # the same medium again: nothing to do
    hv.change_media(URI, name, "hdc", None)
    for root in (parse(hv.domain_xml(URI, name)), inactive_xml(name)):
        assert disk(root, "hdc").find("source") is None
    expected = hv.DomainState.RUNNING if running else hv.DomainState.SHUTOFF
    assert hv.domain_state(URI, name) == expected


def test_change_media_refuses_missing_drives_and_disks():
    name = define()
    with pytest.raises(hv.DeviceNotFound):
        hv.change_media(URI, name, "hdd", "/isos/x.iso")
    with pytest.raises(hv.HypervisorError, match="not a CD-ROM"):
        hv.change_media(URI, name, "vda", "/isos/x.iso")
    with pytest.raises(hv.DomainNotFound):
        hv.change_media(URI, "no-such-domain", "hdc", None)


def test_attach_and_detach_disk_with_iotune():
    name = define()
    data = hv.DiskSpec(path="/images/data.qcow2", target="vdb", iotune=hv.IoTune(read_iops_sec=300))
    hv.attach_disk(URI, name, data)
    hv.attach_disk(URI, name, data)  # idempotent
    for root in (parse(hv.domain_xml(URI, name)), inactive_xml(name)):
        element = disk(root, "vdb")
        assert element.find("source").get("file") == "/images/data.qcow2"
        assert element.findtext("iotune/read_iops_sec") == "300"
    with pytest.raises(hv.HypervisorError, match="another disk"):
        hv.attach_disk(URI, name, hv.DiskSpec(path="/images/other.qcow2", target="vdb"))

    hv.detach_disk(URI, name, "vdb")
    hv.detach_disk(URI, name, "vdb")  # already gone
    assert disk(parse(hv.domain_xml(URI, name)), "vdb") is None
    assert disk(inactive_xml(name), "vdb") is None
    assert hv.domain_state(URI, name) == hv.DomainState.RUNNING


def test_set_iotune_live_and_in_the_definition():
    # The test driver's own setBlockIoTune refuses every limit (devices.py), so this checks the XML.
    name = define()
    hv.set_iotune(URI, name, "vda", hv.IoTune(read_bytes_sec=1_000_000, write_iops_sec=50))
    for root in (parse(hv.domain_xml(URI, name)), inactive_xml(name)):
        iotune = disk(root, "vda").find("iotune")
        assert {child.tag: child.text for child in iotune} == {"read_bytes_sec": "1000000", "write_iops_sec": "50"}
    # Limits left out are cleared.
    hv.set_iotune(URI, name, "vda", hv.IoTune(read_iops_sec=10))
    iotune = disk(parse(hv.domain_xml(URI, name)), "vda").find("iotune")
    assert {child.tag: child.text for child in iotune} == {"read_iops_sec": "10"}
    hv.set_iotune(URI, name, "vda", hv.IoTune())
    assert disk(parse(hv.domain_xml(URI, name)), "vda").find("iotune") is None
    assert hv.domain_state(URI, name) == hv.DomainState.RUNNING
    with pytest.raises(hv.DeviceNotFound):
        hv.set_iotune(URI, name, "vdz", hv.IoTune(read_iops_sec=10))


def test_set_vcpus_and_memory_live_and_in_the_definition():
    name = define()
    hv.set_vcpus(URI, name, 3)
    hv.set_memory(URI, name, 384)
    stats = hv.domain_stats(URI, name)
    assert stats["vcpus"] == 3
    assert stats["memory_current_kib"] == 384 * 1024
    persistent = inactive_xml(name)
    assert persistent.find("vcpu").get("current") == "3"
    assert persistent.findtext("currentMemory") == str(384 * 1024)


def test_scaling_beyond_the_maximum_is_refused():
    name = define()
    with pytest.raises(hv.HypervisorError):
        hv.set_vcpus(URI, name, 5)
    with pytest.raises(hv.HypervisorError):
        hv.set_memory(URI, name, 1024)
    with pytest.raises(ValueError):
        hv.set_vcpus(URI, name, 0)


def test_scaling_a_stopped_domain_changes_its_definition():
    name = define(running=False)
    hv.set_vcpus(URI, name, 2)
    hv.set_memory(URI, name, 256)
    hv.start_domain(URI, name)
    stats = hv.domain_stats(URI, name)
    assert (stats["vcpus"], stats["memory_current_kib"]) == (2, 256 * 1024)


def test_upload_volume_creates_a_volume_of_the_data_size():
    path = hv.upload_volume(URI, "default-pool", "seed.iso", b"x" * 4096)
    path_again = hv.upload_volume(URI, "default-pool", "seed.iso", b"y" * 2048)  # replaced
    assert path == path_again
    pool = hv.get_connection(URI).storagePoolLookupByName("default-pool")
    assert pool.storageVolLookupByName("seed.iso").info()[1] == 2048
    with pytest.raises(ValueError):
        hv.upload_volume(URI, "default-pool", "empty.iso", b"")
    with pytest.raises(hv.PoolNotFound):
        hv.upload_volume(URI, "no-such-pool", "seed.iso", b"x")
