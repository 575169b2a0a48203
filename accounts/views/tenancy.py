"""Web UI of the tenancy administration (namespace `accounts`): the domain tree, accounts and their users.

A door: forms (accounts.forms_tenancy) parse, the tenancy services decide and the selectors read, always
within the caller's reach (root admins: everything; domain admins: their subtree). A service's refusal is an
inline form error or a message on the page, never an error page; the pages themselves are for administrators
only (the `domain.manage` / `account.manage` actions). Whether a button is shown follows portal.authz.can and
the object's state; whether the action runs is the service's decision. Long operations (deleting a domain or
an account, disabling an account) answer with their job's page, which follows the job live.

The account and user pages live in accounts.views.tenancy_accounts; this module holds the domain pages and
the routes of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.forms_tenancy import DomainDeleteForm, DomainForm
from accounts.models import Domain, User
from accounts.selectors import account_list, domain_get
from accounts.selectors_tenancy import domain_list_annotated, domain_subtree
from accounts.services_accounts import DomainProbe
from accounts.services_domains import domain_create, domain_delete, domain_update
from accounts.views import tenancy_accounts as accounts_views
from portal.authz import can
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors

# Levels of the tree shown expanded at first (relative to the top of the caller's reach); deeper ones start
# collapsed so a large tree stays readable. Every level expands and collapses with the keyboard (<details>).
OPEN_LEVELS = 2


@dataclass
class DomainNode:
    domain: Domain
    depth: int
    can_create: bool
    can_update: bool
    can_delete: bool
    children: list[DomainNode] = field(default_factory=list)

    @property
    def expanded(self) -> bool:
        return self.depth < OPEN_LEVELS


def domain_tree(caller: User) -> list[DomainNode]:
    """The caller's reachable domains as a tree, from one query whatever its size or depth: the selector's
    rows come ordered by path, so every parent is placed before its children."""
    domains = domain_list_annotated(caller=caller).annotate(account_count=Count("accounts")).order_by("path")
    nodes: dict[int, DomainNode] = {}
    roots: list[DomainNode] = []
    for domain in domains:
        parent = nodes.get(domain.parent_id)
        probe = DomainProbe(domain)
        node = DomainNode(
            domain=domain, depth=parent.depth + 1 if parent else 0,
            can_create=can(caller, "domain.create", probe), can_update=can(caller, "domain.update", probe),
            # The ROOT domain is never deleted (the service refuses it too).
            can_delete=domain.parent_id is not None and can(caller, "domain.delete", probe))
        nodes[domain.pk] = node
        (parent.children if parent else roots).append(node)
    return roots


@require_safe
@requires("domain.manage")
@http_errors
def domain_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/domain_list.html", {
        "tree": domain_tree(request.user),
        "can_list_accounts": can(request.user, "account.manage"),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@requires("domain.create")
@http_errors
def domain_add(request: HttpRequest, domain_id: str) -> HttpResponse:
    """A subdomain of the domain in the URL."""
    parent = domain_get(caller=request.user, domain_id=domain_id)
    form = DomainForm(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: domain_create(
        caller=request.user, parent=parent, name=data["name"], network_domain=data["network_domain"]))
    if done:
        messages.success(request, _("Created domain %(path)s.") % {"path": done.value.cloudstack_path})
        return redirect("accounts:domain_list")
    return form_page(request, "accounts/domain_form.html", form, {"parent": parent, "domain": None})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("domain.update")
@http_errors
def domain_edit(request: HttpRequest, domain_id: str) -> HttpResponse:
    domain = domain_get(caller=request.user, domain_id=domain_id)
    rename = domain.parent_id is not None
    form = DomainForm(request.POST if request.method == "POST" else None, rename=rename,
                      initial={"name": domain.name, "network_domain": domain.network_domain})
    done = form_submit(request, form, lambda data: domain_update(
        caller=request.user, domain=domain, name=data["name"] if rename else None,
        network_domain=data["network_domain"]))
    if done:
        messages.success(request, _("Saved domain %(path)s.") % {"path": done.value.cloudstack_path})
        return redirect("accounts:domain_list")
    return form_page(request, "accounts/domain_form.html", form, {"parent": None, "domain": domain})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("domain.delete")
@http_errors
def domain_delete_view(request: HttpRequest, domain_id: str) -> HttpResponse:
    """GET asks for confirmation and shows what is inside; only the POST deletes, in a job."""
    domain = domain_get(caller=request.user, domain_id=domain_id)
    form = DomainDeleteForm(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: domain_delete(
        caller=request.user, domain=domain, cleanup=data["cleanup"]))
    if done:
        messages.success(request, _("Deleting domain %(path)s.") % {"path": domain.cloudstack_path})
        return redirect("ui:job_detail", job_id=done.value.uuid)
    return form_page(request, "accounts/domain_delete.html", form, {
        "domain": domain,
        "subdomains": domain_subtree(caller=request.user, domain=domain).exclude(pk=domain.pk).count(),
        "accounts": account_list(caller=request.user).filter(domain__path__startswith=domain.path).count(),
    })


urlpatterns = [
    path("domains/", domain_list, name="domain_list"),
    path("domains/<str:domain_id>/add/", domain_add, name="domain_add"),
    path("domains/<str:domain_id>/edit/", domain_edit, name="domain_edit"),
    path("domains/<str:domain_id>/delete/", domain_delete_view, name="domain_delete"),
    *accounts_views.urlpatterns,
]
