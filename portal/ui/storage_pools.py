"""Web UI pages of storage, for the Infrastructure section: primary storage pools (list, create, detail with
edit, enable/disable, maintenance and delete) and image stores (list, add, delete).

Rows come from storage.selectors_pools, which authorize the caller (root admins only); writes go through
storage.services_pools and storage.services_image_stores. A refusal is shown on the form or as a message,
nothing changed. Maintenance runs as a job: the page then goes to the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from infrastructure.selectors import zone_list
from infrastructure.selectors_topology import cluster_list
from portal.authz import can
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.object_actions import ObjectAction, buttons_for, run_action
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table
from storage import services_image_stores, services_pools
from storage.models import ImageStore, StoragePool
from storage.selectors_pools import (
    image_store_get,
    image_store_list,
    image_store_size,
    storage_pool_get,
    storage_pool_list,
)
from storage.states_pools import POOL_STATE_MACHINE, PoolEvent

POOL_TABLE = TableSpec(
    id="storage-pool-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name", "cluster__name")),
        Column("scope", _("Scope"), ("scope",), css="hide-sm"),
        Column("type", _("Type"), ("pool_type",)),
        Column("status", _("Status"), ("status",)),
        Column("tags", _("Storage tags"), ("tags",), css="hide-sm"),
        Column("capacity", _("Capacity"), ("capacity_bytes",)),
        Column("allocated", _("Allocated"), ("allocated_bytes",), css="hide-md"),
    ),
    default_sort="name",
    search_fields=("name", "url", "tags", "zone__name", "cluster__name"),
    search_placeholder=_("Search by name, URL, zone or cluster"),
)

STORE_TABLE = TableSpec(
    id="image-store-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name",)),
        Column("provider", _("Provider"), ("provider",)),
        Column("url", _("URL"), ("url",), css="hide-sm"),
        Column("capacity", _("Capacity"), ()),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-md"),
    ),
    default_sort="name",
    search_fields=("name", "url", "zone__name"),
    search_placeholder=_("Search by name, URL or zone"),
)


# --- primary storage ------------------------------------------------------------------------------------

@require_safe
@requires("storagepool.list")
@http_errors
def pools(request: HttpRequest) -> HttpResponse:
    table = build_table(POOL_TABLE, parse_query(request, POOL_TABLE), storage_pool_list(caller=request.user))
    return render_table(request, table, "ui/storage_pool_list.html", "ui/_storage_pool_table.html",
                        {"can_create": can(request.user, "storagepool.create")})


class StoragePoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, to_field_name="uuid", empty_label=None)
    scope = forms.ChoiceField(label=_("Scope"), choices=[("CLUSTER", _("Cluster")), ("ZONE", _("Zone"))],
                              help_text=_("A cluster pool is used by the hosts of one cluster, a zone pool by "
                                          "every host of the zone."))
    cluster = forms.ModelChoiceField(label=_("Cluster"), queryset=None, to_field_name="uuid", required=False,
                                     help_text=_("Only for a cluster pool."))
    url = forms.CharField(label=_("URL"), max_length=2048, help_text=_(
        "filesystem:///path (or /path), nfs://server/export or rbd://user:secret@monitor/pool."))
    tags = forms.CharField(label=_("Storage tags"), max_length=1024, required=False,
                           help_text=_("Comma-separated, e.g. ssd,fast."))
    capacity_gib = forms.IntegerField(label=_("Capacity (GiB)"), min_value=1, required=False, help_text=_(
        "What the cloud may provision from the pool; empty: what the hosts report."))

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=caller)
        self.fields["cluster"].queryset = cluster_list(caller=caller).select_related("zone")
        self.fields["cluster"].label_from_instance = lambda cluster: f"{cluster.zone.name} / {cluster.name}"


@require_http_methods(["GET", "HEAD", "POST"])
@requires("storagepool.create")
@http_errors
def pool_add(request: HttpRequest) -> HttpResponse:
    form = StoragePoolForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services_pools.storage_pool_create(
        caller=request.user, zone=data["zone"], name=data["name"], url=data["url"], scope=data["scope"],
        cluster=data["cluster"] if data["scope"] == "CLUSTER" else None, tags=data["tags"],
        capacity_bytes=data["capacity_gib"] * 2**30 if data["capacity_gib"] else None))
    if done:
        messages.success(request, _("Created storage pool %(name)s; its hosts are defining it.")
                         % {"name": done.value.name})
        return redirect("ui:storage_pool_detail", pool_id=done.value.uuid)
    return form_page(request, "ui/storage_pool_form.html", form)


PoolAction = partial(ObjectAction, route_prefix="ui:storage_pool_")


def _update(caller: User, pool: StoragePool, request: HttpRequest) -> None:
    capacity = (request.POST.get("capacity_gib") or "").strip()
    try:
        capacity_bytes = int(capacity) * 2**30 if capacity else None
    except ValueError:
        capacity_bytes = -1  # the service refuses it with its own message
    services_pools.storage_pool_update(caller=caller, pool=pool, name=request.POST.get("name"),
                                       tags=request.POST.get("tags"), capacity_bytes=capacity_bytes)


def _allows(event: str) -> Callable[[StoragePool], bool]:
    return lambda pool: POOL_STATE_MACHINE.allows(pool.status, event)


POOL_ACTIONS: dict[str, ObjectAction] = {
    action.name: action
    for action in (
        PoolAction("enable", _("Enable"), "storagepool.update",
                   lambda caller, pool, _r: services_pools.storage_pool_update(caller=caller, pool=pool,
                                                                               enabled=True),
                   lambda pool: pool.status == StoragePool.Status.DISABLED, _("Storage pool %(name)s is enabled.")),
        PoolAction("disable", _("Disable"), "storagepool.update",
                   lambda caller, pool, _r: services_pools.storage_pool_update(caller=caller, pool=pool,
                                                                               enabled=False),
                   lambda pool: pool.status == StoragePool.Status.UP,
                   _("Storage pool %(name)s is disabled: no new volumes are placed there.")),
        PoolAction("maintenance", _("Enable maintenance"), "storagepool.maintenance",
                   lambda caller, pool, _r: services_pools.storage_pool_enable_maintenance(caller=caller, pool=pool),
                   _allows(PoolEvent.ADMIN_ASK_MAINTENANCE), _("Preparing storage pool %(name)s for maintenance.")),
        PoolAction("cancel-maintenance", _("Cancel maintenance"), "storagepool.maintenance",
                   lambda caller, pool, _r: services_pools.storage_pool_cancel_maintenance(caller=caller, pool=pool),
                   _allows(PoolEvent.ADMIN_CANCEL_MAINTENANCE),
                   _("Cancelling the maintenance of storage pool %(name)s.")),
        PoolAction("update", _("Save"), "storagepool.update", _update, lambda pool: True,
                   _("Storage pool %(name)s updated.")),
        PoolAction("delete", _("Delete storage pool"), "storagepool.delete",
                   lambda caller, pool, _r: services_pools.storage_pool_delete(caller=caller, pool=pool),
                   lambda pool: True, _("Storage pool %(name)s deleted.")),
    )
}
# Shown as buttons in the page head; update and delete have their own forms.
BUTTONS = ("enable", "disable", "maintenance", "cancel-maintenance")


@require_safe
@requires("storagepool.list")
@http_errors
def pool_detail(request: HttpRequest, pool_id: str) -> HttpResponse:
    pool = storage_pool_get(caller=request.user, pool_id=pool_id)
    actions = buttons_for(request.user, pool, POOL_ACTIONS, BUTTONS)
    return render(request, "ui/storage_pool_detail.html", {
        "pool": pool, "actions": actions, "can_update": can(request.user, "storagepool.update"),
        "can_delete": can(request.user, "storagepool.delete"),
        "capacity_gib": pool.capacity_limit_bytes // 2**30 if pool.capacity_limit_bytes else ""})


@http_errors
def pool_action(request: HttpRequest, pool_id: str, action: str) -> HttpResponse:
    return run_action(request, POOL_ACTIONS[action], storage_pool_get(caller=request.user, pool_id=pool_id),
                      detail_route="ui:storage_pool_detail", list_route="ui:storage_pool_list",
                      id_kwarg="pool_id")


def pool_action_view(action: str) -> Callable[..., HttpResponse]:
    """The route of one pool action: POST only, declaring the authz action it runs (portal.ui.access)."""
    return require_POST(requires(POOL_ACTIONS[action].permission)(pool_action))


# --- image stores ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreRow:
    store: ImageStore
    capacity: int
    used: int


@require_safe
@requires("imagestore.list")
@http_errors
def stores(request: HttpRequest) -> HttpResponse:
    table = build_table(STORE_TABLE, parse_query(request, STORE_TABLE), image_store_list(caller=request.user),
                        rows=lambda page: [StoreRow(store, *image_store_size(store)) for store in page])
    return render_table(request, table, "ui/image_store_list.html", "ui/_image_store_table.html", {
        "can_add": can(request.user, "imagestore.add"), "can_delete": can(request.user, "imagestore.delete")})


class ImageStoreForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, to_field_name="uuid", empty_label=None)
    provider = forms.ChoiceField(label=_("Provider"), choices=ImageStore.Provider.choices)
    url = forms.CharField(label=_("URL"), max_length=2048,
                          help_text=_("nfs://server/path for NFS, file:///path for a local directory."))

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=caller)


@require_http_methods(["GET", "HEAD", "POST"])
@requires("imagestore.add")
@http_errors
def store_add(request: HttpRequest) -> HttpResponse:
    form = ImageStoreForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services_image_stores.image_store_add(
        caller=request.user, zone=data["zone"], name=data["name"], url=data["url"], provider=data["provider"]))
    if done:
        messages.success(request, _("Added image store %(name)s.") % {"name": done.value.name})
        return redirect("ui:image_store_list")
    return form_page(request, "ui/image_store_form.html", form)


@require_POST
@requires("imagestore.delete")
@http_errors
def store_delete(request: HttpRequest, store_id: str) -> HttpResponse:
    store = image_store_get(caller=request.user, store_id=store_id)
    try:
        services_image_stores.image_store_delete(caller=request.user, store=store)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Image store %(name)s deleted.") % {"name": store.name})
    return redirect("ui:image_store_list")
