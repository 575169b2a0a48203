"""Reads of roles and their rules. Root admins see every role; domain admins see the DomainAdmin and User
roles only (CloudStack hides Admin roles from them, so they cannot learn or hand out root powers)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role, RolePermission, RoleType
from portal.authz import Role as CallerRole
from portal.authz import authorize, role_of
from portal.lookup import get_by_uuid


def _visible(caller: User) -> QuerySet[Role]:
    roles = Role.objects.all()
    if role_of(caller) is not CallerRole.ROOT_ADMIN:
        roles = roles.exclude(role_type=RoleType.ADMIN)
    return roles


def role_list(*, caller: User, name: str | None = None, role_type: str | None = None,
              keyword: str | None = None) -> QuerySet[Role]:
    """The roles the caller may see, each annotated with `account_count` (how many accounts hold it) and
    `rule_count`, so lists show both without a query per role."""
    authorize(caller, "role.list")
    roles = _visible(caller).annotate(account_count=Count("accounts", distinct=True),
                                      rule_count=Count("permissions", distinct=True))
    if name:
        roles = roles.filter(name=name)
    if role_type:
        roles = roles.filter(role_type=role_type)
    if keyword:
        roles = roles.filter(Q(name__icontains=keyword) | Q(description__icontains=keyword))
    return roles


def role_get(*, caller: User, role_id: str) -> Role:
    return get_by_uuid(role_list(caller=caller), role_id, _("a role"))


def role_permission_list(*, caller: User, role: Role | None = None) -> QuerySet[RolePermission]:
    """The rules of one role in evaluation order, or of every role the caller sees (CloudStack's
    listRolePermissions without roleid)."""
    authorize(caller, "role.permission.list")
    rules = RolePermission.objects.select_related("role").filter(role__in=_visible(caller))
    if role is not None:
        rules = rules.filter(role=role)
    return rules.order_by("role__name", "role_id", "sort_order", "pk")


def role_permission_get(*, caller: User, permission_id: str) -> RolePermission:
    return get_by_uuid(role_permission_list(caller=caller), permission_id, _("a role permission"))
