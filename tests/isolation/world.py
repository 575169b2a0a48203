"""The tenancy world of the isolation matrix, built with factories and the real services (no fixture files).

ROOT
├── north                account A (users a1, a2), account B (user b1), the north domain admin
│   └── child            (a subdomain: a domain admin of north reaches it, nobody else here does)
└── south                the south domain admin (the "sibling domain admin"), account B2 (user b2)

Account A owns a Running VM (deployed by a1 through compute.services, its job run on libvirt's test driver),
that VM's jobs and events, a snapshot of that VM (with memory, "alpha-snap"), a private template, a1's API
keys, resource limits, a VM grant (a1 shares the console with b2 of the south domain: b2 is the "grantee"
actor), a disabled third user a3, and north's LDAP server and link. Roles are global and made by root
through accounts.services_roles: A holds a custom User role with two rules, a spare role is held by nobody,
and an Admin-type role is one no domain admin may see.
Every actor gets an API key pair and a REST token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.test import TestCase, override_settings
from rest_framework.authtoken.models import Token

from accounts import services as account_services
from accounts import services_roles
from accounts.limits import ResourceType
from accounts.models import Account, Domain, LdapConfiguration, LdapLink, User
from accounts.roles import Role, RolePermission, RoleType
from accounts.services_accounts import account_update
from accounts.services_limits import resource_limit_update
from accounts.services_users import user_disable
from compute import services as compute_services
from compute.models import VirtualMachine, VMSnapshot
from compute.services_console import console_fields
from compute.services_grants import vm_grant
from compute.services_vm_snapshots import vm_snapshot_create
from infrastructure import hypervisor as hv
from portal.celery import app as celery_app
from portal.models import AsyncJob
from storage.models import Template
from tests import factories

LDAP_HOST = "ldap-alpha-north.example.test"
LDAP_GROUP = "cn=alpha-staff,ou=groups,dc=north,dc=example"


@dataclass
class World:
    root_domain: Domain
    north: Domain
    child: Domain
    south: Domain
    root: User
    north_admin: User
    south_admin: User
    a: Account
    a1: User
    a2: User
    a3: User  # disabled, so that enabling a user of A is a real change
    b: Account
    b1: User
    b2: User
    vm: VirtualMachine
    job: AsyncJob
    ldap_configuration: LdapConfiguration
    ldap_link: LdapLink
    # Roles are global (root changes them): A uses a custom role; a spare one is in use by nobody.
    role: Role
    rule: RolePermission
    second_rule: RolePermission  # so that reordering A's role's rules is a real change
    spare_role: Role
    # An Admin-type role and its rule: root sees them, domain admins never do (CloudStack hides them too).
    admin_role: Role
    admin_rule: RolePermission
    template: Template  # A's private template
    vm_snapshot: VMSnapshot | None = None  # A's VM's snapshot "alpha-snap" (Ready, with memory)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    # Filled by feature modules as they land (custom role, ...): name -> object.
    extra: dict[str, object] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return getattr(self, name)


ACTOR_USERS = ("root", "north_admin", "south_admin", "b1", "a1", "b2")


def _user(username: str, account: Account) -> User:
    return factories.UserFactory(username=username, account=account, first_name=username.title(),
                                 email=f"{username}@{account.name}.example.test")


def build_world() -> World:
    """Called once per test package inside an open transaction (see conftest); every row reads this."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        return _build()


def _build() -> World:
    root_domain = factories.DomainFactory()
    north = factories.DomainFactory(name="north", parent=root_domain)
    child = factories.DomainFactory(name="north-child", parent=north)
    south = factories.DomainFactory(name="south", parent=root_domain)

    root_account = factories.AccountFactory(name="root-admins", domain=root_domain,
                                            account_type=Account.Type.ROOT_ADMIN)
    north_admins = factories.AccountFactory(name="north-admins", domain=north,
                                            account_type=Account.Type.DOMAIN_ADMIN)
    south_admins = factories.AccountFactory(name="south-admins", domain=south,
                                            account_type=Account.Type.DOMAIN_ADMIN)
    a = factories.AccountFactory(name="alpha-acct", domain=north)
    b = factories.AccountFactory(name="bravo-acct", domain=north)
    b_south = factories.AccountFactory(name="bravo-south-acct", domain=south)

    root = _user("rooty", root_account)
    north_admin = _user("northboss", north_admins)
    south_admin = _user("southboss", south_admins)
    a1 = _user("alphaone", a)
    a2 = _user("alphatwo", a)
    a3 = _user("alphathree", a)
    b1 = _user("bravoone", b)
    b2 = _user("bravotwo", b_south)

    host = factories.HostFactory()
    offering = factories.ServiceOfferingFactory(name="Small")
    template = factories.TemplateFactory(name="Tiny", account=root_account, domain=root_domain)

    resource_limit_update(caller=root, account=a, resource_type=ResourceType.USER_VM, max=7)
    resource_limit_update(caller=root, account=a, resource_type=ResourceType.CPU, max=13)

    vm, job = _deploy(a1, host.zone, offering, template)
    # a1 shares the console of A's VM with b2, a user of another account in the sibling domain: a grant may
    # only go outside the VM's account. The south admin reaches b2, yet must not reach A's VM through b2.
    vm_grant(caller=a1, vm=vm, grantee=b2, permission="console")
    vm_snapshot = _snapshot(a1, vm)
    # A console to open (the simulator's domains have no VNC port): where the proxy would connect.
    VirtualMachine.objects.filter(pk=vm.pk).update(**console_fields(hv.VncEndpoint(port=5999, password="pw")))
    vm.refresh_from_db()

    ldap_configuration = account_services.ldap_configuration_add(
        caller=root, hostname=LDAP_HOST, port=389, domain=north, bind_dn="cn=binder,dc=north",
        bind_password="bind-secret", base_dn="dc=north,dc=example")
    ldap_link = account_services.ldap_domain_link(caller=root, domain=north, type="GROUP", name=LDAP_GROUP,
                                                  account_type=Account.Type.USER, account_name=a.name)

    allow = RolePermission.Permission.ALLOW
    role = services_roles.role_create(caller=root, name="alpha-role", role_type=RoleType.USER,
                                      description="A's own rules")
    rule = services_roles.role_permission_create(caller=root, role=role, rule="*", permission=allow)
    second_rule = services_roles.role_permission_create(caller=root, role=role, rule="listZones", permission=allow)
    spare_role = services_roles.role_create(caller=root, name="spare-role", role_type=RoleType.USER)
    admin_role = services_roles.role_create(caller=root, name="root-ops-role", role_type=RoleType.ADMIN,
                                            description="root-only powers")
    admin_rule = services_roles.role_permission_create(caller=root, role=admin_role, rule="ldap.*",
                                                       permission=allow)
    a = account_update(caller=root, account=a, role=role)
    private_template = factories.TemplateFactory(name="alpha-private-tpl", account=a, domain=north, is_public=False)

    user_disable(caller=root, user=a3)
    a3.refresh_from_db()

    world = World(root_domain=root_domain, north=north, child=child, south=south, root=root,
                  north_admin=north_admin, south_admin=south_admin, a=a, a1=a1, a2=a2, a3=a3, b=b, b1=b1, b2=b2,
                  vm=vm, job=job, ldap_configuration=ldap_configuration, ldap_link=ldap_link, role=role, rule=rule,
                  second_rule=second_rule, spare_role=spare_role, admin_role=admin_role, admin_rule=admin_rule,
                  template=private_template, vm_snapshot=vm_snapshot)
    for name in ACTOR_USERS:
        user = world.user(name)
        world.keys[name] = account_services.user_keys_register(user=user)
        world.tokens[name] = Token.objects.create(user=user).key
    return world


def _run_jobs(service, **kwargs):
    """Call a service with its jobs run eagerly on commit on the test driver (as the run_jobs fixture)."""
    eager, hv_allowed = celery_app.conf.task_always_eager, hv.connections_allowed()
    celery_app.conf.task_always_eager = True
    hv.allow_connections(True)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return service(**kwargs)
    finally:
        celery_app.conf.task_always_eager = eager
        hv.allow_connections(hv_allowed)


def _snapshot(owner: User, vm: VirtualMachine) -> VMSnapshot:
    snapshot, job = _run_jobs(vm_snapshot_create, caller=owner, vm=vm, name="alpha-snap", memory=True)
    snapshot.refresh_from_db()
    job.refresh_from_db()
    if snapshot.state != "Ready" or job.status != AsyncJob.Status.SUCCEEDED:
        raise AssertionError(f"the world's VM snapshot failed: {snapshot.state}, job {job.status} {job.result}")
    return snapshot


def _deploy(owner: User, zone, offering, template) -> tuple[VirtualMachine, AsyncJob]:
    """Through the real service, its job run eagerly on commit on the test driver (as the run_jobs fixture)."""
    vm, job = _run_jobs(compute_services.vm_deploy, caller=owner, zone=zone, service_offering=offering,
                        template=template, name="alpha-vm")
    vm.refresh_from_db()
    job.refresh_from_db()
    if vm.state != "Running" or job.status != AsyncJob.Status.SUCCEEDED:
        raise AssertionError(f"the world's VM did not deploy: {vm.state}, job {job.status} {job.result}")
    return vm, job
