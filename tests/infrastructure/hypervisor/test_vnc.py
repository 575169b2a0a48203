"""The driver's side of the console: the VNC password goes into the domain, the live endpoint (port and
password) is read back off the running domain, and a migration's destination definition listens on the
destination's address."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from infrastructure import hypervisor as hv
from infrastructure.hypervisor.xml import build_domain_xml, with_vnc_listen
from tests.infrastructure.hypervisor.test_operations import (  # noqa: F401 (autouse: open, then reset the driver)
    URI,
    _hypervisor_connections,
    make_spec,
)


def graphics(document: str) -> ET.Element:
    return ET.fromstring(document).find("devices/graphics[@type='vnc']")  # noqa: S314 - our own XML


def test_the_password_and_listen_address_go_into_the_graphics_device():
    element = graphics(build_domain_xml(make_spec(vnc_listen="192.0.2.7", vnc_password="pw12AB34")))
    assert element.get("passwd") == "pw12AB34" and element.get("listen") == "192.0.2.7"
    assert element.find("listen").get("address") == "192.0.2.7"


def test_the_endpoint_is_read_off_the_running_domain_with_its_password():
    # libvirt's test driver keeps a fixed port as given (it never allocates one for autoport).
    document = build_domain_xml(make_spec("vm-vnc", vnc_password="Zx9Yw8Vu")).replace(
        "port=\"-1\" autoport=\"yes\"", "port=\"5917\" autoport=\"no\"")
    conn = hv.get_connection(URI)
    conn.defineXML(document)
    assert hv.vnc_endpoint(URI, "vm-vnc") is None  # not running: no console
    hv.start_domain(URI, "vm-vnc")
    endpoint = hv.vnc_endpoint(URI, "vm-vnc")
    assert endpoint == hv.VncEndpoint(port=5917, password="Zx9Yw8Vu")
    assert "Zx9Yw8Vu" not in repr(endpoint)
    assert "Zx9Yw8Vu" not in hv.domain_xml(URI, "vm-vnc")  # what the portal shows admins stays secret-free


def test_a_migration_definition_listens_on_the_destination():
    document = build_domain_xml(make_spec(vnc_listen="192.0.2.7", vnc_password="pw"))
    moved = with_vnc_listen(document, "192.0.2.8")
    element = graphics(moved)
    assert element.get("listen") == "192.0.2.8" and element.find("listen").get("address") == "192.0.2.8"
    assert element.get("passwd") == "pw"
    assert with_vnc_listen(document, "192.0.2.7") is None  # same address: nothing to send
    assert with_vnc_listen(build_domain_xml(make_spec(vnc_listen=None)), "192.0.2.8") is None
