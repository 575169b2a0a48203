"""Tenant isolation through the REST API (/api/v1/): one line per resource operation (see
tests/isolation/matrix.py for what each actor must get)."""

from __future__ import annotations

import pytest

from compute.models import AffinityGroup, SSHKeyPair
from portal.models import ResourceTag
from tests.factories import TEST_PASSWORD
from tests.isolation.matrix import DENIED, ROOT_CONTROL, SEES, USES, check, matrix, rest
from tests.isolation.world import LDAP_GROUP, World

pytestmark = pytest.mark.django_db

API = "/api/v1"


NEW_PASSWORD = "Zebra-Quantum-Lattice-93"

# A's object named in a query or a body rather than the path: the field's validation error.
FIELD = (400, 431)


def a_keypair(w: World) -> SSHKeyPair:
    return SSHKeyPair.objects.get_or_create(account=w.vm.account, name="alpha-key", defaults={
        "domain": w.vm.domain, "fingerprint": "alpha-fingerprint", "public_key": "ssh-ed25519 AAAA alpha"})[0]


def a_group(w: World) -> AffinityGroup:
    return AffinityGroup.objects.get_or_create(account=w.vm.account, name="alpha-group", defaults={
        "domain": w.vm.domain, "group_type": "host affinity"})[0]


def a_tag(w: World) -> ResourceTag:
    return ResourceTag.objects.get_or_create(resource_type="UserVm", resource_uuid=w.vm.uuid, key="alpha-tag",
                                             defaults={"value": "alpha", "resource_id": w.vm.pk,
                                                       "account": w.vm.account, "domain": w.vm.domain})[0]


def vm(w: World) -> str:
    return f"{API}/virtual-machines/{w.vm.uuid}/"


def account_a(w: World) -> str:
    return f"{API}/accounts/{w.a.uuid}/"


def user(name: str):
    return lambda w: f"{API}/users/{getattr(w, name).uuid}/"


def child(w: World) -> str:
    return f"{API}/domains/{w.child.uuid}/"


def role(w: World) -> str:
    return f"{API}/roles/{w.role.uuid}/"


def rules(w: World) -> str:
    return role(w) + "permissions/"


def admin_role(w: World) -> str:
    return f"{API}/roles/{w.admin_role.uuid}/"


def ldap(w: World) -> str:
    return f"{API}/ldap-configurations/{w.ldap_configuration.uuid}/"


ROWS = [
    # Virtual machines, jobs
    # The grantee b2 sees the shared VM (SEES) and may do nothing to it but open its console (DENIED).
    rest("list", "GET", lambda w: f"{API}/virtual-machines/", name="vms", shows=lambda w: w.vm.name, grantee=SEES),
    rest("list", "GET", lambda w: f"{API}/virtual-machines/?name={w.vm.name}", name="vms?name",
         shows=lambda w: str(w.vm.uuid), grantee=SEES),
    rest("detail", "GET", vm, name="vm", shows=lambda w: w.vm.name, grantee=SEES),
    rest("write", "POST", lambda w: vm(w) + "stop/", lambda w: {}, name="vm stop", grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "reboot/", lambda w: {}, name="vm reboot", grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "destroy/", lambda w: {}, name="vm destroy", grantee=DENIED),
    # A's VM is Running, so the control's start would only be refused as InvalidState: outsiders only.
    rest("write", "POST", lambda w: vm(w) + "start/", lambda w: {}, name="vm start", control=None, grantee=DENIED),
    # Lifecycle (issue 6): the VM is Running, so recover/expunge would meet InvalidState: outsiders only.
    rest("write", "POST", lambda w: vm(w) + "recover/", lambda w: {}, name="vm recover", control=None,
         grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "expunge/", lambda w: {}, name="vm expunge", control=None,
         grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "restore/", lambda w: {}, name="vm restore", control=None,
         grantee=DENIED),
    # VM operations (issue 6). A's VM is Running without an ISO, so where the control would only be refused as
    # InvalidState (change offering, ISO detach, SSH keys) the rows check outsiders only; migration is root's.
    rest("write", "PATCH", lambda w: vm(w) + "settings/", lambda w: {"display_name": "owned"}, name="vm settings",
         grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "change-offering/",
         lambda w: {"service_offering": str(w.vm.service_offering.uuid)}, name="vm change offering", control=None,
         grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "scale/", lambda w: {"service_offering": str(w.vm.service_offering.uuid)},
         name="vm scale", control=None, grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "attach-iso/", lambda w: {"iso": str(w.template.uuid)},
         name="vm attach iso", control=None, grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "detach-iso/", lambda w: {}, name="vm detach iso", control=None,
         grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "reset-ssh-key/", lambda w: {"key_pairs": ["k"]}, name="vm ssh key",
         control=None, grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "migrate/", lambda w: {}, name="vm migrate", control=None,
         grantee=DENIED),
    rest("write", "GET", lambda w: vm(w) + "hosts-for-migration/", lambda w: {}, name="vm migration hosts",
         control=None, grantee=DENIED),
    # The console (issue 7): the one thing the grantee's console grant is for.
    rest("write", "POST", lambda w: vm(w) + "console/", lambda w: {}, name="vm console", grantee=USES),
    # VM snapshots (issue 6): scoped through A's VM; the grantee sees the shared VM's snapshots but may not take,
    # revert or delete any.
    rest("list", "GET", lambda w: f"{API}/vm-snapshots/", name="vm snapshots", shows=lambda w: "alpha-snap",
         grantee=SEES),
    rest("list", "GET", lambda w: f"{API}/vm-snapshots/?virtual_machine={w.vm.uuid}", name="vm snapshots?vm",
         shows=lambda w: "alpha-snap", grantee=SEES),
    rest("detail", "GET", lambda w: f"{API}/vm-snapshots/{w.vm_snapshot.uuid}/", name="vm snapshot",
         shows=lambda w: "alpha-snap", grantee=SEES),
    rest("write", "POST", lambda w: f"{API}/vm-snapshots/", lambda w: {"virtual_machine": str(w.vm.uuid),
                                                                      "memory": True},
         name="vm snapshot create", grantee=DENIED),
    rest("write", "POST", lambda w: f"{API}/vm-snapshots/{w.vm_snapshot.uuid}/revert/", lambda w: {},
         name="vm snapshot revert", grantee=DENIED),
    rest("write", "DELETE", lambda w: f"{API}/vm-snapshots/{w.vm_snapshot.uuid}/", name="vm snapshot delete",
         grantee=DENIED),
    # Key pairs, affinity groups and tags (issue 6): A's own, made on demand by the row (before the snapshot).
    rest("detail", "GET", lambda w: f"{API}/ssh-key-pairs/{a_keypair(w).uuid}/", name="ssh key pair",
         shows=lambda w: "alpha-key"),
    rest("write", "DELETE", lambda w: f"{API}/ssh-key-pairs/{a_keypair(w).uuid}/", name="ssh key pair delete"),
    rest("detail", "GET", lambda w: f"{API}/affinity-groups/{a_group(w).uuid}/", name="affinity group",
         shows=lambda w: "alpha-group"),
    rest("write", "DELETE", lambda w: f"{API}/affinity-groups/{a_group(w).uuid}/", name="affinity group delete"),
    rest("list", "GET", lambda w: (a_tag(w), f"{API}/tags/")[1], name="tags", shows=lambda w: "alpha-tag"),
    rest("write", "POST", lambda w: f"{API}/tags/", lambda w: {
        "resource_type": "UserVm", "resource_ids": [str(w.vm.uuid)], "tags": {"intruder": "x"}},
         name="tags create (A's VM)", hidden=(404, 431), grantee=DENIED),
    rest("write", "POST", lambda w: (a_tag(w), f"{API}/tags/delete/")[1], lambda w: {
        "resource_type": "UserVm", "resource_ids": [str(w.vm.uuid)], "tags": {"alpha-tag": ""}},
         name="tags delete (A's VM)", hidden=(404, 431), grantee=DENIED),
    # Deploying from A's private template (the control, north's admin, may use it).
    rest("write", "POST", lambda w: f"{API}/virtual-machines/",
         lambda w: {"zone": str(w.vm.zone.uuid), "service_offering": str(w.vm.service_offering.uuid),
                    "template": str(w.template.uuid), "name": "intruder-vm"},
         name="vm deploy (A's template)", hidden=FIELD),
    rest("list", "GET", lambda w: f"{API}/templates/", name="templates", shows=lambda w: w.template.name),
    rest("detail", "GET", lambda w: f"{API}/templates/{w.template.uuid}/", name="template",
         shows=lambda w: w.template.name),
    rest("list", "GET", lambda w: f"{API}/jobs/", name="jobs", shows=lambda w: str(w.job.uuid)),
    rest("detail", "GET", lambda w: f"{API}/jobs/{w.job.uuid}/", name="job", shows=lambda w: str(w.vm.uuid)),
    # VM metrics: whoever sees the VM sees its usage (the grantee too).
    rest("detail", "GET", lambda w: vm(w) + "metrics/", name="vm metrics", shows=lambda w: str(w.vm.uuid),
         grantee=SEES),
    # VM sharing (grants)
    # (the grantee may not list, re-share or revoke: a grant is never a right to share)
    rest("list", "GET", lambda w: vm(w) + "grants/", name="vm grants", shows=lambda w: w.b2.username,
         grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "grants/",
         lambda w: {"user_id": str(w.b1.uuid), "permission": "operate"}, name="vm grant", grantee=DENIED),
    rest("write", "POST", lambda w: vm(w) + "grants/",
         lambda w: {"user_id": str(w.b1.uuid), "permission": "console"}, name="vm grant (console re-share)",
         grantee=DENIED),
    rest("write", "DELETE", lambda w: vm(w) + f"grants/{w.b2.uuid}/console/", name="vm revoke", grantee=DENIED),
    # Domains
    rest("list", "GET", lambda w: f"{API}/domains/", name="domains", shows=lambda w: w.child.name),
    rest("list", "GET", lambda w: f"{API}/domains/?subtree={w.north.uuid}", name="domains?subtree",
         shows=lambda w: w.child.name),
    rest("list", "GET", lambda w: f"{API}/domains/?parent={w.north.uuid}", name="domains?parent",
         shows=lambda w: w.child.name),
    rest("detail", "GET", child, name="domain", shows=lambda w: w.child.name),
    rest("write", "PATCH", child, lambda w: {"name": "renamed"}, name="domain update"),
    rest("write", "DELETE", lambda w: child(w) + "?cleanup=true", name="domain delete"),
    rest("write", "POST", lambda w: f"{API}/domains/", lambda w: {"name": "implant", "parent": str(w.north.uuid)},
         name="domain create (under north)", hidden=FIELD),
    # Accounts
    rest("list", "GET", lambda w: f"{API}/accounts/", name="accounts", shows=lambda w: w.a.name),
    rest("list", "GET", lambda w: f"{API}/accounts/?domain={w.north.uuid}", name="accounts?domain",
         shows=lambda w: w.a.name),
    rest("detail", "GET", account_a, name="account", shows=lambda w: w.a1.username),
    rest("write", "PATCH", account_a, lambda w: {"name": "renamed"}, name="account update"),
    rest("write", "POST", lambda w: account_a(w) + "disable/", name="account disable"),
    rest("write", "POST", lambda w: account_a(w) + "lock/", name="account lock"),
    rest("write", "POST", lambda w: account_a(w) + "enable/", name="account enable", changes=False),
    rest("write", "DELETE", account_a, name="account delete"),
    rest("write", "POST", lambda w: f"{API}/accounts/",
         lambda w: {"account_type": 0, "domain": str(w.north.uuid), "username": "intruder",
                    "password": TEST_PASSWORD}, name="account create (in north)", hidden=FIELD),
    # Users
    rest("list", "GET", lambda w: f"{API}/users/", name="users", shows=lambda w: w.a1.username),
    rest("list", "GET", lambda w: f"{API}/users/?account={w.a.uuid}", name="users?account",
         shows=lambda w: w.a1.username),
    rest("detail", "GET", user("a1"), name="user", shows=lambda w: w.a1.email),
    rest("write", "PATCH", user("a1"), lambda w: {"email": "owned@evil.example"}, name="user update"),
    rest("write", "POST", lambda w: user("a1")(w) + "disable/", name="user disable"),
    rest("write", "POST", lambda w: user("a3")(w) + "enable/", name="user enable"),
    rest("write", "DELETE", user("a2"), name="user delete"),
    rest("write", "POST", lambda w: f"{API}/users/",
         lambda w: {"account": str(w.a.uuid), "username": "intruder", "password": TEST_PASSWORD},
         name="user create (in A)", hidden=FIELD),
    # The caller's own profile: works for everyone signed in, shows and changes nothing of A's
    rest("own", "GET", lambda w: f"{API}/profile/", name="profile", control="a1", shows=lambda w: w.a1.username),
    rest("own", "GET", lambda w: f"{API}/profile/keys/", name="profile keys", control="a1",
         shows=lambda w: w.keys["a1"][0]),
    rest("own", "POST", lambda w: f"{API}/profile/keys/", name="profile keys rotate", control="a1"),
    rest("own", "POST", lambda w: f"{API}/profile/password/",
         lambda w: {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD}, name="profile password",
         control="a1"),
    # Resource limits and counts of A
    rest("list", "GET", lambda w: f"{API}/resource-limits/?account={w.a.uuid}", name="resource limits",
         shows=lambda w: '"max":13', hidden=FIELD),
    rest("write", "POST", lambda w: f"{API}/resource-limits/",
         lambda w: {"account": str(w.a.uuid), "resource_type": "user_vm", "max": 3}, name="resource limit set",
         hidden=FIELD),
    rest("write", "PATCH", lambda w: f"{API}/resource-limits/",
         lambda w: {"account": str(w.a.uuid), "resource_type": "cpu", "max": 3}, name="resource limit patch",
         hidden=FIELD),
    rest("write", "POST", lambda w: f"{API}/resource-counts/recalculate/", lambda w: {"account": str(w.a.uuid)},
         name="resource counts recalculate", hidden=FIELD, changes=False),
    # A's account-scoped settings: the north admin reads and sets them; global, zone and cluster settings are
    # root's (tests/rest/test_configuration.py), reached through the same routes.
    rest("list", "GET", lambda w: f"{API}/configurations/?account={w.a.uuid}", name="configurations?account",
         shows=lambda w: "allow.user.expunge.recover.vm", hidden=FIELD),
    rest("detail", "GET", lambda w: f"{API}/configurations/allow.user.expunge.recover.vm/?account={w.a.uuid}",
         name="configuration?account", shows=lambda w: "allow.user.expunge.recover.vm", hidden=FIELD),
    rest("write", "PATCH", lambda w: f"{API}/configurations/allow.user.expunge.recover.vm/",
         lambda w: {"account": str(w.a.uuid), "value": "true"}, name="configuration set (account)", hidden=FIELD),
    rest("write", "POST", lambda w: f"{API}/configurations/allow.user.expunge.recover.vm/reset/",
         lambda w: {"account": str(w.a.uuid)}, name="configuration reset (account)", hidden=FIELD,
         changes=False),  # A has no value of its own to drop: the control's reset changes nothing
    # Roles are global: domain admins list the User and DomainAdmin roles (never an Admin-type one), users may not
    # list them, only root changes them or their rules.
    rest("list", "GET", lambda w: f"{API}/roles/", name="roles", control=ROOT_CONTROL,
         shows=lambda w: w.admin_role.name),
    rest("list", "GET", lambda w: f"{API}/roles/?role_type=Admin", name="roles?role_type", control=ROOT_CONTROL,
         shows=lambda w: w.admin_role.name),
    rest("detail", "GET", admin_role, name="role (Admin type)", control=ROOT_CONTROL,
         shows=lambda w: w.admin_role.name),
    rest("write", "POST", lambda w: f"{API}/roles/", lambda w: {"name": "implant-role", "role_type": "User"},
         name="role create", control=ROOT_CONTROL),
    rest("write", "POST", lambda w: f"{API}/roles/",
         lambda w: {"name": "implant-role", "source": str(w.admin_role.uuid)},
         name="role create (copy of the Admin role)", control=ROOT_CONTROL),
    rest("write", "PATCH", role, lambda w: {"description": "rewritten"}, name="role update", control=ROOT_CONTROL),
    rest("write", "PATCH", admin_role, lambda w: {"role_type": "User"}, name="role update (Admin type)",
         control=ROOT_CONTROL),
    rest("write", "DELETE", lambda w: f"{API}/roles/{w.spare_role.uuid}/", name="role delete",
         control=ROOT_CONTROL),
    rest("list", "GET", rules, name="role rules", control=ROOT_CONTROL, shows=lambda w: str(w.rule.uuid)),
    rest("list", "GET", lambda w: admin_role(w) + "permissions/", name="role rules (Admin type)",
         control=ROOT_CONTROL, shows=lambda w: str(w.admin_rule.uuid)),
    rest("write", "POST", rules, lambda w: {"rule": "listZones", "permission": "deny"}, name="role rule create",
         control=ROOT_CONTROL),
    rest("write", "PATCH", lambda w: rules(w) + f"{w.rule.uuid}/", lambda w: {"permission": "deny"},
         name="role rule update", control=ROOT_CONTROL),
    rest("write", "POST", lambda w: rules(w) + "reorder/",
         lambda w: {"order": [str(w.second_rule.uuid), str(w.rule.uuid)]}, name="role rules reorder",
         control=ROOT_CONTROL),
    rest("write", "DELETE", lambda w: rules(w) + f"{w.rule.uuid}/", name="role rule delete", control=ROOT_CONTROL),
    # LDAP (root only)
    rest("list", "GET", lambda w: f"{API}/ldap-configurations/", name="ldap configurations",
         control=ROOT_CONTROL, shows=lambda w: w.ldap_configuration.hostname),
    rest("detail", "GET", ldap, name="ldap configuration", control=ROOT_CONTROL,
         shows=lambda w: w.ldap_configuration.hostname),
    rest("list", "GET", lambda w: ldap(w) + "users/", name="ldap configuration users", control=None),
    rest("write", "DELETE", ldap, name="ldap configuration delete", control=ROOT_CONTROL),
    rest("write", "POST", lambda w: f"{API}/ldap-configurations/",
         lambda w: {"hostname": "ldap2.example.test", "domain": str(w.north.uuid)}, name="ldap configuration add",
         control=ROOT_CONTROL),
    rest("list", "GET", lambda w: f"{API}/ldap-links/", name="ldap links", control=ROOT_CONTROL,
         shows=lambda w: w.ldap_link.name),
    rest("write", "POST", lambda w: f"{API}/ldap-links/",
         lambda w: {"domain": str(w.north.uuid), "type": "GROUP", "dn": LDAP_GROUP + "x",
                    "account_name": w.a.name}, name="ldap link add", control=ROOT_CONTROL),
]


@pytest.mark.parametrize(("row", "actor"), matrix(ROWS))
def test_rest(row, actor, iso):
    check(row, actor, iso)
