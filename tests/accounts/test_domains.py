"""Domain tree services: any depth, rename propagation, a domain admin's subtree, delete with and without
cleanup (the cleanup job releasing VMs and counts)."""

from __future__ import annotations

import pytest

from accounts.limits import ResourceCount, ResourceType
from accounts.models import Account, Domain, User
from accounts.selectors_tenancy import domain_children, domain_subtree
from accounts.services_domains import domain_create, domain_delete, domain_update
from compute.models import VirtualMachine
from compute.services import vm_deploy
from compute.states import VmState
from infrastructure import hypervisor as hv
from portal.errors import InvalidParameter, PermissionDenied, ResourceInUse
from portal.models import AsyncJob, Event
from tests import factories


def _root() -> Domain:
    return Domain.objects.get(parent=None)


def _domain_admin(domain: Domain, name: str = "dadmin") -> User:
    return factories.UserFactory(username=name, account__name=name, account__domain=domain,
                                 account__account_type=Account.Type.DOMAIN_ADMIN)


def _count(owner: Account | Domain, resource_type: int) -> int:
    kwargs = {"account": owner} if isinstance(owner, Account) else {"domain": owner}
    row = ResourceCount.objects.filter(resource_type=resource_type, **kwargs).first()
    return row.count if row else 0


def test_tree_of_any_depth_with_paths_and_levels(cloud):
    parent = _root()
    chain = []
    for depth in range(1, 8):
        parent = domain_create(caller=cloud.admin, name=f"d{depth}", parent=parent, network_domain="corp.example")
        chain.append(parent)
    assert chain[-1].path == "ROOT/d1/d2/d3/d4/d5/d6/d7/"
    assert chain[-1].level == 7
    assert [d.name for d in domain_children(caller=cloud.admin, domain=chain[2])] == ["d4"]
    assert domain_children(caller=cloud.admin, domain=chain[2], recursive=True).count() == 4
    assert domain_subtree(caller=cloud.admin, domain=chain[0]).count() == 7
    event = Event.objects.filter(type="DOMAIN.CREATE").first()
    assert event.user == cloud.admin and event.resource_id == str(chain[-1].uuid)


@pytest.mark.parametrize("name", ["", "   ", "a/b", "x" * 256])
def test_invalid_names_are_refused(cloud, name):
    with pytest.raises(InvalidParameter):
        domain_create(caller=cloud.admin, name=name, parent=_root())
    assert Domain.objects.count() == 1


def test_sibling_names_are_unique_and_network_domain_is_checked(cloud):
    domain_create(caller=cloud.admin, name="Sales", parent=_root())
    with pytest.raises(InvalidParameter):
        domain_create(caller=cloud.admin, name="sales", parent=_root())
    with pytest.raises(InvalidParameter):
        domain_create(caller=cloud.admin, name="Ops", parent=_root(), network_domain="bad_domain!")


def test_rename_updates_the_whole_subtree_paths(cloud):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    emea = domain_create(caller=cloud.admin, name="EMEA", parent=sales)
    paris = domain_create(caller=cloud.admin, name="Paris", parent=emea)
    other = domain_create(caller=cloud.admin, name="SalesOps", parent=_root())
    account = factories.AccountFactory(name="shop", domain=paris)
    domain_update(caller=cloud.admin, domain=sales, name="Marketing", network_domain="mkt.example")
    paris.refresh_from_db()
    emea.refresh_from_db()
    other.refresh_from_db()
    assert emea.path == "ROOT/Marketing/EMEA/"
    assert paris.path == "ROOT/Marketing/EMEA/Paris/"
    assert other.path == "ROOT/SalesOps/"
    assert Domain.objects.get(pk=sales.pk).network_domain == "mkt.example"
    assert Account.objects.filter(domain__path__startswith="ROOT/Marketing/").get() == account
    assert Event.objects.filter(type="DOMAIN.UPDATE", user=cloud.admin).exists()


def test_root_cannot_be_renamed_or_deleted(cloud):
    with pytest.raises(InvalidParameter):
        domain_update(caller=cloud.admin, domain=_root(), name="TOP")
    with pytest.raises(InvalidParameter):
        domain_delete(caller=cloud.admin, domain=_root())


def test_domain_admin_manages_only_below_its_domain(cloud):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    ops = domain_create(caller=cloud.admin, name="Ops", parent=_root())
    admin = _domain_admin(sales)
    emea = domain_create(caller=admin, name="EMEA", parent=sales)
    paris = domain_create(caller=admin, name="Paris", parent=emea)
    domain_update(caller=admin, domain=paris, name="Lyon")
    for attempt in (
        lambda: domain_create(caller=admin, name="X", parent=ops),
        lambda: domain_create(caller=admin, name="X", parent=_root()),
        lambda: domain_update(caller=admin, domain=sales, name="Mine"),
        lambda: domain_update(caller=admin, domain=ops, name="Theirs"),
        lambda: domain_delete(caller=admin, domain=sales),
        lambda: domain_delete(caller=admin, domain=ops),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    with pytest.raises(PermissionDenied):
        domain_create(caller=cloud.alice, name="X", parent=_root())
    assert sorted(Domain.objects.values_list("name", flat=True)) == ["EMEA", "Lyon", "Ops", "ROOT", "Sales"]


def test_delete_refused_when_not_empty_without_cleanup(cloud, run_jobs):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    domain_create(caller=cloud.admin, name="EMEA", parent=sales)
    with pytest.raises(ResourceInUse) as refused:
        domain_delete(caller=cloud.admin, domain=sales)
    assert refused.value.errorcode == 536
    ops = domain_create(caller=cloud.admin, name="Ops", parent=_root())
    factories.AccountFactory(domain=ops)
    with pytest.raises(ResourceInUse):
        domain_delete(caller=cloud.admin, domain=ops)
    empty = domain_create(caller=cloud.admin, name="Empty", parent=_root())
    with run_jobs():
        job = domain_delete(caller=cloud.admin, domain=empty)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert not Domain.objects.filter(pk=empty.pk).exists()
    assert Event.objects.filter(type="DOMAIN.DELETE", user=cloud.admin).exists()


def test_delete_with_cleanup_removes_subdomains_accounts_vms_and_counts(cloud, run_jobs):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    emea = domain_create(caller=cloud.admin, name="EMEA", parent=sales)
    owner = factories.UserFactory(username="carol", account__name="carol", account__domain=emea)
    other = factories.UserFactory(username="dave", account__name="dave", account__domain=sales)
    with run_jobs():
        running, _ = vm_deploy(caller=owner, zone=cloud.zone, service_offering=cloud.offering,
                               template=cloud.template, name="web")
        stopped, _ = vm_deploy(caller=other, zone=cloud.zone, service_offering=cloud.offering,
                               template=cloud.template, name="db", start_vm=False)
    assert VirtualMachine.objects.get(pk=running.pk).state == VmState.RUNNING
    root = _root()
    assert _count(root, ResourceType.USER_VM) == 2
    with run_jobs():
        job = domain_delete(caller=cloud.admin, domain=sales, cleanup=True)
        # The accounts are disabled at once: no one works in a domain being deleted.
        assert Account.objects.get(pk=owner.account_id).state == Account.State.DISABLED
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert not Domain.objects.filter(path__startswith="ROOT/Sales/").exists()
    assert not Account.objects.filter(name__in=["carol", "dave"]).exists()
    assert not User.objects.filter(username__in=["carol", "dave"]).exists()
    assert not VirtualMachine.objects.filter(pk__in=[running.pk, stopped.pk]).exists()
    assert running.instance_name not in hv.list_domains(cloud.host.url)  # destroyed on its host
    assert job.params["waits"] >= 1  # the job waited for the VMs' host jobs instead of blocking
    for resource_type in (ResourceType.USER_VM, ResourceType.CPU, ResourceType.MEMORY, ResourceType.VOLUME,
                          ResourceType.PRIMARY_STORAGE):
        assert _count(root, resource_type) == 0, ResourceType(resource_type).label
    # The deletion itself stays on record under the admin who did it.
    assert Event.objects.filter(type="DOMAIN.DELETE", user=cloud.admin, account=cloud.admin.account).exists()
