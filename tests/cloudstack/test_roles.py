"""The dynamic-role commands over the signed CloudStack API: createRole, listRoles, updateRole, deleteRole,
createRolePermission, listRolePermissions, updateRolePermission, deleteRolePermission, and the role fields of
listUsers."""

from __future__ import annotations

import pytest

from accounts.models import Account
from accounts.roles import READ_ONLY_ROLE, USER_ROLE, Role, RolePermission, builtin_role
from accounts.services import user_keys_register
from portal.models import Event
from tests import factories
from tests.cloudstack.conftest import ENDPOINT, cs_sign
from tests.support.queries import assert_queries_constant, ok

ROLE_KEYS = {"id", "name", "type", "description", "isdefault", "ispublic"}
RULE_KEYS = {"id", "roleid", "rolename", "rule", "permission", "description"}


@pytest.fixture
def as_user(client):
    """as_user(user, command, **params) -> (status, body) of a signed JSON call by any user."""

    def call(user, command, /, **params):
        api_key, secret = user_keys_register(user=user)
        signed = cs_sign({"command": command, "response": "json", **{k: str(v) for k, v in params.items()}},
                         api_key, secret)
        response = client.get(ENDPOINT, signed)
        return response.status_code, response.json()[f"{command.lower()}response"]

    return call


def _rules(role_id: str) -> list[tuple[str, str]]:
    return list(RolePermission.objects.filter(role__uuid=role_id).order_by("sort_order", "pk")
                .values_list("rule", "permission"))


def test_create_list_update_delete_a_role(cloud, api_json):
    status, body = api_json("admin", "createRole", name="Operators", type="user", description="Run VMs")
    assert status == 200, body
    role = body["role"]
    assert set(role) == ROLE_KEYS
    assert (role["name"], role["type"], role["description"], role["isdefault"]) == ("Operators", "User", "Run VMs",
                                                                                    False)
    assert Event.objects.get(type="ROLE.CREATE").user == cloud.admin

    status, body = api_json("admin", "listRoles")
    assert status == 200 and body["count"] == 5
    assert {r["name"] for r in body["role"]} == {"Root Admin", "Domain Admin", "User", "Read-Only", "Operators"}
    status, body = api_json("admin", "listRoles", type="DomainAdmin")
    assert [r["name"] for r in body["role"]] == ["Domain Admin"]
    status, body = api_json("admin", "listRoles", name="Operators")
    assert [r["id"] for r in body["role"]] == [role["id"]]
    status, body = api_json("admin", "listRoles", keyword="run vm")
    assert [r["name"] for r in body["role"]] == ["Operators"]
    status, body = api_json("admin", "listRoles", page=1, pagesize=2)
    assert body["count"] == 5 and len(body["role"]) == 2

    status, body = api_json("admin", "updateRole", id=role["id"], name="Ops", type="DomainAdmin", description="")
    assert status == 200 and (body["role"]["name"], body["role"]["type"]) == ("Ops", "DomainAdmin")
    status, body = api_json("admin", "deleteRole", id=role["id"])
    assert (status, body) == (200, {"success": True})
    assert not Role.objects.filter(uuid=role["id"]).exists()


def test_create_role_copying_another_ones_rules(cloud, api_json):
    status, body = api_json("admin", "createRole", name="Viewer copy", roleid=str(READ_ONLY_ROLE))
    assert status == 200, body
    assert body["role"]["type"] == "User"
    assert _rules(body["role"]["id"]) == _rules(str(READ_ONLY_ROLE))


@pytest.mark.parametrize("params", [
    {"name": "X"},  # neither type nor roleid
    {"name": "X", "type": "Superuser"},
    {"name": "User", "type": "User"},  # taken
    {"name": "X", "roleid": "00000000-0000-0000-0000-000000000000"},
])
def test_create_role_errors(cloud, api_json, params):
    status, body = api_json("admin", "createRole", **params)
    assert status == 431 and body["errorcode"] == 431
    assert Role.objects.count() == 4


def test_role_errors(cloud, api_json):
    custom = factories.RoleFactory()
    factories.AccountFactory(role=custom)
    status, body = api_json("admin", "deleteRole", id=str(custom.uuid))
    assert status == 536 and body["errorcode"] == 536
    status, body = api_json("admin", "updateRole", id=str(custom.uuid), type="Admin")
    assert status == 536
    status, body = api_json("admin", "deleteRole", id=str(USER_ROLE))
    assert status == 531
    status, body = api_json("admin", "updateRole", id=str(READ_ONLY_ROLE), name="Viewer")
    assert status == 531
    status, body = api_json("alice", "createRole", name="Mine", type="User")
    assert status == 401  # not available to end users at all, like CloudStack
    status, body = api_json("alice", "listRoles")
    assert status == 401
    assert Role.objects.filter(uuid=custom.uuid, name=custom.name).exists()


def test_domain_admins_list_roles_without_admin_ones(cloud, as_user):
    factories.RoleFactory(name="Custom admin", role_type="Admin")
    domain_admin = factories.UserFactory(account__account_type=Account.Type.DOMAIN_ADMIN)

    status, body = as_user(domain_admin, "listRoles")
    assert status == 200
    assert {r["type"] for r in body["role"]} == {"DomainAdmin", "User"}
    status, body = as_user(domain_admin, "createRole", name="Mine", type="User")
    assert status == 401


def test_rule_commands(cloud, api_json):
    role = factories.RoleFactory()
    status, body = api_json("admin", "createRolePermission", roleid=str(role.uuid), rule="deployVirtualMachine",
                            permission="DENY", description="no new VMs")
    assert status == 200, body
    deny = body["rolepermission"]
    assert set(deny) == RULE_KEYS
    assert (deny["roleid"], deny["rolename"], deny["rule"], deny["permission"], deny["description"]) == (
        str(role.uuid), role.name, "deployVirtualMachine", "deny", "no new VMs")
    status, body = api_json("admin", "createRolePermission", roleid=str(role.uuid), rule="*", permission="allow")
    allow = body["rolepermission"]

    status, body = api_json("admin", "listRolePermissions", roleid=str(role.uuid))
    assert status == 200 and [r["id"] for r in body["rolepermission"]] == [deny["id"], allow["id"]]
    status, body = api_json("admin", "listRolePermissions")
    assert body["count"] == RolePermission.objects.count()

    status, body = api_json("admin", "updateRolePermission", roleid=str(role.uuid),
                            ruleorder=f"{allow['id']},{deny['id']}")
    assert (status, body) == (200, {"success": True})
    assert _rules(str(role.uuid)) == [("*", "allow"), ("deployVirtualMachine", "deny")]
    status, body = api_json("admin", "updateRolePermission", roleid=str(role.uuid), ruleid=deny["id"],
                            permission="allow")
    assert status == 200
    assert _rules(str(role.uuid)) == [("*", "allow"), ("deployVirtualMachine", "allow")]

    status, body = api_json("admin", "deleteRolePermission", id=deny["id"])
    assert (status, body) == (200, {"success": True})
    assert _rules(str(role.uuid)) == [("*", "allow")]
    types = set(Event.objects.filter(user=cloud.admin, type__startswith="ROLE.PERMISSION").values_list("type",
                                                                                                         flat=True))
    assert types == {"ROLE.PERMISSION.CREATE", "ROLE.PERMISSION.UPDATE", "ROLE.PERMISSION.DELETE"}


def test_rule_errors_change_nothing(cloud, api_json):
    role = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*", "allow")])
    first, second = role.permissions.order_by("sort_order")
    other = factories.RoleFactory(rules=[("*", "deny")]).permissions.get()
    role_id = str(role.uuid)
    for command, params, code in [
        ("createRolePermission", {"roleid": role_id, "rule": "nothing.matches", "permission": "allow"}, 431),
        ("createRolePermission", {"roleid": role_id, "rule": "vm deploy", "permission": "allow"}, 431),
        ("createRolePermission", {"roleid": role_id, "rule": "vm.*", "permission": "maybe"}, 431),
        ("createRolePermission", {"roleid": str(READ_ONLY_ROLE), "rule": "vm.*", "permission": "allow"}, 531),
        ("updateRolePermission", {"roleid": role_id, "ruleorder": str(first.uuid)}, 431),
        ("updateRolePermission", {"roleid": role_id, "ruleorder": f"{second.uuid},{first.uuid}",
                                  "ruleid": str(first.uuid), "permission": "allow"}, 431),
        ("updateRolePermission", {"roleid": role_id}, 431),
        ("updateRolePermission", {"roleid": role_id, "ruleid": str(other.uuid), "permission": "allow"}, 431),
        ("deleteRolePermission", {"id": "00000000-0000-0000-0000-000000000000"}, 431),
    ]:
        status, body = api_json("admin", command, **params)
        assert (status, body["errorcode"]) == (code, code), (command, params, body)
    assert _rules(role_id) == [("vm.deploy", "deny"), ("*", "allow")]
    assert other.permission == "deny" and RolePermission.objects.get(pk=other.pk).permission == "deny"


def test_list_users_carries_the_accounts_role(cloud, api_json):
    role = factories.RoleFactory(name="Operators")
    account = cloud.bob.account
    account.role = role
    account.save()

    _status, body = api_json("admin", "listUsers", username="bob", listall=True)
    user = body["user"][0]
    assert (user["roleid"], user["rolename"], user["roletype"]) == (str(role.uuid), "Operators", "User")


def test_listapis_hides_commands_a_rule_denies(cloud, as_user):
    role = factories.RoleFactory(rules=[("deployVirtualMachine", "deny"), ("*", "allow")])
    user = factories.UserFactory(account__role=role)

    _status, body = as_user(user, "listApis")
    names = {api["name"] for api in body["api"]}
    assert "listVirtualMachines" in names and "deployVirtualMachine" not in names


@pytest.mark.parametrize("command", ["listRoles", "listRolePermissions"])
def test_list_query_count_is_constant(cloud, api, keys, command):
    def add(n: int) -> None:
        for _ in range(n):
            role = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*", "allow")])
            factories.AccountFactory(role=role)

    add(2)
    assert_queries_constant(lambda: ok(api("admin", command, response="json")), lambda: add(6))
    assert builtin_role(USER_ROLE).is_default
