"""Remote libvirt URIs with credentials: addHost accepts SSH and TLS transports, keeps the password
encrypted, and the agent hands the stored credentials to the hypervisor layer before connecting."""

from __future__ import annotations

import pytest

from infrastructure import hypervisor as hv
from infrastructure import services, services_hosts
from infrastructure.hypervisor.connection import Credentials
from portal.errors import InvalidParameter
from portal.models import AsyncJob, Event
from tests.support.sasl_libvirtd import SaslLibvirtd

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: the connection attempt fails fast, after the credentials were registered.
UNREACHABLE = {
    "qemu+ssh": "qemu+ssh://127.0.0.1:1/system?no_verify=1&no_tty=1",
    "qemu+libssh": "qemu+libssh://127.0.0.1:1/system?known_hosts_verify=ignore",
    "qemu+tls": "qemu+tls://127.0.0.1:1/system",
    "qemu+tcp": "qemu+tcp://127.0.0.1:1/system",
}


@pytest.fixture(autouse=True)
def _forget_credentials():
    yield
    for uri in UNREACHABLE.values():
        hv.set_credentials(uri, "", "")


@pytest.mark.parametrize("scheme", sorted(UNREACHABLE))
def test_remote_uri_is_accepted_and_the_agent_registers_its_credentials(cloud, run_jobs, scheme):
    url = UNREACHABLE[scheme]
    with run_jobs():
        host, job = services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name=f"remote-{scheme}",
                                      url=url, username="libvirt-admin", password="s3cret-pw")
    host.refresh_from_db()
    job.refresh_from_db()
    assert host.domain_type == "qemu" and host.username == "libvirt-admin"
    assert "s3cret-pw" not in host.password_encrypted
    assert services_hosts.host_password(host) == "s3cret-pw"
    # The agent tried for real (and failed: nothing listens), with the stored credentials registered.
    assert job.status == AsyncJob.Status.FAILED and host.status != "Up"
    assert hv.registered_credentials(url) == Credentials("libvirt-admin", "s3cret-pw")


def test_host_without_credentials_registers_none(cloud, run_jobs):
    url = UNREACHABLE["qemu+tcp"]
    with run_jobs():
        services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name="no-auth", url=url)
    assert hv.registered_credentials(url) is None


@pytest.mark.parametrize("url", ["http://kvm1.example/", "ssh://kvm1.example/system", "qemu+ssh:kvm1"])
def test_other_uris_are_refused(cloud, url):
    with pytest.raises(InvalidParameter):
        services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name="bad", url=url)


@pytest.fixture(scope="module")
def sasl_libvirtd():
    daemon = SaslLibvirtd("cloud-admin", "s3cret-pw")
    daemon.start()
    yield daemon
    hv.close_all()
    daemon.stop()


@pytest.mark.parametrize("password,up", [("s3cret-pw", True), ("wrong-pw", False)])
def test_host_behind_a_sasl_login_comes_up_with_its_stored_credentials(cloud, run_jobs, sasl_libvirtd, password,
                                                                        up):
    url = sasl_libvirtd.qemu_uri
    try:
        with run_jobs():
            host, job = services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name="sasl-host", url=url,
                                          storage_path=sasl_libvirtd.storage_dir("primary"),
                                          username="cloud-admin", password=password)
        host.refresh_from_db()
        job.refresh_from_db()
        if up:
            assert job.status == AsyncJob.Status.SUCCEEDED, job.result
            # Facts come from the daemon behind the login: the QEMU driver of this very machine.
            assert host.status == "Up" and host.memory_total > 0 and host.hypervisor_version.startswith("QEMU")
        else:
            assert job.status == AsyncJob.Status.FAILED and host.status != "Up"
            # The daemon refused the login, and the host's event says so.
            assert Event.objects.filter(type="HOST.DISCONNECTED", description__contains="authentication failed",
                                        resource_id=str(host.uuid)).exists()
    finally:
        hv.close_all()
        hv.set_credentials(url, "", "")
