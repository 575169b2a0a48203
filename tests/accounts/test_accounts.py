"""Account services: create with the first user, update, disable (VMs stopped), lock (VMs kept, no login),
enable, delete (the cleanup job), the last-admin rule and a domain admin's reach."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from accounts.limits import ResourceCount, ResourceType
from accounts.models import Account, Domain, User
from accounts.services import user_keys_register
from accounts.services_accounts import (
    account_create,
    account_delete,
    account_disable,
    account_enable,
    account_lock,
    account_update,
)
from accounts.services_domains import domain_create
from compute.models import VirtualMachine
from compute.services import vm_deploy
from compute.states import VmState
from infrastructure import hypervisor as hv
from portal.authz import can
from portal.errors import InvalidParameter, PermissionDenied
from portal.models import AsyncJob, Event
from portal.selectors import event_list
from tests import factories
from tests.factories import TEST_PASSWORD


def _root() -> Domain:
    return Domain.objects.get(parent=None)


def _create(caller: User, name: str, account_type: int = Account.Type.USER, domain: Domain | None = None
            ) -> Account:
    return account_create(caller=caller, domain=domain or _root(), name=name, account_type=account_type,
                          username=f"{name}-user", password=TEST_PASSWORD, email=f"{name}@example.test",
                          first_name="First", last_name="Last")


def _deploy(cloud, owner: User, name: str, start: bool = True) -> VirtualMachine:
    vm, _job = vm_deploy(caller=owner, zone=cloud.zone, service_offering=cloud.offering,
                         template=cloud.template, name=name, start_vm=start)
    return vm


def _count(owner: Account | Domain, resource_type: int) -> int:
    kwargs = {"account": owner} if isinstance(owner, Account) else {"domain": owner}
    row = ResourceCount.objects.filter(resource_type=resource_type, **kwargs).first()
    return row.count if row else 0


def test_create_makes_the_account_and_its_first_user_with_events(cloud):
    account = _create(cloud.admin, "acme", Account.Type.DOMAIN_ADMIN)
    user = account.users.get()
    assert (user.username, user.email, user.first_name, user.is_staff, user.is_superuser) == (
        "acme-user", "acme@example.test", "First", True, False)
    assert user.check_password(TEST_PASSWORD)
    types = set(Event.objects.filter(user=cloud.admin, account=account).values_list("type", flat=True))
    assert types == {"ACCOUNT.CREATE", "USER.CREATE"}


def test_create_refuses_bad_input_and_changes_nothing(cloud):
    before = Account.objects.count()
    for kwargs in ({"name": "alice"}, {"name": "new", "username": "ALICE"}, {"name": "x", "password": "short"},
                   {"name": "y", "account_type": 7}, {"name": "z", "email": "not-an-email"}):
        args = {"caller": cloud.admin, "domain": _root(), "account_type": Account.Type.USER, "username": "fresh",
                "password": TEST_PASSWORD, **kwargs}
        with pytest.raises(InvalidParameter):
            account_create(**args)
    assert Account.objects.count() == before
    assert not User.objects.filter(username="fresh").exists()


def test_domain_admin_creates_in_its_subtree_only_and_never_root_admins(cloud):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    emea = domain_create(caller=cloud.admin, name="EMEA", parent=sales)
    admin = _create(cloud.admin, "salesadmin", Account.Type.DOMAIN_ADMIN, sales).users.get()
    assert _create(admin, "shop", domain=emea).domain == emea
    assert _create(admin, "shop2", domain=sales).domain == sales
    with pytest.raises(PermissionDenied):
        _create(admin, "outside")  # ROOT is above its domain
    with pytest.raises(PermissionDenied):
        _create(admin, "boss", Account.Type.ROOT_ADMIN, emea)
    with pytest.raises(PermissionDenied):
        _create(cloud.alice, "nope")


def test_update_renames_and_checks_reach(cloud):
    account = account_update(caller=cloud.admin, account=cloud.alice.account, name="alice-co")
    assert Account.objects.get(pk=account.pk).name == "alice-co"
    with pytest.raises(InvalidParameter):
        account_update(caller=cloud.admin, account=account, name="bob")
    with pytest.raises(PermissionDenied):
        account_update(caller=cloud.alice, account=cloud.bob.account, name="mine")
    assert Event.objects.filter(type="ACCOUNT.UPDATE", user=cloud.admin).count() == 1


def test_update_checks_the_role_type(cloud):
    roles = pytest.importorskip("accounts.roles")
    admin_role = roles.Role.objects.filter(role_type="Admin").first()
    if admin_role is None:
        pytest.skip("no built-in roles yet")
    with pytest.raises(InvalidParameter):
        account_update(caller=cloud.admin, account=cloud.alice.account, role=admin_role)


def test_disable_stops_running_vms_through_their_jobs_and_blocks_access(cloud, run_jobs):
    with run_jobs():
        running = _deploy(cloud, cloud.alice, "web")
        stopped = _deploy(cloud, cloud.alice, "db", start=False)
        bobs = _deploy(cloud, cloud.bob, "other")
    with run_jobs():
        job = account_disable(caller=cloud.admin, account=cloud.alice.account)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert job.result == {"object": "account", "id": str(cloud.alice.account.uuid)}
    assert VirtualMachine.objects.get(pk=running.pk).state == VmState.STOPPED
    assert VirtualMachine.objects.get(pk=stopped.pk).state == VmState.STOPPED
    assert VirtualMachine.objects.get(pk=bobs.pk).state == VmState.RUNNING
    assert hv.domain_state(cloud.host.url, running.instance_name) != hv.DomainState.RUNNING
    assert AsyncJob.objects.filter(cmd="stopVirtualMachine", instance_id=str(running.uuid),
                                   status=AsyncJob.Status.SUCCEEDED).exists()
    alice = User.objects.get(pk=cloud.alice.pk)
    assert alice.account.state == Account.State.DISABLED
    assert not can(alice, "vm.list")
    assert Event.objects.filter(type="ACCOUNT.DISABLE", user=cloud.admin).exists()
    account_enable(caller=cloud.admin, account=alice.account)
    assert can(User.objects.get(pk=cloud.alice.pk), "vm.list")
    assert Event.objects.filter(type="ACCOUNT.ENABLE", user=cloud.admin).exists()


def test_lock_keeps_vms_running_but_blocks_login_and_api(cloud, run_jobs, client):
    with run_jobs():
        vm = _deploy(cloud, cloud.alice, "web")
    account_lock(caller=cloud.admin, account=cloud.alice.account)
    assert VirtualMachine.objects.get(pk=vm.pk).state == VmState.RUNNING
    alice = User.objects.get(pk=cloud.alice.pk)
    assert alice.account.state == Account.State.LOCKED
    assert not can(alice, "vm.list")
    response = client.post("/client/api", {"command": "login", "username": "alice", "password": TEST_PASSWORD,
                                           "response": "json"})
    assert response.status_code == 531
    assert Event.objects.filter(type="ACCOUNT.DISABLE", user=cloud.admin, account=alice.account).exists()


def test_disable_with_lock_is_a_lock(cloud, run_jobs):
    with run_jobs():
        vm = _deploy(cloud, cloud.alice, "web")
    with run_jobs():
        job = account_disable(caller=cloud.admin, account=cloud.alice.account, lock=True)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED
    assert Account.objects.get(pk=cloud.alice.account_id).state == Account.State.LOCKED
    assert VirtualMachine.objects.get(pk=vm.pk).state == VmState.RUNNING


def test_nobody_disables_locks_or_deletes_their_own_account(cloud):
    for service in (account_disable, account_lock, account_delete):
        with pytest.raises(PermissionDenied):
            service(caller=cloud.admin, account=cloud.admin.account)
    assert Account.objects.get(pk=cloud.admin.account_id).state == Account.State.ENABLED


def test_last_enabled_root_admin_cannot_be_removed_via_its_account(cloud):
    other = _create(cloud.admin, "ops", Account.Type.ROOT_ADMIN)
    ops_user = other.users.get()
    # Two root-admin accounts: locking one leaves the other.
    account_lock(caller=ops_user, account=cloud.admin.account)
    # Now ops is the last enabled root admin: nobody can take it away, not even another admin's request.
    with pytest.raises(InvalidParameter):
        account_lock(caller=factories.UserFactory(username="super", account=None, is_superuser=True),
                     account=other)
    assert Account.objects.get(pk=other.pk).state == Account.State.ENABLED


def test_domain_admin_cannot_manage_root_admin_accounts_or_its_own(cloud):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    admin = _create(cloud.admin, "salesadmin", Account.Type.DOMAIN_ADMIN, sales).users.get()
    hidden_root = _create(cloud.admin, "hidden", Account.Type.ROOT_ADMIN, sales)
    with pytest.raises(PermissionDenied):
        account_lock(caller=admin, account=hidden_root)
    with pytest.raises(PermissionDenied):
        account_update(caller=admin, account=admin.account, name="renamed")
    with pytest.raises(PermissionDenied):
        account_lock(caller=admin, account=cloud.alice.account)  # outside its subtree
    shop = _create(admin, "shop", domain=sales)
    account_lock(caller=admin, account=shop)
    assert Account.objects.get(pk=shop.pk).state == Account.State.LOCKED


def test_delete_cleanup_job_releases_everything(cloud, run_jobs):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    emea = domain_create(caller=cloud.admin, name="EMEA", parent=sales)
    account = _create(cloud.admin, "shop", domain=emea)
    owner = account.users.get()
    second = factories.UserFactory(username="shop-2", account=account)
    user_keys_register(user=owner)
    Token.objects.create(user=second)
    with run_jobs():
        running = _deploy(cloud, owner, "web")
        _deploy(cloud, owner, "db", start=False)
        bobs = _deploy(cloud, cloud.bob, "other")
    root_vms = _count(_root(), ResourceType.USER_VM)
    history = set(Event.objects.filter(account=account).values_list("pk", flat=True))
    assert history
    assert _count(sales, ResourceType.USER_VM) == 2 and _count(emea, ResourceType.PRIMARY_STORAGE) > 0
    with run_jobs():
        job = account_delete(caller=cloud.admin, account=account)
        assert Account.objects.get(pk=account.pk).state == Account.State.DISABLED
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert job.result == {"text": "Deleted account shop."}
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not User.objects.filter(pk__in=[owner.pk, second.pk]).exists()
    assert not Token.objects.filter(user_id=second.pk).exists()
    assert not VirtualMachine.objects.filter(account_id=account.pk).exists()
    assert running.instance_name not in hv.list_domains(cloud.host.url)
    for domain in (sales, emea):
        for resource_type in (ResourceType.USER_VM, ResourceType.CPU, ResourceType.MEMORY, ResourceType.VOLUME,
                              ResourceType.PRIMARY_STORAGE):
            assert _count(domain, resource_type) == 0, (domain, resource_type)
    assert _count(_root(), ResourceType.USER_VM) == root_vms - 2
    assert VirtualMachine.objects.get(pk=bobs.pk).state == VmState.RUNNING
    assert AsyncJob.objects.filter(cmd="destroyVirtualMachine", instance_id=str(running.uuid)).exists()
    assert AsyncJob.objects.filter(cmd="expungeVirtualMachine", instance_id=str(running.uuid)).exists()
    assert Event.objects.filter(type="ACCOUNT.DELETE", user=cloud.admin, state="Completed").exists()
    # The account's history stays, detached from the deleted account (its domain's admins still see it).
    kept = Event.objects.filter(pk__in=history)
    assert kept.count() == len(history) and not kept.exclude(account=None).exists()
    assert history <= set(event_list(caller=cloud.admin).values_list("pk", flat=True))
    assert not history & set(event_list(caller=cloud.bob).values_list("pk", flat=True))


def test_delete_refuses_the_last_root_admin_account(cloud):
    lonely = factories.UserFactory(username="super", account=None, is_superuser=True)
    with pytest.raises(InvalidParameter):
        account_delete(caller=lonely, account=cloud.admin.account)
    assert Account.objects.get(pk=cloud.admin.account_id).state == Account.State.ENABLED
