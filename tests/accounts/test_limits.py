"""Resource limits and counts: the real deploy/destroy services against account and domain limits."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from accounts.limits import GIB, ResourceCount, ResourceType
from accounts.models import Account
from accounts.services_limits import resource_count_recalculate, resource_limit_update
from compute.models import VirtualMachine
from compute.services import vm_deploy, vm_destroy
from portal.errors import LimitExceeded, PermissionDenied
from portal.models import AsyncJob, Event
from storage.models import Volume
from tests.factories import AccountFactory, DomainFactory, UserFactory
from tests.support.requirements import require

pytestmark = pytest.mark.django_db


def count(owner, resource_type: int) -> int:
    field = "account" if isinstance(owner, Account) else "domain"
    row = ResourceCount.objects.filter(**{field: owner}, resource_type=resource_type).first()
    return row.count if row is not None else 0


def deploy(cloud, user, **kwargs):
    return vm_deploy(caller=user, zone=cloud.zone, service_offering=cloud.offering, template=cloud.template,
                     start_vm=False, **kwargs)


def test_deploy_counts_every_resource(cloud):
    account = cloud.alice.account
    deploy(cloud, cloud.alice)
    deploy(cloud, cloud.alice)
    root_size = cloud.template.size
    assert count(account, ResourceType.USER_VM) == 2
    assert count(account, ResourceType.CPU) == 2 * cloud.offering.cpu_number
    assert count(account, ResourceType.MEMORY) == 2 * cloud.offering.memory
    assert count(account, ResourceType.VOLUME) == 2
    assert count(account, ResourceType.PRIMARY_STORAGE) == 2 * root_size
    # The domain holds its subtree's total.
    assert count(account.domain, ResourceType.USER_VM) == 2
    assert count(cloud.bob.account, ResourceType.USER_VM) == 0


def test_third_deploy_over_an_instance_limit_creates_nothing(cloud):
    account = cloud.alice.account
    resource_limit_update(caller=cloud.admin, account=account, resource_type=ResourceType.USER_VM, max=2)
    deploy(cloud, cloud.alice)
    deploy(cloud, cloud.alice)
    before = (VirtualMachine.objects.count(), Volume.objects.count(), AsyncJob.objects.count(),
              Event.objects.count())

    with pytest.raises(LimitExceeded) as refused:
        deploy(cloud, cloud.alice)

    assert refused.value.errorcode == 535
    assert (VirtualMachine.objects.count(), Volume.objects.count(), AsyncJob.objects.count(),
            Event.objects.count()) == before
    assert count(account, ResourceType.USER_VM) == 2
    assert count(account, ResourceType.CPU) == 2 * cloud.offering.cpu_number
    assert count(account, ResourceType.VOLUME) == 2
    assert count(account.domain, ResourceType.USER_VM) == 2


def test_a_failing_later_type_rolls_back_the_earlier_ones(cloud):
    account = cloud.alice.account
    resource_limit_update(caller=cloud.admin, account=account, resource_type=ResourceType.PRIMARY_STORAGE,
                          max=cloud.template.size - 1)
    with pytest.raises(LimitExceeded):
        deploy(cloud, cloud.alice)
    assert count(account, ResourceType.USER_VM) == 0
    assert count(account, ResourceType.CPU) == 0
    assert count(account.domain, ResourceType.USER_VM) == 0


def test_a_domain_limit_caps_the_sum_of_its_subtree(cloud):
    sales = DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    emea = DomainFactory(name="EMEA", parent=sales)
    carol = UserFactory(username="carol", account=AccountFactory(name="carol", domain=sales))
    dave = UserFactory(username="dave", account=AccountFactory(name="dave", domain=emea))
    resource_limit_update(caller=cloud.admin, domain=sales, resource_type=ResourceType.CPU,
                          max=3 * cloud.offering.cpu_number)
    deploy(cloud, carol)
    deploy(cloud, dave)
    deploy(cloud, dave)
    with pytest.raises(LimitExceeded):
        deploy(cloud, carol)
    with pytest.raises(LimitExceeded):
        deploy(cloud, dave)
    assert count(sales, ResourceType.USER_VM) == 3
    assert count(emea, ResourceType.USER_VM) == 2
    assert VirtualMachine.objects.filter(domain__path__startswith=sales.path).count() == 3
    # Outside the capped subtree nothing is limited.
    deploy(cloud, cloud.alice)


def test_destroy_releases_instance_cpu_and_memory_but_not_the_volume(cloud, run_jobs):
    account = cloud.alice.account
    resource_limit_update(caller=cloud.admin, account=account, resource_type=ResourceType.USER_VM, max=1)
    with run_jobs():
        vm, _job = deploy(cloud, cloud.alice)
    with run_jobs():
        vm_destroy(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Destroyed"
    assert count(account, ResourceType.USER_VM) == 0
    assert count(account, ResourceType.CPU) == 0
    assert count(account, ResourceType.MEMORY) == 0
    assert count(account.domain, ResourceType.USER_VM) == 0
    # No expunge yet: the ROOT volume still exists and stays counted.
    assert count(account, ResourceType.VOLUME) == 1
    assert count(account, ResourceType.PRIMARY_STORAGE) == cloud.template.size
    deploy(cloud, cloud.alice)


def test_recalculate_fixes_a_drifted_count(cloud):
    account = cloud.alice.account
    deploy(cloud, cloud.alice)
    ResourceCount.objects.filter(account=account, resource_type=ResourceType.USER_VM).update(count=7)
    ResourceCount.objects.filter(domain=account.domain, resource_type=ResourceType.MEMORY).update(count=0)

    resource_count_recalculate(caller=cloud.admin, account=account)
    resource_count_recalculate(caller=cloud.admin, domain=account.domain, resource_type=ResourceType.MEMORY)

    assert count(account, ResourceType.USER_VM) == 1
    assert count(account.domain, ResourceType.MEMORY) == cloud.offering.memory
    assert count(account, ResourceType.PRIMARY_STORAGE) == cloud.template.size


def test_who_may_change_limits(cloud):
    sales = DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    sub = DomainFactory(name="Sub", parent=sales)
    admin = UserFactory(account=AccountFactory(domain=sales, account_type=Account.Type.DOMAIN_ADMIN))
    inside = AccountFactory(domain=sub)
    resource_limit_update(caller=admin, account=inside, resource_type=ResourceType.USER_VM, max=5)
    resource_limit_update(caller=admin, domain=sub, resource_type=ResourceType.USER_VM, max=5)
    with pytest.raises(PermissionDenied):
        resource_limit_update(caller=admin, domain=sales, resource_type=ResourceType.USER_VM, max=50)
    with pytest.raises(PermissionDenied):
        resource_limit_update(caller=admin, account=cloud.alice.account, resource_type=ResourceType.USER_VM,
                              max=50)
    with pytest.raises(PermissionDenied):
        resource_limit_update(caller=cloud.alice, account=cloud.alice.account,
                              resource_type=ResourceType.USER_VM, max=50)
    with pytest.raises(PermissionDenied):
        resource_count_recalculate(caller=cloud.alice, account=cloud.alice.account)


def test_storage_limit_is_kept_in_bytes(cloud):
    limit = resource_limit_update(caller=cloud.admin, account=cloud.alice.account,
                                  resource_type=ResourceType.PRIMARY_STORAGE, max=2 * GIB)
    assert limit.max == 2 * GIB


@pytest.mark.django_db(transaction=True)
def test_concurrent_deploys_never_pass_the_limit(cloud):
    require(connection.vendor == "postgresql",
            "needs PostgreSQL (DATABASE_URL): SQLite serialises writers, so it cannot show the race")
    limit, threads_count = 3, 8
    account = cloud.alice.account
    resource_limit_update(caller=cloud.admin, account=account, resource_type=ResourceType.USER_VM, max=limit)
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            deploy(cloud, cloud.alice)
            outcomes.append("ok")
        except LimitExceeded:
            outcomes.append("refused")
        except Exception as error:  # noqa: BLE001 - reported in the assertion below
            outcomes.append(repr(error))
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=attempt) for _ in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(outcomes) == ["ok"] * limit + ["refused"] * (threads_count - limit)
    assert VirtualMachine.objects.filter(account=account).count() == limit
    assert count(account, ResourceType.USER_VM) == limit
    assert count(account.domain, ResourceType.USER_VM) == limit
    assert count(account, ResourceType.CPU) == limit * cloud.offering.cpu_number


def test_destroying_a_running_vm_releases_once(cloud, run_jobs):
    account = cloud.alice.account
    with run_jobs():
        vm, _job = vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                             template=cloud.template)
    vm.refresh_from_db()
    assert vm.state == "Running"
    deploy(cloud, cloud.alice)
    with run_jobs():
        vm_destroy(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Destroyed"
    assert count(account, ResourceType.USER_VM) == 1
    assert count(account, ResourceType.MEMORY) == cloud.offering.memory
    assert count(account.domain, ResourceType.CPU) == cloud.offering.cpu_number


def test_a_limit_change_is_an_event_with_its_actor(cloud):
    sales = DomainFactory(name="sales")
    resource_limit_update(caller=cloud.admin, account=cloud.alice.account, resource_type=ResourceType.USER_VM,
                          max=4)
    resource_limit_update(caller=cloud.admin, domain=sales, resource_type=ResourceType.CPU, max=8)

    events = Event.objects.filter(type="RESOURCE.LIMIT.UPDATE").order_by("pk")
    assert [(e.user, e.account) for e in events] == [(cloud.admin, cloud.alice.account),
                                                      (cloud.admin, cloud.admin.account)]
    assert "alice" in events[0].description and "sales" in events[1].description
