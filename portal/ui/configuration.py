"""The Settings page of the web UI (Infrastructure, root admins): the cloud's settings with a category filter
and search, an inline form per setting to change its value at the chosen scope, and a reset.

A door like the others: it parses the form, portal.services_configuration decides (type, range, scope,
who), and a refusal is shown as a message on the page it came from, with nothing changed.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import account_list
from infrastructure.selectors import zone_list
from infrastructure.selectors_topology import cluster_list
from portal.configuration import CATEGORIES, Target, config_list, target_lookup
from portal.errors import NotFound, PermissionDenied, ServiceError
from portal.services_configuration import config_reset, config_update
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

# How many accounts the scope selector offers (the cloud's settings page is no account browser).
ACCOUNT_CHOICES = 200


def _target(request: HttpRequest, key: str) -> Target:
    """The scope a form names as "zone:<id>", "cluster:<id>" or "account:<id>" (anything else: global)."""
    scope, _sep, object_id = key.partition(":")
    ids = {f"{name}_id": object_id for name in ("zone", "cluster", "account") if name == scope and object_id}
    return target_lookup(caller=request.user, **ids)


def _scope_choices(request: HttpRequest) -> list[tuple[str, str]]:
    caller = request.user
    choices = [("", _("Global"))]
    choices += [(f"zone:{z.uuid}", _("Zone %(name)s") % {"name": z.name}) for z in zone_list(caller=caller)]
    choices += [(f"cluster:{c.uuid}", _("Cluster %(name)s") % {"name": c.name})
                for c in cluster_list(caller=caller).order_by("name")]
    choices += [(f"account:{a.uuid}", _("Account %(name)s") % {"name": a.name})
                for a in account_list(caller=caller).order_by("name")[:ACCOUNT_CHOICES]]
    return choices


@require_safe
@requires("config.infrastructure")  # the cloud's settings page; account settings also via the APIs
@http_errors
def config_list_view(request: HttpRequest) -> HttpResponse:
    key = request.GET.get("scope", "")
    target = _target(request, key)
    category = request.GET.get("category", "")
    search = request.GET.get("q", "").strip()
    entries = config_list(caller=request.user, target=target, category=category or None, keyword=search or None)
    return render(request, "ui/config_list.html", {
        "entries": entries, "scope_key": key, "scope_choices": _scope_choices(request),
        "scoped": target.obj is not None, "categories": CATEGORIES, "category": category, "search": search,
    })


def _back(request: HttpRequest) -> HttpResponse:
    query = {k: request.POST[k] for k in ("scope", "category", "q") if request.POST.get(k)}
    return redirect(reverse("ui:config_list") + (f"?{urlencode(query)}" if query else ""))


def _refused(request: HttpRequest, exc: ServiceError) -> None:
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    messages.error(request, exc.message)


@require_POST
@requires("config.update")
@http_errors
def config_update_view(request: HttpRequest, name: str) -> HttpResponse:
    try:
        target = _target(request, request.POST.get("scope", ""))
        entry = config_update(caller=request.user, name=name, value=request.POST.get("value", ""), target=target)
    except ServiceError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Set %(name)s to %(value)s.") % {"name": name, "value": entry.text})
    return _back(request)


@require_POST
@requires("config.update")
@http_errors
def config_reset_view(request: HttpRequest, name: str) -> HttpResponse:
    try:
        entry = config_reset(caller=request.user, name=name, target=_target(request, request.POST.get("scope", "")))
    except ServiceError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Reset %(name)s; it is now %(value)s.") % {"name": name, "value": entry.text})
    return _back(request)

