"""The one place that decides whether a caller may run an action on an object.

Every door (web UI, REST, CloudStack API) and every service calls `authorize` or `scope`; nothing else
compares roles or ownership. Rules: an action must be declared in ACTIONS with the roles that may call it;
on an object, root admins reach everything, domain admins their domain's subtree, users their account.
"""

from __future__ import annotations

import enum

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, User
from portal.errors import NotAuthenticated, PermissionDenied


class Role(enum.Enum):
    ROOT_ADMIN = "root_admin"
    DOMAIN_ADMIN = "domain_admin"
    USER = "user"


EVERYONE = frozenset(Role)
ADMINS = frozenset({Role.ROOT_ADMIN, Role.DOMAIN_ADMIN})
ROOT = frozenset({Role.ROOT_ADMIN})

# action name -> roles allowed to attempt it (ownership is checked separately, per object).
ACTIONS: dict[str, frozenset[Role]] = {
    "zone.list": EVERYONE,
    "offering.list": EVERYONE,
    "template.list": EVERYONE,
    "vm.list": EVERYONE,
    "vm.view": EVERYONE,
    "vm.deploy": EVERYONE,
    "vm.start": EVERYONE,
    "vm.stop": EVERYONE,
    "vm.reboot": EVERYONE,
    "vm.destroy": EVERYONE,
    "job.list": EVERYONE,
    "job.view": EVERYONE,
    "event.list": EVERYONE,
    "host.list": ROOT,
    "host.add": ROOT,
}


def role_of(user: User) -> Role:
    if user.is_superuser or (user.account_id and user.account.account_type == Account.Type.ROOT_ADMIN):
        return Role.ROOT_ADMIN
    if user.account_id and user.account.account_type == Account.Type.DOMAIN_ADMIN:
        return Role.DOMAIN_ADMIN
    return Role.USER


def _require_caller(caller: User | None) -> User:
    if caller is None or not getattr(caller, "is_authenticated", False) or not caller.is_active:
        raise NotAuthenticated()
    if caller.account_id is None and not caller.is_superuser:
        raise PermissionDenied(_("Your user belongs to no account."))
    if caller.account_id and caller.account.state != Account.State.ENABLED:
        raise PermissionDenied(_("Your account is %(state)s.") % {"state": caller.account.state})
    return caller


def owns(caller: User, obj: Model) -> bool:
    """Whether obj (anything with account and domain) is within the caller's reach."""
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return True
    if role is Role.DOMAIN_ADMIN:
        return obj.domain.path.startswith(caller.account.domain.path)
    return obj.account_id == caller.account_id


def authorize(caller: User | None, action: str, obj: Model | None = None) -> None:
    """Raise PermissionDenied (or NotAuthenticated) unless caller may run `action` (on `obj`)."""
    if action not in ACTIONS:
        raise PermissionDenied(_("Unknown action %(action)s.") % {"action": action})
    caller = _require_caller(caller)
    if role_of(caller) not in ACTIONS[action]:
        raise PermissionDenied()
    if obj is not None and not owns(caller, obj):
        raise PermissionDenied(_("You do not have permission to access this object."))


def can(caller: User | None, action: str, obj: Model | None = None) -> bool:
    try:
        authorize(caller, action, obj)
    except (PermissionDenied, NotAuthenticated):
        return False
    return True


def scope(caller: User, queryset: QuerySet) -> QuerySet:
    """Restrict a queryset of tenant-owned rows to what the caller may see."""
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return queryset
    if role is Role.DOMAIN_ADMIN:
        return queryset.filter(domain__path__startswith=caller.account.domain.path)
    return queryset.filter(account_id=caller.account_id)
