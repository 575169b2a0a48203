"""Sharing one VM (compute.services_grants): who may share, what a grant allows, how a grantee is found.

Every check runs against real grants (django-guardian rows) and real jobs on libvirt's test driver."""

from __future__ import annotations

import pytest

from accounts.models import Account
from compute import selectors, services
from compute.selectors_grants import GRANT_PERMISSIONS, grant_name, vm_grant_list, vm_grantee_find
from compute.services_grants import vm_grant, vm_revoke
from portal import authz
from portal.errors import InvalidParameter, InvalidState, NotFound, PermissionDenied
from portal.models import Event
from tests import factories
from tests.compute.test_vm_services import deploy

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(cloud, run_jobs):
    vm, _job = deploy(cloud, run_jobs, name="shared")
    assert vm.state == "Running"
    return vm


def test_owner_grants_console_and_the_event_names_the_actor(cloud, vm):
    grant = vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    assert grant_name(grant) == "console"
    assert [(g.user, grant_name(g)) for g in vm_grant_list(caller=cloud.alice, vm=vm)] == [(cloud.bob, "console")]
    assert authz.can(cloud.bob, "vm.console", vm)
    assert list(selectors.vm_list(caller=cloud.bob)) == [vm]
    event = Event.objects.get(type="VM.GRANT")
    assert event.user == cloud.alice and event.account == vm.account and event.resource_id == str(vm.uuid)
    assert "bob" in event.description


def test_granting_again_changes_nothing(cloud, vm):
    first = vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    again = vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    assert first.pk == again.pk
    assert Event.objects.filter(type="VM.GRANT").count() == 1


def test_every_vm_action_but_view_and_console_is_refused_to_a_console_only_grantee(cloud, vm):
    """Future VM actions are covered too: they are refused unless mapped to the console permission."""
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    console = f"compute.{GRANT_PERMISSIONS['console']}"
    allowed = {"vm.view", "vm.console"}

    vm_actions = [action for action in authz.ACTIONS if action.startswith("vm.")]
    assert {"vm.start", "vm.stop", "vm.reboot", "vm.destroy", "vm.grant", "vm.revoke"} <= set(vm_actions)
    for action in vm_actions:
        if action in allowed:
            assert authz.can(cloud.bob, action, vm), action
        else:
            assert not authz.can(cloud.bob, action, vm), action
    # Only vm.console may ever be granted by the console permission.
    assert [a for a, perm in authz.OBJECT_PERMISSIONS.items() if perm == console] == ["vm.console"]


def test_console_only_grantee_cannot_run_any_power_service(cloud, vm, run_jobs):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    for run in (lambda: services.vm_stop(caller=cloud.bob, vm=vm),
                lambda: services.vm_stop(caller=cloud.bob, vm=vm, forced=True),
                lambda: services.vm_reboot(caller=cloud.bob, vm=vm),
                lambda: services.vm_destroy(caller=cloud.bob, vm=vm)):
        with run_jobs(), pytest.raises(PermissionDenied):
            run()
    vm.refresh_from_db()
    assert vm.state == "Running"
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.vm_start(caller=cloud.bob, vm=vm)


def test_operate_grant_stops_and_starts_but_never_destroys_or_reshares(cloud, vm, run_jobs):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="operate")
    carol = factories.UserFactory(username="carol", account__domain=cloud.alice.account.domain)

    with run_jobs():
        services.vm_stop(caller=cloud.bob, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Stopped"
    with pytest.raises(PermissionDenied):
        services.vm_destroy(caller=cloud.bob, vm=vm)
    assert not authz.can(cloud.bob, "vm.console", vm)
    # A grantee cannot share further, list the other grantees or revoke anything.
    with pytest.raises(PermissionDenied):
        vm_grant(caller=cloud.bob, vm=vm, grantee=carol, permission="operate")
    with pytest.raises(PermissionDenied):
        vm_grant_list(caller=cloud.bob, vm=vm)
    with pytest.raises(PermissionDenied):
        vm_revoke(caller=cloud.bob, vm=vm, grantee=cloud.bob, permission="operate")


def test_only_owners_through_tenancy_may_share(cloud, vm):
    root = cloud.alice.account.domain
    other = factories.DomainFactory(name="Other", parent=root)
    other_admin = factories.UserFactory(account__domain=other, account__account_type=Account.Type.DOMAIN_ADMIN)
    carol = factories.UserFactory(username="carol", account__domain=root)

    for stranger in (cloud.bob, other_admin):
        with pytest.raises(PermissionDenied):
            vm_grant(caller=stranger, vm=vm, grantee=carol, permission="console")
    # The root admin reaches every VM, so may share it.
    vm_grant(caller=cloud.admin, vm=vm, grantee=carol, permission="console")
    assert authz.can(carol, "vm.console", vm)


def test_revoke_takes_the_grant_back_at_once(cloud, vm):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    vm_revoke(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    assert not authz.can(cloud.bob, "vm.console", vm)
    assert not selectors.vm_list(caller=cloud.bob).exists()
    assert Event.objects.get(type="VM.REVOKE").user == cloud.alice
    with pytest.raises(NotFound):
        vm_revoke(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")


def test_bad_grants_are_refused_and_change_nothing(cloud, vm, run_jobs):
    mate = factories.UserFactory(username="mate", account=cloud.alice.account)
    disabled = factories.UserFactory(username="gone", is_active=False)

    with pytest.raises(InvalidParameter):
        vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="destroy")
    with pytest.raises(InvalidParameter):
        vm_grant(caller=cloud.alice, vm=vm, grantee=mate, permission="console")
    with pytest.raises(NotFound):
        vm_grant(caller=cloud.alice, vm=vm, grantee=disabled, permission="console")
    cloud.bob.account.state = Account.State.LOCKED
    cloud.bob.account.save()
    with pytest.raises(NotFound):
        vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    assert not vm_grant_list(caller=cloud.alice, vm=vm).exists()

    carol = factories.UserFactory(username="carol")
    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    with pytest.raises(InvalidState):
        vm_grant(caller=cloud.alice, vm=vm, grantee=carol, permission="console")


# --- finding the grantee ----------------------------------------------------------------------------------

def test_any_enabled_user_is_found_by_id_the_same_not_found_otherwise(cloud):
    disabled = factories.UserFactory(username="gone", is_active=False)

    assert vm_grantee_find(caller=cloud.alice, user_id=str(cloud.bob.uuid)) == cloud.bob
    messages = set()
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", str(disabled.uuid)):
        with pytest.raises(NotFound) as caught:
            vm_grantee_find(caller=cloud.alice, user_id=unknown)
        messages.add(caught.value.message.replace(unknown, "<id>"))
    assert len(messages) == 1


def test_names_are_found_only_within_the_callers_tenancy_reach(cloud):
    """An end user cannot probe other tenants' user names: bob (another account) answers exactly like a
    name nobody has. Admins find the users they manage, with or without the domain path."""
    root = cloud.alice.account.domain
    sales = factories.DomainFactory(name="Sales", parent=root)
    sales_admin = factories.UserFactory(username="salesadmin", account__domain=sales,
                                        account__account_type=Account.Type.DOMAIN_ADMIN)
    carol = factories.UserFactory(username="carol", account__domain=sales)

    def message(caller, **kwargs) -> str:
        with pytest.raises(NotFound) as caught:
            vm_grantee_find(caller=caller, **kwargs)
        return caught.value.message

    assert message(cloud.alice, username="bob").replace("bob", "X") == message(
        cloud.alice, username="nobody").replace("nobody", "X")
    assert message(sales_admin, username="bob").replace("bob", "X") == message(
        sales_admin, username="nobody").replace("nobody", "X")

    assert vm_grantee_find(caller=sales_admin, username="carol") == carol
    assert vm_grantee_find(caller=sales_admin, username="CAROL", domain_path="ROOT/Sales") == carol
    assert vm_grantee_find(caller=sales_admin, username="carol", domain_path="/Sales") == carol
    assert vm_grantee_find(caller=cloud.admin, username="bob", domain_path="/") == cloud.bob
    message(sales_admin, username="carol", domain_path="ROOT")  # right name, wrong domain: not found
