"""The authorization decision point: roles, tenancy and per-object grants (django-guardian)."""

from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm

from compute import selectors, services
from compute.selectors import VmFilters
from portal import authz
from portal.errors import NotAuthenticated, NotFound, PermissionDenied
from tests import factories
from tests.compute.test_vm_services import deploy

pytestmark = pytest.mark.django_db


def test_undeclared_actions_are_refused(cloud):
    with pytest.raises(PermissionDenied):
        authz.authorize(cloud.admin, "vm.teleport")


def test_anonymous_and_inactive_callers_are_not_authenticated(cloud):
    cloud.alice.is_active = False
    with pytest.raises(NotAuthenticated):
        authz.authorize(cloud.alice, "vm.list")
    with pytest.raises(NotAuthenticated):
        authz.authorize(None, "vm.list")


def test_role_rules_per_action(cloud):
    assert authz.can(cloud.admin, "host.add")
    assert not authz.can(cloud.alice, "host.add")


def test_domain_admin_reaches_its_subtree_only(cloud, run_jobs):
    root = cloud.alice.account.domain
    sales = factories.DomainFactory(name="sales", parent=root)
    eu = factories.DomainFactory(name="eu", parent=sales)
    other = factories.DomainFactory(name="other", parent=root)
    sales_admin = factories.UserFactory(account__domain=sales, account__account_type=2)
    eu_user = factories.UserFactory(account__domain=eu)
    other_user = factories.UserFactory(account__domain=other)
    inside, _ = deploy(cloud, run_jobs, caller=eu_user, name="inside")
    outside, _ = deploy(cloud, run_jobs, caller=other_user, name="outside")

    visible = set(selectors.vm_list(caller=sales_admin).values_list("name", flat=True))
    assert visible == {"inside"}
    assert authz.can(sales_admin, "vm.stop", inside)
    assert not authz.can(sales_admin, "vm.stop", outside)


def test_console_only_grant_shows_the_vm_but_operates_nothing(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="shared")
    assert not selectors.vm_list(caller=cloud.bob).exists()

    assign_perm("compute.console_virtualmachine", cloud.bob, vm)

    assert list(selectors.vm_list(caller=cloud.bob, filters=VmFilters())) == [vm]
    assert selectors.vm_get(caller=cloud.bob, vm_id=str(vm.uuid)) == vm
    assert authz.can(cloud.bob, "vm.console", vm)
    for action in ("vm.start", "vm.stop", "vm.reboot", "vm.destroy"):
        assert not authz.can(cloud.bob, action, vm), action
    with pytest.raises(PermissionDenied):
        services.vm_stop(caller=cloud.bob, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Running"


def test_operate_grant_stops_and_starts_but_cannot_destroy(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="shared")
    assign_perm("compute.operate_virtualmachine", cloud.bob, vm)

    with run_jobs():
        services.vm_stop(caller=cloud.bob, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Stopped"
    with pytest.raises(PermissionDenied):
        services.vm_destroy(caller=cloud.bob, vm=vm)
    assert not authz.can(cloud.bob, "vm.console", vm)


def test_grant_on_one_vm_reveals_no_other(cloud, run_jobs):
    shared, _ = deploy(cloud, run_jobs, name="shared")
    private, _ = deploy(cloud, run_jobs, name="private")
    assign_perm("compute.view_virtualmachine", cloud.bob, shared)

    assert set(selectors.vm_list(caller=cloud.bob).values_list("name", flat=True)) == {"shared"}
    with pytest.raises(NotFound):
        selectors.vm_get(caller=cloud.bob, vm_id=str(private.uuid))
