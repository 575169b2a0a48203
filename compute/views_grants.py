"""Web UI of VM sharing: the "Sharing" panel of the VM page, and its grant and revoke forms.

The VM page loads the panel with htmx (hx-trigger="load"); without JavaScript the panel's URL is a page of
its own, and the forms post back and redirect. Who may see and use the panel is the selector's and the
services' decision (owners of the VM through tenancy); a grantee gets no panel.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from compute.models import VirtualMachine
from compute.selectors import vm_get
from compute.selectors_grants import GRANT_PERMISSIONS, grant_name, vm_grant_list, vm_grantee_find
from compute.services_grants import vm_grant, vm_revoke
from portal.authz import can
from portal.errors import PermissionDenied, ServiceError
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

PERMISSION_LABELS = {
    "console": gettext_lazy("Console only"),
    "operate": gettext_lazy("Operate (start, stop, reboot)"),
}


class GrantForm(forms.Form):
    user = forms.CharField(
        label=gettext_lazy("User"), max_length=1024,
        help_text=gettext_lazy("The user's ID (shown on their profile page); administrators may also give the "
                               "user name of a user they manage, optionally as domain/user name."))
    permission = forms.ChoiceField(label=gettext_lazy("Permission"),
                                   choices=[(name, PERMISSION_LABELS[name]) for name in GRANT_PERMISSIONS])

    def grantee_reference(self) -> dict[str, str | None]:
        """The keyword arguments of compute.selectors_grants.vm_grantee_find for what was typed."""
        text = self.cleaned_data["user"].strip()
        try:
            return {"user_id": str(uuid.UUID(text))}
        except ValueError:
            pass
        domain, _sep, username = text.rpartition("/")
        return {"username": username, "domain_path": domain or None}


def _panel(request: HttpRequest, vm: VirtualMachine, form: GrantForm | None = None,
           status: int = 200) -> HttpResponse:
    grants = [{"grant": grant, "name": grant_name(grant), "label": PERMISSION_LABELS[grant_name(grant)]}
              for grant in vm_grant_list(caller=request.user, vm=vm)]
    htmx = getattr(request, "htmx", None)
    template = "compute/_vm_sharing.html" if htmx and not htmx.boosted else "compute/vm_sharing.html"
    return render(request, template, {"vm": vm, "grants": grants, "form": form or GrantForm()}, status=status)


@require_http_methods(["GET", "HEAD"])
@requires("vm.grant.list")
@http_errors
def vm_sharing(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    if not can(request.user, "vm.grant.list", vm):
        # A grantee's VM page asks for the panel too: there is nothing to show them.
        return HttpResponse(b"")
    return _panel(request, vm)


def _back(request: HttpRequest, vm: VirtualMachine) -> HttpResponse:
    if getattr(request, "htmx", None):
        return _panel(request, vm)
    return redirect(reverse("compute:vm_detail", args=[vm.uuid]) + "#vm-sharing")


@require_POST
@requires("vm.grant")
@http_errors
def vm_sharing_grant(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    form = GrantForm(request.POST)
    if form.is_valid():
        try:
            grantee = vm_grantee_find(caller=request.user, **form.grantee_reference())
            vm_grant(caller=request.user, vm=vm, grantee=grantee, permission=form.cleaned_data["permission"])
        except PermissionDenied:
            raise  # a refusal is a 403 (portal.ui.shortcuts.http_errors), not a form error
        except ServiceError as exc:
            form.add_error("user", exc.message)
        else:
            messages.success(request, _("Shared VM %(vm)s with %(user)s.") % {"vm": vm.name,
                                                                            "user": grantee.username})
            return _back(request, vm)
    return _panel(request, vm, form, status=400 if not getattr(request, "htmx", None) else 200)


@require_POST
@requires("vm.revoke")
@http_errors
def vm_sharing_revoke(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    user_id, permission = request.POST.get("user", ""), request.POST.get("permission", "")
    grant = next((g for g in vm_grant_list(caller=request.user, vm=vm)
                  if str(g.user.uuid) == user_id and grant_name(g) == permission), None)
    if grant is None:
        messages.error(request, _("That grant no longer exists."))
        return _back(request, vm)
    try:
        vm_revoke(caller=request.user, vm=vm, grantee=grant.user, permission=permission)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(user)s can no longer use VM %(vm)s that way.") % {
            "user": grant.user.username, "vm": vm.name})
    return _back(request, vm)
