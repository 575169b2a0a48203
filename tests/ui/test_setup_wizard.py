"""The first-run setup wizard: a root admin walks zone → pod → cluster → host → primary storage → secondary
storage → enable on a fresh install, and a VM then deploys in the new zone; refused steps change nothing; other
callers get 403 everywhere."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from accounts.models import Account, User
from compute import services as compute_services
from infrastructure.models import Cluster, Host, Pod, Zone
from portal.models import AsyncJob
from storage.models import ImageStore, StoragePool, Volume
from tests import factories

pytestmark = pytest.mark.django_db

ZONE = {"name": "Wizard zone", "network_type": "Advanced", "dns1": "8.8.8.8", "dns2": "",
        "internal_dns1": "10.0.0.2", "internal_dns2": "", "guest_cidr": "10.1.1.0/24", "network_domain": ""}
POD = {"name": "pod1", "gateway": "192.168.100.1", "netmask": "255.255.255.0", "start_ip": "192.168.100.10",
       "end_ip": "192.168.100.200"}
CLUSTER = {"name": "cluster1", "hypervisor_type": "KVM", "cpu_overprovisioning": "2",
           "memory_overprovisioning": "1"}
HOST = {"name": "host1", "url": "test:///default", "username": "", "password": "", "host_tags": ""}
UNREACHABLE = {**HOST, "url": "qemu+tcp://127.0.0.1:1/system"}
PRIMARY = {"name": "primary1", "scope": "CLUSTER", "tags": "", "capacity_gib": ""}  # + url under tmp_path
SECONDARY = {"name": "secondary1", "provider": "NFS", "url": "nfs://nfs.example/export/secondary"}


@dataclass
class Fresh:
    """A fresh install: no zone yet, a root admin, an end user and a domain admin."""

    admin: User
    alice: User
    domain_admin: User


@pytest.fixture
def fresh(db) -> Fresh:
    root = factories.DomainFactory()
    admin_account = factories.AccountFactory(name="admin", domain=root, account_type=Account.Type.ROOT_ADMIN)
    sub = factories.DomainFactory(name="Sales", parent=root)
    sub_admins = factories.AccountFactory(name="sales-admin", domain=sub, account_type=Account.Type.DOMAIN_ADMIN)
    return Fresh(
        admin=factories.UserFactory(username="admin", account=admin_account),
        alice=factories.UserFactory(username="alice", account__name="alice", account__domain=root),
        domain_admin=factories.UserFactory(username="sales-admin", account=sub_admins),
    )


def _url(step: str) -> str:
    return reverse(f"ui:setup_{step}")


def _post(client, step: str, data: dict, run_jobs=None):
    if run_jobs is None:
        return client.post(_url(step), data)
    with run_jobs():
        return client.post(_url(step), data)


def _walk_to_host(client) -> None:
    for step, data, following in (("zone", ZONE, "pod"), ("pod", POD, "cluster"), ("cluster", CLUSTER, "host")):
        response = _post(client, step, data)
        assert response.status_code == 302 and response.url == _url(following), (step, response.content[:2000])


@pytest.fixture
def primary(tmp_path) -> dict:
    """A Filesystem primary storage pool in a directory of the test's own."""
    return {**PRIMARY, "url": f"filesystem://{tmp_path / 'primary'}"}


def test_the_whole_wizard_leaves_a_zone_where_a_vm_deploys(fresh, login, run_jobs, primary):
    client = login(fresh.admin)
    dashboard = client.get(reverse("ui:dashboard")).content.decode()
    assert "data-setup-offer" in dashboard and reverse("ui:setup_wizard") in dashboard
    assert client.get(reverse("ui:setup_wizard")).status_code == 200
    # The cluster step proposes the global overprovisioning factors.
    _post(client, "zone", ZONE)
    assert Zone.objects.get().allocation_state == "Disabled"
    _post(client, "pod", POD)
    assert 'value="1.0"' in client.get(_url("cluster")).content.decode()
    assert _post(client, "cluster", CLUSTER).url == _url("host")

    response = _post(client, "host", HOST, run_jobs)
    assert response.status_code == 302 and response.url == _url("host")
    host = Host.objects.get()
    assert host.status == "Up"
    page = client.get(_url("host")).content.decode()
    assert "Up" in page and _url("primary") in page and 'name="url"' not in page  # done: continue, no form

    assert _post(client, "primary", primary, run_jobs).url == _url("secondary")
    assert _post(client, "secondary", SECONDARY).url == _url("enable")
    assert client.get(_url("enable")).status_code == 200
    assert _post(client, "enable", {}).url == _url("done")

    zone = Zone.objects.get()
    pool, store = StoragePool.objects.get(), ImageStore.objects.get()
    assert zone.allocation_state == "Enabled" and zone.internal_dns1 == "10.0.0.2"
    pod, cluster = Pod.objects.get(zone=zone), Cluster.objects.get(zone=zone)
    assert (cluster.pod, cluster.cpu_overprovisioning, host.cluster) == (pod, 2.0, cluster)
    assert (pool.zone, pool.cluster, pool.status, pool.pool_type) == (zone, cluster, "Up", "Filesystem")
    assert pool.url == primary["url"]
    assert store.zone == zone
    summary = client.get(_url("done")).content.decode()
    for link in (reverse("ui:zone_detail", args=[zone.uuid]), reverse("ui:pod_detail", args=[pod.uuid]),
                 reverse("ui:cluster_detail", args=[cluster.uuid]), reverse("ui:host_detail", args=[host.uuid]),
                 reverse("ui:storage_pool_detail", args=[pool.uuid]), reverse("ui:image_store_list")):
        assert link in summary, link
    assert "data-setup-offer" not in client.get(reverse("ui:dashboard")).content.decode()

    # An end user deploys in the new zone: the VM runs on the wizard's host, its disk on the wizard's pool.
    offering = factories.ServiceOfferingFactory(name="Small")
    template = factories.TemplateFactory(name="Tiny", account=fresh.admin.account, domain=fresh.admin.account.domain)
    with run_jobs():
        vm, job = compute_services.vm_deploy(caller=fresh.alice, zone=zone, service_offering=offering,
                                             template=template, name="first")
    vm.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert (vm.state, vm.host) == ("Running", host)
    assert Volume.objects.get(virtual_machine=vm, volume_type="ROOT").storage_pool == pool


def test_the_wizard_can_be_left_and_resumed(fresh, login):
    client = login(fresh.admin)
    _post(client, "zone", ZONE)
    # Later steps send back to the first one left to do; done steps show what they created, without a form.
    assert client.get(_url("host")).url == _url("pod")
    assert client.get(_url("done")).url == _url("pod")
    page = client.get(_url("zone")).content.decode()
    assert ZONE["name"] in page and 'name="dns1"' not in page
    assert client.post(_url("zone"), {**ZONE, "name": "second"}).url == _url("pod")
    assert Zone.objects.count() == 1
    start = client.get(reverse("ui:setup_wizard")).content.decode()
    assert _url("pod") in start
    # Starting over forgets the run, not the zone.
    assert client.post(reverse("ui:setup_restart")).url == _url("zone")
    page = client.get(_url("zone")).content.decode()
    assert 'name="dns1"' in page and f'action="{_url("zone")}"' in page and Zone.objects.count() == 1


def test_a_zone_deleted_meanwhile_sends_the_wizard_back_to_the_zone_step(fresh, login):
    client = login(fresh.admin)
    _post(client, "zone", ZONE)
    Zone.objects.all().delete()
    assert client.get(_url("pod")).url == _url("zone")


def test_an_invalid_ip_range_is_shown_and_creates_nothing(fresh, login):
    client = login(fresh.admin)
    _post(client, "zone", ZONE)
    response = _post(client, "pod", {**POD, "start_ip": "10.9.9.10"})
    assert response.status_code == 400
    assert "is not in the pod&#x27;s subnet" in response.content.decode()
    assert not Pod.objects.exists()
    assert _post(client, "pod", POD).url == _url("cluster")  # retried with a good range
    assert Pod.objects.count() == 1


def test_a_refused_zone_shows_the_service_error(fresh, login):
    response = _post(login(fresh.admin), "zone", {**ZONE, "dns1": "not-an-ip"})
    assert response.status_code == 400 and "dns1" in response.content.decode()
    assert not Zone.objects.exists()


def test_an_unreachable_host_shows_the_error_and_can_be_retried(fresh, login, run_jobs):
    client = login(fresh.admin)
    _walk_to_host(client)
    _post(client, "host", UNREACHABLE, run_jobs)
    job = AsyncJob.objects.get(cmd="addHost")
    assert job.status == AsyncJob.Status.FAILED
    page = client.get(_url("host"))
    html = page.content.decode()
    assert "could not be added" in html and job.result["errortext"][:30] in html.replace("&#x27;", "'")
    assert 'name="url"' in html  # the form is offered again
    # Continuing is refused while the host is not Up.
    assert client.get(_url("primary")).url == _url("host")

    assert _post(client, "host", HOST, run_jobs).url == _url("host")
    host = Host.objects.get()  # the failed host was removed, nothing else was left behind
    assert (host.url, host.status) == ("test:///default", "Up")


def test_an_unreachable_host_can_be_removed_leaving_nothing_behind(fresh, login, run_jobs):
    client = login(fresh.admin)
    _walk_to_host(client)
    _post(client, "host", UNREACHABLE, run_jobs)
    assert 'name="discard"' in client.get(_url("host")).content.decode()
    response = client.post(_url("host"), {"discard": "1"})
    assert response.status_code == 302 and response.url == _url("host")
    assert not Host.objects.exists()
    page = client.get(_url("host")).content.decode()
    assert 'name="url"' in page and 'name="discard"' not in page and "could not be added" not in page


def test_a_bad_host_uri_is_refused_and_creates_nothing(fresh, login):
    client = login(fresh.admin)
    _walk_to_host(client)
    response = _post(client, "host", {**HOST, "url": "http://example.test/"})
    assert response.status_code == 400 and "Unsupported libvirt URI" in response.content.decode()
    assert not Host.objects.exists() and not AsyncJob.objects.exists()


def test_bad_storage_is_refused_and_creates_nothing(fresh, login, run_jobs, primary):
    client = login(fresh.admin)
    _walk_to_host(client)
    _post(client, "host", HOST, run_jobs)
    response = _post(client, "primary", {**primary, "url": "iscsi://target/iqn"})
    assert response.status_code == 400 and not StoragePool.objects.exists()
    _post(client, "primary", primary, run_jobs)
    response = _post(client, "secondary", {**SECONDARY, "url": "file:///srv/secondary"})
    assert response.status_code == 400 and "nfs://server/path" in response.content.decode()
    assert not ImageStore.objects.exists()
    assert Zone.objects.get().allocation_state == "Disabled"


WIZARD_ROUTES = ("setup_wizard", "setup_zone", "setup_pod", "setup_cluster", "setup_host", "setup_primary",
                 "setup_secondary", "setup_enable", "setup_done")


@pytest.mark.parametrize("who", ["alice", "domain_admin"])
def test_non_root_callers_get_403_on_every_wizard_url(fresh, login, who):
    client = login(getattr(fresh, who))
    for name in WIZARD_ROUTES:
        assert client.get(reverse(f"ui:{name}")).status_code == 403, name
    for name in (*WIZARD_ROUTES, "setup_restart"):
        assert client.post(reverse(f"ui:{name}"), ZONE).status_code in (403, 405), name
    assert client.post(reverse("ui:setup_zone"), ZONE).status_code == 403
    assert not Zone.objects.exists()
    assert "data-setup-offer" not in client.get(reverse("ui:dashboard")).content.decode()


def test_every_wizard_url_is_tested_for_403():
    from portal.ui import setup_wizard

    assert {pattern.name for pattern in setup_wizard.urlpatterns} == {*WIZARD_ROUTES, "setup_restart"}


def _snapshot() -> dict:
    """Every row the wizard could write, by model."""
    from infrastructure.models import PhysicalNetwork

    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Zone, Pod, Cluster, Host, StoragePool, ImageStore, AsyncJob, PhysicalNetwork)}


def test_get_never_changes_anything(fresh, login, run_jobs):
    client = login(fresh.admin)
    names = WIZARD_ROUTES
    before = _snapshot()
    for name in names:  # a fresh run: every page answers (or sends back to the zone step) and writes nothing
        assert client.get(reverse(f"ui:{name}")).status_code in (200, 302), name
    assert _snapshot() == before
    _walk_to_host(client)
    _post(client, "host", UNREACHABLE, run_jobs)  # a failed host: its page offers a retry
    before = _snapshot()
    for name in names:
        assert client.get(reverse(f"ui:{name}")).status_code in (200, 302), name
    assert _snapshot() == before
    assert client.get(reverse("ui:setup_restart")).status_code == 405  # starting over is a POST
