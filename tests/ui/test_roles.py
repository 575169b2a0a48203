"""The roles pages and the rule editor: root admins create roles and edit their ordered rules with POST forms;
domain admins only read; built-in roles cannot be changed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.roles import DOMAIN_ADMIN_ROLE, READ_ONLY_ROLE, ROOT_ADMIN_ROLE, Role, RolePermission
from portal.models import Event
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

ROLES = reverse("accounts:role_list")


def page(role: Role) -> str:
    return reverse("accounts:role_detail", args=[role.uuid])


def rule_rows(html: str) -> list[str]:
    """The rule table's rows as "rule permission" text, in order."""
    rows = re.findall(r'<tr data-rule="[^"]+">(.*?)</tr>', html, re.S)
    texts = []
    for row in rows:
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        texts.append(f"{cells[1]} {cells[2]}")
    return texts


def _rules(role: Role) -> list[tuple[str, str]]:
    return list(role.permissions.order_by("sort_order", "pk").values_list("rule", "permission"))


def test_the_roles_list(cloud, login):
    factories.RoleFactory(name="Operators", description="Run the VMs")
    client = login(cloud.admin)

    html = client.get(ROLES).content.decode()

    for name in ("Root Admin", "Domain Admin", "User", "Read-Only", "Operators"):
        assert f"<strong>{name}</strong>" in html
    assert reverse("accounts:role_add") in html
    assert ROLES in client.get(reverse("ui:dashboard")).content.decode()  # in the Administration menu
    searched = client.get(ROLES, {"q": "run the"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="role-table")
    assert "<strong>Operators</strong>" in searched.content.decode()
    assert "<strong>User</strong>" not in searched.content.decode() and "<html" not in searched.content.decode()


def test_create_a_role_and_edit_its_rules(cloud, login):
    client = login(cloud.admin)
    assert 'name="csrfmiddlewaretoken"' in client.get(reverse("accounts:role_add")).content.decode()

    response = client.post(reverse("accounts:role_add"), {"name": "Operators", "role_type": "User",
                                                           "description": "Run VMs"})
    role = Role.objects.get(name="Operators")
    assert response.status_code == 302 and response["Location"] == page(role)

    add = reverse("accounts:role_rule_add", args=[role.uuid])
    for rule, permission in (("deployVirtualMachine", "deny"), ("vm.*", "allow"), ("*", "deny")):
        assert client.post(add, {"rule": rule, "permission": permission}).status_code == 302
    html = client.get(page(role)).content.decode()
    assert rule_rows(html) == ["deployVirtualMachine Deny", "vm.* Allow", "* Deny"]

    last = role.permissions.get(rule="*")
    move = reverse("accounts:role_rule_move", args=[role.uuid, last.uuid])
    assert client.post(move, {"direction": "up"}).status_code == 302
    assert _rules(role) == [("deployVirtualMachine", "deny"), ("*", "deny"), ("vm.*", "allow")]
    first = role.permissions.get(rule="deployVirtualMachine")
    client.post(reverse("accounts:role_rule_move", args=[role.uuid, first.uuid]), {"direction": "down"})
    assert _rules(role) == [("*", "deny"), ("deployVirtualMachine", "deny"), ("vm.*", "allow")]

    client.post(reverse("accounts:role_rule_permission", args=[role.uuid, first.uuid]), {"permission": "allow"})
    client.post(reverse("accounts:role_rule_delete", args=[role.uuid, last.uuid]))
    html = client.get(page(role)).content.decode()
    assert rule_rows(html) == ["deployVirtualMachine Allow", "vm.* Allow"]
    assert set(Event.objects.filter(user=cloud.admin).values_list("type", flat=True)) >= {
        "ROLE.CREATE", "ROLE.PERMISSION.CREATE", "ROLE.PERMISSION.UPDATE", "ROLE.PERMISSION.DELETE"}


@pytest.mark.parametrize(("rule", "message"), [("no.such.action", "matches no action"),
                                               ("vm deploy", "Invalid rule"), ("", "This field is required")])
def test_a_bad_rule_is_an_inline_error_and_adds_nothing(cloud, login, rule, message):
    role = factories.RoleFactory(rules=[("vm.deploy", "deny")])

    response = login(cloud.admin).post(reverse("accounts:role_rule_add", args=[role.uuid]),
                                       {"rule": rule, "permission": "allow"})

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and rule_rows(html) == ["vm.deploy Deny"]
    assert _rules(role) == [("vm.deploy", "deny")]


def test_edit_and_delete_a_role(cloud, login):
    client = login(cloud.admin)
    role = factories.RoleFactory(name="Temp")
    holder = factories.AccountFactory(role=role)

    response = client.post(reverse("accounts:role_edit", args=[role.uuid]),
                           {"name": "Temporary", "role_type": "DomainAdmin", "description": ""})
    assert response.status_code == 400 and "held by accounts" in response.content.decode()
    response = client.post(reverse("accounts:role_edit", args=[role.uuid]),
                           {"name": "Temporary", "role_type": "User", "description": "x"})
    assert response.status_code == 302 and Role.objects.get(pk=role.pk).name == "Temporary"

    delete = reverse("accounts:role_delete", args=[role.uuid])
    assert client.get(delete).status_code == 200
    response = client.post(delete)
    assert response.status_code == 400 and "held by 1 account" in response.content.decode()
    holder.delete()
    response = client.post(delete)
    assert response.status_code == 302 and response["Location"] == ROLES
    assert not Role.objects.filter(pk=role.pk).exists()


def test_builtin_roles_offer_no_editor_and_refuse_changes(cloud, login):
    read_only = Role.objects.get(uuid=READ_ONLY_ROLE)
    first = read_only.permissions.order_by("sort_order").first()
    client = login(cloud.admin)

    html = client.get(page(read_only)).content.decode()

    assert "Built-in roles cannot be changed" in html
    assert reverse("accounts:role_rule_add", args=[read_only.uuid]) not in html
    assert reverse("accounts:role_edit", args=[read_only.uuid]) not in html
    assert rule_rows(html)[-1] == "* Deny"
    before = _rules(read_only)
    assert client.post(reverse("accounts:role_rule_add", args=[read_only.uuid]),
                       {"rule": "vm.*", "permission": "allow"}).status_code == 403
    assert client.post(reverse("accounts:role_rule_delete", args=[read_only.uuid, first.uuid])).status_code == 403
    assert client.post(reverse("accounts:role_delete", args=[read_only.uuid])).status_code == 400
    assert _rules(read_only) == before and Role.objects.filter(pk=read_only.pk).exists()


def test_domain_admins_read_roles_only(cloud, tenants, login):
    custom = factories.RoleFactory(rules=[("vm.deploy", "deny")])
    client = login(tenants.domain_admin)

    html = client.get(ROLES).content.decode()
    assert "<strong>Domain Admin</strong>" in html and "<strong>Root Admin</strong>" not in html
    assert reverse("accounts:role_add") not in html
    assert client.get(page(Role.objects.get(uuid=ROOT_ADMIN_ROLE))).status_code == 404
    detail = client.get(page(custom)).content.decode()
    assert rule_rows(detail) == ["vm.deploy Deny"]
    assert reverse("accounts:role_rule_add", args=[custom.uuid]) not in detail
    assert client.post(reverse("accounts:role_rule_add", args=[custom.uuid]),
                       {"rule": "*", "permission": "allow"}).status_code == 403
    assert client.get(reverse("accounts:role_add")).status_code == 403
    assert login(cloud.alice).get(ROLES).status_code == 403
    assert _rules(custom) == [("vm.deploy", "deny")]


def test_rule_actions_need_post_and_csrf(cloud, login):
    role = factories.RoleFactory(rules=[("vm.deploy", "deny"), ("*", "allow")])
    rule = role.permissions.get(rule="*")
    client = login(cloud.admin)
    for name, args in (("role_rule_add", [role.uuid]), ("role_rule_move", [role.uuid, rule.uuid]),
                       ("role_rule_permission", [role.uuid, rule.uuid]), ("role_rule_delete", [role.uuid, rule.uuid])):
        assert client.get(reverse(f"accounts:{name}", args=args)).status_code == 405

    strict = login(cloud.admin, enforce_csrf_checks=True)
    response = strict.post(reverse("accounts:role_rule_delete", args=[role.uuid, rule.uuid]))
    assert response.status_code == 403
    assert _rules(role) == [("vm.deploy", "deny"), ("*", "allow")]
    other = factories.RoleFactory(rules=[("*", "deny")]).permissions.get()
    response = client.post(reverse("accounts:role_rule_delete", args=[role.uuid, other.uuid]))
    assert response.status_code == 404 and RolePermission.objects.filter(pk=other.pk).exists()


def test_the_roles_list_query_count_does_not_grow(cloud, login):
    client = login(cloud.admin)

    def add(n: int) -> None:
        for _ in range(n):
            factories.AccountFactory(role=factories.RoleFactory(rules=[("vm.*", "deny")]))

    add(1)
    assert_queries_constant(lambda: ok(client.get(ROLES)), lambda: add(6))
    assert Role.objects.get(uuid=DOMAIN_ADMIN_ROLE).is_default
