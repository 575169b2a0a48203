"""The world the matrix runs in is the one its rows assume: otherwise a refusal could mean "nothing there"."""

from __future__ import annotations

import pytest

from accounts.models import Account
from accounts.roles import RoleType
from compute.models import VirtualMachine, VirtualMachineUserPermission
from portal.authz import Role, can, role_of
from portal.models import AsyncJob, Event

pytestmark = pytest.mark.django_db


def test_the_world_is_as_described(iso):
    w = iso
    assert (w.child.parent, w.north.parent, w.south.parent) == (w.north, w.root_domain, w.root_domain)
    assert w.a.domain == w.b.domain == w.north  # B shares A's domain: tenancy inside one domain
    assert [role_of(u) for u in (w.root, w.north_admin, w.south_admin, w.b1)] == [
        Role.ROOT_ADMIN, Role.DOMAIN_ADMIN, Role.DOMAIN_ADMIN, Role.USER]
    assert (w.north_admin.account.domain, w.south_admin.account.domain) == (w.north, w.south)
    assert {w.a1.account, w.a2.account, w.a3.account} == {w.a} and w.a.state == Account.State.ENABLED
    assert not w.a3.is_active
    vm = VirtualMachine.objects.get(pk=w.vm.pk)
    assert (vm.account, vm.state) == (w.a, "Running")
    assert AsyncJob.objects.get(pk=w.job.pk).status == AsyncJob.Status.SUCCEEDED
    assert Event.objects.filter(account=w.a, resource_id=str(vm.uuid)).exists()
    grant = VirtualMachineUserPermission.objects.get(content_object=vm)
    assert (grant.user, grant.permission.codename) == (w.b2, "console_virtualmachine")
    assert w.ldap_configuration.domain == w.ldap_link.domain == w.north
    assert set(w.keys) == set(w.tokens) and "a1" in w.keys


def test_roles_are_made_through_the_role_services(iso):
    """The world's roles went through accounts.services_roles (so its validation and audit ran on them)."""
    w = iso
    assert Account.objects.get(pk=w.a.pk).role == w.role
    assert [r.rule for r in w.role.permissions.order_by("sort_order")] == ["*", "listZones"]
    assert (w.admin_role.role_type, w.admin_rule.role) == (RoleType.ADMIN, w.admin_role)
    made = set(Event.objects.filter(type="ROLE.CREATE", user=w.root).values_list("resource_id", flat=True))
    assert {str(r.uuid) for r in (w.role, w.spare_role, w.admin_role)} <= made
    assert (w.template.account, w.template.is_public) == (w.a, False)


def test_the_grantee_may_open_the_console_of_the_shared_vm_and_nothing_else(iso):
    """No door has a console entry point yet, so the grant's reach is shown at the decision point the doors
    share; the matrix's grantee rows show each door refusing the rest."""
    w = iso
    vm = VirtualMachine.objects.get(pk=w.vm.pk)
    assert can(w.b2, "vm.view", vm) and can(w.b2, "vm.console", vm)
    refused = ("vm.start", "vm.stop", "vm.reboot", "vm.destroy", "vm.grant", "vm.grant.list", "vm.revoke")
    assert [action for action in refused if can(w.b2, action, vm)] == []
    assert can(w.a1, "vm.stop", vm) and can(w.a1, "vm.grant", vm)  # the same checks pass for the owner
