"""Snapshots and migration on libvirt's test driver.

The test driver implements internal snapshots (create, list, revert, delete), so those run as in production;
disk-only snapshots of a running domain are refused by the driver package itself (as QEMU refuses them).
It cannot migrate at all: migrate_domain moves the definition between two test:/// instances instead
(infrastructure/hypervisor/migration.py). Real migration is tested in tests/e2e/test_driver_real.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from infrastructure import hypervisor as hv

URI = "test:///default"
# The stock test driver config (one domain "test" and a pool) served from a file: a second, separate
# in-process driver instance, so a migration between URI and this one really moves something.
STOCK = """<node>
  <pool type='dir'><name>default-pool</name><target><path>/default-pool</path></target></pool>
</node>
"""


@pytest.fixture(autouse=True)
def _hypervisor_connections():
    hv.allow_connections(True)
    yield
    hv.close_all()
    hv.allow_connections(False)


def define(name: str = "snap-1", *, running: bool = True, uri: str = URI) -> str:
    hv.define_domain(uri, hv.DomainSpec(name=name, uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                                        domain_type="test", vcpus=1, memory_mib=128,
                                        disks=(hv.DiskSpec(path=f"/images/{name}.qcow2"),)))
    if running:
        hv.start_domain(uri, name)
    return name


def test_memory_snapshot_revert_runs_again():
    name = define()
    hv.snapshot_create(URI, name, "s1", memory=True, description="before upgrade")
    hv.snapshot_create(URI, name, "s1", memory=True)  # retried job: already there
    hv.destroy_domain(URI, name)
    hv.snapshot_revert(URI, name, "s1")
    assert hv.domain_state(URI, name) == hv.DomainState.RUNNING
    assert hv.snapshot_list(URI, name) == ["s1"]


def test_disk_only_snapshot_of_a_stopped_domain_reverts_to_shut_off():
    name = define(running=False)
    hv.snapshot_create(URI, name, "disk", memory=False)
    hv.start_domain(URI, name)
    hv.snapshot_revert(URI, name, "disk")
    assert hv.domain_state(URI, name) == hv.DomainState.SHUTOFF


def test_disk_only_snapshot_of_a_running_domain_is_unsupported():
    name = define()
    with pytest.raises(hv.SnapshotUnsupported, match="running"):
        hv.snapshot_create(URI, name, "disk", memory=False)
    assert hv.snapshot_list(URI, name) == []
    assert isinstance(hv.SnapshotUnsupported("x"), hv.HypervisorError)


def test_list_delete_and_missing_snapshots():
    name = define()
    hv.snapshot_create(URI, name, "a", memory=True)
    hv.snapshot_create(URI, name, "b", memory=True)
    assert sorted(hv.snapshot_list(URI, name)) == ["a", "b"]
    hv.snapshot_delete(URI, name, "a")
    hv.snapshot_delete(URI, name, "a")  # already deleted
    assert hv.snapshot_list(URI, name) == ["b"]
    with pytest.raises(hv.SnapshotNotFound):
        hv.snapshot_revert(URI, name, "a")
    with pytest.raises(hv.DomainNotFound):
        hv.snapshot_list(URI, "no-such-domain")


@pytest.fixture
def second_driver(tmp_path: Path) -> str:
    config = tmp_path / "node.xml"
    config.write_text(STOCK)
    return f"test://{config}"


@pytest.mark.parametrize("running", [True, False])
def test_migration_between_test_drivers_moves_definition_and_state(second_driver, running):
    name = define("mig-1", running=running)
    hv.migrate_domain(URI, second_driver, name)
    assert hv.domain_state(URI, name) == hv.DomainState.MISSING
    expected = hv.DomainState.RUNNING if running else hv.DomainState.SHUTOFF
    assert hv.domain_state(second_driver, name) == expected
    hv.migrate_domain(URI, second_driver, name)  # retried job: already moved
    hv.migrate_domain(second_driver, URI, name)
    assert hv.domain_state(URI, name) == expected
    assert hv.domain_state(second_driver, name) == hv.DomainState.MISSING


def test_migration_between_hosts_sharing_one_test_driver_keeps_the_domain():
    name = define("mig-2")
    hv.migrate_domain(URI, URI, name)
    assert hv.domain_state(URI, name) == hv.DomainState.RUNNING
    with pytest.raises(hv.DomainNotFound):
        hv.migrate_domain(URI, URI, "no-such-domain")


def test_migration_refuses_nonsense():
    with pytest.raises(ValueError):
        hv.migrate_domain(URI, "test:///other", "x", timeout_s=0)
    with pytest.raises(hv.MigrationFailed, match="both"):
        hv.migrate_domain("qemu:///system", "qemu:///system", "x")
