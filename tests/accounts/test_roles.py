"""Roles: the built-in ones, how a role's ordered rules are evaluated (portal.authz), and the role services
(accounts.services_roles) with their refusals and events."""

from __future__ import annotations

import pytest

from accounts.models import Account, User
from accounts.roles import (
    DOMAIN_ADMIN_ROLE,
    READ_ONLY_ROLE,
    ROOT_ADMIN_ROLE,
    USER_ROLE,
    Role,
    RolePermission,
    RoleType,
    builtin_role,
)
from accounts.selectors_roles import role_get, role_list, role_permission_list
from accounts.services_roles import (
    role_create,
    role_delete,
    role_permission_create,
    role_permission_delete,
    role_permission_move,
    role_permission_update,
    role_permissions_reorder,
    role_update,
)
from portal import authz
from portal.errors import InvalidParameter, NotFound, PermissionDenied, ResourceInUse
from portal.models import Event
from tests import factories


def member(role: Role, **kwargs) -> User:
    """A user of a fresh account holding `role`, loaded as a request would load it."""
    account_type = {RoleType.ADMIN: Account.Type.ROOT_ADMIN, RoleType.DOMAIN_ADMIN: Account.Type.DOMAIN_ADMIN,
                    RoleType.USER: Account.Type.USER}[role.role_type]
    user = factories.UserFactory(account__role=role, account__account_type=account_type, **kwargs)
    return User.objects.select_related("account").get(pk=user.pk)


def rules(role: Role) -> list[tuple[str, str]]:
    return list(role.permissions.order_by("sort_order", "pk").values_list("rule", "permission"))


# --- built-in roles ---------------------------------------------------------------------------------------

def test_builtin_roles_and_every_account_gets_its_types_role(cloud):
    assert builtin_role(ROOT_ADMIN_ROLE).role_type == RoleType.ADMIN
    assert builtin_role(DOMAIN_ADMIN_ROLE).role_type == RoleType.DOMAIN_ADMIN
    assert builtin_role(USER_ROLE).role_type == RoleType.USER
    read_only = builtin_role(READ_ONLY_ROLE)
    assert read_only.role_type == RoleType.USER and read_only.is_default and rules(read_only)[-1] == ("*", "deny")
    assert Role.objects.filter(is_default=True).count() == 4
    assert cloud.admin.account.role.uuid == ROOT_ADMIN_ROLE
    assert cloud.alice.account.role.uuid == USER_ROLE
    domain_admin = factories.AccountFactory(account_type=Account.Type.DOMAIN_ADMIN)
    assert domain_admin.role.uuid == DOMAIN_ADMIN_ROLE


def test_an_account_cannot_hold_a_role_of_another_type(cloud):
    account = cloud.alice.account
    account.role = builtin_role(ROOT_ADMIN_ROLE)
    with pytest.raises(ValueError):
        account.save()
    assert Account.objects.get(pk=account.pk).role.uuid == USER_ROLE


def test_read_only_lists_and_views_but_changes_nothing(cloud):
    viewer = member(builtin_role(READ_ONLY_ROLE))
    for action in ("vm.list", "vm.view", "zone.list", "job.view", "dashboard.view", "profile.view",
                   "api.discover", "user.keys.get", "user.password"):
        assert authz.can(viewer, action), action
    for action in ("vm.deploy", "vm.stop", "vm.start", "vm.destroy", "vm.console", "user.keys.register",
                   "vm.grant", "user.update"):
        assert not authz.can(viewer, action), action


def test_builtin_roles_without_rules_leave_the_type_ceiling(cloud):
    for action in ("vm.deploy", "vm.stop", "limit.list"):
        assert authz.can(cloud.alice, action)
    assert authz.can(cloud.admin, "host.add") and not authz.can(cloud.alice, "host.add")


# --- evaluation -------------------------------------------------------------------------------------------

def test_the_first_matching_rule_wins(cloud):
    deny_first = member(factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*", "allow")]))
    allow_first = member(factories.RoleFactory(rules=[("*", "allow"), ("vm.deploy", "deny")]))

    assert not authz.can(deny_first, "vm.deploy") and authz.can(deny_first, "vm.start")
    assert authz.can(allow_first, "vm.deploy")
    with pytest.raises(PermissionDenied, match=r"vm\.deploy"):
        authz.authorize(deny_first, "vm.deploy")


def test_wildcards_on_action_names(cloud):
    user = member(factories.RoleFactory(rules=[("*.list", "allow"), ("vm.*", "deny")]))

    assert authz.can(user, "vm.list")  # *.list comes first
    assert not authz.can(user, "vm.deploy") and not authz.can(user, "vm.view")
    assert authz.can(user, "zone.list") and authz.can(user, "job.view")  # no rule matches: the type decides


def test_wildcards_and_names_of_cloudstack_commands(cloud):
    by_prefix = member(factories.RoleFactory(rules=[("deploy*", "deny")]))
    by_name = member(factories.RoleFactory(rules=[("stopVirtualMachine", "deny"), ("list*", "deny")]))

    assert not authz.can(by_prefix, "vm.deploy") and authz.can(by_prefix, "vm.destroy")
    assert not authz.can(by_name, "vm.stop") and authz.can(by_name, "vm.start")
    assert not authz.can(by_name, "vm.list") and not authz.can(by_name, "zone.list")
    assert authz.can(by_name, "vm.view")  # no command of vm.view is named list...


def test_patterns_are_case_sensitive_like_cloudstack(cloud):
    user = member(factories.RoleFactory(rules=[("DEPLOYVIRTUALMACHINE", "deny"), ("VM.*", "deny")]))

    assert authz.can(user, "vm.deploy")


def test_rules_never_exceed_the_role_types_ceiling(cloud):
    user = member(factories.RoleFactory(rules=[("*", "allow")]))
    domain_admin = member(factories.RoleFactory(role_type=RoleType.DOMAIN_ADMIN, rules=[("host.*", "allow")]))

    for action in ("host.add", "role.create", "limit.update"):
        assert not authz.can(user, action), action
    assert not authz.can(domain_admin, "host.add") and authz.can(domain_admin, "limit.update")


def test_no_matching_rule_falls_back_to_the_type(cloud):
    user = member(factories.RoleFactory(rules=[("vm.deploy", "deny")]))

    assert authz.can(user, "vm.start") and authz.can(user, "template.list")
    assert not authz.can(user, "host.list")


def test_admin_roles_can_be_narrowed_too(cloud):
    admin = member(factories.RoleFactory(role_type=RoleType.ADMIN, rules=[("host.add", "deny")]), is_superuser=False)

    assert authz.can(admin, "host.list") and not authz.can(admin, "host.add")


def test_superuser_without_account_is_root_admin(db):
    root = User.objects.create_superuser("system", "system@example.test", "x")

    assert authz.can(root, "host.add") and authz.can(root, "role.create")


def test_rules_are_read_once_per_caller_object(cloud, django_assert_num_queries):
    user = member(factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*.list", "allow")]))
    actions = [action for action, types in authz.ACTIONS.items() if authz.Role.USER in types]

    with django_assert_num_queries(1):
        results = [authz.can(user, action) for action in actions * 3]
    assert results.count(False) == 3  # vm.deploy, each round
    with django_assert_num_queries(0):
        authz.can(user, "vm.stop")


def test_a_fresh_caller_sees_changed_rules(cloud):
    role = factories.RoleFactory()
    user = member(role)
    assert authz.can(user, "vm.deploy")

    role_permission_create(caller=cloud.admin, role=role, rule="deployVirtualMachine", permission="deny")

    assert not authz.can(member_reload(user), "vm.deploy")


def member_reload(user: User) -> User:
    return User.objects.select_related("account").get(pk=user.pk)


# --- services: roles --------------------------------------------------------------------------------------

def test_create_a_role_and_copy_another_ones_rules(cloud):
    source = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*", "allow")])

    empty = role_create(caller=cloud.admin, name="Operators", role_type="User", description=" ops ")
    copy = role_create(caller=cloud.admin, name="Copy", source=source)

    assert (empty.role_type, empty.description, rules(empty)) == ("User", "ops", [])
    assert copy.role_type == source.role_type and rules(copy) == rules(source)
    event = Event.objects.get(type="ROLE.CREATE", resource_id=str(empty.uuid))
    assert event.user == cloud.admin and event.account == cloud.admin.account


@pytest.mark.parametrize(("name", "role_type"), [("", "User"), ("  ", "User"), ("x" * 256, "User"),
                                                 ("user", "User"), ("New", "Root"), ("New", None)])
def test_invalid_roles_are_refused(cloud, name, role_type):
    before = Role.objects.count()
    with pytest.raises(InvalidParameter):
        role_create(caller=cloud.admin, name=name, role_type=role_type)
    assert Role.objects.count() == before and not Event.objects.filter(type="ROLE.CREATE").exists()


def test_only_root_admins_change_roles(cloud):
    domain_admin = member(builtin_role(DOMAIN_ADMIN_ROLE))
    role = factories.RoleFactory()
    for call in (lambda u: role_create(caller=u, name="Mine", role_type="User"),
                 lambda u: role_update(caller=u, role=role, name="Renamed"),
                 lambda u: role_delete(caller=u, role=role),
                 lambda u: role_permission_create(caller=u, role=role, rule="vm.deploy", permission="deny")):
        for user in (cloud.alice, domain_admin):
            with pytest.raises(PermissionDenied):
                call(user)
    assert Role.objects.get(pk=role.pk).name == role.name and not role.permissions.exists()


def test_domain_admins_see_no_admin_roles(cloud):
    domain_admin = member(builtin_role(DOMAIN_ADMIN_ROLE))
    custom_admin = factories.RoleFactory(role_type=RoleType.ADMIN)

    seen = set(role_list(caller=domain_admin).values_list("role_type", flat=True))
    assert seen == {"DomainAdmin", "User"}
    with pytest.raises(NotFound):
        role_get(caller=domain_admin, role_id=str(custom_admin.uuid))
    assert role_get(caller=cloud.admin, role_id=str(custom_admin.uuid)) == custom_admin
    with pytest.raises(PermissionDenied):
        role_list(caller=cloud.alice)


def test_builtin_roles_are_protected(cloud):
    read_only = builtin_role(READ_ONLY_ROLE)
    before = rules(read_only)
    first = read_only.permissions.order_by("sort_order").first()
    for call in (lambda: role_update(caller=cloud.admin, role=read_only, name="Viewer"),
                 lambda: role_update(caller=cloud.admin, role=read_only, description="changed"),
                 lambda: role_delete(caller=cloud.admin, role=builtin_role(USER_ROLE)),
                 lambda: role_permission_create(caller=cloud.admin, role=read_only, rule="vm.deploy",
                                                permission="allow"),
                 lambda: role_permission_update(caller=cloud.admin, rule=first, permission="deny"),
                 lambda: role_permission_delete(caller=cloud.admin, rule=first),
                 lambda: role_permission_move(caller=cloud.admin, rule=first, up=False)):
        with pytest.raises(PermissionDenied):
            call()
    read_only.refresh_from_db()
    assert read_only.name == "Read-Only" and rules(read_only) == before
    assert Role.objects.filter(uuid=USER_ROLE).exists()


def test_a_role_in_use_cannot_be_deleted_or_retyped(cloud):
    role = factories.RoleFactory()
    holder = member(role)

    with pytest.raises(ResourceInUse):
        role_delete(caller=cloud.admin, role=role)
    with pytest.raises(ResourceInUse):
        role_update(caller=cloud.admin, role=role, role_type="DomainAdmin")
    assert Role.objects.get(pk=role.pk).role_type == "User"

    role_update(caller=cloud.admin, role=role, name="Renamed", description="still in use")
    holder.account.role = builtin_role(USER_ROLE)
    holder.account.save()
    role_update(caller=cloud.admin, role=role, role_type="DomainAdmin")
    role_delete(caller=cloud.admin, role=role)
    assert not Role.objects.filter(pk=role.pk).exists()
    assert [e.user for e in Event.objects.filter(type__startswith="ROLE.", resource_id=str(role.uuid))] == [
        cloud.admin] * 3


# --- services: rules --------------------------------------------------------------------------------------

def test_rules_are_appended_changed_and_deleted_with_events(cloud):
    role = factories.RoleFactory()
    deny = role_permission_create(caller=cloud.admin, role=role, rule="vm.deploy", permission="deny",
                                  description="no new VMs")
    allow = role_permission_create(caller=cloud.admin, role=role, rule="*", permission="allow")
    assert rules(role) == [("vm.deploy", "deny"), ("*", "allow")] and allow.sort_order > deny.sort_order

    role_permission_update(caller=cloud.admin, rule=deny, permission="allow")
    role_permission_delete(caller=cloud.admin, rule=allow)

    assert rules(role) == [("vm.deploy", "allow")]
    types = list(Event.objects.filter(resource_id=str(role.uuid), user=cloud.admin).order_by("pk")
                 .values_list("type", flat=True))
    assert types == ["ROLE.PERMISSION.CREATE"] * 2 + ["ROLE.PERMISSION.UPDATE", "ROLE.PERMISSION.DELETE"]


@pytest.mark.parametrize("rule", ["", "  ", "vm deploy", "vm.deploy;", "DEPLOYVIRTUALMACHINE", "nosuch.action",
                                  "x" * 256, "vm/*"])
def test_a_bad_rule_is_refused_and_changes_nothing(cloud, rule):
    role = factories.RoleFactory(rules=[("*", "allow")])
    with pytest.raises(InvalidParameter):
        role_permission_create(caller=cloud.admin, role=role, rule=rule, permission="deny")
    assert rules(role) == [("*", "allow")] and not Event.objects.filter(type__startswith="ROLE.").exists()


def test_a_bad_permission_is_refused(cloud):
    role = factories.RoleFactory(rules=[("*", "allow")])
    with pytest.raises(InvalidParameter):
        role_permission_create(caller=cloud.admin, role=role, rule="vm.*", permission="maybe")
    with pytest.raises(InvalidParameter):
        role_permission_update(caller=cloud.admin, rule=role.permissions.get(), permission="ALLOW!")
    assert rules(role) == [("*", "allow")]


def test_reorder_takes_the_full_new_order(cloud):
    role = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("vm.stop", "deny"), ("*", "allow")])
    deploy, stop, anything = role_permission_list(caller=cloud.admin, role=role)

    role_permissions_reorder(caller=cloud.admin, role=role, order=[str(anything.uuid), str(deploy.uuid),
                                                                   str(stop.uuid)])
    assert rules(role) == [("*", "allow"), ("vm.deploy", "deny"), ("vm.stop", "deny")]
    assert authz.can(member(role), "vm.deploy")

    for bad in ([str(deploy.uuid)], [str(deploy.uuid)] * 3, [str(deploy.uuid), str(stop.uuid), "nope"],
                [str(deploy.uuid), str(stop.uuid), str(anything.uuid), str(factories.RoleFactory(
                    rules=[("*", "deny")]).permissions.get().uuid)]):
        with pytest.raises(InvalidParameter):
            role_permissions_reorder(caller=cloud.admin, role=role, order=bad)
    assert rules(role) == [("*", "allow"), ("vm.deploy", "deny"), ("vm.stop", "deny")]


def test_move_swaps_with_a_neighbour(cloud):
    role = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("vm.stop", "deny"), ("*", "allow")])
    anything = role.permissions.get(rule="*")

    role_permission_move(caller=cloud.admin, rule=anything, up=True)
    assert rules(role) == [("vm.deploy", "deny"), ("*", "allow"), ("vm.stop", "deny")]
    role_permission_move(caller=cloud.admin, rule=role.permissions.get(rule="vm.deploy"), up=True)  # at the top
    assert rules(role)[0] == ("vm.deploy", "deny")


def test_rule_listing_stays_within_what_the_caller_sees(cloud):
    domain_admin = member(builtin_role(DOMAIN_ADMIN_ROLE))
    admin_role = factories.RoleFactory(role_type=RoleType.ADMIN, rules=[("host.add", "deny")])
    user_role = factories.RoleFactory(rules=[("vm.deploy", "deny")])

    seen = {rule.role_id for rule in role_permission_list(caller=domain_admin)}
    assert user_role.pk in seen and admin_role.pk not in seen
    assert RolePermission.objects.filter(role=admin_role).exists()


# --- the migration ----------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_accounts_their_builtin_role():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("accounts", "0003_resource_limits")], [("accounts", "0004_roles")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        root = old.get_model("accounts", "Domain").objects.create(name="ROOT", path="ROOT/", level=0)
        made = {account_type: old.get_model("accounts", "Account").objects.create(
            name=f"a{account_type}", domain=root, account_type=account_type) for account_type in (0, 1, 2)}

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        roles = {account.pk: str(account.role.uuid)
                 for account in new.get_model("accounts", "Account").objects.select_related("role")}
        assert roles == {made[0].pk: str(USER_ROLE), made[1].pk: str(ROOT_ADMIN_ROLE),
                         made[2].pk: str(DOMAIN_ADMIN_ROLE)}
        assert new.get_model("accounts", "Role").objects.filter(is_default=True).count() == 4
        read_only = new.get_model("accounts", "RolePermission").objects.filter(role__uuid=READ_ONLY_ROLE)
        assert list(read_only.order_by("sort_order").values_list("rule", flat=True))[-1] == "*"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
