"""XML for the issue-6 spec fields: live-scaling maximums and the balloon, CPU cap, boot order, I/O limits,
empty CD drives and the default CD bus."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from infrastructure.hypervisor import DiskSpec, DomainSpec, IoTune, build_disk_xml, build_domain_xml

UUID = "6a2d0c6e-0f43-4f3a-9d0e-4c2b8f1e7a10"


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own output


def make_spec(**overrides) -> DomainSpec:
    values = {"name": "i-1-web", "uuid": UUID, "domain_type": "qemu", "vcpus": 2, "memory_mib": 512,
              "disks": (DiskSpec(path="/images/root.qcow2"),)}
    values.update(overrides)
    return DomainSpec(**values)


def test_maximums_size_the_domain_and_add_a_balloon():
    root = parse(build_domain_xml(make_spec(max_vcpus=8, max_memory_mib=2048)))
    vcpu = root.find("vcpu")
    assert (vcpu.text, vcpu.get("current")) == ("8", "2")
    assert root.findtext("memory") == "2048"
    assert root.findtext("currentMemory") == "512"
    assert root.find("devices/memballoon").get("model") == "virtio"


def test_without_maximums_there_is_no_balloon_and_no_current_attribute():
    root = parse(build_domain_xml(make_spec()))
    assert root.find("vcpu").get("current") is None
    assert root.findtext("memory") == root.findtext("currentMemory") == "512"
    assert root.find("devices/memballoon").get("model") == "none"


def test_cpu_cap_goes_to_cputune_next_to_shares():
    root = parse(build_domain_xml(make_spec(cpu_shares=1000, cpu_quota_us=25_000, cpu_period_us=100_000)))
    assert root.findtext("cputune/shares") == "1000"
    assert root.findtext("cputune/period") == "100000"
    assert root.findtext("cputune/quota") == "25000"
    assert parse(build_domain_xml(make_spec())).find("cputune") is None


def test_boot_order_follows_the_flag_not_the_presence_of_a_cd():
    config_drive = DiskSpec(path="/vm/seed.iso", format="raw", target="hdd", device="cdrom")
    spec = make_spec(disks=(DiskSpec(path="/images/root.qcow2"), config_drive))
    assert [b.get("dev") for b in parse(build_domain_xml(spec)).findall("os/boot")] == ["hd"]
    booted = make_spec(disks=spec.disks, boot_cdrom=True)
    assert [b.get("dev") for b in parse(build_domain_xml(booted)).findall("os/boot")] == ["cdrom", "hd"]


def test_empty_cd_drive_defaults_to_ide_and_has_no_source():
    drive = DiskSpec(path="", format="raw", target="hdc", device="cdrom")
    assert drive.bus == "ide" and drive.is_empty
    assert DiskSpec(path="/images/root.qcow2").bus == "virtio"
    element = parse(build_disk_xml(drive))
    assert element.get("device") == "cdrom"
    assert element.find("source") is None
    assert element.find("target").attrib == {"dev": "hdc", "bus": "ide"}
    assert element.find("readonly") is not None


def test_iotune_lists_only_the_limits_that_are_set():
    disk = DiskSpec(path="/images/data.qcow2", target="vdb",
                    iotune=IoTune(read_iops_sec=500, write_bytes_sec=10_485_760))
    iotune = parse(build_disk_xml(disk)).find("iotune")
    assert {child.tag: child.text for child in iotune} == {"read_iops_sec": "500", "write_bytes_sec": "10485760"}
    assert parse(build_disk_xml(DiskSpec(path="/images/data.qcow2"))).find("iotune") is None


def test_disk_xml_keeps_hostile_paths_as_text():
    hostile = "/images/x'/><disk type='block'><source dev='/dev/sda'/></disk><x a='"
    element = parse(build_disk_xml(DiskSpec(path=hostile, target="vdb")))
    assert element.find("source").get("file") == hostile
    assert element.find("disk") is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_vcpus": 1}, "max_vcpus"),
        ({"max_memory_mib": 256}, "max_memory_mib"),
        ({"max_vcpus": 0}, "max_vcpus"),
        ({"cpu_period_us": 999}, "cpu_period_us"),
        ({"cpu_period_us": 1_000_001}, "cpu_period_us"),
        ({"cpu_quota_us": 500}, "cpu_quota_us"),
        ({"cpu_quota_us": True}, "cpu_quota_us"),
    ],
)
def test_bad_scaling_and_cap_values_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_spec(**overrides)


def test_bad_disks_and_limits_are_refused():
    with pytest.raises(ValueError, match="disk path"):
        DiskSpec(path="", device="disk")
    with pytest.raises(ValueError, match="virtio"):
        DiskSpec(path="/a.iso", device="cdrom", bus="virtio")
    with pytest.raises(ValueError, match="read_iops_sec"):
        IoTune(read_iops_sec=0)
    with pytest.raises(ValueError, match="write_bytes_sec"):
        IoTune(write_bytes_sec=-5)
    with pytest.raises(TypeError):
        DiskSpec(path="/a", iotune={"read_iops_sec": 5})
    with pytest.raises(ValueError, match="XML"):
        DiskSpec(path="/a\x00b")
