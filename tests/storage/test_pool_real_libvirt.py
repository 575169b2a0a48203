"""A directory pool defined, started, measured and removed on a real libvirtd (not the test driver), the way a
host in a cluster receives its shared pools.

Needs CIRROSTACK_E2E_LIBVIRT_URI (set by `bin/cirrostack test`, or e.g. qemu:///system) and root."""

from __future__ import annotations

import os
import uuid

import pytest

from infrastructure import hypervisor as hv
from tests.support.requirements import require

pytestmark = pytest.mark.e2e


@pytest.fixture
def real_uri() -> str:
    uri = os.environ.get("CIRROSTACK_E2E_LIBVIRT_URI", "")
    require(bool(uri), "CIRROSTACK_E2E_LIBVIRT_URI is not set (bin/cirrostack test starts libvirtd)")
    require(os.geteuid() == 0, "a real storage pool needs root")
    require(hv.ping(uri), f"no libvirtd answers at {uri}")
    return uri


def test_dir_pool_on_a_real_libvirtd(real_uri, tmp_path):
    name = f"cirrostack-test-{uuid.uuid4()}"
    directory = tmp_path / "primary"
    spec = hv.PoolSpec(name=name, pool_type="dir", target_path=str(directory))
    try:
        hv.ensure_pool(real_uri, spec)
        hv.ensure_pool(real_uri, spec)  # a reconnecting host defines it again: nothing changes
        assert directory.is_dir()  # built by libvirt
        info = hv.pool_info(real_uri, name)
        statvfs = os.statvfs(directory)
        assert info.active and info.capacity == statvfs.f_blocks * statvfs.f_frsize
        path = hv.create_volume(real_uri, name, "disk.qcow2", 2**20)
        assert path == str(directory / "disk.qcow2") and (directory / "disk.qcow2").is_file()
        hv.delete_volume(real_uri, name, "disk.qcow2")
        assert not (directory / "disk.qcow2").exists()
    finally:
        hv.remove_pool(real_uri, name)
    with pytest.raises(hv.PoolNotFound):
        hv.pool_info(real_uri, name)
    assert directory.is_dir()  # removing a pool never deletes its data
