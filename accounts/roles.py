"""Roles: what an account's users may do, as CloudStack's dynamic roles.

Every account has one role. Its `role_type` is CloudStack's RoleType and must agree with the account type
(Admin = root admin, DomainAdmin = domain admin, User = user); the type sets the ceiling of what the role can
ever allow (portal.authz.ACTIONS). The role's rules, in `sort_order`, then narrow that: the first rule whose
pattern matches an action (or a CloudStack command name of it) allows or denies it; no match falls back to the
type's ceiling. Four built-in roles ship with fixed uuids (like CloudStack's fixed role ids), so the migration,
Account.save() and every installation agree on which is which.
"""

from __future__ import annotations

import re
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class RoleType(models.TextChoices):
    # CloudStack's RoleType names, which clients send and read.
    ADMIN = "Admin", _("Admin")
    DOMAIN_ADMIN = "DomainAdmin", _("Domain admin")
    USER = "User", _("User")


# The role type each account type must hold, and back.
ROLE_TYPE_OF_ACCOUNT: dict[int, str] = {
    Account.Type.ROOT_ADMIN: RoleType.ADMIN,
    Account.Type.DOMAIN_ADMIN: RoleType.DOMAIN_ADMIN,
    Account.Type.USER: RoleType.USER,
}
ACCOUNT_TYPE_OF_ROLE: dict[str, int] = {value: key for key, value in ROLE_TYPE_OF_ACCOUNT.items()}

ROOT_ADMIN_ROLE = uuid.UUID("00000000-0000-4000-8000-000000000001")
DOMAIN_ADMIN_ROLE = uuid.UUID("00000000-0000-4000-8000-000000000002")
USER_ROLE = uuid.UUID("00000000-0000-4000-8000-000000000003")
READ_ONLY_ROLE = uuid.UUID("00000000-0000-4000-8000-000000000004")

# The built-in role an account of each type gets when nobody names one.
DEFAULT_ROLE_OF_ACCOUNT: dict[int, uuid.UUID] = {
    Account.Type.ROOT_ADMIN: ROOT_ADMIN_ROLE,
    Account.Type.DOMAIN_ADMIN: DOMAIN_ADMIN_ROLE,
    Account.Type.USER: USER_ROLE,
}

# Read-Only's rules, in order. Reads are named both ways so the role reads the same through every door: the
# portal's action names (`vm.list`, `vm.view`, `profile.view`, `dashboard.view`) and CloudStack's command
# names (`listVirtualMachines`, `queryAsyncJobResult`); listApis so API clients can discover what is left, and
# getUserKeys so they can fetch the keys to sign with; a user may still change their own password. Everything
# else (deploy, start/stop, console, registering keys, any administration) is denied by the final `*`.
READ_ONLY_RULES: tuple[tuple[str, str, str], ...] = (
    ("*.list", "allow", "Every list page and list call."),
    ("*.view", "allow", "Every detail page, the dashboard and the profile."),
    ("list*", "allow", "CloudStack's list commands."),
    ("query*", "allow", "queryAsyncJobResult."),
    ("api.discover", "allow", "listApis."),
    ("getUserKeys", "allow", "The user's own API keys, so API clients can sign their reads."),
    ("user.password", "allow", "Changing one's own password."),
    ("*", "deny", "Everything else."),
)

# A rule's pattern: action or command name characters plus `*` wildcards.
RULE_PATTERN = re.compile(r"^[A-Za-z0-9._*]+$")


def rule_regex(rule: str) -> re.Pattern[str]:
    """The compiled pattern of a rule: `*` matches any run of characters, everything else itself,
    case-sensitively (CloudStack's Rule)."""
    return re.compile("^" + ".*".join(re.escape(part) for part in rule.split("*")) + "$")


class Role(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255, unique=True)
    role_type = models.CharField(_("role type"), max_length=16, choices=RoleType.choices)
    description = models.TextField(_("description"), blank=True)
    # Built-in: cannot be deleted, retyped, renamed or have its rules changed.
    is_default = models.BooleanField(_("built-in"), default=False, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def account_type(self) -> int:
        return ACCOUNT_TYPE_OF_ROLE[self.role_type]


class RolePermission(models.Model):
    """One ordered allow/deny rule of a role (CloudStack's RolePermission)."""

    class Permission(models.TextChoices):
        ALLOW = "allow", _("Allow")
        DENY = "deny", _("Deny")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    rule = models.CharField(_("rule"), max_length=255)
    permission = models.CharField(_("permission"), max_length=8, choices=Permission.choices)
    sort_order = models.PositiveIntegerField(default=0)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["role_id", "sort_order", "pk"]

    def __str__(self) -> str:
        return f"{self.role.name}: {self.permission} {self.rule}"


# The built-in roles: (uuid, name, type, description, rules). Shared by the migration that seeds them and by
# `builtin_role`, which re-creates them where a test database was flushed after the migration ran.
BUILTIN_ROLES: tuple[tuple[uuid.UUID, str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (ROOT_ADMIN_ROLE, "Root Admin", RoleType.ADMIN, "Everything, everywhere.", ()),
    (DOMAIN_ADMIN_ROLE, "Domain Admin", RoleType.DOMAIN_ADMIN,
     "Administers a domain and its subdomains.", ()),
    (USER_ROLE, "User", RoleType.USER, "Works with the resources of its own account.", ()),
    (READ_ONLY_ROLE, "Read-Only", RoleType.USER, "Sees the resources of its own account, changes nothing.",
     READ_ONLY_RULES),
)


def install_builtin_roles(role_model: type[models.Model], permission_model: type[models.Model]) -> None:
    """Create the built-in roles that are missing (idempotent). Takes the models so the migration can pass
    its historical ones."""
    for role_uuid, name, role_type, description, rules in BUILTIN_ROLES:
        if role_model.objects.filter(uuid=role_uuid).exists():
            continue
        role = role_model.objects.create(uuid=role_uuid, name=name, role_type=str(role_type),
                                         description=description, is_default=True)
        permission_model.objects.bulk_create(
            permission_model(role=role, rule=rule, permission=permission, sort_order=order, description=text)
            for order, (rule, permission, text) in enumerate(rules))


def builtin_role(role_uuid: uuid.UUID) -> Role:
    role = Role.objects.filter(uuid=role_uuid).first()
    if role is None:
        install_builtin_roles(Role, RolePermission)
        role = Role.objects.get(uuid=role_uuid)
    return role


def default_role(account_type: int) -> Role:
    """The built-in role an account of this type gets when nobody chose one."""
    return builtin_role(DEFAULT_ROLE_OF_ACCOUNT[account_type])
