"""The one place that decides whether a caller may run an action on an object.

Every door (web UI, REST, CloudStack API) and every service calls `authorize`, `can` or `scope`; nothing else
compares roles, ownership or permissions. Four rules, in order:

1. Role types per action: an action must be declared in ACTIONS with the role types that may attempt it. This
   is a ceiling: no rule of a custom role lifts it (safer than CloudStack, whose rules can hand a User-type role
   admin commands), so a role's type alone says the most its holders can ever do.
2. The rules of the caller's account role (accounts.roles, CloudStack's dynamic roles), in their order: the
   first rule whose pattern matches decides, allow or deny; when none matches, the type's ceiling stands
   (CloudStack's DynamicRoleBasedAPIAccessChecker falls back to the command's annotated role types the same
   way). A pattern (`*` matches any run of characters, case-sensitively) matches an action by its own name
   (`vm.*`, `*.list`) or by any CloudStack command name declared for it (`deployVirtualMachine`, `list*`), so
   one rule governs the web UI, REST and the CloudStack API alike. The action is the unit a rule decides: a
   rule naming one command of an action that several commands share (ldap.configure: addLdapConfiguration,
   deleteLdapConfiguration, linkDomainToLdap) decides all of them. The rules are read once per caller object
   (memoized on it; every request loads its user afresh), not once per check.
3. Ownership: on an object (anything with `account` and `domain`), root admins reach everything, domain
   admins their domain's subtree, users their own account.
4. Object permissions (django-guardian): a user outside the owning account may still hold a grant on one
   object, e.g. "operate" or "console" on one VM (OBJECT_PERMISSIONS says which grant covers which action).
   Any grant on an object lets its holder see it; nothing else.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from guardian.shortcuts import get_perms
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from accounts.models import Account, User
from portal.errors import NotAuthenticated, PermissionDenied


class Role(enum.Enum):
    ROOT_ADMIN = "root_admin"
    DOMAIN_ADMIN = "domain_admin"
    USER = "user"


EVERYONE = frozenset(Role)
ADMINS = frozenset({Role.ROOT_ADMIN, Role.DOMAIN_ADMIN})
ROOT = frozenset({Role.ROOT_ADMIN})

# Pseudo-action of the few entry points that need no caller at all (the login page, API documentation).
PUBLIC = "public"

# action name -> roles allowed to attempt it (ownership and grants are checked separately, per object).
ACTIONS: dict[str, frozenset[Role]] = {
    "api.discover": EVERYONE,
    "zone.list": EVERYONE,
    "offering.list": EVERYONE,
    # Compute and disk offerings (issue 6): the catalogue is the root admin's; everyone lists what their domain
    # may use (compute.selectors.offering_list, storage.selectors_disk_offerings).
    "offering.create": ROOT,
    "offering.update": ROOT,
    "offering.delete": ROOT,
    "diskoffering.list": EVERYONE,
    "diskoffering.create": ROOT,
    "diskoffering.update": ROOT,
    "diskoffering.delete": ROOT,
    "template.list": EVERYONE,
    "vm.list": EVERYONE,
    "vm.view": EVERYONE,
    "vm.deploy": EVERYONE,
    "vm.start": EVERYONE,
    "vm.stop": EVERYONE,
    "vm.reboot": EVERYONE,
    "vm.destroy": EVERYONE,
    "vm.console": EVERYONE,
    # VM operations (issue 6, vm-ops): owners edit, resize and re-key their VMs; moving a VM between hosts
    # (and seeing where it could go) is infrastructure work, root admins only, as in CloudStack.
    "vm.update": EVERYONE,
    "vm.scale": EVERYONE,
    "vm.change_offering": EVERYONE,
    "vm.iso": EVERYONE,
    "vm.reset_ssh_key": EVERYONE,
    "vm.migrate": ROOT,
    # VM metrics (charts, listVirtualMachinesMetrics): whoever may see a VM sees its usage.
    "vm.metrics": EVERYONE,
    # Lifecycle (issue 6): recover and expunge are further limited to admins unless the account's
    # allow.user.expunge.recover.vm setting allows users (compute.services_lifecycle), as in CloudStack.
    "vm.recover": EVERYONE,
    "vm.expunge": EVERYONE,
    "vm.restore": EVERYONE,
    # VM snapshots (issue 6): whoever may see a VM lists its snapshots; its owners (or a "change" grant on it)
    # take, revert and delete them (compute.services_vm_snapshots).
    "vm.snapshot.list": EVERYONE,
    "vm.snapshot.create": EVERYONE,
    "vm.snapshot.revert": EVERYONE,
    "vm.snapshot.delete": EVERYONE,
    # SSH key pairs, affinity groups and resource tags (issue 6): an account's own, like its VMs; admins act
    # for the accounts they manage (ownership is checked on each object).
    "keypair.list": EVERYONE,
    "keypair.create": EVERYONE,
    "keypair.delete": EVERYONE,
    "affinity.list": EVERYONE,
    "affinity.create": EVERYONE,
    "affinity.delete": EVERYONE,
    "affinity.update_vm": EVERYONE,
    "tag.list": EVERYONE,
    "tag.create": EVERYONE,
    "tag.delete": EVERYONE,
    "iso.list": EVERYONE,
    "iso.register": EVERYONE,
    "iso.delete": EVERYONE,
    "job.list": EVERYONE,
    "job.view": EVERYONE,
    "event.list": EVERYONE,
    "dashboard.view": EVERYONE,
    "host.list": ROOT,
    "host.add": ROOT,
    "host.update": ROOT,
    "host.delete": ROOT,
    "host.reconnect": ROOT,
    "host.maintenance": ROOT,
    "region.list": EVERYONE,
    "zone.create": ROOT,
    "zone.update": ROOT,
    "zone.delete": ROOT,
    "pod.list": ROOT,
    "pod.create": ROOT,
    "pod.update": ROOT,
    "pod.delete": ROOT,
    "cluster.list": ROOT,
    "cluster.add": ROOT,
    "cluster.update": ROOT,
    "cluster.delete": ROOT,
    "physicalnetwork.list": ROOT,
    "physicalnetwork.create": ROOT,
    "physicalnetwork.update": ROOT,
    "physicalnetwork.delete": ROOT,
    "traffictype.list": ROOT,
    "traffictype.add": ROOT,
    "traffictype.update": ROOT,
    "traffictype.delete": ROOT,
    "storagepool.list": ROOT,
    "storagepool.create": ROOT,
    "storagepool.update": ROOT,
    "storagepool.delete": ROOT,
    "storagepool.maintenance": ROOT,
    "imagestore.list": ROOT,
    "imagestore.add": ROOT,
    "imagestore.delete": ROOT,
    "capacity.list": ROOT,
    "infrastructure.setup": ROOT,
    "user.list": EVERYONE,
    "user.keys.register": EVERYONE,
    "user.keys.get": EVERYONE,
    "network.list": EVERYONE,
    "ldap.configure": ROOT,
    "ldap.list": ROOT,
    "ldap.import": ROOT,
    "limit.list": EVERYONE,
    "limit.update": ADMINS,
    "count.update": ADMINS,
    # Tenancy administration (issue 4): ownership limits a domain admin to its subtree.
    "domain.list": EVERYONE,
    # The web UI's administration pages of domains and of accounts/users (end users list their own domain,
    # account and user through the APIs and their profile, but get no administration pages).
    "domain.manage": ADMINS,
    "account.manage": ADMINS,
    "domain.create": ADMINS,
    "domain.update": ADMINS,
    "domain.delete": ADMINS,
    "account.list": EVERYONE,
    "account.create": ADMINS,
    "account.update": ADMINS,
    "account.disable": ADMINS,
    "account.enable": ADMINS,
    "account.lock": ADMINS,
    "account.delete": ADMINS,
    "user.view": EVERYONE,
    "user.create": ADMINS,
    "user.update": EVERYONE,  # users edit themselves (owns() limits them to their own User row)
    "user.password": EVERYONE,
    "user.disable": ADMINS,
    "user.enable": ADMINS,
    "user.delete": ADMINS,
    "profile.view": EVERYONE,
    "role.list": ADMINS,
    "role.create": ROOT,
    "role.update": ROOT,
    "role.delete": ROOT,
    "role.permission.list": ADMINS,
    "role.permission.create": ROOT,
    "role.permission.update": ROOT,
    "role.permission.delete": ROOT,
    "vm.grant.list": EVERYONE,
    "vm.grant": EVERYONE,  # an owner shares one VM; ownership of the VM is checked on the object
    "vm.revoke": EVERYONE,
    # Settings (portal.configuration): domain admins read and set their accounts' account-scoped settings;
    # global, zone and cluster settings also need config.infrastructure (root only).
    "config.list": ADMINS,
    "config.update": ADMINS,
    "config.infrastructure": ROOT,
}

# action -> the django-guardian permission that grants it on a single object to someone who does not own it.
OBJECT_PERMISSIONS: dict[str, str] = {
    "vm.start": "compute.operate_virtualmachine",
    "vm.stop": "compute.operate_virtualmachine",
    "vm.reboot": "compute.operate_virtualmachine",
    "vm.destroy": "compute.delete_virtualmachine",
    "vm.console": "compute.console_virtualmachine",
    "vm.iso": "compute.operate_virtualmachine",
    "vm.update": "compute.change_virtualmachine",
    "vm.scale": "compute.change_virtualmachine",
    "vm.change_offering": "compute.change_virtualmachine",
    "vm.reset_ssh_key": "compute.change_virtualmachine",
    "vm.recover": "compute.delete_virtualmachine",
    "vm.expunge": "compute.delete_virtualmachine",
    "vm.restore": "compute.change_virtualmachine",
    "vm.snapshot.create": "compute.change_virtualmachine",
    "vm.snapshot.revert": "compute.change_virtualmachine",
    "vm.snapshot.delete": "compute.change_virtualmachine",
}


def role_of(user: User) -> Role:
    if user.is_superuser or (user.account_id and user.account.account_type == Account.Type.ROOT_ADMIN):
        return Role.ROOT_ADMIN
    if user.account_id and user.account.account_type == Account.Type.DOMAIN_ADMIN:
        return Role.DOMAIN_ADMIN
    return Role.USER


@functools.cache
def action_command_names() -> dict[str, tuple[str, ...]]:
    """Action -> the CloudStack command names declared with it, read from the command registry (imported here,
    lazily: the registry imports this module). Any process gets them on first use, whether or not it ever
    served a CloudStack call, so a rule like `deny deployVirtualMachine` holds in the web UI and REST too."""
    from portal.cloudstack.registry import all_commands

    names: dict[str, list[str]] = {}
    for command in all_commands():
        if command.action is not None:
            names.setdefault(command.action, []).append(command.name)
    return {action: tuple(sorted(found)) for action, found in names.items()}


@functools.lru_cache(maxsize=1024)
def _rule_regex(rule: str) -> re.Pattern[str]:
    from accounts.roles import rule_regex

    return rule_regex(rule)


def rule_matches(rule: str, action: str) -> bool:
    """Whether a role rule's pattern covers an action, by the action's name or one of its command names."""
    pattern = _rule_regex(rule)
    return bool(pattern.match(action)) or any(pattern.match(name) for name in action_command_names().get(action, ()))


RULES_ATTRIBUTE = "_cirrostack_role_rules"


def _role_rules(caller: User) -> list[tuple[str, bool]]:
    """The caller's role rules as (pattern, allow) in evaluation order, memoized on the caller object."""
    rules = caller.__dict__.get(RULES_ATTRIBUTE)
    if rules is None:
        from accounts.roles import RolePermission

        rules = [(rule, permission == RolePermission.Permission.ALLOW)
                 for rule, permission in RolePermission.objects.filter(role_id=caller.account.role_id)
                 .order_by("sort_order", "pk").values_list("rule", "permission")]
        caller.__dict__[RULES_ATTRIBUTE] = rules
    return rules


def rules_allow(caller: User, action: str) -> bool:
    """Rule 2 of the module docstring: the first matching rule decides; no match leaves the ceiling."""
    if caller.account_id is None:
        return True  # a superuser outside any account: root admin, no role to narrow it
    for rule, allow in _role_rules(caller):
        if rule_matches(rule, action):
            return allow
    return True


def _require_caller(caller: User | None) -> User:
    if caller is None or not getattr(caller, "is_authenticated", False) or not caller.is_active:
        raise NotAuthenticated()
    if caller.account_id is None and not caller.is_superuser:
        raise PermissionDenied(_("Your user belongs to no account."))
    if caller.account_id and caller.account.state != Account.State.ENABLED:
        raise PermissionDenied(_("Your account is %(state)s.") % {"state": caller.account.state})
    return caller


def owns(caller: User, obj: Model) -> bool:
    """Whether obj (anything with account and domain) is within the caller's reach through tenancy."""
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return True
    if role is Role.DOMAIN_ADMIN:
        return obj.domain.path.startswith(caller.account.domain.path)
    if isinstance(obj, User):
        # A user's identity (API keys, password) is their own, not shared with their account's other users.
        return obj.pk == caller.pk
    return obj.account_id == caller.account_id


def granted(caller: User, action: str, obj: Model) -> bool:
    """Whether a django-guardian grant on this one object covers the action."""
    if not isinstance(obj, Model) or obj.pk is None:
        return False
    if action.endswith(".view"):
        return bool(get_perms(caller, obj))
    permission = OBJECT_PERMISSIONS.get(action)
    return permission is not None and caller.has_perm(permission, obj)


def authorize(caller: User | None, action: str, obj: Model | None = None) -> None:
    """Raise PermissionDenied (or NotAuthenticated) unless caller may run `action` (on `obj`)."""
    if action not in ACTIONS:
        raise PermissionDenied(_("Unknown action %(action)s.") % {"action": action})
    caller = _require_caller(caller)
    if role_of(caller) not in ACTIONS[action]:
        raise PermissionDenied()
    if not rules_allow(caller, action):
        raise PermissionDenied(_("Your role does not allow %(action)s.") % {"action": action})
    if obj is not None and not owns(caller, obj) and not granted(caller, action, obj):
        raise PermissionDenied(_("You do not have permission to access this object."))


def can(caller: User | None, action: str, obj: Model | None = None) -> bool:
    try:
        authorize(caller, action, obj)
    except (PermissionDenied, NotAuthenticated):
        return False
    return True


def scope(caller: User, queryset: QuerySet) -> QuerySet:
    """Restrict a queryset of tenant-owned rows to what the caller may see: by tenancy, plus the objects
    someone granted the caller a permission on."""
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return queryset
    if role is Role.DOMAIN_ADMIN:
        reach = Q(domain__path__startswith=caller.account.domain.path)
    else:
        reach = Q(account_id=caller.account_id)
    return queryset.filter(reach | _granted_ids(caller, queryset.model))


def _granted_ids(caller: User, model: type[Model]) -> Q:
    user_perms = get_user_obj_perms_model(model)
    if user_perms.objects.is_generic():
        return Q(pk__in=[])  # only models with direct grant tables (e.g. VirtualMachine) can be granted
    group_perms = get_group_obj_perms_model(model)
    return Q(pk__in=user_perms.objects.filter(user=caller).values("content_object_id")) | Q(
        pk__in=group_perms.objects.filter(group__in=caller.groups.all()).values("content_object_id"))


@dataclass(frozen=True)
class Reach:
    """The tenancy part of `scope` as data, for code that routes rather than filters: the live updates
    (portal.live) pick the channel groups a browser joins from it. Exactly one field is set."""

    everything: bool = False
    domain_path: str = ""  # a domain admin's subtree: every domain whose path starts with this
    account_id: int | None = None  # an end user's account

    def excluded(self, queryset: QuerySet) -> QuerySet:
        """The rows of queryset outside this reach (what only object grants let the caller see)."""
        if self.everything:
            return queryset.none()
        if self.domain_path:
            return queryset.exclude(domain__path__startswith=self.domain_path)
        return queryset.exclude(account_id=self.account_id)


def reach(caller: User) -> Reach:
    """What `scope` lets the caller see through tenancy (object grants come on top)."""
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return Reach(everything=True)
    if role is Role.DOMAIN_ADMIN:
        return Reach(domain_path=caller.account.domain.path)
    return Reach(account_id=caller.account_id)
