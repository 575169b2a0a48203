"""Reads of the grants that share one VM with users outside its account (django-guardian), and the lookup
of the user a VM is to be shared with.

Finding a grantee must not turn sharing into a directory of other tenants' users. So there are two ways to
name one, and both answer the same NotFound for "no such user", "disabled" and "out of reach":

- by user id (uuid): any enabled user of an enabled account. Ids are random, so knowing one means its owner
  handed it over (it is shown on their profile); trying ids cannot enumerate anybody.
- by user name (optionally with the domain path, "ROOT/Sales/carol"): only among the users the caller can
  already list through tenancy (accounts.selectors.user_list), i.e. administrators naming users they manage.
  A name outside that reach is "not found", exactly like a name nobody has, so names cannot be probed.
"""

from __future__ import annotations

import uuid as uuid_module

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, User
from accounts.selectors import user_list
from compute.models import VirtualMachine, VirtualMachineUserPermission
from portal.authz import authorize
from portal.errors import NotFound

# What an owner can share -> the django-guardian permission (codename in the compute app) that carries it.
# "console" opens the console and nothing else; "operate" starts, stops and reboots. Destroying, and sharing
# further, stay with those who own the VM through tenancy (see portal.authz.OBJECT_PERMISSIONS).
GRANT_PERMISSIONS: dict[str, str] = {
    "console": "console_virtualmachine",
    "operate": "operate_virtualmachine",
}
GRANT_NAMES = {codename: name for name, codename in GRANT_PERMISSIONS.items()}


def grant_name(grant: VirtualMachineUserPermission) -> str:
    """The door-facing name ("console", "operate") of a grant row."""
    return GRANT_NAMES[grant.permission.codename]


def vm_grant_list(*, caller: User, vm: VirtualMachine) -> QuerySet[VirtualMachineUserPermission]:
    """Who the VM is shared with, for those who may share it (its owners): a grantee does not learn who else
    holds grants. One query whatever the number of grants."""
    authorize(caller, "vm.grant.list", vm)
    return (VirtualMachineUserPermission.objects
            .filter(content_object=vm, permission__content_type__app_label="compute",
                    permission__codename__in=GRANT_PERMISSIONS.values())
            .select_related("user", "user__account", "user__account__domain", "permission")
            .order_by("user__username", "permission__codename", "pk"))


def _not_found(reference: str) -> NotFound:
    return NotFound(_("Unable to find an enabled user %(user)s to share with.") % {"user": reference})


def _enabled(users: QuerySet[User]) -> QuerySet[User]:
    return users.filter(is_active=True, account__isnull=False, account__state=Account.State.ENABLED)


def vm_grantee_find(*, caller: User, user_id: str | None = None, username: str | None = None,
                    domain_path: str | None = None) -> User:
    """The enabled user a VM is to be shared with (see the module docstring for why the two ways differ)."""
    authorize(caller, "vm.grant")
    if user_id:
        try:
            wanted = uuid_module.UUID(str(user_id).strip())
        except ValueError:
            raise _not_found(str(user_id)) from None
        found = _enabled(User.objects.select_related("account", "account__domain")).filter(uuid=wanted).first()
        if found is None:
            raise _not_found(str(user_id))
        return found
    name = (username or "").strip()
    reference = f"{domain_path.strip().strip('/')}/{name}" if domain_path and domain_path.strip("/ ") else name
    if not name:
        raise _not_found(reference)
    users = _enabled(user_list(caller=caller)).filter(username__iexact=name)
    if domain_path is not None and domain_path.strip("/ "):
        users = users.filter(account__domain__path__in=_domain_paths(domain_path))
    found = users.first()
    if found is None:
        raise _not_found(reference)
    return found


def _domain_paths(path: str) -> list[str]:
    """The stored paths ("ROOT/Sales/") a path names: the full one ("ROOT/Sales" or "/ROOT/Sales"), or one
    relative to the root as CloudStack writes them ("/Sales")."""
    from accounts.services import ROOT_DOMAIN_NAME

    segments = [segment for segment in path.split("/") if segment.strip()]
    joined = "".join(f"{segment.strip()}/" for segment in segments)
    return [joined, f"{ROOT_DOMAIN_NAME}/{joined}"]
