"""Routing of live messages (portal.live) agrees with portal.authz.scope, and the relay's reads
(portal.relay.Relay.poll): one query per tick whoever is connected, each change sent once, late commits
caught. Synchronous: no sockets here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.models import Account
from compute import services
from compute.models import VirtualMachine
from portal import live
from portal.authz import scope
from portal.jobs import job_execute, job_progress
from portal.models import AsyncJob
from portal.relay import Relay
from tests import factories

pytestmark = pytest.mark.django_db


def deploy(cloud, caller, name):
    return services.vm_deploy(caller=caller, zone=cloud.zone, service_offering=cloud.offering,
                              template=cloud.template, name=name)


@pytest.fixture
def tenants(cloud):
    """Users at every kind of reach, and one VM (with its deploy job) per account in a three-level tree."""
    sales = factories.DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    emea = factories.DomainFactory(name="EMEA", parent=sales)
    sales_admin = factories.UserFactory(username="sales-admin", account__name="sales-admins",
                                        account__domain=sales, account__account_type=Account.Type.DOMAIN_ADMIN)
    emea_admin = factories.UserFactory(username="emea-admin", account__name="emea-admins",
                                       account__domain=emea, account__account_type=Account.Type.DOMAIN_ADMIN)
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=emea)
    dave = factories.UserFactory(username="dave", account__name="dave", account__domain=sales)
    users = [cloud.admin, sales_admin, emea_admin, cloud.alice, cloud.bob, carol, dave]
    for user in [cloud.alice, cloud.bob, carol, dave, sales_admin]:
        deploy(cloud, user, f"vm-{user.username}")
    # A grant reaches across tenancy: bob may operate carol's VM.
    assign_perm("compute.operate_virtualmachine", cloud.bob, VirtualMachine.objects.get(name="vm-carol"))
    return users


def test_a_job_message_reaches_exactly_the_users_who_may_list_the_job(tenants):
    jobs = list(AsyncJob.objects.select_related("domain"))
    assert len(jobs) == 5
    for user in tenants:
        joined = set(live.viewer_groups(user))
        visible = set(scope(user, AsyncJob.objects.all()).values_list("pk", flat=True))
        for job in jobs:
            update = live.job_update(job, None)
            assert bool(joined & set(update.groups)) == (job.pk in visible), (user.username, job.cmd,
                                                                              job.domain.path)


def test_a_vm_message_reaches_exactly_the_users_who_may_see_the_vm_grants_included(tenants):
    vms = list(VirtualMachine.objects.select_related("domain"))
    for user in tenants:
        joined = set(live.viewer_groups(user))
        visible = set(scope(user, VirtualMachine.objects.all()).values_list("pk", flat=True))
        for vm in vms:
            update = live.object_update("virtualmachine", vm)
            assert bool(joined & set(update.groups)) == (vm.pk in visible), (user.username, vm.name)
    bob = next(u for u in tenants if u.username == "bob")
    assert live.vm_group(VirtualMachine.objects.get(name="vm-carol").uuid) in live.viewer_groups(bob)


def test_each_viewer_joins_one_reach_group_so_nothing_arrives_twice(tenants):
    for user in tenants:
        reach_groups = [g for g in live.viewer_groups(user) if not g.startswith("live.vm.")]
        assert len(reach_groups) == 1


def test_owner_groups_follow_the_domain_path():
    groups = live.owner_groups(7, "ROOT/Sales/EMEA/")
    assert groups == (live.account_group(7), live.domain_group("ROOT/"), live.domain_group("ROOT/Sales/"),
                      live.domain_group("ROOT/Sales/EMEA/"), live.ROOT_GROUP)
    # A sibling whose name merely starts the same is not an ancestor.
    assert live.domain_group("ROOT/Sal/") not in groups
    assert len(live.domain_group("ROOT/" + "x" * 2000 + "/")) < 100


# --- the relay's reads ----------------------------------------------------------------------------------

def test_relay_reads_with_one_query_and_sends_each_change_once(cloud, django_assert_num_queries):
    relay = Relay(layer=None)
    with django_assert_num_queries(1):
        assert relay.poll() == []

    vm, job = deploy(cloud, cloud.alice, "web1")
    with django_assert_num_queries(2):  # the changed jobs, then the VMs they are about
        updates = relay.poll()
    assert [u.payload["type"] for u in updates] == ["job", "vm"]
    assert updates[0].payload["job"]["status"] == "pending"
    assert updates[1].payload["vm"] == {"id": str(vm.uuid), "name": "web1", "state": "Starting",
                                        "url": f"/vms/{vm.uuid}/"}
    with django_assert_num_queries(1):
        assert relay.poll() == []  # nothing changed, nothing sent again

    job_progress(job, 40)
    updates = relay.poll()
    # The VM is still Starting: only the job is sent.
    assert [(u.payload["type"], u.payload["job"]["progress"]) for u in updates] == [("job", 40)]

    job_execute(str(job.uuid))
    updates = relay.poll()
    assert [u.payload["type"] for u in updates] == ["job", "vm"]
    assert updates[0].payload["job"]["status"] == "succeeded" and updates[1].payload["vm"]["state"] == "Running"


def test_relay_catches_a_change_committed_after_a_later_one_was_read(cloud):
    relay = Relay(layer=None)
    _vm, later = deploy(cloud, cloud.alice, "later")
    assert [u.payload["job"]["id"] for u in relay.poll() if u.payload["type"] == "job"] == [str(later.uuid)]
    # Another transaction stamped its job before `later` but committed only now, after that read.
    _vm, early = deploy(cloud, cloud.alice, "early")
    AsyncJob.objects.filter(pk=early.pk).update(updated=later.updated - relay.lookback / 2)
    assert [u.payload["job"]["id"] for u in relay.poll() if u.payload["type"] == "job"] == [str(early.uuid)]
    assert relay.poll() == []


def test_relay_starts_reading_from_now(cloud):
    _vm, job = deploy(cloud, cloud.alice, "old")
    AsyncJob.objects.filter(pk=job.pk).update(updated=timezone.now() - timedelta(hours=1))
    assert Relay(layer=None).poll() == []
