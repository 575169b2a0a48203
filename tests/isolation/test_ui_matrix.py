"""Tenant isolation through the web UI: one line per page or form action (see tests/isolation/matrix.py for
what each actor must get)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD
from tests.isolation.matrix import DENIED, EMPTY_PANEL, MAY_SEE, ROOT_CONTROL, SEES, check, matrix, ui
from tests.isolation.world import LDAP_GROUP, World

pytestmark = pytest.mark.django_db


NEW_PASSWORD = "Zebra-Quantum-Lattice-93"


def vm_action(action: str):
    return lambda w: reverse(f"compute:vm_{action}", kwargs={"vm_id": w.vm.uuid})


def page(name: str, query: Callable[[World], str] | None = None, **kwargs):
    """The URL of a named route (a missing name raises NoReverseMatch: the row fails loudly)."""
    return lambda w: reverse(name, kwargs={k: v(w) for k, v in kwargs.items()}) + (query(w) if query else "")


def a(w: World) -> str:
    return str(w.a.uuid)


def a1(w: World) -> str:
    return str(w.a1.uuid)


def child(w: World) -> str:
    return str(w.child.uuid)


def north(w: World) -> str:
    return str(w.north.uuid)


def of_a(w: World) -> str:
    return f"?account={w.a.uuid}"


def role(w: World) -> str:
    return str(w.role.uuid)


def admin_role(w: World) -> str:
    return str(w.admin_role.uuid)


def rule(w: World) -> str:
    return str(w.rule.uuid)


def vm_controls(w: World) -> list[str]:
    """What the shared VM's page must not offer a console-only grantee: its power actions."""
    return [vm_action(action)(w) for action in ("start", "stop", "reboot", "destroy")]


ROWS = [
    # Virtual machines, jobs, events
    # The grantee b2 sees the shared VM (SEES) and may do nothing to it but open its console (DENIED).
    ui("list", "GET", page("compute:vm_list"), name="vm list", shows=lambda w: w.vm.name, grantee=SEES),
    ui("list", "GET", lambda w: reverse("compute:vm_list") + f"?q={w.vm.name}", name="vm list?q",
       shows=lambda w: str(w.vm.uuid), grantee=SEES),
    ui("detail", "GET", page("compute:vm_detail", vm_id=lambda w: w.vm.uuid), name="vm detail",
       shows=lambda w: w.vm.name, grantee=SEES, grantee_hides=vm_controls),
    ui("write", "POST", vm_action("stop"), name="vm stop", grantee=DENIED),
    ui("write", "POST", vm_action("reboot"), name="vm reboot", grantee=DENIED),
    ui("write", "POST", vm_action("destroy"), name="vm destroy", grantee=DENIED),
    # A's VM is Running, so the control's start would only be refused as InvalidState: outsiders only.
    ui("write", "POST", vm_action("start"), name="vm start", control=None, grantee=DENIED),
    ui("list", "GET", page("ui:job_list"), name="job list", shows=lambda w: w.vm.name),
    ui("detail", "GET", page("ui:job_detail", job_id=lambda w: w.job.uuid), name="job detail",
       shows=lambda w: w.vm.name),
    ui("list", "GET", page("ui:event_list"), name="event list", shows=lambda w: w.vm.name),
    ui("list", "GET", page("ui:dashboard"), name="dashboard", shows=lambda w: w.vm.name, grantee=MAY_SEE),
    # The console page (issue 7): what the grantee's console grant is for.
    ui("detail", "GET", page("compute:vm_console", vm_id=lambda w: w.vm.uuid), name="vm console",
       shows=lambda w: w.vm.name, grantee=SEES),
    # VM sharing (the grantee may not see the grants, re-share or revoke: a grant is never a right to share)
    ui("list", "GET", page("compute:vm_sharing", vm_id=lambda w: w.vm.uuid), name="vm sharing",
       shows=lambda w: w.b2.username, grantee=DENIED, grantee_answer=EMPTY_PANEL),
    ui("write", "POST", page("compute:vm_sharing_grant", vm_id=lambda w: w.vm.uuid),
       lambda w: {"user": str(w.b1.uuid), "permission": "operate"}, name="vm share", grantee=DENIED),
    ui("write", "POST", page("compute:vm_sharing_grant", vm_id=lambda w: w.vm.uuid),
       lambda w: {"user": str(w.b1.uuid), "permission": "console"}, name="vm share (console re-share)",
       grantee=DENIED),
    ui("write", "POST", page("compute:vm_sharing_revoke", vm_id=lambda w: w.vm.uuid),
       lambda w: {"user": str(w.b2.uuid), "permission": "console"}, name="vm unshare", grantee=DENIED),
    # Domains: north's subdomain is within the north admin's reach, nobody else's here
    ui("list", "GET", page("accounts:domain_list"), name="domain list", shows=lambda w: w.child.name),
    ui("detail", "GET", page("accounts:domain_edit", domain_id=child), name="domain edit page",
       shows=lambda w: w.child.name),
    ui("write", "POST", page("accounts:domain_edit", domain_id=child), lambda w: {"name": "renamed"},
       name="domain edit"),
    ui("detail", "GET", page("accounts:domain_delete", domain_id=child), name="domain delete page",
       shows=lambda w: w.child.name),
    ui("write", "POST", page("accounts:domain_delete", domain_id=child), lambda w: {"cleanup": "on"},
       name="domain delete"),
    ui("detail", "GET", page("accounts:domain_add", domain_id=north), name="domain add page (under north)",
       shows=lambda w: w.north.name),
    ui("write", "POST", page("accounts:domain_add", domain_id=north), lambda w: {"name": "implant"},
       name="domain add (under north)"),
    # Accounts
    ui("detail", "GET", page("accounts:account_add", lambda w: f"?domain={w.north.uuid}"),
       name="account add page (in north)", shows=lambda w: w.north.cloudstack_path,
       hides=lambda w: [w.admin_role.name]),  # a domain admin is never offered an Admin-type role
    ui("write", "POST", page("accounts:account_add"),
       lambda w: {"domain": str(w.north.uuid), "account_type": 0, "name": "implant-acct", "username": "intruder",
                  "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, name="account add (in north)",
       hidden=(400, None)),  # north is no choice of the domain field: the form's error
    ui("list", "GET", page("accounts:account_list"), name="account list", shows=lambda w: w.a.name),
    ui("list", "GET", page("accounts:account_list", lambda w: f"?domain={w.north.uuid}"),
       name="account list?domain", shows=lambda w: w.a.name),
    ui("list", "GET", page("accounts:account_list", lambda w: f"?q={w.a.name}"), name="account list?q",
       shows=lambda w: str(w.a.uuid)),
    ui("detail", "GET", page("accounts:account_detail", account_id=a), name="account detail",
       shows=lambda w: w.a1.username),
    ui("detail", "GET", page("accounts:account_edit", account_id=a), name="account edit page",
       shows=lambda w: w.a.name),
    ui("write", "POST", page("accounts:account_edit", account_id=a), lambda w: {"name": "renamed"},
       name="account edit"),
    ui("write", "POST", page("accounts:account_disable", account_id=a), name="account disable"),
    ui("write", "POST", page("accounts:account_lock", account_id=a), name="account lock"),
    ui("write", "POST", page("accounts:account_enable", account_id=a), name="account enable", changes=False),
    ui("detail", "GET", page("accounts:account_delete", account_id=a), name="account delete page",
       shows=lambda w: w.a.name),
    ui("write", "POST", page("accounts:account_delete", account_id=a), name="account delete"),
    # Users of A
    ui("detail", "GET", page("accounts:user_add", account_id=a), name="user add page (in A)",
       shows=lambda w: w.a.name),
    ui("write", "POST", page("accounts:user_add", account_id=a),
       lambda w: {"username": "intruder", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
       name="user add (in A)"),
    ui("detail", "GET", page("accounts:user_edit", user_id=a1), name="user edit page", shows=lambda w: w.a1.email),
    ui("write", "POST", page("accounts:user_edit", user_id=a1),
       lambda w: {"username": w.a1.username, "email": "owned@evil.example"}, name="user edit"),
    ui("detail", "GET", page("accounts:user_password", user_id=a1), name="user password page",
       shows=lambda w: w.a1.username),
    ui("write", "POST", page("accounts:user_password", user_id=a1),
       lambda w: {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, name="user password"),
    ui("write", "POST", page("accounts:user_disable", user_id=a1), name="user disable"),
    ui("write", "POST", page("accounts:user_enable", user_id=lambda w: w.a3.uuid), name="user enable"),
    ui("detail", "GET", page("accounts:user_delete", user_id=lambda w: w.a2.uuid), name="user delete page",
       shows=lambda w: w.a2.username),
    ui("write", "POST", page("accounts:user_delete", user_id=lambda w: w.a2.uuid), name="user delete"),
    # Resource limits of A
    ui("detail", "GET", page("accounts:limit_list", of_a), name="limits of A", shows=lambda w: 'value="13"'),
    ui("write", "POST", page("accounts:limit_update", of_a), lambda w: {"resource_type": 0, "max": 3},
       name="limit update of A"),
    ui("write", "POST", page("accounts:limit_recalculate", of_a), name="limit recalculate of A", changes=False),
    # The caller's own profile: works for everyone signed in, shows and changes nothing of A's
    ui("own", "GET", page("accounts:profile"), name="profile", control="a1", shows=lambda w: w.a1.username),
    ui("own", "POST", page("accounts:profile_keys"), name="profile keys", control="a1",
       ok=200),  # the answer is the page showing the new secret, once
    ui("own", "POST", page("accounts:profile_password"),
       lambda w: {"current_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD,
                  "new_password2": NEW_PASSWORD}, name="profile password", control="a1"),
    # Roles are global: domain admins list the User and DomainAdmin roles (never an Admin-type one), users may not
    # list them, only root changes them or their rules.
    ui("list", "GET", page("accounts:role_list"), name="role list", control=ROOT_CONTROL,
       shows=lambda w: w.admin_role.name),
    ui("list", "GET", page("accounts:role_list", lambda w: "?q=root-ops"), name="role list?q", control=ROOT_CONTROL,
       shows=lambda w: w.admin_role.name),
    ui("detail", "GET", page("accounts:role_detail", role_id=admin_role), name="role page (Admin type)",
       control=ROOT_CONTROL, shows=lambda w: str(w.admin_rule.uuid)),
    ui("detail", "GET", page("accounts:role_add"), name="role add page", control=ROOT_CONTROL,
       shows=lambda w: w.admin_role.name),  # the "copy rules of" select
    ui("write", "POST", page("accounts:role_add"), lambda w: {"name": "implant-role", "role_type": "User"},
       name="role add", control=ROOT_CONTROL),
    ui("detail", "GET", page("accounts:role_edit", role_id=role), name="role edit page", control=ROOT_CONTROL,
       shows=lambda w: w.role.name),
    ui("write", "POST", page("accounts:role_edit", role_id=role),
       lambda w: {"name": w.role.name, "role_type": w.role.role_type, "description": "rewritten"},
       name="role edit", control=ROOT_CONTROL),
    ui("write", "POST", page("accounts:role_edit", role_id=admin_role),
       lambda w: {"name": w.admin_role.name, "role_type": "User", "description": ""},
       name="role edit (Admin type)", control=ROOT_CONTROL),
    ui("detail", "GET", page("accounts:role_delete", role_id=lambda w: w.spare_role.uuid), name="role delete page",
       control=ROOT_CONTROL, shows=lambda w: w.spare_role.name),
    ui("write", "POST", page("accounts:role_delete", role_id=lambda w: w.spare_role.uuid), name="role delete",
       control=ROOT_CONTROL),
    ui("write", "POST", page("accounts:role_rule_add", role_id=role),
       lambda w: {"rule": "listZones", "permission": "deny", "description": ""}, name="role rule add",
       control=ROOT_CONTROL),
    ui("write", "POST", page("accounts:role_rule_permission", role_id=role, rule_id=rule),
       lambda w: {"permission": "deny"}, name="role rule permission", control=ROOT_CONTROL),
    ui("write", "POST", page("accounts:role_rule_move", role_id=role, rule_id=rule), lambda w: {"direction": "down"},
       name="role rule move", control=ROOT_CONTROL),
    ui("write", "POST", page("accounts:role_rule_delete", role_id=role, rule_id=rule), name="role rule delete",
       control=ROOT_CONTROL),
    # LDAP (root only)
    ui("list", "GET", page("accounts:ldap_list"), name="ldap list", control=ROOT_CONTROL,
       shows=lambda w: w.ldap_configuration.hostname),
    ui("list", "GET", page("accounts:ldap_link_list"), name="ldap links", control=ROOT_CONTROL,
       shows=lambda w: w.ldap_link.name),
    ui("write", "POST", page("accounts:ldap_add"),
       lambda w: {"hostname": "ldap2.example.test", "port": 389, "domain": w.north.pk, "username_attribute": "uid"},
       name="ldap add", control=ROOT_CONTROL),
    ui("write", "POST", page("accounts:ldap_link_add"),
       lambda w: {"domain": w.north.pk, "type": "GROUP", "name": LDAP_GROUP + "x", "account_name": w.a.name,
                  "account_type": 0}, name="ldap link add", control=ROOT_CONTROL),
    ui("detail", "GET", page("accounts:ldap_users", configuration_id=lambda w: w.ldap_configuration.uuid),
       name="ldap users", control=ROOT_CONTROL, shows=lambda w: w.ldap_configuration.hostname),
    ui("write", "POST", page("accounts:ldap_delete", configuration_id=lambda w: w.ldap_configuration.uuid),
       name="ldap delete", control=ROOT_CONTROL),
]


@pytest.mark.parametrize(("row", "actor"), matrix(ROWS))
def test_ui(row, actor, iso):
    check(row, actor, iso)
