"""Web UI pages for SSH key pairs: the list, register an existing public key, generate a new pair, delete.

A door: it parses, calls compute.selectors_keypairs / compute.services_keypairs and renders. A generated
private key is shown once, on the answer to the POST that made it, and never stored: that answer is
marked not cacheable, and there is no URL to see it again.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from compute import services_keypairs
from compute.forms_keypairs import KeyPairCreateForm, KeyPairRegisterForm
from compute.selectors_keypairs import keypair_get, keypair_list
from compute.views import is_admin
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

KEYPAIR_TABLE = TableSpec(
    id="keypair-table",
    columns=(
        Column("name", gettext_lazy("Name"), ("name",)),
        Column("fingerprint", gettext_lazy("Fingerprint"), (), css="hide-sm"),
        Column("account", gettext_lazy("Account"), ("account__name",), css="hide-sm"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",)),
        Column("actions", gettext_lazy("Actions")),
    ),
    default_sort="name",
    search_fields=("name", "fingerprint"),
    search_placeholder=gettext_lazy("Search by name or fingerprint"),
)


@require_safe
@requires("keypair.list")
@http_errors
def keypair_list_view(request: HttpRequest) -> HttpResponse:
    """Users see their account's key pairs; admins those of every account they reach, with the account."""
    admin = is_admin(request.user)
    spec = KEYPAIR_TABLE if admin else KEYPAIR_TABLE.without("account")
    table = build_table(spec, parse_query(request, spec), keypair_list(caller=request.user))
    return render_table(request, table, "compute/keypair_list.html", "compute/_keypair_table.html",
                        {"show_owner": admin, "tab": "keypairs"})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("keypair.create")
@http_errors
def keypair_register(request: HttpRequest) -> HttpResponse:
    form = KeyPairRegisterForm(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: services_keypairs.keypair_register(
        caller=request.user, name=data["name"], public_key=data["public_key"]))
    if done:
        messages.success(request, _("Registered key pair %(name)s.") % {"name": done.value.name})
        return redirect("compute:keypair_list")
    return form_page(request, "compute/keypair_form.html", form, {"mode": "register"})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("keypair.create")
@http_errors
def keypair_create(request: HttpRequest) -> HttpResponse:
    form = KeyPairCreateForm(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: services_keypairs.keypair_create(
        caller=request.user, name=data["name"]))
    if not done:
        return form_page(request, "compute/keypair_form.html", form, {"mode": "create"})
    pair, private_key = done.value
    # The one and only time the private key exists outside the user's hands: no cache may keep this page.
    response = render(request, "compute/keypair_created.html", {"keypair": pair, "private_key": private_key})
    add_never_cache_headers(response)
    return response


@require_POST
@requires("keypair.delete")
@http_errors
def keypair_delete(request: HttpRequest, keypair_id: str) -> HttpResponse:
    pair = keypair_get(caller=request.user, keypair_id=keypair_id)  # another tenant's: 404
    try:
        services_keypairs.keypair_delete(caller=request.user, keypair=pair)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Deleted key pair %(name)s.") % {"name": pair.name})
    return redirect("compute:keypair_list")
