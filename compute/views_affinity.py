"""Web UI pages for affinity groups: the list (with each group's VMs), add, delete.

A door over compute.selectors_affinity / compute.services_affinity. The services record each change as an
already finished job (CloudStack runs these commands asynchronously), so the pages go back to the list
rather than to the job.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from compute import services_affinity
from compute.forms_keypairs import AffinityGroupForm
from compute.selectors_affinity import affinity_group_get, affinity_group_list
from compute.views import is_admin
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

AFFINITY_TABLE = TableSpec(
    id="affinity-table",
    columns=(
        Column("name", gettext_lazy("Name"), ("name",)),
        Column("type", gettext_lazy("Type"), ("group_type",)),
        Column("description", gettext_lazy("Description"), (), css="hide-md"),
        Column("vms", gettext_lazy("Virtual machines"), (), css="hide-sm"),
        Column("account", gettext_lazy("Account"), ("account__name",), css="hide-sm"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-md"),
        Column("actions", gettext_lazy("Actions")),
    ),
    default_sort="name",
    search_fields=("name", "description"),
    search_placeholder=gettext_lazy("Search by name"),
)


@require_safe
@requires("affinity.list")
@http_errors
def affinity_list_view(request: HttpRequest) -> HttpResponse:
    """Users see their account's groups; admins those of every account they reach, with the account."""
    admin = is_admin(request.user)
    spec = AFFINITY_TABLE if admin else AFFINITY_TABLE.without("account")
    groups = affinity_group_list(caller=request.user, with_members=True)
    table = build_table(spec, parse_query(request, spec), groups)
    return render_table(request, table, "compute/affinity_list.html", "compute/_affinity_table.html",
                        {"show_owner": admin, "tab": "affinity"})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("affinity.create")
@http_errors
def affinity_add(request: HttpRequest) -> HttpResponse:
    form = AffinityGroupForm(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: services_affinity.affinity_group_create(
        caller=request.user, name=data["name"], group_type=data["group_type"], description=data["description"]))
    if done:
        group, _job = done.value
        messages.success(request, _("Created affinity group %(name)s.") % {"name": group.name})
        return redirect("compute:affinity_list")
    return form_page(request, "compute/affinity_form.html", form)


@require_POST
@requires("affinity.delete")
@http_errors
def affinity_delete(request: HttpRequest, group_id: str) -> HttpResponse:
    group = affinity_group_get(caller=request.user, group_id=group_id)  # another tenant's: 404
    try:
        services_affinity.affinity_group_delete(caller=request.user, group=group)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Deleted affinity group %(name)s.") % {"name": group.name})
    return redirect("compute:affinity_list")
