"""Sharing one VM with a user outside its account, and taking it back (django-guardian object permissions).

Only those who own the VM through tenancy (its account's users, administrators over it) may share it:
"vm.grant" has no object permission behind it in portal.authz.OBJECT_PERMISSIONS, so holding a grant never
lets anyone re-share. What a grant allows is decided there too: "console" covers vm.console only, so a
console-only grantee can stop, destroy, attach or reset nothing, now or when such actions are added.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, User
from compute.models import VirtualMachine, VirtualMachineUserPermission
from compute.selectors_grants import GRANT_PERMISSIONS
from compute.states import VmState
from portal.authz import authorize
from portal.errors import InvalidParameter, InvalidState, NotFound
from portal.events import event_emit


def _permission(permission: str) -> Permission:
    codename = GRANT_PERMISSIONS.get(permission)
    if codename is None:
        raise InvalidParameter(_("Invalid permission %(permission)s: use one of %(valid)s.") % {
            "permission": permission, "valid": ", ".join(GRANT_PERMISSIONS)})
    return Permission.objects.get(content_type__app_label="compute", codename=codename)


@transaction.atomic
def vm_grant(*, caller: User, vm: VirtualMachine, grantee: User, permission: str
             ) -> VirtualMachineUserPermission:
    """Let `grantee` use `permission` ("console" or "operate") on this one VM. Granting what the user already
    holds changes nothing and records nothing."""
    authorize(caller, "vm.grant", vm)
    perm = _permission(permission)
    if not grantee.is_active or grantee.account_id is None or grantee.account.state != Account.State.ENABLED:
        # The same answer as an unknown user (compute.selectors_grants): a grant cannot probe user states.
        raise NotFound(_("Unable to find an enabled user %(user)s to share with.") % {"user": grantee.username})
    if grantee.account_id == vm.account_id:
        raise InvalidParameter(_("%(user)s already has access to this VM through its account.") % {
            "user": grantee.username})
    if vm.removed is not None or vm.state in (VmState.DESTROYED, VmState.EXPUNGING):
        raise InvalidState(_("A destroyed VM cannot be shared."))
    existing = VirtualMachineUserPermission.objects.filter(content_object=vm, user=grantee,
                                                           permission=perm).first()
    if existing is not None:
        return existing
    grant = VirtualMachineUserPermission.objects.create(content_object=vm, user=grantee, permission=perm)
    event_emit(type="VM.GRANT", description=_("Shared VM %(vm)s with user %(user)s (%(permission)s)") % {
        "vm": vm.name, "user": grantee.username, "permission": permission},
        account=vm.account, user=caller, resource=vm)
    return grant


@transaction.atomic
def vm_revoke(*, caller: User, vm: VirtualMachine, grantee: User, permission: str) -> None:
    """Take one grant back; the user loses it at once (each request checks grants anew)."""
    authorize(caller, "vm.revoke", vm)
    perm = _permission(permission)
    deleted, _rows = VirtualMachineUserPermission.objects.filter(content_object=vm, user=grantee,
                                                                 permission=perm).delete()
    if not deleted:
        raise NotFound(_("%(user)s holds no %(permission)s grant on this VM.") % {
            "user": grantee.username, "permission": permission})
    event_emit(type="VM.REVOKE", description=_("Stopped sharing VM %(vm)s with user %(user)s (%(permission)s)")
               % {"vm": vm.name, "user": grantee.username, "permission": permission},
               account=vm.account, user=caller, resource=vm)
