"""Operations against real libvirt: the in-process test driver, and QEMU for the e2e tests.

The test driver cannot exercise the forced-shutdown path (it completes every ACPI shutdown
instantly, even of a paused domain), so that path is covered by the e2e tests below, which run
a real QEMU (TCG) guest whose firmware has no OS to answer the ACPI power button.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from infrastructure import hypervisor as hv
from infrastructure.hypervisor.xml import METADATA_NAMESPACE
from tests.infrastructure.hypervisor.test_connection import PrivateLibvirtd

URI = "test:///default"
NS = {"cs": METADATA_NAMESPACE}


@pytest.fixture(autouse=True)
def _hypervisor_connections():
    hv.allow_connections(True)
    yield
    hv.close_all()
    hv.allow_connections(False)


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - produced by libvirt


def make_spec(name: str = "vm-1", domain_type: str = "test", **overrides) -> hv.DomainSpec:
    values = {
        "name": name,
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "domain_type": domain_type,
        "vcpus": 1,
        "memory_mib": 128,
        "disks": (hv.DiskSpec(path=f"/var/lib/cirrostack/{name}.qcow2"),),
    }
    values.update(overrides)
    return hv.DomainSpec(**values)


# ------------------------------------------------------------------------------- lifecycle


def test_full_lifecycle():
    spec = make_spec()
    hv.define_domain(URI, spec)
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.SHUTOFF

    hv.start_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.RUNNING

    hv.reboot_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.RUNNING

    # The test driver completes an ACPI shutdown immediately: no force needed.
    assert hv.shutdown_domain(URI, "vm-1", timeout=5) is False
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.SHUTOFF

    hv.start_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.RUNNING
    hv.destroy_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.SHUTOFF

    hv.undefine_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.MISSING
    assert "vm-1" not in hv.list_domains(URI)


def test_every_optional_feature_defines_and_starts_on_the_test_driver():
    spec = make_spec(
        disks=(
            hv.DiskSpec(path="/images/root.qcow2"),
            hv.DiskSpec(path="/images/data.raw", format="raw", target="vdb", readonly=True),
            hv.DiskSpec(path="/isos/install.iso", format="raw", target="hdc", bus="ide", device="cdrom"),
        ),
        serial_log_path="/var/log/cirrostack/vm-1.log",
        vnc_password="s3cret",
        cpu_shares=512,
        metadata={"instance_id": "17", "owner": "alice & <bob>"},
        boot_cdrom=True,
    )
    hv.define_domain(URI, spec)
    hv.start_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.RUNNING

    live = parse(hv.domain_xml(URI, "vm-1"))
    assert live.findtext("uuid") == spec.uuid
    assert [d.find("target").get("dev") for d in live.findall("devices/disk")] == ["vda", "vdb", "hdc"]
    assert [b.get("dev") for b in live.findall("os/boot")] == ["cdrom", "hd"]
    assert live.find("devices/serial/log").get("file") == "/var/log/cirrostack/vm-1.log"
    assert live.findtext("cputune/shares") == "512"
    instance = live.find("metadata/cs:instance", NS)
    assert instance.findtext("cs:owner", namespaces=NS) == "alice & <bob>"
    assert instance.findtext("cs:instance_id", namespaces=NS) == "17"
    # The VNC password is a secret: domain_xml must not hand it out.
    assert live.find("devices/graphics").get("passwd") is None


def test_redefining_updates_the_definition():
    hv.define_domain(URI, make_spec(memory_mib=128))
    hv.define_domain(URI, make_spec(memory_mib=256, vcpus=2))
    root = parse(hv.domain_xml(URI, "vm-1"))
    assert root.findtext("memory") == str(256 * 1024)
    assert root.findtext("vcpu") == "2"
    assert list(hv.list_domains(URI)).count("vm-1") == 1


def test_start_is_idempotent():
    hv.define_domain(URI, make_spec())
    hv.start_domain(URI, "vm-1")
    hv.start_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.RUNNING


def test_stopping_a_stopped_domain_is_a_no_op():
    hv.define_domain(URI, make_spec())
    hv.destroy_domain(URI, "vm-1")
    assert hv.shutdown_domain(URI, "vm-1") is False
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.SHUTOFF


def test_shutdown_domain_returns_quickly_when_guest_complies():
    hv.define_domain(URI, make_spec())
    hv.start_domain(URI, "vm-1")
    started = time.monotonic()
    assert hv.shutdown_domain(URI, "vm-1", timeout=30, poll=5) is False
    assert time.monotonic() - started < 2


def test_missing_domains_are_fine_for_destroy_and_undefine():
    hv.destroy_domain(URI, "never-existed")
    hv.undefine_domain(URI, "never-existed")
    assert hv.domain_state(URI, "never-existed") == hv.DomainState.MISSING


def test_undefine_refuses_a_running_domain():
    hv.define_domain(URI, make_spec())
    hv.start_domain(URI, "vm-1")
    with pytest.raises(hv.HypervisorError, match="running"):
        hv.undefine_domain(URI, "vm-1")
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.RUNNING


@pytest.mark.parametrize(
    "call",
    [
        lambda: hv.start_domain(URI, "ghost"),
        lambda: hv.reboot_domain(URI, "ghost"),
        lambda: hv.shutdown_domain(URI, "ghost"),
        lambda: hv.domain_stats(URI, "ghost"),
        lambda: hv.vnc_port(URI, "ghost"),
        lambda: hv.domain_xml(URI, "ghost"),
    ],
    ids=["start", "reboot", "shutdown", "stats", "vnc_port", "xml"],
)
def test_unknown_domain_raises_domain_not_found(call):
    with pytest.raises(hv.DomainNotFound, match="ghost") as info:
        call()
    assert info.value.code == 42  # VIR_ERR_NO_DOMAIN


def test_libvirt_refusals_are_translated():
    hv.define_domain(URI, make_spec())
    with pytest.raises(hv.HypervisorError) as info:
        hv.reboot_domain(URI, "vm-1")  # not running
    assert type(info.value) is hv.HypervisorError
    assert info.value.code == 55  # VIR_ERR_OPERATION_INVALID
    assert "not running" in info.value.message


@pytest.mark.parametrize("operation", [hv.undefine_domain, hv.reboot_domain])
def test_escaping_exceptions_do_not_pin_libvirt_objects(operation):
    hv.define_domain(URI, make_spec())
    if operation is hv.undefine_domain:
        hv.start_domain(URI, "vm-1")  # undefine refuses a running domain
    with pytest.raises(hv.HypervisorError) as info:
        operation(URI, "vm-1")  # both fail after the domain object was looked up
    kept = info.value  # a caller holding on to the error, e.g. on a task result
    hv.close_all()
    # Had the traceback kept the virDomain alive, the test driver's state would survive.
    assert "vm-1" not in hv.list_domains(URI)
    assert kept.message


def test_conflicting_uuid_is_reported():
    hv.define_domain(URI, make_spec())
    with pytest.raises(hv.HypervisorError):
        hv.define_domain(URI, make_spec(uuid=str(uuid.uuid4())))


def test_list_domains_reports_defined_and_running():
    hv.define_domain(URI, make_spec("vm-a"))
    hv.define_domain(URI, make_spec("vm-b"))
    hv.start_domain(URI, "vm-b")
    domains = hv.list_domains(URI)
    assert domains["vm-a"] == hv.DomainState.SHUTOFF
    assert domains["vm-b"] == hv.DomainState.RUNNING
    assert domains["test"] == hv.DomainState.RUNNING  # the test driver's built-in domain
    assert all(isinstance(state, hv.DomainState) for state in domains.values())


def test_domain_state_values_are_plain_strings():
    assert hv.DomainState.RUNNING == "running"
    assert str(hv.DomainState.MISSING) == "missing"
    assert {s.value for s in hv.DomainState} == {
        "running", "shutoff", "paused", "shutdown", "crashed", "pmsuspended", "blocked", "nostate", "missing"
    }  # fmt: skip


def test_paused_state_is_reported():
    hv.define_domain(URI, make_spec())
    hv.start_domain(URI, "vm-1")
    hv.get_connection(URI).lookupByName("vm-1").suspend()
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.PAUSED
    hv.start_domain(URI, "vm-1")  # active: left alone
    assert hv.domain_state(URI, "vm-1") == hv.DomainState.PAUSED


# ----------------------------------------------------------------------------- information


def test_host_facts_are_plausible():
    facts = hv.host_facts(URI)
    assert isinstance(facts, hv.HostFacts)
    assert facts.hostname
    assert facts.cpu_model
    assert facts.cpu_sockets >= 1
    assert facts.cpu_cores >= facts.cpu_sockets
    assert facts.cpu_mhz > 0
    assert facts.memory_bytes >= 1024**3
    assert facts.hypervisor_type == "TEST"
    assert facts.hypervisor_version.count(".") == 2
    assert facts.libvirt_version.split(".")[0].isdigit()
    assert int(facts.libvirt_version.split(".")[0]) >= 9
    assert facts.domain_types == ("test",)


def test_ping():
    assert hv.ping(URI) is True


def test_domain_stats_of_running_domain():
    hv.define_domain(URI, make_spec())
    hv.start_domain(URI, "vm-1")
    stats = hv.domain_stats(URI, "vm-1")
    assert set(stats) == {
        "cpu_time_ns",
        "vcpus",
        "memory_max_kib",
        "memory_current_kib",
        "memory_rss_kib",
        "disks",
        "interfaces",
    }
    assert stats["vcpus"] == 1
    assert stats["memory_max_kib"] == 128 * 1024
    assert stats["memory_current_kib"] == 128 * 1024
    assert isinstance(stats["cpu_time_ns"], int)
    assert set(stats["disks"]) == {"vda"}
    assert set(stats["disks"]["vda"]) == {"rd_bytes", "wr_bytes", "rd_reqs", "wr_reqs"}
    assert all(isinstance(v, int) for v in stats["disks"]["vda"].values())


def test_domain_stats_include_interfaces_and_rss():
    # The test driver's built-in domain has a network interface and reports balloon stats.
    stats = hv.domain_stats(URI, "test")
    assert set(stats["interfaces"]) == {"testnet0"}
    assert set(stats["interfaces"]["testnet0"]) == {"rx_bytes", "tx_bytes", "rx_packets", "tx_packets"}
    assert isinstance(stats["memory_rss_kib"], int)


def test_domain_stats_of_stopped_domain():
    hv.define_domain(URI, make_spec())
    stats = hv.domain_stats(URI, "vm-1")
    assert stats["disks"] == {}
    assert stats["interfaces"] == {}
    assert stats["memory_rss_kib"] is None
    assert stats["memory_max_kib"] == 128 * 1024


def test_vnc_port_is_none_without_a_live_port():
    hv.define_domain(URI, make_spec())
    assert hv.vnc_port(URI, "vm-1") is None  # off
    hv.start_domain(URI, "vm-1")
    # The test driver never allocates a port (it stays -1); real QEMU is covered by the e2e test.
    assert hv.vnc_port(URI, "vm-1") is None
    hv.define_domain(URI, make_spec("vm-2", vnc_listen=None))
    hv.start_domain(URI, "vm-2")
    assert hv.vnc_port(URI, "vm-2") is None


def test_domain_xml_is_a_string():
    hv.define_domain(URI, make_spec())
    document = hv.domain_xml(URI, "vm-1")
    assert isinstance(document, str)
    assert parse(document).findtext("name") == "vm-1"


# --------------------------------------------------------------------------------- storage


def pool_object(name: str):
    return hv.get_connection(URI).storagePoolLookupByName(name)


def test_ensure_dir_pool_is_idempotent(tmp_path):
    path = str(tmp_path / "images")
    hv.ensure_dir_pool(URI, "cs-images", path)
    hv.ensure_dir_pool(URI, "cs-images", path)
    pool = pool_object("cs-images")
    assert pool.isActive() == 1
    assert pool.autostart() == 1
    assert pool.isPersistent() == 1
    assert parse(pool.XMLDesc(0)).findtext("target/path") == path
    assert hv.get_connection(URI).listStoragePools().count("cs-images") == 1


def test_ensure_dir_pool_starts_an_inactive_pool(tmp_path):
    path = str(tmp_path / "images")
    hv.ensure_dir_pool(URI, "cs-images", path)
    pool_object("cs-images").destroy()
    assert pool_object("cs-images").isActive() == 0
    hv.ensure_dir_pool(URI, "cs-images", path)
    assert pool_object("cs-images").isActive() == 1


def test_ensure_dir_pool_refuses_a_pool_elsewhere(tmp_path):
    hv.ensure_dir_pool(URI, "cs-images", str(tmp_path / "a"))
    with pytest.raises(hv.HypervisorError, match="expected"):
        hv.ensure_dir_pool(URI, "cs-images", str(tmp_path / "b"))


def test_create_and_delete_volume(tmp_path):
    path = str(tmp_path / "images")
    hv.ensure_dir_pool(URI, "cs-images", path)

    volume_path = hv.create_volume(URI, "cs-images", "vm-1-root.qcow2", 10 * 1024**3)
    assert volume_path == f"{path}/vm-1-root.qcow2"
    # Idempotent: a retried task gets the same volume back.
    assert hv.create_volume(URI, "cs-images", "vm-1-root.qcow2", 10 * 1024**3) == volume_path

    overlay = hv.create_volume(
        URI, "cs-images", "vm-2-root.qcow2", 20 * 1024**3, backing_path=volume_path, backing_format="qcow2"
    )
    volume = pool_object("cs-images").storageVolLookupByName("vm-2-root.qcow2")
    root = parse(volume.XMLDesc(0))
    assert root.findtext("backingStore/path") == volume_path
    assert root.findtext("capacity") == str(20 * 1024**3)
    assert overlay.endswith("/vm-2-root.qcow2")

    hv.pool_refresh(URI, "cs-images")
    assert sorted(pool_object("cs-images").listVolumes()) == ["vm-1-root.qcow2", "vm-2-root.qcow2"]

    hv.delete_volume(URI, "cs-images", "vm-2-root.qcow2")
    hv.delete_volume(URI, "cs-images", "vm-2-root.qcow2")  # already gone: fine
    assert pool_object("cs-images").listVolumes() == ["vm-1-root.qcow2"]


def test_unknown_pool_raises_pool_not_found():
    with pytest.raises(hv.PoolNotFound, match="nope"):
        hv.create_volume(URI, "nope", "v", 1024)
    with pytest.raises(hv.PoolNotFound):
        hv.delete_volume(URI, "nope", "v")
    with pytest.raises(hv.PoolNotFound):
        hv.pool_refresh(URI, "nope")


# ---------------------------------------------------------------------- e2e with real QEMU

SYSTEM_URI = os.environ.get("CIRROSTACK_TEST_LIBVIRT_URI", "qemu+tcp://127.0.0.1:16509/system")


@pytest.fixture(scope="module")
def qemu_session():
    """A private session-mode libvirtd running QEMU as user nobody (never the system daemon)."""
    reason = PrivateLibvirtd.available() or (
        None if shutil.which("qemu-system-x86_64") else "qemu-system-x86_64 is not installed"
    )
    if reason:
        pytest.skip(reason)
    daemon = PrivateLibvirtd()
    daemon.start()
    yield daemon
    hv.close_all()
    daemon.stop()


@pytest.fixture(params=["session", "system"])
def qemu_host(request):
    """(uri, directory the daemon's QEMU may write to, or None)."""
    if request.param == "session":
        daemon = request.getfixturevalue("qemu_session")
        return daemon.qemu_uri, str(daemon.dir)
    hv.allow_connections(True)
    if not hv.ping(SYSTEM_URI):
        pytest.skip(f"no libvirtd answering at {SYSTEM_URI}")
    return SYSTEM_URI, None


@pytest.mark.e2e
def test_qemu_guest_that_ignores_acpi_is_forced_off(qemu_host):
    uri, workdir = qemu_host
    name = f"cs-hvtest-{uuid.uuid4().hex[:8]}"
    spec = hv.DomainSpec(
        name=name,
        uuid=str(uuid.uuid4()),
        domain_type="qemu",  # TCG: no KVM here
        vcpus=1,
        memory_mib=64,
        serial_log_path=f"{workdir}/{name}.log" if workdir else None,
        metadata={"purpose": "cirrostack hypervisor test"},
    )
    try:
        hv.define_domain(uri, spec)
        hv.start_domain(uri, name)
        assert hv.domain_state(uri, name) == hv.DomainState.RUNNING
        port = hv.vnc_port(uri, name)
        assert port is not None and port >= 5900
        stats = hv.domain_stats(uri, name)
        assert stats["vcpus"] == 1
        assert stats["memory_max_kib"] == 64 * 1024

        # No disk, so the firmware never loads an OS and nothing answers the ACPI power button.
        started = time.monotonic()
        assert hv.shutdown_domain(uri, name, timeout=2, poll=0.2) is True
        assert time.monotonic() - started >= 2
        assert hv.domain_state(uri, name) == hv.DomainState.SHUTOFF
        assert hv.vnc_port(uri, name) is None
    finally:
        hv.destroy_domain(uri, name)
        hv.undefine_domain(uri, name)
    assert hv.domain_state(uri, name) == hv.DomainState.MISSING


@pytest.mark.e2e
def test_qemu_pool_and_overlay_volume(qemu_session):
    uri = qemu_session.qemu_uri
    path = str(qemu_session.dir / "pool")
    hv.ensure_dir_pool(uri, "cs-test-images", path)
    hv.ensure_dir_pool(uri, "cs-test-images", path)
    base = hv.create_volume(uri, "cs-test-images", "base.qcow2", 64 * 1024**2)
    overlay = hv.create_volume(uri, "cs-test-images", "root.qcow2", 128 * 1024**2, backing_path=base)
    assert os.path.exists(base) and os.path.exists(overlay)
    hv.delete_volume(uri, "cs-test-images", "root.qcow2")
    hv.delete_volume(uri, "cs-test-images", "base.qcow2")
    assert not os.path.exists(overlay)
