"""End to end on a real libvirtd with QEMU (TCG): register the host, deploy the tiny guest from a template
through the service layer and a real agent process, and watch it boot.

Needs (started by `bin/cirrostack test`): CIRROSTACK_E2E_LIBVIRT_URI (a real libvirtd), CIRROSTACK_E2E_IMAGE
(the tiny bootable qcow2 built by bin/lib/tiny-image.sh), PostgreSQL shared with the agent, root.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from compute import services as compute_services
from compute.specs import serial_log_path
from infrastructure import hypervisor as hv
from infrastructure import services as infra_services
from portal.celery import app as celery_app
from portal.models import AsyncJob
from tests import factories
from tests.support.agent import agent_process, shared_database_url, wait_for
from tests.support.requirements import require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOOT_MARKER = "CIRROSTACK-GUEST-BOOTED"
PRIMARY = "/var/lib/cirrostack/e2e-primary"


@pytest.fixture
def real_host_env():
    uri = os.environ.get("CIRROSTACK_E2E_LIBVIRT_URI", "")
    image = os.environ.get("CIRROSTACK_E2E_IMAGE", "")
    require(os.geteuid() == 0, "end-to-end tests need root (libvirtd, QEMU, host storage)")
    require(bool(uri), "CIRROSTACK_E2E_LIBVIRT_URI is not set (bin/cirrostack test starts libvirtd)")
    require(bool(image) and Path(image).is_file(), f"tiny guest image missing: {image!r}")
    require(hv.ping(uri), f"no libvirtd answers at {uri}")
    shared_database_url()
    celery_app.conf.task_always_eager = False
    return uri, image


def virtual_size(image: str) -> int:
    info = subprocess.run(["qemu-img", "info", "--output=json", image], check=True, capture_output=True,
                          text=True)
    return int(json.loads(info.stdout)["virtual-size"])


def vnc_banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        return sock.recv(12)


def finished(job: AsyncJob) -> bool:
    job.refresh_from_db()
    return job.is_done


def test_deploy_tiny_guest_on_real_libvirtd(real_host_env, tmp_path):
    uri, image = real_host_env
    root = factories.DomainFactory()
    admin = factories.UserFactory(username="admin", account__name="admin", account__domain=root,
                                  account__account_type=1)
    user = factories.UserFactory(username="enduser", account__domain=root)
    cluster = factories.ClusterFactory()
    offering = factories.ServiceOfferingFactory(name="tiny", cpu_number=1, cpu_speed=500, memory=192)
    template = factories.TemplateFactory(name="tiny-guest", url=f"file://{image}", size=virtual_size(image),
                                         account=admin.account, domain=root)

    host, add_job = infra_services.host_add(caller=admin, cluster=cluster, name="kvm-e2e-1", url=uri,
                                            domain_type="qemu", storage_path=PRIMARY)
    instance_name = None
    with agent_process(tmp_path, host_ids=[host.pk]) as agent:
        wait_for(lambda: finished(add_job), timeout=60, what="the addHost job", process=agent)
        assert add_job.status == AsyncJob.Status.SUCCEEDED, add_job.result
        host.refresh_from_db()
        assert host.status == "Up" and host.memory_total > 0 and host.cpu_cores > 0

        vm, job = compute_services.vm_deploy(caller=user, zone=cluster.zone, service_offering=offering,
                                             template=template, name="tiny1")
        instance_name = vm.instance_name
        log = Path(serial_log_path(vm))
        try:
            wait_for(lambda: finished(job), timeout=120, what="the deploy job", process=agent)
            assert job.status == AsyncJob.Status.SUCCEEDED, job.result
            vm.refresh_from_db()
            assert vm.state == "Running" and vm.host_id == host.pk

            # The domain really runs on that libvirtd, as a QEMU (TCG) guest defined from our model.
            assert hv.domain_state(uri, instance_name) == hv.DomainState.RUNNING
            assert "type='qemu'" in hv.domain_xml(uri, instance_name).replace('"', "'")
            wait_for(lambda: log.exists() and BOOT_MARKER in log.read_text(errors="replace"), timeout=90,
                     interval=0.5, what=f"{BOOT_MARKER} in {log}")
            port = hv.vnc_port(uri, instance_name)
            assert port and port == vm.vnc_port
            assert vnc_banner(port).startswith(b"RFB 003.")

            stop = compute_services.vm_stop(caller=user, vm=vm)
            wait_for(lambda: finished(stop), timeout=90, what="the stop job", process=agent)
            assert stop.status == AsyncJob.Status.SUCCEEDED, stop.result
            vm.refresh_from_db()
            assert vm.state == "Stopped"
            assert hv.domain_state(uri, instance_name) == hv.DomainState.SHUTOFF

            destroy = compute_services.vm_destroy(caller=user, vm=vm)
            wait_for(lambda: finished(destroy), timeout=60, what="the destroy job", process=agent)
            assert destroy.status == AsyncJob.Status.SUCCEEDED, destroy.result
            vm.refresh_from_db()
            assert vm.state == "Destroyed"
            assert hv.domain_state(uri, instance_name) == hv.DomainState.MISSING
        finally:
            hv.destroy_domain(uri, instance_name)
            hv.undefine_domain(uri, instance_name)
            for volume in vm.volumes.all():
                hv.delete_volume(uri, host.local_pool_name, volume.file_name)
            if log.exists():
                log.unlink()
