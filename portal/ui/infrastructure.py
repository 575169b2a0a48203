"""Read-only web UI pages of the physical side: zones and hosts, for the Infrastructure section.

Rows come from infrastructure.selectors, which authorize the caller: hosts are root admins' only, so
another caller gets 403 from the selector's decision whatever the page does.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_safe

from infrastructure.selectors import host_list, zone_list
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

ZONE_TABLE = TableSpec(
    id="zone-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("description", _("Description"), ("description",), css="hide-sm"),
        Column("network_type", _("Network type"), ("network_type",)),
        Column("allocation_state", _("Allocation state"), ("allocation_state",)),
        Column("dns", _("DNS"), ("dns1",), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-sm"),
    ),
    default_sort="name",
    search_fields=("name", "description"),
    search_placeholder=_("Search by name or description"),
)

HOST_TABLE = TableSpec(
    id="host-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name", "pod__name", "cluster__name")),
        Column("status", _("Status"), ("status",)),
        Column("hypervisor", _("Hypervisor"), ("domain_type", "hypervisor_version"), css="hide-md"),
        Column("cpu", _("CPU"), ("cpu_cores", "cpu_speed")),
        Column("memory", _("Memory"), ("memory_total",)),
        Column("last_seen", _("Last seen"), ("last_seen",), css="hide-sm"),
    ),
    default_sort="name",
    search_fields=("name", "url", "zone__name", "pod__name", "cluster__name"),
    search_placeholder=_("Search by name, URI, zone or cluster"),
)


@require_safe
@requires("zone.list")
@http_errors
def zones(request: HttpRequest) -> HttpResponse:
    table = build_table(ZONE_TABLE, parse_query(request, ZONE_TABLE), zone_list(caller=request.user))
    return render_table(request, table, "ui/zone_list.html", "ui/_zone_table.html")


@require_safe
@requires("host.list")
@http_errors
def hosts(request: HttpRequest) -> HttpResponse:
    table = build_table(HOST_TABLE, parse_query(request, HOST_TABLE), host_list(caller=request.user))
    return render_table(request, table, "ui/host_list.html", "ui/_host_table.html")
