"""Tenant isolation through the CloudStack API (/client/api): one line per command (see tests/isolation/matrix.py
for what each actor must get)."""

from __future__ import annotations

import pytest

from accounts.limits import ResourceType
from tests.factories import TEST_PASSWORD
from tests.isolation.matrix import DENIED, MAY_SEE, ROOT_CONTROL, SEES, USES, check, cs, matrix
from tests.isolation.world import LDAP_GROUP, World

pytestmark = pytest.mark.django_db


def of_a(w: World) -> dict[str, str]:
    """CloudStack names an account by (account, domainid)."""
    return {"account": w.a.name, "domainid": str(w.north.uuid)}


def vm(w: World) -> dict[str, str]:
    return {"id": str(w.vm.uuid)}


def a1(w: World) -> dict[str, str]:
    return {"id": str(w.a1.uuid)}


def account_a(w: World) -> dict[str, str]:
    return {"id": str(w.a.uuid)}


def child(w: World) -> dict[str, str]:
    return {"id": str(w.child.uuid)}


def new_user(w: World) -> dict[str, str]:
    return {"username": "intruder", "password": TEST_PASSWORD, "email": "intruder@example.test",
            "firstname": "In", "lastname": "Truder"}


def ldap_server(w: World) -> dict[str, object]:
    return {"hostname": w.ldap_configuration.hostname, "port": 389, "domainid": str(w.north.uuid)}


ROWS = [
    # Virtual machines, jobs
    # The grantee b2 sees the shared VM (SEES) and may do nothing to it but open its console (DENIED).
    cs("list", "listVirtualMachines", lambda w: {"listall": True}, shows=lambda w: w.vm.name, grantee=SEES),
    cs("list", "listVirtualMachines", lambda w: {"listall": True, **vm(w)}, name="listVirtualMachines(id)",
       shows=lambda w: w.vm.name, grantee=SEES),
    cs("list", "listVirtualMachines", of_a, name="listVirtualMachines(account)", shows=lambda w: w.vm.name,
       grantee=MAY_SEE),
    cs("list", "listVirtualMachines", lambda w: {"domainid": str(w.north.uuid), "isrecursive": True},
       name="listVirtualMachines(domainid)", shows=lambda w: w.vm.name, grantee=MAY_SEE),
    # VM metrics: the same listing as listVirtualMachines (whoever sees a VM sees its usage).
    cs("list", "listVirtualMachinesMetrics", lambda w: {"listall": True}, shows=lambda w: w.vm.name, grantee=SEES),
    cs("list", "listVirtualMachinesMetrics", lambda w: {"listall": True, **vm(w)},
       name="listVirtualMachinesMetrics(id)", shows=lambda w: w.vm.name, grantee=SEES),
    cs("write", "stopVirtualMachine", vm, grantee=DENIED),
    cs("write", "rebootVirtualMachine", vm, grantee=DENIED),
    cs("write", "destroyVirtualMachine", vm, grantee=DENIED),
    # A's VM is Running, so the control's start would only be refused as InvalidState: outsiders only.
    cs("write", "startVirtualMachine", vm, control=None, grantee=DENIED),
    # Lifecycle (issue 6): A's VM is Running, so recover/expunge would meet InvalidState: outsiders only.
    cs("write", "recoverVirtualMachine", vm, control=None, grantee=DENIED),
    cs("write", "expungeVirtualMachine", vm, control=None, grantee=DENIED),
    cs("write", "restoreVirtualMachine", lambda w: {"virtualmachineid": str(w.vm.uuid)}, control=None,
       grantee=DENIED),
    # VM operations (issue 6): see the REST rows (outsiders only where the control would meet InvalidState).
    cs("write", "updateVirtualMachine", lambda w: {**vm(w), "displayname": "owned"}, grantee=DENIED),
    cs("write", "changeServiceForVirtualMachine",
       lambda w: {**vm(w), "serviceofferingid": str(w.vm.service_offering.uuid)}, control=None, grantee=DENIED),
    cs("write", "scaleVirtualMachine", lambda w: {**vm(w), "serviceofferingid": str(w.vm.service_offering.uuid)},
       control=None, grantee=DENIED),
    cs("write", "attachIso", lambda w: {"id": str(w.template.uuid), "virtualmachineid": str(w.vm.uuid)},
       control=None, grantee=DENIED),
    cs("write", "detachIso", lambda w: {"virtualmachineid": str(w.vm.uuid)}, control=None, grantee=DENIED),
    cs("write", "resetSSHKeyForVirtualMachine", lambda w: {**vm(w), "keypair": "k"}, control=None, grantee=DENIED),
    cs("write", "migrateVirtualMachine", lambda w: {"virtualmachineid": str(w.vm.uuid)}, control=None,
       grantee=DENIED),
    cs("write", "findHostsForMigration", lambda w: {"virtualmachineid": str(w.vm.uuid)}, control=None,
       grantee=DENIED),
    cs("write", "createConsoleEndpoint", lambda w: {"virtualmachineid": str(w.vm.uuid)}, grantee=USES),
    cs("list", "listIsos", lambda w: {"isofilter": "self"}, control=None),
    # VM snapshots (issue 6): scoped through A's VM; the grantee sees the shared VM's snapshots but may not take,
    # revert or delete any.
    cs("list", "listVMSnapshot", lambda w: {"listall": True}, shows=lambda w: str(w.vm_snapshot.uuid),
       grantee=SEES),
    cs("list", "listVMSnapshot", lambda w: {"listall": True, "vmsnapshotid": str(w.vm_snapshot.uuid)},
       name="listVMSnapshot(id)", shows=lambda w: "alpha-snap", grantee=SEES),
    cs("list", "listVMSnapshot", lambda w: {"listall": True, "virtualmachineid": str(w.vm.uuid)},
       name="listVMSnapshot(vm)",
       shows=lambda w: "alpha-snap", grantee=SEES),
    cs("write", "createVMSnapshot", lambda w: {"virtualmachineid": str(w.vm.uuid), "snapshotmemory": True},
       grantee=DENIED),
    cs("write", "revertToVMSnapshot", lambda w: {"vmsnapshotid": str(w.vm_snapshot.uuid)}, grantee=DENIED),
    cs("write", "deleteVMSnapshot", lambda w: {"vmsnapshotid": str(w.vm_snapshot.uuid)}, grantee=DENIED),
    # Key pairs, affinity groups, tags (issue 6): made for A by name (account + domainid), or on A's VM.
    cs("write", "createSSHKeyPair", lambda w: {**of_a(w), "name": "intruder"}),
    cs("write", "registerSSHKeyPair", lambda w: {**of_a(w), "name": "intruder", "publickey": (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0JNFqByTj6bSK2pYgJ1xN4Bi7a2/Jx6Vbrc3nGKqD x")}),
    cs("write", "deleteSSHKeyPair", lambda w: {**of_a(w), "name": "k"}, control=None),
    cs("list", "listSSHKeyPairs", lambda w: {"listall": True}, control=None),
    cs("write", "createAffinityGroup", lambda w: {**of_a(w), "name": "intruder", "type": "host affinity"}),
    cs("write", "deleteAffinityGroup", lambda w: {**of_a(w), "name": "g"}, control=None),
    cs("list", "listAffinityGroups", lambda w: {"listall": True}, control=None),
    cs("write", "updateVMAffinityGroup", lambda w: {**vm(w), "affinitygroupnames": "g"}, control=None,
       grantee=DENIED),
    cs("write", "createTags", lambda w: {"resourcetype": "UserVm", "resourceids": str(w.vm.uuid),
                                         "tags[0].key": "k", "tags[0].value": "v"}, grantee=DENIED),
    cs("write", "deleteTags", lambda w: {"resourcetype": "UserVm", "resourceids": str(w.vm.uuid)}, control=None,
       grantee=DENIED),
    cs("list", "listTags", lambda w: {"listall": True}, control=None),
    # Deploying from A's private template (the control, north's admin, may use it).
    cs("write", "deployVirtualMachine",
       lambda w: {"zoneid": str(w.vm.zone.uuid), "serviceofferingid": str(w.vm.service_offering.uuid),
                  "templateid": str(w.template.uuid), "name": "intruder-vm"},
       name="deployVirtualMachine(A's template)"),
    cs("list", "listTemplates", lambda w: {"templatefilter": "executable"}, shows=lambda w: w.template.name),
    cs("list", "listTemplates", lambda w: {"templatefilter": "executable", "id": str(w.template.uuid)},
       name="listTemplates(id)", shows=lambda w: w.template.name),
    cs("list", "listAsyncJobs", lambda w: {"listall": True}, shows=lambda w: str(w.job.uuid)),
    cs("detail", "queryAsyncJobResult", lambda w: {"jobid": str(w.job.uuid)}, shows=lambda w: w.vm.name),
    # Domains: north's subdomain is within the north admin's reach, nobody else's here
    cs("list", "listDomains", lambda w: {"listall": True}, shows=lambda w: w.child.name),
    cs("list", "listDomains", lambda w: {"listall": True, **child(w)}, name="listDomains(id)",
       shows=lambda w: w.child.name),
    cs("list", "listDomainChildren", lambda w: {"id": str(w.north.uuid)}, shows=lambda w: w.child.name),
    cs("list", "listDomainChildren", lambda w: {"id": str(w.north.uuid), "isrecursive": True, "listall": True},
       name="listDomainChildren(recursive)", shows=lambda w: w.child.name),
    cs("write", "updateDomain", lambda w: {**child(w), "name": "renamed"}),
    cs("write", "updateDomain", lambda w: {"id": str(w.north.uuid), "networkdomain": "evil.example"},
       name="updateDomain(north)", control=ROOT_CONTROL),
    cs("write", "deleteDomain", lambda w: {**child(w), "cleanup": True}),
    cs("write", "createDomain", lambda w: {"name": "implant", "parentdomainid": str(w.north.uuid)},
       name="createDomain(under north)"),
    # Accounts
    cs("list", "listAccounts", lambda w: {"listall": True}, shows=lambda w: w.a.name),
    cs("list", "listAccounts", lambda w: {"listall": True, **account_a(w)}, name="listAccounts(id)",
       shows=lambda w: w.a.name),
    cs("list", "listAccounts", lambda w: {"name": w.a.name, "domainid": str(w.north.uuid)},
       name="listAccounts(name)", shows=lambda w: str(w.a.uuid)),
    cs("write", "updateAccount", lambda w: {**account_a(w), "newname": "renamed"}),
    cs("write", "updateAccount", lambda w: {**of_a(w), "newname": "renamed"}, name="updateAccount(name)"),
    cs("write", "disableAccount", lambda w: {**account_a(w), "lock": False}),
    cs("write", "disableAccount", lambda w: {**account_a(w), "lock": True}, name="disableAccount(lock)"),
    cs("write", "lockAccount", of_a),
    cs("write", "enableAccount", account_a, changes=False),  # A is enabled: the control changes nothing
    cs("write", "deleteAccount", account_a),
    cs("write", "createAccount", lambda w: {**new_user(w), "accounttype": 0, "domainid": str(w.north.uuid)},
       name="createAccount(in north)"),
    # Users and their keys
    cs("list", "listUsers", lambda w: {"listall": True}, shows=lambda w: w.a1.username),
    cs("list", "listUsers", lambda w: {"listall": True, **a1(w)}, name="listUsers(id)",
       shows=lambda w: w.a1.username),
    cs("list", "listUsers", of_a, name="listUsers(account)", shows=lambda w: w.a1.username),
    cs("write", "createUser", lambda w: {**of_a(w), **new_user(w)}),
    cs("write", "updateUser", lambda w: {**a1(w), "email": "owned@evil.example"}),
    cs("write", "updateUser", lambda w: {**a1(w), "password": "Zebra-Quantum-Lattice-93"},
       name="updateUser(password)"),
    cs("write", "disableUser", a1),
    cs("write", "enableUser", lambda w: {"id": str(w.a3.uuid)}),
    cs("write", "deleteUser", lambda w: {"id": str(w.a2.uuid)}),
    cs("write", "registerUserKeys", a1),
    cs("detail", "getUserKeys", a1, shows=lambda w: w.keys["a1"][1]),
    # Resource limits and counts
    cs("list", "listResourceLimits", of_a, shows=lambda w: '"max":13'),
    cs("write", "updateResourceLimit", lambda w: {**of_a(w), "resourcetype": ResourceType.USER_VM, "max": 3}),
    cs("write", "updateResourceCount", of_a, changes=False),
    # A's account-scoped settings (global, zone and cluster ones are root's: tests/cloudstack/
    # test_configuration_commands.py)
    cs("list", "listConfigurations", lambda w: {"accountid": str(w.a.uuid)},
       shows=lambda w: "allow.user.expunge.recover.vm"),
    cs("write", "updateConfiguration",
       lambda w: {"name": "allow.user.expunge.recover.vm", "value": "true", "accountid": str(w.a.uuid)}),
    cs("write", "resetConfiguration", lambda w: {"name": "allow.user.expunge.recover.vm", "accountid": str(w.a.uuid)},
       changes=False),  # A has no value of its own to drop: the control's reset changes nothing
    # Roles are global: domain admins may read them, only root changes them
    # (domain admins list the User and DomainAdmin roles, never an Admin-type one; users may not list roles)
    cs("list", "listRoles", lambda w: {}, control=ROOT_CONTROL, shows=lambda w: w.admin_role.name),
    cs("list", "listRoles", lambda w: {"id": str(w.admin_role.uuid)}, name="listRoles(id)", control=ROOT_CONTROL,
       shows=lambda w: w.admin_role.name),
    cs("list", "listRoles", lambda w: {"type": "Admin"}, name="listRoles(type)", control=ROOT_CONTROL,
       shows=lambda w: w.admin_role.name),
    cs("list", "listRolePermissions", lambda w: {"roleid": str(w.role.uuid)}, control=ROOT_CONTROL,
       shows=lambda w: str(w.rule.uuid)),
    cs("list", "listRolePermissions", lambda w: {}, name="listRolePermissions(all)", control=ROOT_CONTROL,
       shows=lambda w: str(w.admin_rule.uuid)),
    cs("list", "listRolePermissions", lambda w: {"roleid": str(w.admin_role.uuid)},
       name="listRolePermissions(Admin role)", control=ROOT_CONTROL, shows=lambda w: str(w.admin_rule.uuid)),
    cs("write", "createRole", lambda w: {"name": "implant-role", "type": "User"}, control=ROOT_CONTROL),
    cs("write", "updateRole", lambda w: {"id": str(w.role.uuid), "name": "renamed-role"}, control=ROOT_CONTROL),
    cs("write", "deleteRole", lambda w: {"id": str(w.spare_role.uuid)}, control=ROOT_CONTROL),
    cs("write", "createRolePermission",
       lambda w: {"roleid": str(w.role.uuid), "rule": "listZones", "permission": "deny"}, control=ROOT_CONTROL),
    cs("write", "updateRolePermission",
       lambda w: {"roleid": str(w.role.uuid), "ruleid": str(w.rule.uuid), "permission": "deny"},
       control=ROOT_CONTROL),
    cs("write", "updateRolePermission",
       lambda w: {"roleid": str(w.role.uuid), "ruleorder": f"{w.second_rule.uuid},{w.rule.uuid}"},
       name="updateRolePermission(ruleorder)", control=ROOT_CONTROL),
    cs("write", "deleteRolePermission", lambda w: {"id": str(w.rule.uuid)}, control=ROOT_CONTROL),
    cs("write", "updateAccount", lambda w: {**account_a(w), "roleid": str(w.spare_role.uuid)},
       name="updateAccount(roleid)"),
    # LDAP (root only: the control is the root admin)
    cs("list", "listLdapConfigurations", lambda w: {"domainid": str(w.north.uuid)}, control=ROOT_CONTROL,
       shows=lambda w: w.ldap_configuration.hostname),
    cs("write", "addLdapConfiguration", lambda w: {**ldap_server(w), "hostname": "ldap2.example.test"},
       control=ROOT_CONTROL),
    cs("write", "deleteLdapConfiguration", ldap_server, control=ROOT_CONTROL),
    cs("write", "linkDomainToLdap", lambda w: {**of_a(w), "type": "group", "name": LDAP_GROUP + "x",
                                               "accounttype": 0}, control=ROOT_CONTROL),
    # These read the directory itself, which this world has none of: outsiders only.
    cs("list", "listLdapUsers", lambda w: {"domainid": str(w.north.uuid)}, control=None),
    cs("write", "importLdapUsers", lambda w: {**of_a(w), "accounttype": 0}, control=None),
    cs("write", "ldapCreateAccount", lambda w: {**of_a(w), "username": "someone", "accounttype": 0},
       control=None),
]


@pytest.mark.parametrize(("row", "actor"), matrix(ROWS))
def test_cloudstack(row, actor, iso):
    check(row, actor, iso)
