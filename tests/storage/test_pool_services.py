"""Primary storage through the service layer: URL parsing, validation, the state machine, jobs that define
pools on the hosts of their scope (for real on libvirt's test driver) and volumes placed in them."""

from __future__ import annotations

import pytest

from accounts import crypto
from compute import services as vm_services
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from infrastructure.tasks import connect_host
from portal.errors import InvalidParameter, InvalidState, PermissionDenied, ResourceInUse
from portal.models import AsyncJob, Event
from storage import services_pools as services
from storage.models import StoragePool, Volume
from storage.services_pools import parse_pool_url
from tests import factories

pytestmark = pytest.mark.django_db


# --- URLs -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,expected", [
    ("filesystem:///srv/primary", ("Filesystem", "", "/srv/primary", "filesystem:///srv/primary")),
    ("/srv/primary/", ("Filesystem", "", "/srv/primary", "filesystem:///srv/primary")),
    ("nfs://10.0.0.5/export/primary", ("NetworkFilesystem", "10.0.0.5", "/export/primary",
                                       "nfs://10.0.0.5/export/primary")),
    ("rbd://mon1.example:6789/volumes", ("RBD", "mon1.example", "volumes", "rbd://mon1.example:6789/volumes")),
    ("rbd://cloud:QVFEa2V5%2Bw%3D%3D@mon1/volumes", ("RBD", "mon1", "volumes", "rbd://cloud@mon1/volumes")),
])
def test_pool_urls(url, expected):
    location = parse_pool_url(url)
    assert (location.pool_type, location.server, location.path, location.url) == expected


def test_rbd_url_keeps_user_and_secret_apart():
    location = parse_pool_url("rbd://cloud:QVFEa2V5%2Bw%3D%3D@mon1/volumes")
    assert (location.rbd_user, location.rbd_secret) == ("cloud", "QVFEa2V5+w==")


@pytest.mark.parametrize("url,message", [
    ("", "needs a URL"),
    ("srv/primary", "Unsupported storage URL"),
    ("iscsi://target/iqn", "Unsupported storage URL scheme"),
    ("filesystem://host/srv", "names no server"),
    ("filesystem:///", "root directory"),
    ("filesystem:///srv/../etc", "normalised"),
    ("nfs:///export", "needs a server"),
    ("nfs://user:pw@server/export", "no credentials"),
    ("nfs://server", "absolute path"),
    ("rbd:///volumes", "Ceph monitor"),
    ("rbd://mon1/", "exactly one Ceph pool"),
    ("rbd://mon1/a/b", "exactly one Ceph pool"),
    ("rbd://cloud@mon1/volumes", "no secret"),
    ("rbd://mon1:99999/volumes", "port"),
])
def test_bad_pool_urls_are_refused(url, message):
    with pytest.raises(InvalidParameter, match=message):
        parse_pool_url(url)


# --- create ---------------------------------------------------------------------------------------------

def _create(cloud, run_jobs, **kwargs):
    params = {"zone": cloud.zone, "name": "primary1", "url": "filesystem:///cirrostack/test/shared",
              "cluster": cloud.host.cluster, **kwargs}
    with run_jobs():
        pool = services.storage_pool_create(caller=cloud.admin, **params)
    pool.refresh_from_db()
    return pool


def test_create_defines_the_pool_on_every_up_host_of_its_cluster(cloud, run_jobs):
    down = factories.HostFactory(cluster=cloud.host.cluster, status=Host.Status.DISCONNECTED)
    factories.HostFactory()  # another cluster: not in scope
    pool = _create(cloud, run_jobs, tags="ssd, fast,ssd")
    assert (pool.scope, pool.pool_type, pool.path, pool.tags) == ("CLUSTER", "Filesystem", "/cirrostack/test/shared",
                                                                  "ssd,fast")
    assert pool.pod == cloud.host.pod and pool.status == "Up"
    jobs = AsyncJob.objects.filter(cmd="createStoragePool")
    assert [job.queue for job in jobs] == [cloud.host.queue]
    assert all(job.status == AsyncJob.Status.SUCCEEDED for job in jobs)
    assert down.queue not in {job.queue for job in jobs}
    # The test driver reports 100 GiB for every pool: the first host's report is the capacity.
    assert pool.capacity_bytes == 100 * 2**30
    assert hv.pool_info(cloud.host.url, pool.libvirt_name).active
    assert Event.objects.filter(type="STORAGE.POOL.CREATE", resource_id=str(pool.uuid)).exists()


def test_capacitybytes_is_kept_over_what_libvirt_reports(cloud, run_jobs):
    pool = _create(cloud, run_jobs, capacity_bytes=10 * 2**30)
    assert (pool.capacity_bytes, pool.capacity_limit_bytes) == (10 * 2**30, 10 * 2**30)


def test_zone_pool_reaches_every_cluster(cloud, run_jobs):
    other = factories.HostFactory(cluster=factories.ClusterFactory(pod__zone=cloud.zone))
    pool = _create(cloud, run_jobs, scope="ZONE", cluster=None, url="nfs://nfs.example/export/p")
    assert (pool.scope, pool.cluster, pool.pod, pool.pool_type) == ("ZONE", None, None, "NetworkFilesystem")
    assert sorted(AsyncJob.objects.filter(cmd="createStoragePool").values_list("queue", flat=True)) == sorted(
        [cloud.host.queue, other.queue])


def test_rbd_secret_is_stored_encrypted(cloud, run_jobs):
    with run_jobs():
        pool = services.storage_pool_create(caller=cloud.admin, zone=cloud.zone, name="ceph", scope="ZONE",
                                            url="rbd://cloud:c2VjcmV0a2V5@mon1/volumes")
    pool.refresh_from_db()
    assert pool.url == "rbd://cloud@mon1/volumes" and pool.rbd_user == "cloud"
    assert "c2VjcmV0a2V5" not in pool.rbd_secret_encrypted
    assert services.pool_secret(pool) == "c2VjcmV0a2V5"
    assert crypto.decrypt(pool.rbd_secret_encrypted, purpose="host-credential") == ""
    # libvirt's test driver has no secrets: the define job fails and says so, the pool stays registered.
    job = AsyncJob.objects.get(cmd="createStoragePool")
    assert job.status == AsyncJob.Status.FAILED and "cannot use storage pool" in job.result["errortext"]
    assert Event.objects.filter(type="STORAGE.POOL.DEFINE", level="ERROR").exists()


@pytest.mark.parametrize("kwargs,message", [
    ({"name": " "}, "needs a name"),
    ({"scope": "HOST"}, "local storage"),
    ({"scope": "REGION"}, "CLUSTER or ZONE"),
    ({"cluster": None}, "needs a cluster"),
    ({"scope": "ZONE"}, "no pod or cluster"),
    ({"url": "ftp://x/y"}, "scheme"),
    ({"capacity_bytes": 0}, "positive"),
    ({"tags": "x" * 1100}, "too long"),
])
def test_invalid_creates_change_nothing(cloud, run_jobs, kwargs, message):
    with pytest.raises(InvalidParameter, match=message):
        _create(cloud, run_jobs, **kwargs)
    assert not StoragePool.objects.exists() and not AsyncJob.objects.exists()


def test_cluster_of_another_zone_or_pod_is_refused(cloud, run_jobs):
    other = factories.ClusterFactory()
    with pytest.raises(InvalidParameter, match="not in zone"):
        _create(cloud, run_jobs, cluster=other)
    with pytest.raises(InvalidParameter, match="not in pod"):
        _create(cloud, run_jobs, pod=factories.PodFactory(zone=cloud.zone))
    assert not StoragePool.objects.exists()


def test_duplicate_name_or_url_is_refused(cloud, run_jobs):
    _create(cloud, run_jobs)
    with pytest.raises(InvalidParameter, match="already exists"):
        _create(cloud, run_jobs, name="PRIMARY1", url="/elsewhere")
    with pytest.raises(InvalidParameter, match="already registered"):
        _create(cloud, run_jobs, name="other", url="/cirrostack/test/shared/")
    assert StoragePool.objects.count() == 1


def test_a_host_local_directory_cannot_become_a_shared_pool(cloud, run_jobs):
    with pytest.raises(InvalidParameter, match="local storage directory of host"):
        _create(cloud, run_jobs, url=f"filesystem://{cloud.host.storage_path}")
    assert not StoragePool.objects.exists()


def test_non_root_callers_are_refused(cloud, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    for user in (cloud.alice, cloud.bob):
        with pytest.raises(PermissionDenied):
            services.storage_pool_create(caller=user, zone=cloud.zone, name="x", url="/x",
                                         cluster=cloud.host.cluster)
        with pytest.raises(PermissionDenied):
            services.storage_pool_update(caller=user, pool=pool, name="mine")
        with pytest.raises(PermissionDenied):
            services.storage_pool_delete(caller=user, pool=pool)
        with pytest.raises(PermissionDenied):
            services.storage_pool_enable_maintenance(caller=user, pool=pool)
    pool.refresh_from_db()
    assert pool.name != "mine" and pool.removed is None and pool.status == "Up"
    assert StoragePool.objects.count() == 1


# --- update, delete, maintenance ------------------------------------------------------------------------

def test_update(cloud):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    pool = services.storage_pool_update(caller=cloud.admin, pool=pool, name=" fast ", tags="a,b,a",
                                        capacity_bytes=5 * 2**30, enabled=False)
    pool.refresh_from_db()
    assert (pool.name, pool.tags, pool.capacity_bytes, pool.status) == ("fast", "a,b", 5 * 2**30, "Disabled")
    services.storage_pool_update(caller=cloud.admin, pool=pool, enabled=True)
    pool.refresh_from_db()
    assert pool.status == "Up"
    assert Event.objects.filter(type="STORAGE.POOL.UPDATE").count() == 2


def test_update_refuses_capacity_below_allocation(cloud):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster, allocated_bytes=2 * 2**30)
    with pytest.raises(InvalidParameter, match="below"):
        services.storage_pool_update(caller=cloud.admin, pool=pool, capacity_bytes=2**30, name="renamed")
    pool.refresh_from_db()
    assert pool.name != "renamed" and pool.capacity_bytes == 100 * 2**30


def test_delete_refused_while_volumes_remain(cloud, run_jobs):
    pool = _create(cloud, run_jobs)
    volume = Volume.objects.create(name="v", zone=cloud.zone, storage_pool=pool, account=cloud.alice.account,
                                   domain=cloud.alice.account.domain, state=Volume.State.READY)
    with pytest.raises(ResourceInUse):
        services.storage_pool_delete(caller=cloud.admin, pool=pool)
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.EXPUNGED)
    with run_jobs():
        services.storage_pool_delete(caller=cloud.admin, pool=pool)
    pool.refresh_from_db()
    assert pool.removed is not None
    remove = AsyncJob.objects.get(cmd="deleteStoragePool")
    assert remove.status == AsyncJob.Status.SUCCEEDED and remove.queue == cloud.host.queue
    with pytest.raises(hv.PoolNotFound):
        hv.pool_info(cloud.host.url, pool.libvirt_name)
    assert Event.objects.filter(type="STORAGE.POOL.DELETE").exists()


def test_maintenance_cycle(cloud, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    with run_jobs():
        job = services.storage_pool_enable_maintenance(caller=cloud.admin, pool=pool)
    job.refresh_from_db()
    pool.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED and pool.status == "Maintenance"
    with pytest.raises(InvalidState):
        services.storage_pool_update(caller=cloud.admin, pool=pool, enabled=True)
    with pytest.raises(InvalidState):
        services.storage_pool_enable_maintenance(caller=cloud.admin, pool=pool)
    with run_jobs():
        services.storage_pool_cancel_maintenance(caller=cloud.admin, pool=pool)
    pool.refresh_from_db()
    assert pool.status == "Up"
    with pytest.raises(InvalidState):
        services.storage_pool_cancel_maintenance(caller=cloud.admin, pool=pool)
    assert AsyncJob.objects.count() == 2
    assert Event.objects.filter(type="MAINT.PREPARE.PS", state="Completed").exists()


def test_maintenance_with_running_vms_ends_in_error(cloud, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    with run_jobs():
        vm, _job = vm_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                         template=cloud.template)
    Volume.objects.filter(virtual_machine=vm).update(storage_pool=pool)
    with run_jobs():
        job = services.storage_pool_enable_maintenance(caller=cloud.admin, pool=pool)
    job.refresh_from_db()
    pool.refresh_from_db()
    assert pool.status == "ErrorInMaintenance" and job.status == AsyncJob.Status.FAILED
    assert "Running VMs" in job.result["errortext"]


# --- hosts and volumes ----------------------------------------------------------------------------------

def test_connecting_host_defines_the_pools_of_its_scope(cloud):
    cluster_pool = factories.StoragePoolFactory(cluster=cloud.host.cluster, capacity_bytes=0)
    zone_pool = factories.StoragePoolFactory(zone=cloud.zone, cluster=None, pod=None, scope="ZONE",
                                             capacity_bytes=0)
    elsewhere = factories.StoragePoolFactory(capacity_bytes=0)
    in_maintenance = factories.StoragePoolFactory(cluster=cloud.host.cluster, status="Maintenance")
    assert connect_host(cloud.host)
    for pool in (cluster_pool, zone_pool):
        pool.refresh_from_db()
        assert pool.capacity_bytes == 100 * 2**30 and hv.pool_info(cloud.host.url, pool.libvirt_name).active
    elsewhere.refresh_from_db()
    assert elsewhere.capacity_bytes == 0
    for pool in (elsewhere, in_maintenance):
        with pytest.raises(hv.PoolNotFound):
            hv.pool_info(cloud.host.url, pool.libvirt_name)


def test_volume_with_a_pool_is_created_and_deleted_in_that_pool(cloud, run_jobs):
    with run_jobs():
        vm, _job = vm_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                         template=cloud.template, start_vm=False)
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster, path="/cirrostack/test/shared-vols")
    Volume.objects.filter(virtual_machine=vm).update(storage_pool=pool)
    vm.refresh_from_db()
    with run_jobs():
        vm_services.vm_start(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    root = Volume.objects.get(virtual_machine=vm)
    assert vm.state == "Running", vm.state
    assert root.pool_name == pool.libvirt_name and root.path.startswith("/cirrostack/test/shared-vols/")
    # The pool disappears from the host (restart): expunging brings it back and deletes the volume there.
    hv.remove_pool(cloud.host.url, pool.libvirt_name)
    with run_jobs():
        vm_services.vm_destroy(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    with run_jobs():
        vm_services.vm_expunge(caller=cloud.admin, vm=vm)
    root.refresh_from_db()
    assert root.state == Volume.State.EXPUNGED
    assert hv.pool_info(cloud.host.url, pool.libvirt_name).active  # redefined to delete the volume there


def test_volume_without_a_pool_keeps_the_host_local_pool(cloud, run_jobs):
    with run_jobs():
        vm, _job = vm_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                         template=cloud.template)
    root = Volume.objects.get(virtual_machine=vm)
    assert root.storage_pool is None and root.pool_name == cloud.host.local_pool_name
