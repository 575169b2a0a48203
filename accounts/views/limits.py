"""Web UI of resource limits (namespace `accounts`): one account's or domain's limits per resource type,
with the current count and the cap that really applies from the domains above.

Everyone sees their own account's limits (read-only); administrators pick an account or domain in their
reach (?account=<id> or ?domain=<id>) and edit where accounts.services_limits lets them: a form per row, and
a button to recount usage (CloudStack's updateResourceCount). An id out of reach is a 404, like an unknown one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.limits import GIB, UNLIMITED, ResourceType
from accounts.models import Account, Domain, User
from accounts.selectors import account_list, domain_get, domain_list
from accounts.selectors_limit_usage import limit_editable, resource_usage_list
from accounts.selectors_tenancy import account_get
from accounts.services_limits import resource_count_recalculate, resource_limit_update
from portal.authz import can
from portal.errors import PermissionDenied, ServiceError
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

# Human names of the resource types, and the unit the page shows and takes each limit in.
TYPE_LABELS = {
    ResourceType.USER_VM: gettext_lazy("Virtual machines"),
    ResourceType.PUBLIC_IP: gettext_lazy("Public IP addresses"),
    ResourceType.VOLUME: gettext_lazy("Volumes"),
    ResourceType.SNAPSHOT: gettext_lazy("Snapshots"),
    ResourceType.TEMPLATE: gettext_lazy("Templates"),
    ResourceType.NETWORK: gettext_lazy("Networks"),
    ResourceType.CPU: gettext_lazy("CPU cores"),
    ResourceType.MEMORY: gettext_lazy("Memory (MiB)"),
    ResourceType.PRIMARY_STORAGE: gettext_lazy("Primary storage (GiB)"),
    ResourceType.SECONDARY_STORAGE: gettext_lazy("Secondary storage (GiB)"),
}


class LimitForm(forms.Form):
    """One row's form: the limit in the unit the page shows (storage in GiB); -1 or empty is unlimited."""

    resource_type = forms.TypedChoiceField(coerce=int, choices=[(t, t) for t in ResourceType.values],
                                           widget=forms.HiddenInput)
    max = forms.IntegerField(label=gettext_lazy("Limit"), min_value=UNLIMITED, required=False)

    def stored_max(self) -> int:
        value = self.cleaned_data["max"]
        if value is None or value == UNLIMITED:
            return UNLIMITED
        return value * GIB if self.cleaned_data["resource_type"] in (
            ResourceType.PRIMARY_STORAGE, ResourceType.SECONDARY_STORAGE) else value


def _shown(value: int, storage: bool) -> int:
    """A stored amount in the page's unit (storage in whole GiB, rounded up so a used byte shows)."""
    if not storage or value == UNLIMITED:
        return value
    return -(-value // GIB)


def _owner(caller: User, params: QueryDict) -> tuple[Account | None, Domain | None]:
    if params.get("account"):
        return account_get(caller=caller, account_id=params["account"]), None
    if params.get("domain"):
        return None, domain_get(caller=caller, domain_id=params["domain"])
    return None, None


def _owner_query(account: Account | None, domain: Domain | None) -> str:
    if account is not None:
        return "?" + urlencode({"account": str(account.uuid)})
    if domain is not None:
        return "?" + urlencode({"domain": str(domain.uuid)})
    return ""


def _page(request: HttpRequest, account: Account | None, domain: Domain | None, *,
          invalid: dict[int, LimitForm] | None = None, status: int = 200) -> HttpResponse:
    caller = request.user
    usage = resource_usage_list(caller=caller, account=account, domain=domain)
    account = usage[0].account
    target_domain = usage[0].domain if account is None else None
    editable = limit_editable(caller=caller, account=account, domain=target_domain)
    rows = []
    for row in usage:
        storage = row.is_storage
        form = (invalid or {}).get(row.resource_type) or LimitForm(
            initial={"resource_type": row.resource_type, "max": _shown(row.max, storage)},
            auto_id=f"id_t{row.resource_type}_%s")
        rows.append({"usage": row, "label": TYPE_LABELS[row.resource_type], "max": _shown(row.max, storage),
                     "count": _shown(row.count, storage), "effective": _shown(row.effective_max, storage),
                     "form": form if editable else None})
    chooser = can(caller, "limit.update")
    recount = limit_editable(caller=caller, account=account, domain=target_domain, action="count.update")
    return render(request, "accounts/limit_list.html", {
        "rows": rows,
        "account": account,
        "domain": usage[0].domain,
        "editable": editable,
        "can_recount": recount,
        "owner_query": _owner_query(account, target_domain),
        "chooser": chooser,
        "accounts": account_list(caller=caller) if chooser else [],
        "domains": domain_list(caller=caller) if chooser else [],
    }, status=status)


@require_safe
@requires("limit.list")
@http_errors
def limit_list(request: HttpRequest) -> HttpResponse:
    account, domain = _owner(request.user, request.GET)
    return _page(request, account, domain)


@require_POST
@requires("limit.update")
@http_errors
def limit_update(request: HttpRequest) -> HttpResponse:
    account, domain = _owner(request.user, request.GET)
    if account is None and domain is None:
        account = request.user.account
    resource_type = request.POST.get("resource_type", "")
    form = LimitForm(request.POST, auto_id=f"id_t{resource_type}_%s" if resource_type.isdigit() else "id_%s")
    if form.is_valid():
        try:
            resource_limit_update(caller=request.user, account=account, domain=domain,
                                  resource_type=form.cleaned_data["resource_type"], max=form.stored_max())
        except PermissionDenied as exc:
            # e.g. a domain admin's own domain: the page shows no form for it, so say it above the table.
            messages.error(request, exc.message)
            return redirect(reverse("accounts:limit_list") + _owner_query(account, domain))
        except ServiceError as exc:
            form.add_error("max", exc.message)
        else:
            label = TYPE_LABELS[ResourceType(form.cleaned_data["resource_type"])]
            messages.success(request, _("Saved the limit of %(type)s.") % {"type": label})
            return redirect(reverse("accounts:limit_list") + _owner_query(account, domain))
    invalid = {int(resource_type): form} if resource_type.isdigit() else {}
    return _page(request, account, domain, invalid=invalid, status=400)


@require_POST
@requires("count.update")
@http_errors
def limit_recalculate(request: HttpRequest) -> HttpResponse:
    account, domain = _owner(request.user, request.GET)
    if account is None and domain is None:
        account = request.user.account
    try:
        resource_count_recalculate(caller=request.user, account=account, domain=domain)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Recalculated the resource counts."))
    return redirect(reverse("accounts:limit_list") + _owner_query(account, domain))


urlpatterns = [
    path("limits/", limit_list, name="limit_list"),
    path("limits/update/", limit_update, name="limit_update"),
    path("limits/recalculate/", limit_recalculate, name="limit_recalculate"),
]
