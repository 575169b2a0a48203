"""XML builders: structure, escaping of hostile values, and input validation.

The documents are parsed back with ElementTree and checked element by element, because the
point of the builders is the structure libvirt sees, not the exact text.
"""

import uuid
import xml.etree.ElementTree as ET

import pytest

from infrastructure.hypervisor import (
    DiskSpec,
    DomainSpec,
    build_dir_pool_xml,
    build_domain_xml,
    build_volume_xml,
)
from infrastructure.hypervisor.xml import METADATA_NAMESPACE

NS = {"cs": METADATA_NAMESPACE}
UUID = "6a2d0c6e-0f43-4f3a-9d0e-4c2b8f1e7a10"


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own output


def make_spec(**overrides) -> DomainSpec:
    values = {
        "name": "i-1-web",
        "uuid": UUID,
        "domain_type": "qemu",
        "vcpus": 2,
        "memory_mib": 512,
        "disks": (DiskSpec(path="/var/lib/cirrostack/images/i-1-root.qcow2"),),
    }
    values.update(overrides)
    return DomainSpec(**values)


def test_domain_xml_minimal_structure():
    root = parse(build_domain_xml(make_spec()))

    assert root.tag == "domain"
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "i-1-web"
    assert root.findtext("uuid") == UUID
    assert root.find("memory").get("unit") == "MiB"
    assert root.findtext("memory") == "512"
    assert root.findtext("currentMemory") == "512"
    assert root.findtext("vcpu") == "2"
    os_type = root.find("os/type")
    assert os_type.text == "hvm"
    assert os_type.get("arch") == "x86_64"
    assert os_type.get("machine") == "pc"
    assert [boot.get("dev") for boot in root.findall("os/boot")] == ["hd"]
    assert root.find("features/acpi") is not None
    assert root.find("features/apic") is not None
    assert root.findtext("on_poweroff") == "destroy"
    assert root.findtext("on_reboot") == "restart"
    assert root.findtext("on_crash") == "destroy"
    # No metadata, cputune or serial unless asked for.
    assert root.find("metadata") is None
    assert root.find("cputune") is None
    assert root.find("devices/serial") is None
    assert root.find("devices/console") is None


def test_domain_xml_is_emulator_independent():
    root = parse(build_domain_xml(make_spec()))
    # libvirt picks the emulator and device addresses from the host's capabilities.
    assert root.find("devices/emulator") is None
    assert root.find(".//address") is None


def test_domain_xml_disk():
    root = parse(build_domain_xml(make_spec()))
    (disk,) = root.findall("devices/disk")
    assert disk.get("type") == "file"
    assert disk.get("device") == "disk"
    assert disk.find("driver").get("name") == "qemu"
    assert disk.find("driver").get("type") == "qcow2"
    assert disk.find("source").get("file") == "/var/lib/cirrostack/images/i-1-root.qcow2"
    assert disk.find("target").get("dev") == "vda"
    assert disk.find("target").get("bus") == "virtio"
    assert disk.find("readonly") is None


def test_domain_xml_cdrom_boots_first_and_is_readonly():
    spec = make_spec(
        disks=(
            DiskSpec(path="/images/root.qcow2"),
            DiskSpec(path="/isos/debian.iso", format="raw", target="hdc", bus="ide", device="cdrom"),
        ),
        boot_cdrom=True,
    )
    root = parse(build_domain_xml(spec))
    assert [boot.get("dev") for boot in root.findall("os/boot")] == ["cdrom", "hd"]
    disks = root.findall("devices/disk")
    assert [d.get("device") for d in disks] == ["disk", "cdrom"]
    cdrom = disks[1]
    assert cdrom.find("driver").get("type") == "raw"
    assert cdrom.find("target").get("dev") == "hdc"
    assert cdrom.find("target").get("bus") == "ide"
    assert cdrom.find("readonly") is not None


def test_domain_xml_readonly_disk():
    spec = make_spec(disks=(DiskSpec(path="/images/data.qcow2", readonly=True),))
    assert parse(build_domain_xml(spec)).find("devices/disk/readonly") is not None


def test_domain_xml_serial_console_with_log():
    root = parse(build_domain_xml(make_spec(serial_log_path="/var/log/cirrostack/i-1.log")))
    serial = root.find("devices/serial")
    assert serial.get("type") == "pty"
    log = serial.find("log")
    assert log.get("file") == "/var/log/cirrostack/i-1.log"
    assert log.get("append") == "on"
    assert serial.find("target").get("port") == "0"
    console = root.find("devices/console")
    assert console.get("type") == "pty"
    assert console.find("target").get("type") == "serial"


def test_domain_xml_vnc_graphics():
    root = parse(build_domain_xml(make_spec(vnc_listen="0.0.0.0", vnc_password="s3cret")))  # noqa: S104
    graphics = root.find("devices/graphics")
    assert graphics.get("type") == "vnc"
    assert graphics.get("autoport") == "yes"
    assert graphics.get("port") == "-1"
    assert graphics.get("listen") == "0.0.0.0"  # noqa: S104
    assert graphics.get("passwd") == "s3cret"
    assert graphics.find("listen").get("type") == "address"
    assert graphics.find("listen").get("address") == "0.0.0.0"  # noqa: S104


def test_domain_xml_vnc_defaults_and_disabled():
    graphics = parse(build_domain_xml(make_spec())).find("devices/graphics")
    assert graphics.get("listen") == "127.0.0.1"
    assert graphics.get("passwd") is None
    assert parse(build_domain_xml(make_spec(vnc_listen=None))).find("devices/graphics") is None


def test_domain_xml_video_and_no_balloon():
    root = parse(build_domain_xml(make_spec()))
    assert root.find("devices/video/model").get("type") == "vga"
    assert root.find("devices/memballoon").get("model") == "none"


def test_domain_xml_cpu_shares():
    root = parse(build_domain_xml(make_spec(cpu_shares=2048)))
    assert root.findtext("cputune/shares") == "2048"


def test_domain_xml_metadata_namespace():
    document = build_domain_xml(make_spec(metadata={"instance_id": "42", "owner": "alice"}))
    root = parse(document)
    instance = root.find("metadata/cs:instance", NS)
    assert instance is not None
    assert instance.findtext("cs:instance_id", namespaces=NS) == "42"
    assert instance.findtext("cs:owner", namespaces=NS) == "alice"
    # Declared on the element itself: libvirt keeps only declarations inside the metadata subtree.
    assert f'<cirrostack:instance xmlns:cirrostack="{METADATA_NAMESPACE}">' in document


def test_domain_xml_kvm_and_test_types():
    assert parse(build_domain_xml(make_spec(domain_type="kvm"))).get("type") == "kvm"
    assert parse(build_domain_xml(make_spec(domain_type="test"))).get("type") == "test"


HOSTILE = "evil'\"/><devices><disk type='block'><source dev='/dev/sda'/></disk></devices><x a=\"&amp;"


def test_hostile_values_are_escaped():
    spec = make_spec(
        name=HOSTILE,
        disks=(DiskSpec(path="/images/" + HOSTILE),),
        serial_log_path="/logs/" + HOSTILE,
        vnc_password=HOSTILE,
        metadata={"owner": HOSTILE, "note": "</cirrostack:instance></metadata>"},
    )
    root = parse(build_domain_xml(spec))

    assert root.findtext("name") == HOSTILE
    disks = root.findall("devices/disk")
    assert len(disks) == 1, "a hostile path must not inject a second disk"
    assert disks[0].find("source").get("file") == "/images/" + HOSTILE
    assert root.find("devices/serial/log").get("file") == "/logs/" + HOSTILE
    assert root.find("devices/graphics").get("passwd") == HOSTILE
    assert root.find(".//source[@dev]") is None
    assert len(root.findall("devices")) == 1
    instance = root.find("metadata/cs:instance", NS)
    assert instance.findtext("cs:owner", namespaces=NS) == HOSTILE
    assert instance.findtext("cs:note", namespaces=NS) == "</cirrostack:instance></metadata>"


def test_hostile_pool_and_volume_values_are_escaped():
    pool = parse(build_dir_pool_xml(HOSTILE, "/pools/" + HOSTILE))
    assert pool.findtext("name") == HOSTILE
    assert pool.findtext("target/path") == "/pools/" + HOSTILE
    volume = parse(build_volume_xml(HOSTILE, 1024, backing_path="/base/" + HOSTILE))
    assert volume.findtext("name") == HOSTILE
    assert volume.findtext("backingStore/path") == "/base/" + HOSTILE
    assert len(volume.findall("target")) == 1


@pytest.mark.parametrize("bad", ["a\x00b", "bell\x07", "esc\x1b[0m", "\ufffe"])
def test_characters_xml_cannot_carry_are_rejected(bad):
    with pytest.raises(ValueError, match="cannot appear in XML"):
        make_spec(name=bad)
    with pytest.raises(ValueError, match="cannot appear in XML"):
        DiskSpec(path=bad)
    with pytest.raises(ValueError, match="cannot appear in XML"):
        make_spec(metadata={"owner": bad})
    with pytest.raises(ValueError, match="cannot appear in XML"):
        build_volume_xml(bad, 1024)
    with pytest.raises(ValueError, match="cannot appear in XML"):
        build_dir_pool_xml("pool", bad)


@pytest.mark.parametrize("key", ["", "1abc", "a b", "x><y", "ns:key", "owner/../x"])
def test_metadata_keys_must_be_element_names(key):
    with pytest.raises(ValueError, match="valid XML element name"):
        make_spec(metadata={key: "value"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"uuid": "not-a-uuid"},
        {"domain_type": "xen"},
        {"vcpus": 0},
        {"vcpus": True},
        {"memory_mib": -1},
        {"cpu_shares": 0},
        {"machine": ""},
        {"disks": (DiskSpec(path="/a"), DiskSpec(path="/b"))},  # both target vda
    ],
)
def test_invalid_domain_specs_are_rejected(overrides):
    with pytest.raises(ValueError):
        make_spec(**overrides)


def test_invalid_disk_specs_are_rejected():
    with pytest.raises(ValueError):
        DiskSpec(path="/a", device="floppy")
    with pytest.raises(ValueError):
        DiskSpec(path="")
    with pytest.raises(TypeError):
        make_spec(disks=("/not/a/diskspec",))


def test_disks_list_is_frozen_to_tuple():
    spec = make_spec(disks=[DiskSpec(path="/a")])
    assert spec.disks == (DiskSpec(path="/a"),)


def test_uuid_is_normalised():
    upper = str(uuid.UUID(UUID)).upper()
    assert parse(build_domain_xml(make_spec(uuid=upper))).findtext("uuid") == UUID


def test_dir_pool_xml():
    root = parse(build_dir_pool_xml("cs-images", "/var/lib/cirrostack/images"))
    assert root.tag == "pool"
    assert root.get("type") == "dir"
    assert root.findtext("name") == "cs-images"
    assert root.findtext("target/path") == "/var/lib/cirrostack/images"


def test_volume_xml_plain():
    root = parse(build_volume_xml("i-1-root.qcow2", 10 * 1024**3))
    assert root.tag == "volume"
    assert root.findtext("name") == "i-1-root.qcow2"
    assert root.find("capacity").get("unit") == "bytes"
    assert root.findtext("capacity") == str(10 * 1024**3)
    assert root.findtext("allocation") == "0"
    assert root.find("target/format").get("type") == "qcow2"
    assert root.findtext("target/compat") == "1.1"
    assert root.find("backingStore") is None


def test_volume_xml_raw_has_no_qcow2_compat():
    root = parse(build_volume_xml("data.img", 1024, fmt="raw"))
    assert root.find("target/format").get("type") == "raw"
    assert root.find("target/compat") is None


def test_volume_xml_with_backing_store():
    document = build_volume_xml("i-1-root.qcow2", 1024, backing_path="/templates/debian.raw", backing_format="raw")
    root = parse(document)
    assert root.findtext("backingStore/path") == "/templates/debian.raw"
    assert root.find("backingStore/format").get("type") == "raw"


@pytest.mark.parametrize("capacity", [0, -5, 1.5, True])
def test_volume_capacity_must_be_positive_int(capacity):
    with pytest.raises(ValueError):
        build_volume_xml("v", capacity)
