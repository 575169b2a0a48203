"""REST resources of roles: /api/v1/roles/ and /api/v1/roles/{id}/permissions/ (rule editor, reorder)."""

from __future__ import annotations

import pytest

from accounts.models import Account
from accounts.roles import READ_ONLY_ROLE, USER_ROLE, Role, RolePermission
from portal.models import Event
from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

ROLES = "/api/v1/roles/"


def rules_url(role) -> str:
    return f"{ROLES}{role.uuid if hasattr(role, 'uuid') else role}/permissions/"


def _rules(role: Role) -> list[tuple[str, str]]:
    return list(role.permissions.order_by("sort_order", "pk").values_list("rule", "permission"))


def test_role_lifecycle(cloud, client_for):
    api = client_for(cloud.admin)

    response = api.post(ROLES, {"name": "Operators", "role_type": "User", "description": "Run VMs"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["name"], created["role_type"], created["is_default"], created["account_count"],
            created["rule_count"]) == ("Operators", "User", False, 0, 0)
    assert created["url"].endswith(f"{ROLES}{created['id']}/")

    listed = api.get(ROLES, {"role_type": "user", "ordering": "name"}).json()
    assert [r["name"] for r in listed["results"]] == ["Operators", "Read-Only", "User"]
    assert [r["name"] for r in api.get(ROLES, {"keyword": "run vm"}).json()["results"]] == ["Operators"]

    response = api.patch(f"{ROLES}{created['id']}/", {"name": "Ops", "role_type": "DomainAdmin"}, format="json")
    assert response.status_code == 200 and (response.json()["name"], response.json()["role_type"]) == (
        "Ops", "DomainAdmin")
    assert api.delete(f"{ROLES}{created['id']}/").status_code == 204
    assert not Role.objects.filter(uuid=created["id"]).exists()
    assert list(Event.objects.filter(type__startswith="ROLE.").order_by("pk").values_list("type", "user")) == [
        ("ROLE.CREATE", cloud.admin.pk), ("ROLE.UPDATE", cloud.admin.pk), ("ROLE.DELETE", cloud.admin.pk)]


def test_copy_a_role(cloud, client_for):
    response = client_for(cloud.admin).post(ROLES, {"name": "Viewer", "source": str(READ_ONLY_ROLE)}, format="json")
    assert response.status_code == 201, response.content
    copy = Role.objects.get(uuid=response.json()["id"])
    assert copy.role_type == "User" and _rules(copy) == _rules(Role.objects.get(uuid=READ_ONLY_ROLE))


def test_role_errors(cloud, client_for):
    api = client_for(cloud.admin)
    custom = factories.RoleFactory()
    factories.AccountFactory(role=custom)

    assert api.post(ROLES, {"name": "X"}, format="json").status_code == 400  # neither type nor source
    assert_error(api.post(ROLES, {"name": "user", "role_type": "User"}, format="json"), 400, 431)
    assert_error(api.delete(f"{ROLES}{custom.uuid}/"), 409, 536)
    assert_error(api.patch(f"{ROLES}{custom.uuid}/", {"role_type": "Admin"}, format="json"), 409, 536)
    assert_error(api.delete(f"{ROLES}{USER_ROLE}/"), 403, 531)
    assert_error(api.patch(f"{ROLES}{READ_ONLY_ROLE}/", {"name": "Viewer"}, format="json"), 403, 531)
    assert_error(api.get(f"{ROLES}not-a-uuid/"), 404, 431)
    assert Role.objects.count() == 5


def test_who_may_see_and_change_roles(cloud, client_for):
    admin_role = factories.RoleFactory(role_type="Admin")
    domain_admin = factories.UserFactory(account__account_type=Account.Type.DOMAIN_ADMIN)
    api = client_for(domain_admin)

    assert {r["role_type"] for r in api.get(ROLES).json()["results"]} == {"DomainAdmin", "User"}
    assert_error(api.get(f"{ROLES}{admin_role.uuid}/"), 404, 431)
    assert_error(api.post(ROLES, {"name": "Mine", "role_type": "User"}, format="json"), 403, 531)
    assert_error(client_for(cloud.alice).get(ROLES), 403, 531)
    assert_error(client_for(cloud.alice).get(rules_url(USER_ROLE)), 403, 531)


def test_rule_editor(cloud, client_for):
    api = client_for(cloud.admin)
    role = factories.RoleFactory()

    response = api.post(rules_url(role), {"rule": "vm.deploy", "permission": "deny", "description": "no"},
                        format="json")
    assert response.status_code == 201, response.content
    deny = response.json()
    assert set(deny) == {"id", "position", "rule", "permission", "description"}
    allow = api.post(rules_url(role), {"rule": "*", "permission": "allow"}, format="json").json()
    assert [r["id"] for r in api.get(rules_url(role)).json()] == [deny["id"], allow["id"]]

    response = api.post(f"{rules_url(role)}reorder/", {"order": [allow["id"], deny["id"]]}, format="json")
    assert response.status_code == 200 and [r["rule"] for r in response.json()] == ["*", "vm.deploy"]
    response = api.patch(f"{rules_url(role)}{deny['id']}/", {"permission": "allow"}, format="json")
    assert response.status_code == 200 and response.json()["permission"] == "allow"
    assert api.delete(f"{rules_url(role)}{allow['id']}/").status_code == 204
    assert _rules(role) == [("vm.deploy", "allow")]


def test_rule_errors_change_nothing(cloud, client_for):
    api = client_for(cloud.admin)
    role = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*", "allow")])
    other = factories.RoleFactory(rules=[("*", "deny")]).permissions.get()
    first = role.permissions.order_by("sort_order").first()

    error = assert_error(api.post(rules_url(role), {"rule": "no.such", "permission": "deny"}, format="json"),
                         400, 431)
    assert "matches no action" in error["message"]
    assert api.post(rules_url(role), {"rule": "vm.*", "permission": "perhaps"}, format="json").status_code == 400
    assert_error(api.post(f"{rules_url(role)}reorder/", {"order": [str(first.uuid)]}, format="json"), 400, 431)
    assert_error(api.patch(f"{rules_url(role)}{other.uuid}/", {"permission": "allow"}, format="json"), 404, 431)
    assert_error(api.delete(f"{rules_url(role)}{other.uuid}/"), 404, 431)
    read_only = Role.objects.get(uuid=READ_ONLY_ROLE)
    assert_error(api.post(rules_url(read_only), {"rule": "vm.*", "permission": "allow"}, format="json"), 403, 531)
    assert _rules(role) == [("vm.deploy", "deny"), ("*", "allow")]
    assert RolePermission.objects.get(pk=other.pk).permission == "deny"


@pytest.mark.parametrize("path", ["roles", "rules"])
def test_list_query_count_does_not_grow(cloud, client_for, path):
    api = client_for(cloud.admin)
    target = factories.RoleFactory()

    def add(n: int) -> None:
        for _ in range(n):
            factories.AccountFactory(role=factories.RoleFactory(rules=[("vm.*", "deny")]))
            RolePermission.objects.create(role=target, rule="zone.list", permission="allow",
                                          sort_order=RolePermission.objects.filter(role=target).count())

    add(2)
    assert_queries_constant(lambda: ok(api.get(ROLES if path == "roles" else rules_url(target))), lambda: add(6))
