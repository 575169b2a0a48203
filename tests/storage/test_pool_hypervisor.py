"""Pool XML for the three pool types, and pool definition for real on libvirt's test driver."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from infrastructure import hypervisor as hv

URI = "test:///default"


def _parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 (our own output)


def test_dir_pool_xml():
    root = _parse(hv.build_pool_xml(hv.PoolSpec(name="p1", pool_type="dir", target_path="/srv/pool")))
    assert root.get("type") == "dir" and root.findtext("name") == "p1"
    assert root.findtext("target/path") == "/srv/pool" and root.find("source") is None


def test_netfs_pool_xml():
    spec = hv.PoolSpec(name="p2", pool_type="netfs", target_path="/mnt/p2", source_host="nfs.example",
                       source_path="/export/primary", source_port=2049)
    root = _parse(hv.build_pool_xml(spec))
    assert root.get("type") == "netfs"
    assert root.find("source/host").attrib == {"name": "nfs.example", "port": "2049"}
    assert root.find("source/dir").get("path") == "/export/primary"
    assert root.find("source/format").get("type") == "nfs"
    assert root.findtext("target/path") == "/mnt/p2"


def test_rbd_pool_xml_with_and_without_auth():
    spec = hv.PoolSpec(name="p3", pool_type="rbd", source_host="mon1", source_name="volumes", auth_user="cloud",
                       secret_usage="p3-secret")
    root = _parse(hv.build_pool_xml(spec))
    assert root.get("type") == "rbd" and root.find("target") is None
    assert root.findtext("source/name") == "volumes" and root.find("source/host").get("name") == "mon1"
    auth = root.find("source/auth")
    assert auth.attrib == {"type": "ceph", "username": "cloud"}
    assert auth.find("secret").get("usage") == "p3-secret"
    plain = _parse(hv.build_pool_xml(hv.PoolSpec(name="p4", pool_type="rbd", source_host="mon1",
                                                 source_name="volumes")))
    assert plain.find("source/auth") is None


def test_names_with_markup_stay_text():
    document = hv.build_pool_xml(hv.PoolSpec(name="a'/><b x='", pool_type="dir", target_path="/srv/<x>"))
    root = _parse(document)
    assert root.findtext("name") == "a'/><b x='" and root.findtext("target/path") == "/srv/<x>"


@pytest.mark.parametrize("kwargs", [
    {"name": "x", "pool_type": "lvm", "target_path": "/a"},
    {"name": "", "pool_type": "dir", "target_path": "/a"},
    {"name": "x", "pool_type": "dir"},
    {"name": "x", "pool_type": "netfs", "target_path": "/mnt/x", "source_host": "nfs"},
    {"name": "x", "pool_type": "rbd", "source_host": "mon"},
    {"name": "x", "pool_type": "rbd", "source_host": "mon", "source_name": "p", "auth_user": "u"},
    {"name": "x", "pool_type": "dir", "target_path": "/a\x00"},
])
def test_invalid_specs_are_refused(kwargs):
    with pytest.raises(ValueError):
        hv.PoolSpec(**kwargs)


def test_ensure_dir_pool_defines_starts_and_reports(tmp_path):
    spec = hv.PoolSpec(name="cs-dir", pool_type="dir", target_path=str(tmp_path / "pool"))
    hv.ensure_pool(URI, spec)
    hv.ensure_pool(URI, spec)  # idempotent
    info = hv.pool_info(URI, "cs-dir")
    assert info.active and info.capacity > 0 and info.available <= info.capacity
    path = hv.create_volume(URI, "cs-dir", "v1.qcow2", 2**20)
    assert path.startswith(str(tmp_path / "pool"))
    hv.remove_pool(URI, "cs-dir")
    hv.remove_pool(URI, "cs-dir")  # already gone is fine
    with pytest.raises(hv.PoolNotFound):
        hv.pool_info(URI, "cs-dir")


def test_ensure_pool_refuses_a_pool_of_that_name_elsewhere(tmp_path):
    hv.ensure_pool(URI, hv.PoolSpec(name="cs-moved", pool_type="dir", target_path=str(tmp_path / "a")))
    with pytest.raises(hv.HypervisorError, match="expected"):
        hv.ensure_pool(URI, hv.PoolSpec(name="cs-moved", pool_type="dir", target_path=str(tmp_path / "b")))


def test_netfs_and_rbd_pools_define_on_the_test_driver():
    hv.ensure_pool(URI, hv.PoolSpec(name="cs-nfs", pool_type="netfs", target_path="/mnt/cs-nfs",
                                    source_host="nfs.example", source_path="/export"))
    hv.ensure_pool(URI, hv.PoolSpec(name="cs-rbd", pool_type="rbd", source_host="mon1", source_name="volumes"))
    assert hv.pool_info(URI, "cs-nfs").active and hv.pool_info(URI, "cs-rbd").active
